"""Reward-to-go (causality): the score at step t needs only the rewards from step t on.

∇_θ J(θ) = E[Σ_t ∇_θ log π_θ(a_t|s_t) Σ_{u=t}^{H} γ^u r_u], estimated without bias by
(1/m) Σ_i Σ_t ∇_θ log π_θ(a_t^(i)|s_t^(i)) Σ_{u=t}^{H} γ^u r_u^(i).
"""

import sympy as sp

from derive.derivation import UNBIASED, Derivation, Goal, Proof
from derive.notation import J, P, R, Sample, grad, i, pi, reward_to_go, sample_mean, sum_t, sum_tau, t, unevaluated_mul
from derive.rules import causality, distribute_over_time_sum, expand_return, sample_estimator

tau_i = Sample(i)
score_form = sum_tau(unevaluated_mul(P(), sum_t(grad(sp.log(pi()))), R()), support=True)
estimator = sample_mean(sum_t(unevaluated_mul(grad(sp.log(pi(t, tau_i))), reward_to_go(t, tau_i))))

reward_to_go_estimator = (
    Derivation.begin(
        "reward-to-go",
        grad(J()),
        goal=Goal(grad(J()), estimator, UNBIASED),
        description="Past rewards drop out of the policy gradient.",
    )
    .claim(score_form, rule="policy-gradient theorem",
           why="The score-function form of ∇_θ J(θ) (proofs/policy_gradient.py).")
    .by(expand_return)
    .by(distribute_over_time_sum)
    .by(causality)
    .by(sample_estimator)
)

PROOF = Proof(
    name="reward_to_go",
    title="Reward-to-go: causality in the policy gradient",
    derivations=(reward_to_go_estimator,),
)

if __name__ == "__main__":
    from derive.cli import run_proofs

    raise SystemExit(run_proofs([PROOF], path=__file__))
