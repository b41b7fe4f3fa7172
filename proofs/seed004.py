"""Seed 004: the policy-gradient theorem as an expectation, with random rewards and a discounted return.

The seed writes ∇_θ E_{τ∼π_θ}[R(τ)] = ∫_τ R(τ) ∇_θ π(τ|θ) dτ = E[R(τ) ∇_θ log π(τ|θ)], with
trajectories that record their rewards, R(τ) = Σ_t γ^(t-1) r_t and
π(τ|θ) = P(s_1) Π_t π(a_t|s_t,θ) P(r_t|a_t,s_t) P(s_{t+1}|a_t,s_t).

Here, in derive's notation: the seed's π(τ|θ) is P(τ;θ); time starts at 0 (the seed's
t = 1..n is t = 0..H, so γ^(t-1) is γ^t); and on a finite MDP the integral over
trajectories is the sum Σ_τ. One line is added where the seed skips it: the restriction to
trajectories with P(τ;θ) > 0 before the log. The proof is checked on MDPs with random
rewards P(r|s,a) (the "rewards" battery): each trajectory records the rewards it drew.
"""

import sympy as sp

from derive.derivation import (
    EQUAL, FINITE_SUM, POSITIVE_POLICY, POSITIVE_PROBABILITY, THETA_FREE_ENVIRONMENT, Derivation, Goal, Proof,
)
from derive.notation import (
    P, R, discounted_return, expectation, factorisation_with_rewards, grad, pi, sum_t, sum_tau, t,
    unevaluated_mul,
)
from derive.rules import (
    drop_theta_free_terms, expand_return, gradient_of_sum, log_of_product, swap_gradient_and_sum,
)

discounted = (
    Derivation.begin(
        "the discounted return",
        R(),
        goal=Goal(R(), discounted_return()),
        description="R(τ) = Σ_t γ^t r_t, the rewards drawn along τ (the seed's Σ_{t=1}^{T} γ^(t-1) r_t).",
    )
    .by(expand_return)
)

gradient_of_expectation = (
    Derivation.begin(
        "gradient of the expected return",
        grad(expectation(R())),
        goal=Goal(grad(expectation(R())), expectation(unevaluated_mul(R(), grad(sp.log(P())))), EQUAL),
        description="The gradient of an expectation is the expectation of the return times the score.",
    )
    .claim(grad(sum_tau(unevaluated_mul(R(), P()))), rule="expectation as a sum",
           why="E_{τ∼π_θ}[R(τ)] = ∫_τ R(τ) π(τ|θ) dτ, which on a finite MDP is Σ_τ R(τ) P(τ;θ).")
    .claim(sum_tau(unevaluated_mul(R(), grad(P()))), rule="gradient–sum swap",
           why="The sum is finite, so ∇_θ moves inside; R(τ) does not depend on θ.", conditions=(FINITE_SUM,))
    .claim(sum_tau(unevaluated_mul(R(), grad(P())), support=True), rule="restrict to the support",
           why="Where P(τ;θ) = 0 a θ-free factor vanishes (π_θ > 0), so ∇_θ P(τ;θ) = 0 there.",
           conditions=(POSITIVE_POLICY, THETA_FREE_ENVIRONMENT))
    .claim(sum_tau(unevaluated_mul(R(), P(), grad(sp.log(P()))), support=True), rule="log-derivative trick",
           why="f ∇_θ log f = ∇_θ f where f > 0.", conditions=(POSITIVE_PROBABILITY,))
    .claim(expectation(unevaluated_mul(R(), grad(sp.log(P())))), rule="expectation as a sum",
           why="Σ_{τ: P(τ;θ)>0} P(τ;θ) g(τ) = E_{τ∼π_θ}[g(τ)].")
)

score_with_rewards = (
    Derivation.begin(
        "score of a trajectory with random rewards",
        grad(sp.log(P())),
        goal=Goal(grad(sp.log(P())), sum_t(grad(sp.log(pi())))),
        description="Neither the initial distribution, nor the rewards, nor the transitions depend on θ.",
    )
    .claim(grad(sp.log(factorisation_with_rewards())), rule="trajectory probability",
           why="π(τ|θ) = P(s_0) Π_t π(a_t|s_t,θ) P(r_t|a_t,s_t) P(s_{t+1}|a_t,s_t): a trajectory records "
               "its rewards.")
    .by(log_of_product)
    .by(gradient_of_sum)
    .by(drop_theta_free_terms)
    .by(swap_gradient_and_sum)
)

PROOF = Proof(
    name="seed004",
    title="The policy-gradient theorem with random rewards, seed 004",
    derivations=(discounted, gradient_of_expectation, score_with_rewards),
    source="shared/seeds/004_f3d3b6a434486237.txt",
    battery="rewards",
)

if __name__ == "__main__":
    from derive.cli import run_proofs

    raise SystemExit(run_proofs([PROOF], path=__file__))
