"""Seed 000 transcribed literally, slips included (not part of the default `derive verify`).

The seed's slips, and what derive says of each:
1. It multiplies by P(τ;θ)/P(τ;θ) "since it's = 1" over *every* trajectory, including those
   with P(τ;θ) = 0 (a zero-probability transition or initial state): derive fails the step
   with a trajectory where P(τ;θ) = 0, and says the condition is restored by summing over
   the support only (as proofs/policy_gradient.py does).
2. It writes ∇_θ J(θ) = (1/m) Σ_i … as an equality: the sample mean equals ∇J only in
   expectation. derive fails the equality with a one-sample counterexample and accepts the
   same line as an unbiased estimator.
3. It justifies dropping log μ(s_0) by ∇_θ μ(s_0) = 0, where the step needs
   ∇_θ log μ(s_0) = 0. Both hold (μ is θ-free, and μ(s_0) > 0 on sampled trajectories), so
   derive accepts the lemma as stated and the drop step under its side condition.
"""

import sympy as sp

from derive.derivation import EQUAL, UNBIASED, Derivation, Goal, Proof
from derive.notation import (
    J, P, R, Sample, grad, i, mu, pi, ratio, fraction, sample_mean, sum_t, sum_tau, t,
    unevaluated_mul,
)
from derive.rules import (
    definition_of_objective, factorise_trajectory_probability, gradient_of_sum, log_of_product,
)

tau_i = Sample(i)
score_estimate = sample_mean(unevaluated_mul(grad(sp.log(P(tau_i))), R(tau_i)))

# Slip 1: P/P over all trajectories; slip 2: "=" for the sample estimate.
likelihood_ratio = (
    Derivation.begin(
        "likelihood-ratio gradient, as written",
        grad(J()),
        goal=Goal(grad(J()), score_estimate, EQUAL),
    )
    .by(definition_of_objective)
    .claim(sum_tau(unevaluated_mul(grad(P()), R())),
           why="We can rewrite the gradient of the sum as the sum of the gradient.")
    .claim(sum_tau(unevaluated_mul(ratio(P()), grad(P()), R())),
           why="We then multiply every term in the sum by P(τ;θ)/P(τ;θ) (which is possible since it's = 1).")
    .claim(sum_tau(unevaluated_mul(P(), fraction(grad(P()), P()), R())), why="Regroup.")
    .claim(sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R())),
           why="The derivative log trick: ∇ log f(x) = ∇f(x) / f(x).")
    .claim(score_estimate, why="We can estimate the gradient using trajectory samples.", relation=EQUAL)
)

# Slip 3: "∇_θ μ(s_0) = 0" stated where ∇_θ log μ(s_0) = 0 is used.
initial_lemma = Derivation.begin(
    "the seed's reason: ∇_θ μ(s_0) = 0",
    grad(mu(tau_i)),
    goal=Goal(grad(mu(tau_i)), sp.Integer(0)),
).claim(sp.Integer(0), why="μ does not depend on θ.")

score_of_trajectory = (
    Derivation.begin(
        "score of a trajectory, as written",
        grad(sp.log(P(tau_i))),
        goal=Goal(grad(sp.log(P(tau_i))), sum_t(grad(sp.log(pi(t, tau_i))))),
    )
    .by(factorise_trajectory_probability)
    .by(log_of_product)
    .by(gradient_of_sum)
    .claim(sum_t(grad(sp.log(pi(t, tau_i)))),
           why="Since ∇ Σ_t log P(s_{t+1}|s_t,a_t) = 0 and ∇μ(s_0) = 0, we can remove them.")
    .claim(sum_t(grad(sp.log(pi(t, tau_i)))),
           why="We can rewrite the gradient of the sum as the sum of gradients.")
)

# Slip 2 again: the final formula is written ∇J = ĝ.
final = (
    Derivation.begin(
        "final formula, as written",
        grad(J()),
        goal=Goal(grad(J()), sample_mean(unevaluated_mul(sum_t(grad(sp.log(pi(t, tau_i)))), R(tau_i))), EQUAL),
    )
    .claim(sample_mean(unevaluated_mul(sum_t(grad(sp.log(pi(t, tau_i)))), R(tau_i))),
           why="The final formula for estimating the policy gradient.", relation=EQUAL)
)

# The same line read as the seed means it: an unbiased estimate.
final_unbiased = (
    Derivation.begin(
        "final formula, read as an estimator",
        grad(J()),
        goal=Goal(grad(J()), sample_mean(unevaluated_mul(sum_t(grad(sp.log(pi(t, tau_i)))), R(tau_i))), UNBIASED),
    )
    .claim(sample_mean(unevaluated_mul(sum_t(grad(sp.log(pi(t, tau_i)))), R(tau_i))),
           why="The sample mean estimates ∇J(θ) without bias.", relation=UNBIASED)
)

PROOF = Proof(
    name="seed000_literal",
    title="Seed 000 as written (errata)",
    derivations=(likelihood_ratio, initial_lemma, score_of_trajectory, final, final_unbiased),
    source="shared/seeds/000_c387f8faedb148aa.txt",
)



if __name__ == "__main__":
    from derive.cli import run_proofs

    raise SystemExit(run_proofs([PROOF], path=__file__))
