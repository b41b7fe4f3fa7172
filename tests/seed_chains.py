"""Seed 000's chains written as claims, and hand-made verification reports for them."""

import sympy as sp

from derive.derivation import UNBIASED, Derivation, Goal, Proof
from derive.notation import (
    J, P, R, Sample, dynamics, factorisation, fraction, grad, i, mu, pi, ratio, sample_mean, sum_t,
    sum_tau, t, unevaluated_mul,
)
from derive.report import PROVED, Counterexample, DerivationReport, ProofReport, StepReport

tau_i = Sample(i)


def seed_000() -> Proof:
    """Seed 000's chains written with claims (the bundled proof uses rules)."""
    estimate = sample_mean(unevaluated_mul(grad(sp.log(P(tau_i))), R(tau_i)))
    lr = (
        Derivation.begin("likelihood-ratio gradient", grad(J()), goal=Goal(grad(J()), estimate, UNBIASED))
        .claim(grad(sum_tau(unevaluated_mul(P(), R()))), why="J(θ) = Σ_τ P(τ;θ) R(τ).")
        .claim(sum_tau(grad(unevaluated_mul(P(), R()))), why="The gradient of the sum is the sum of the gradients.")
        .claim(sum_tau(unevaluated_mul(ratio(P()), grad(P()), R()), support=True),
               why="Multiply by P(τ;θ)/P(τ;θ) = 1.")
        .claim(sum_tau(unevaluated_mul(P(), fraction(grad(P()), P()), R()), support=True), why="Regroup.")
        .claim(sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True), why="∇_θ log f = ∇_θ f / f.")
        .claim(estimate, why="Sample mean.", relation=UNBIASED)
    )
    score_lhs = grad(sp.log(P(tau_i)))
    logs = sp.Add(sp.log(mu(tau_i)), sum_t(sp.log(dynamics(t, tau_i))), sum_t(sp.log(pi(t, tau_i))))
    score = (
        Derivation.begin("score of a trajectory", score_lhs,
                         goal=Goal(score_lhs, sum_t(grad(sp.log(pi(t, tau_i))))))
        .claim(grad(sp.log(factorisation(tau_i))), why="Markov property.")
        .claim(grad(logs), why="The log of a product is the sum of the logs.")
        .claim(sp.Add(*[grad(x) for x in logs.args]), why="Linearity of ∇_θ.")
        .claim(grad(sum_t(sp.log(pi(t, tau_i)))), why="μ and the dynamics do not depend on θ.")
        .claim(sum_t(grad(sp.log(pi(t, tau_i)))), why="Swap ∇_θ and Σ_t.")
    )
    long = sp.Add(*[unevaluated_mul(grad(sp.log(pi(k, tau_i))), R(tau_i)) for k in range(10)])
    wide = (
        Derivation.begin("a long line", score_lhs, goal=Goal(score_lhs, long))
        .claim(long, why="Written out for ten steps (a line far wider than the page).")
        .claim(grad(sp.log(unevaluated_mul(*[pi(k, tau_i) for k in range(9)]))), why="Wrong on purpose.")
    )
    return Proof("seed_000", "The policy-gradient theorem, seed 000", (lr, score, wide), notes=(NASTY,))


# Every printable ASCII character, the Unicode the rules' sentences use, and some they do not.
NASTY = (" ".join(chr(c) for c in range(33, 127))
         + " θτμπ∇ΣΠ∼≠≤≥→∈·×…–—‘’“”✓✗ é ß 日本 s_t s_{t+1} τ^(i) a__b _x ^y")


def step(k, verdict=PROVED, ce=None):
    return StepReport(index=k, rule="claim", why="", relation="=", verdict=verdict, symbolic="proved",
                      instances=20, counterexample=ce)


def report_for(proof: Proof) -> ProofReport:
    ce = Counterexample(instance="2 states, 1 action, H = 1, θ = 0", mdp={"initial": ["1/2", "1/2"]},
                        theta=("0",), lhs=("1/3",), rhs=("1/4",), reason="the two sides differ: 1/3 ≠ 1/4")
    out = []
    for d in proof.derivations:
        steps = [step(k) for k in range(1, len(d.steps) + 1)]
        if d.name == "a long line":
            steps[-1] = step(len(d.steps), "failed", ce)
        result = step(0, "failed", ce) if d.name == "a long line" else step(0, "checked on 20 MDPs")
        out.append(DerivationReport(d.name, tuple(steps), result))
    return ProofReport(proof.name, proof.title, "", tuple(out), instances=("x",) * 20)
