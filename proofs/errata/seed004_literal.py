"""Seed 004 transcribed as written, its slip included (not part of the default `derive verify`).

The seed factorises the trajectory probability as
    π(τ|θ) = P(s_1) π(a_1|s_1,θ) P(r_1|a_1,s_1) P(s_2|a_1,s_1) … P(s_n|a_n,s_n) π(a_n|s_n,θ) P(r_n|a_n,s_n),
where the transition into s_n is conditioned on the state it arrives in, P(s_n | a_n, s_n),
instead of the one it leaves. (Its second line writes P(s_n | a_n, s_{n-1}), a third variant.)
In derive's 0-based notation the slip is the transition factor P(s_{t+1} | s_{t+1}, a_t).

What derive says: the factorisation as written is rejected with a counterexample, since it
is not the probability of the trajectory. The chain built on it is rejected too, for a
sharper reason: the wrong factor can be 0 on a trajectory that has positive probability
(it asks for a transition from s_{t+1} to itself), so log π(τ|θ) is undefined there. Where
the wrong product is positive its factor is θ-free and drops out of the gradient, which is
why the seed's final formula, Σ_t ∇_θ log π(a_t|s_t,θ), is right all the same.
"""

import sympy as sp

from derive.derivation import Derivation, Goal, Proof
from derive.notation import (
    Transition, grad, mu, pi, prod_t, reward_probability, s, a, sum_t, t, unevaluated_mul, P,
)
from derive.rules import drop_theta_free_terms, gradient_of_sum, log_of_product, swap_gradient_and_sum

# P(s_{t+1} | s_{t+1}, a_t): the slip, conditioned on the arrival state.
as_written = sp.Mul(mu(), prod_t(unevaluated_mul(pi(), reward_probability(), Transition(s(t + 1), s(t + 1), a(t)))),
                    evaluate=False)

factorisation_as_written = Derivation.begin(
    "trajectory probability, as written",
    P(),
    goal=Goal(P(), as_written),
).claim(as_written, rule="trajectory probability",
        why="π(τ|θ) = P(s_1) π(a_1|s_1,θ) P(r_1|a_1,s_1) P(s_2|a_1,s_1) … P(s_n|a_n,s_n) π(a_n|s_n,θ) P(r_n|a_n,s_n).")

score_as_written = (
    Derivation.begin(
        "score from the factorisation as written",
        grad(sp.log(as_written)),
        goal=Goal(grad(sp.log(as_written)), sum_t(grad(sp.log(pi())))),
        description="Where the wrong product is positive, its θ-free factor drops out of the gradient.",
    )
    .by(log_of_product)
    .by(gradient_of_sum)
    .by(drop_theta_free_terms)
    .by(swap_gradient_and_sum)
)

PROOF = Proof(
    name="seed004_literal",
    title="Seed 004 as written (errata)",
    derivations=(factorisation_as_written, score_as_written),
    source="shared/seeds/004_f3d3b6a434486237.txt",
    battery="rewards",
)

if __name__ == "__main__":
    from derive.cli import run_proofs

    raise SystemExit(run_proofs([PROOF], path=__file__))
