"""Seed 000: the policy-gradient theorem, summed over trajectories of horizon H.

Every displayed equation of the seed is a line below, in order. Two lines are added
where the seed skips a step that needs justifying: R(τ) leaving the gradient, and the
restriction of Σ_τ to trajectories with P(τ;θ) > 0 before dividing by P(τ;θ).

Run:  python proofs/policy_gradient.py      or      derive verify proofs/policy_gradient.py
"""

import sympy as sp

from derive.derivation import EQUAL, UNBIASED, Derivation, Goal, Proof
from derive.notation import (
    Sample, grad, i, J, P, R, pi, sample_mean, sum_t, sum_tau, t, unevaluated_mul,
)
from derive.rules import (
    definition_of_objective, drop_theta_free_terms, factorise_trajectory_probability,
    gradient_of_sum, log_derivative_trick, log_of_product, multiply_by_ratio,
    pull_out_theta_free_factor, regroup, restrict_to_support, sample_estimator,
    swap_gradient_and_sum,
)

tau_i = Sample(i)

# ∇_θ J(θ) = Σ_τ P(τ;θ) ∇_θ log P(τ;θ) R(τ) ≈ (1/m) Σ_i ∇_θ log P(τ^(i);θ) R(τ^(i))
likelihood_ratio = (
    Derivation.begin(
        "likelihood-ratio gradient",
        grad(J()),
        goal=Goal(grad(J()), sample_mean(unevaluated_mul(grad(sp.log(P(tau_i))), R(tau_i))), UNBIASED),
        description="The gradient of the expected return as an expectation, estimated by sampling.",
    )
    .by(definition_of_objective)
    .by(swap_gradient_and_sum)
    .by(pull_out_theta_free_factor)
    .by(restrict_to_support)
    .by(multiply_by_ratio)
    .by(regroup)
    .by(log_derivative_trick)
    .by(sample_estimator)
)

# ∇_θ log P(τ^(i);θ) = Σ_t ∇_θ log π_θ(a_t^(i) | s_t^(i))
score_of_trajectory = (
    Derivation.begin(
        "score of a trajectory",
        grad(sp.log(P(tau_i))),
        goal=Goal(grad(sp.log(P(tau_i))), sum_t(grad(sp.log(pi(t, tau_i)))), EQUAL),
        description="The environment drops out of ∇_θ log P(τ;θ).",
    )
    .by(factorise_trajectory_probability)
    .by(log_of_product)
    .by(gradient_of_sum)
    .by(drop_theta_free_terms)
    .by(swap_gradient_and_sum)
)

# ∇_θ J(θ) ≈ ĝ = (1/m) Σ_i Σ_t ∇_θ log π_θ(a_t^(i) | s_t^(i)) R(τ^(i))
reinforce = (
    Derivation.begin(
        "REINFORCE estimator",
        grad(J()),
        goal=Goal(
            grad(J()),
            sample_mean(unevaluated_mul(sum_t(grad(sp.log(pi(t, tau_i)))), R(tau_i))),
            UNBIASED,
        ),
        description="The final estimator needs only the policy's log-probabilities.",
    )
    .cite(likelihood_ratio)
    .substitute(score_of_trajectory)
)

PROOF = Proof(
    name="policy_gradient",
    title="The policy-gradient theorem (REINFORCE), seed 000",
    derivations=(likelihood_ratio, score_of_trajectory, reinforce),
    source="shared/seeds/000_c387f8faedb148aa.txt",
)

if __name__ == "__main__":
    from derive.cli import run_proofs

    raise SystemExit(run_proofs([PROOF], path=__file__))
