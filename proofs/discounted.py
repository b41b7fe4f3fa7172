"""The discounted infinite-horizon policy-gradient theorem, through the Bellman linear equations (γ < 1).

J_γ(θ) = E[Σ_{t≥0} γ^t r_t] = Σ_s μ(s) V(s), with V = r_π + γ P_π V. Differentiating the Bellman
equation and unrolling it gives
    ∇_θ J_γ(θ) = 1/(1 − γ) Σ_s d_γ(s) Σ_a ∇_θ π_θ(a|s) Q_γ(s,a),
where d_γ(s) = (1 − γ) Σ_t γ^t P(s_t = s) is the discounted state occupancy, normalised so that
Σ_s d_γ(s) = 1; the factor 1/(1 − γ) undoes that normalisation. On an instance V, Q_γ and
d_γ are exact solutions of the linear equations (with their derivatives), and the claims are
checked on the "discounted" battery (γ < 1).
"""

from derive.derivation import DISCOUNT_BELOW_ONE, THETA_FREE_ENVIRONMENT, Derivation, Goal, Proof
from derive.notation import (
    DiscountedObjective, DiscountedOccupancy, DiscountedQ, Policy, b, gamma, grad, sum_actions, sum_states, theta,
    unevaluated_mul, x,
)
import sympy as sp

occupancy_sum = sum_states(DiscountedOccupancy(x))
normalisation = (
    Derivation.begin(
        "occupancy normalisation",
        occupancy_sum,
        goal=Goal(occupancy_sum, sp.Integer(1)),
        description="d_γ is a distribution over states.",
    )
    .claim(sp.Integer(1), rule="normalisation",
           why="Σ_s d_γ(s) = (1 − γ) Σ_t γ^t Σ_s P(s_t = s) = (1 − γ) Σ_t γ^t = 1.")
)

visitation = unevaluated_mul(1 / (1 - gamma), sum_states(unevaluated_mul(
    DiscountedOccupancy(x), sum_actions(unevaluated_mul(grad(Policy(b, x, theta)), DiscountedQ(x, b))))))
discounted = (
    Derivation.begin(
        "discounted policy-gradient theorem",
        grad(DiscountedObjective(theta)),
        goal=Goal(grad(DiscountedObjective(theta)), visitation),
        description="Sutton et al.'s theorem for the discounted infinite-horizon return.",
    )
    .claim(visitation, rule="Bellman equations",
           why="∇V(s) = Σ_a ∇π(a|s) Q_γ(s,a) + γ Σ_a π(a|s) Σ_s' P(s'|s,a) ∇V(s'); unrolled from μ, each state s "
               "collects Σ_t γ^t P(s_t = s) = d_γ(s)/(1 − γ).", conditions=(THETA_FREE_ENVIRONMENT, DISCOUNT_BELOW_ONE))
)

PROOF = Proof(
    name="discounted",
    title="The discounted infinite-horizon policy-gradient theorem",
    derivations=(normalisation, discounted),
    battery="discounted",
)

if __name__ == "__main__":
    from derive.cli import run_proofs

    raise SystemExit(run_proofs([PROOF], path=__file__))
