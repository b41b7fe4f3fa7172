"""'For every m' past a threshold only: Σ_{i=c}^{m} is 0 until m ≥ c − 1, so agreement below it proves nothing.

Red-team round G, finding 1 (m_bias.py, m_equal.py): a correction (1/m) Σ_{i=33}^{m} is empty at
every m the old check drew (1, 2, 3, 4..9, 10..32), and the line was reported unbiased "for every m".
"""

import sympy as sp

from derive.battery import Battery
from derive.derivation import UNBIASED
from derive.notation import J, P, R, Sample, grad, i, m, sample_mean, sum_tau, unevaluated_mul
from soundness_helpers import battery, verdict

TI = Sample(i)
BODY = unevaluated_mul(grad(sp.log(P(TI))), R(TI))
LIKELIHOOD = sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True)


def _small(seed):
    full = battery(2, seed=seed)
    return Battery([x for x in full if x.name in ("one state", "discounted, γ = 1/2", "random #1")],
                   name=full.name, seed=full.seed)


def _plus(*xs):
    return sp.Add(*xs, evaluate=False)


def _mean_from(lo, hi=m):
    return unevaluated_mul(sp.Rational(1, 1) / m, sp.Sum(BODY, (i, lo, hi)))


def test_the_threshold_is_read_off_the_bounds_and_the_numbered_samples():
    from derive.sample_degree import m_threshold

    assert m_threshold(sample_mean(BODY)) == 1
    assert m_threshold(_mean_from(33)) == 32          # Σ_{i=33}^{m}: empty (0) for m ≤ 32
    assert m_threshold(_mean_from(1, m - 40)) == 40   # Σ_{i=1}^{m−40}: empty for m ≤ 40
    assert m_threshold(_mean_from(3, m + 2)) == 1
    assert m_threshold(sp.Sum(unevaluated_mul(R(TI), R(Sample(40))), (i, 1, m))) == 40  # τ^(i) meets τ^(40) from m = 40
    assert m_threshold(sp.Sum(BODY, (i, sp.Rational(1, 2), m))) is None


FALSE_UNBIASED = {  # name: (estimator, the least m at which it is biased)
    "a correction (1/m) Σ_{i=33}^{m} (m_bias.py)": (_plus(sample_mean(BODY), _mean_from(33)), 33),
    "(1/m) (Σ_{i=40}^{m} − Σ_{i=45}^{m}): nonzero from m = 40 on": (
        _plus(sample_mean(BODY), _mean_from(40), -_mean_from(45)), 40),
}


def test_a_correction_up_to_m_minus_k_is_never_a_pass():
    # Σ_{i=1}^{m−40}: empty at every m the old check drew (VERIFIED "for every m" on main); past m = 40
    # the evaluator does not bind such a range (a limit it says), so the line is undecided, never a pass.
    report = verdict(LIKELIHOOD, _plus(sample_mean(BODY), _mean_from(1, m - 40)), relation=UNBIASED, bat=_small(35))
    assert not report.ok and "for every m" not in report.verdict, report.verdict


def test_estimators_biased_only_past_a_breakpoint_fail():
    bat = _small(31)
    for name, (rhs, first) in FALSE_UNBIASED.items():
        report = verdict(LIKELIHOOD, rhs, relation=UNBIASED, bat=bat)
        assert report.verdict == "failed", (name, report.verdict)
        assert int(report.counterexample.bindings["m"]) >= first, (name, report.counterexample.bindings)


def test_a_true_estimator_with_a_breakpoint_holds_for_every_m_and_says_from_where():
    bat = _small(32)
    # Σ_{i=33}^{m} of the score times R, minus the same sum written R times the score: 0 at every m.
    swapped = unevaluated_mul(sp.Rational(1, 1) / m, sp.Sum(unevaluated_mul(R(TI), grad(sp.log(P(TI)))), (i, 33, m)))
    rhs = _plus(sample_mean(BODY), _mean_from(33), -swapped)
    report = verdict(LIKELIHOOD, rhs, relation=UNBIASED, bat=bat)
    assert report.ok, report.verdict
    assert "for every m (from m = 32 on" in report.verdict and "checked one by one: m = 1..31" in report.verdict
    assert report.scope_data["every_m"]["from_m"] == 32
    assert sum(k >= 32 for k in report.scope_data["every_m"]["m_checked"]) >= 3


def test_closed_lines_false_past_a_breakpoint_fail_and_their_true_twin_holds():
    bat = _small(33)
    for lo in (10, 41):  # m_equal.py, and a breakpoint past the old cap of 32
        report = verdict(grad(J()), _plus(grad(J()), sp.Sum(grad(J()), (i, lo, m))), bat=bat)
        assert report.verdict == "failed", (lo, report.verdict)
        assert int(report.counterexample.bindings["m"]) >= lo
    twin = _plus(grad(J()), sp.Sum(grad(J()), (i, 10, m)), -sp.Sum(unevaluated_mul(1, grad(J())), (i, 10, m)))
    report = verdict(grad(J()), twin, bat=bat)
    assert report.ok and "for every m (from m = 9 on" in report.verdict, report.verdict


def test_a_breakpoint_past_the_budget_is_never_every_m():
    bat = _small(34)
    twin = _plus(grad(J()), sp.Sum(grad(J()), (i, 1000, m)), -sp.Sum(unevaluated_mul(1, grad(J())), (i, 1000, m)))
    report = verdict(grad(J()), twin, bat=bat)
    assert not report.ok and "for every m" not in report.verdict, report.verdict
    assert "held for m ∈ {1, 2, 3, " in report.verdict and "not a pass" in report.verdict
