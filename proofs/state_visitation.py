"""The policy-gradient theorem in state-visitation form (Sutton et al.; Sutton & Barto 13.5), finite horizon.

∇_θ J(θ) = Σ_{t=0}^{H} γ^t Σ_s d_t(s) Σ_a ∇_θ π_θ(a|s) Q_t(s,a), where d_t(s) = P(s_t = s) is
the state distribution at step t (Σ_s d_t(s) = 1 for every t: it is normalised per step,
and the discount sits in γ^t, not in d_t) and Q_t(s,a) = E[Σ_{u≥t} γ^(u−t) r_u | s_t = s, a_t = a].
On an instance, d_t runs forward and Q_t backward by dynamic programming, both
differentiated exactly; the claim is checked against ∇J(θ).
"""

import sympy as sp

from derive.derivation import POSITIVE_POLICY, Derivation, Goal, Proof
from derive.notation import (
    J, P, Policy, Q, b, d, gamma, grad, pi, reward_to_go, sum_actions, sum_states, sum_t, sum_tau, t, theta,
    unevaluated_mul, x,
)

policy = Policy(b, x, theta)
rtg_form = sum_tau(unevaluated_mul(P(), sum_t(unevaluated_mul(grad(sp.log(pi())), reward_to_go()))), support=True)
conditioned = sum_t(unevaluated_mul(gamma ** t, sum_states(unevaluated_mul(
    d(), sum_actions(unevaluated_mul(policy, grad(sp.log(policy)), Q()))))))
visitation = sum_t(unevaluated_mul(gamma ** t, sum_states(unevaluated_mul(
    d(), sum_actions(unevaluated_mul(grad(policy), Q()))))))

state_visitation = (
    Derivation.begin(
        "state-visitation form",
        grad(J()),
        goal=Goal(grad(J()), visitation),
        description="The gradient as a sum over time, states and actions of ∇π weighted by visits and Q.",
    )
    .claim(rtg_form, rule="reward-to-go", why="The reward-to-go form of ∇_θ J(θ) (proofs/reward_to_go.py).")
    .claim(conditioned, rule="condition on (s_t, a_t)",
           why="P(s_t = s, a_t = a) = d_t(s) π_θ(a|s), and E[Σ_{u≥t} γ^u r_u | s_t = s, a_t = a] = γ^t Q_t(s,a).")
    .claim(visitation, rule="log-derivative trick",
           why="π_θ(a|s) ∇_θ log π_θ(a|s) = ∇_θ π_θ(a|s), since π_θ(a|s) > 0.", conditions=(POSITIVE_POLICY,))
)

PROOF = Proof(
    name="state_visitation",
    title="The policy-gradient theorem in state-visitation form",
    derivations=(state_visitation,),
)

if __name__ == "__main__":
    from derive.cli import run_proofs

    raise SystemExit(run_proofs([PROOF], path=__file__))
