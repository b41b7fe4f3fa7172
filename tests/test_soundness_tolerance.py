"""No tolerance decides equality: exact log-linear numbers, rigorous balls with their own verdict, exact floats."""

import sympy as sp

from derive.battery import gaussian_battery
from derive.notation import J, P, R, action, grad, sigma, sum_tau, theta, unevaluated_mul, k0
from soundness_helpers import battery, holds, verdict

BIG = sp.Integer(10) ** 50
LOG2, LOG3 = sp.log(sp.Integer(2), evaluate=False), sp.log(sp.Integer(3), evaluate=False)


def _unevaluated_sum(*terms):
    return sp.Add(*terms, evaluate=False)


def test_large_common_log_term_does_not_swamp_a_difference():
    # J = 2J with 10^50·log 2 added to both sides.
    lhs = _unevaluated_sum(J(), unevaluated_mul(BIG, LOG2))
    rhs = _unevaluated_sum(unevaluated_mul(2, J()), unevaluated_mul(BIG, LOG2))
    assert not holds(lhs, rhs)


def test_log_identities_are_decided_exactly():
    lhs = _unevaluated_sum(J(), LOG2, LOG3)
    assert holds(lhs, _unevaluated_sum(J(), sp.log(sp.Integer(6), evaluate=False)))
    assert not holds(lhs, _unevaluated_sum(J(), sp.log(sp.Rational(6 * 10**30 + 1, 10**30), evaluate=False)))
    # A true cancellation under a huge common term is not lost (no false alarm).
    big = unevaluated_mul(BIG, sp.log(sp.Integer(4), evaluate=False))
    assert holds(_unevaluated_sum(J(), big), _unevaluated_sum(J(), unevaluated_mul(2 * BIG, LOG2)))


def test_log_values_of_trajectory_quantities_are_exact():
    # Σ_τ P log P: the entropy-like sum of logs of rationals, compared exactly.
    ent = sum_tau(unevaluated_mul(P(), sp.log(P())), support=True)
    assert holds(ent, ent)
    assert not holds(ent, _unevaluated_sum(ent, unevaluated_mul(sp.Rational(1, 10**40), LOG2)))


def test_products_of_logs_get_the_weaker_numeric_verdict():
    lhs = _unevaluated_sum(J(), unevaluated_mul(LOG2, LOG3))
    report = verdict(lhs, _unevaluated_sum(J(), unevaluated_mul(LOG3, LOG2)))
    # Numeric agreement is its own, weaker verdict: never a pass.
    assert not report.ok and report.verdict.startswith("agree to 60 digits on"), report.verdict
    assert report.to_dict()["numeric_instances"] == report.instances
    wrong = _unevaluated_sum(J(), unevaluated_mul(LOG2, LOG2))
    assert not holds(lhs, wrong)


def test_floats_are_exact_binary_rationals_not_snapped():
    third = sp.Float(1 / 3)  # 0.333…3 (53 bits), not 1/3
    assert not holds(J(), unevaluated_mul(3, third, J()))
    assert holds(J(), unevaluated_mul(sp.Float(0.5), J() + J()))


def test_points_are_compared_exactly_or_in_balls():
    pts = gaussian_battery(n_random=4)
    score = (action - theta) / sigma ** 2
    assert holds(score, score, bat=pts)
    # A difference of 10^-45 is a difference (the old check passed anything below 10^-40).
    assert not holds(score, score + sp.Rational(1, 10**45), bat=pts)
    assert not holds(score, score + sp.exp(-sp.Integer(120)), bat=pts)
    assert not holds(k0, k0 + sp.Float(1e-45), bat=pts)


def test_a_difference_that_is_not_a_number_is_undecided():
    pts = gaussian_battery(n_random=4)
    unknown = sp.Symbol("q")
    report = verdict(action, action + unknown, bat=pts)
    assert not report.ok and report.verdict == "undecided"


def test_an_unevaluable_line_on_mdps_is_not_a_pass():
    report = verdict(J(), _unevaluated_sum(J(), sp.Symbol("q")), bat=battery(n_random=2))
    assert report.verdict == "undecided"
    report = verdict(J(), _unevaluated_sum(J(), unevaluated_mul(0, sp.pi)), bat=battery(n_random=2))
    assert not report.ok


def test_a_failed_product_of_logs_shows_both_sides_as_balls():
    # E[(log μ)²] = (E[log μ])² is false (Var log μ > 0); its counterexample names both values, not a blank.
    from derive.notation import mu

    lhs = sum_tau(unevaluated_mul(P(), sp.log(mu()) ** 2), support=True)
    rhs = sum_tau(unevaluated_mul(P(), sp.log(mu())), support=True) ** 2
    report = verdict(lhs, rhs, bat=battery(seed=5))
    assert report.verdict == "failed", report.verdict
    ce = report.counterexample
    assert ce.lhs and ce.rhs and all("rigorous ball" in v for v in ce.lhs + ce.rhs), (ce.lhs, ce.rhs)
