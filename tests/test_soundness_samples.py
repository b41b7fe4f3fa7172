"""Sample variables: i ranges over 1..m, m reaches 3 and beyond, free τ is weighted by P(τ;θ), binders rebind."""

import runpy
from pathlib import Path

import sympy as sp

from derive.check import verify_proof
from derive.derivation import EQUAL, UNBIASED, Derivation, Goal, Proof
from derive.notation import (
    J, P, R, Sample, TrajectorySum, grad, i, m, pi, sample_mean, sum_t, sum_tau, t, theta, unevaluated_mul,
)
from soundness_helpers import battery, enumerable, holds, verdict

ROOT = Path(__file__).resolve().parent.parent
TI = Sample(i)
T1 = Sample(1)
LIKELIHOOD = sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True)
ESTIMATOR = sample_mean(unevaluated_mul(grad(sp.log(P(TI))), R(TI)))
REINFORCE = sample_mean(unevaluated_mul(sum_t(grad(sp.log(pi(t, TI)))), R(TI)))


def test_seed_000_with_an_extra_line_biased_for_three_samples_fails():
    seed000 = runpy.run_path(str(ROOT / "proofs" / "policy_gradient.py"))
    lr, score = seed000["likelihood_ratio"], seed000["score_of_trajectory"]
    body = unevaluated_mul(sum_t(grad(sp.log(pi(t, TI)))), R(TI))
    biased = sample_mean(unevaluated_mul(1 + (m - 1) * (m - 2), body))  # equal to REINFORCE for m = 1, 2 only
    d = (Derivation.begin("REINFORCE estimator", grad(J()), goal=Goal(grad(J()), biased, UNBIASED))
         .cite(lr).substitute(score)
         .claim(biased, why="the same estimator, surely"))
    report = verify_proof(Proof("biased", "biased", (lr, score, d)), battery=battery(n_random=3), minimize=False)
    assert not report.verified
    bad = report.derivations[2].steps[-1]
    assert bad.verdict == "failed" and bad.counterexample.bindings.get("m") not in ("1", "2")


def test_sample_index_factor_is_caught():
    # (1/m) Σ_i (1 + (i−1)(i−2)) f(τ^(i)): equal in expectation for m ≤ 2, biased from m = 3 on.
    body = unevaluated_mul(grad(sp.log(P(TI))), R(TI))
    wrong = sample_mean(unevaluated_mul(1 + (i - 1) * (i - 2), body))
    assert not holds(LIKELIHOOD, wrong, relation=UNBIASED)
    assert not holds(LIKELIHOOD, sample_mean(unevaluated_mul(i, body)), relation=UNBIASED)


def test_equality_between_estimators_is_checked_beyond_two_samples():
    wrong = sample_mean(unevaluated_mul(1 + (m - 1) * (m - 2), unevaluated_mul(grad(sp.log(P(TI))), R(TI))))
    report = verdict(ESTIMATOR, wrong)
    assert report.verdict == "failed"


def test_free_sample_index_takes_more_than_one_value():
    line = grad(sp.log(P(TI)))
    assert not holds(line, unevaluated_mul(i, line))
    assert not holds(line, unevaluated_mul(1 + (i - 1) * (i - 2) * (i - 3), line))


def test_biased_one_sample_estimator_in_free_tau_fails_and_the_true_one_passes():
    biased = unevaluated_mul(P(), grad(sp.log(P())), R())
    assert not holds(LIKELIHOOD, biased, relation=UNBIASED)
    true = unevaluated_mul(grad(sp.log(P())), R())
    report = verdict(LIKELIHOOD, true, relation=UNBIASED)
    assert report.ok, (report.verdict, report.detail)


def test_true_estimators_pass_at_every_sample_count():
    report = verdict(LIKELIHOOD, ESTIMATOR, relation=UNBIASED)
    assert report.ok and "m = 1, 2, 3, " in report.verdict, report.verdict
    assert verdict(grad(J()), REINFORCE, relation=UNBIASED).ok


def test_sum_over_a_sample_binds_it():
    bat = battery()
    small = enumerable(bat)  # no DP covers these lines on the large MDPs: decided on the others
    over_sample = TrajectorySum(unevaluated_mul(P(T1), R(T1)), T1)
    assert holds(J(), over_sample, bat=small)
    assert not holds(J(), unevaluated_mul(2, over_sample), bat=bat)
    # τ^(1) bound inside, free outside: the sum does not depend on the outer τ^(1).
    assert holds(J(), sp.Add(over_sample, R(T1), -R(T1), evaluate=False), bat=small)
    assert not holds(J(), sp.Add(over_sample, R(T1), evaluate=False), bat=bat)
    # On the full battery a line its large MDPs cannot evaluate is undecided, never a pass.
    assert verdict(J(), sp.Add(over_sample, R(T1), -R(T1), evaluate=False), bat=bat).verdict.startswith("undecided")


def test_inner_binders_rebind_their_variable():
    inner = sum_tau(unevaluated_mul(P(), R()))
    # A free τ outside, Σ_τ inside: the inner τ is the sum's own (decided on the enumerable MDPs).
    assert holds(unevaluated_mul(R(), J()), unevaluated_mul(R(), inner), bat=enumerable(battery()))
    assert not holds(unevaluated_mul(R(), J()), unevaluated_mul(R(), sum_tau(unevaluated_mul(P(), R(), R()))))
    # Σ_t inside Σ_t rebinds t.
    twice = sp.Sum(sp.Sum(sp.Integer(1), (t, 0, sp.Symbol("H", integer=True, nonnegative=True))), (t, 0, 0))
    assert holds(sum_t(sp.Integer(1)), twice)


def test_a_sum_over_theta_is_ill_formed():
    report = verdict(J(), sp.Sum(J(), (theta, 1, 1)))
    assert report.verdict == "failed" and "ill-formed" in report.counterexample.reason
    report = verdict(J(), TrajectorySum(unevaluated_mul(P(), R()), theta))
    assert report.verdict == "failed" and "ill-formed" in report.counterexample.reason
