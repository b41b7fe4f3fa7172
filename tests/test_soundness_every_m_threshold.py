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


# Red-team round I, finding 1 (p2_fixedsum.py): samples τ^(k) numbered by a Σ_{k=1}^{40} over a fixed range
# beside Σ_{i=1}^{m} meet them only while m ≤ 40 — E = 40 m J² + min(m, 40) Var R — and the labels were
# stripped, so m = 1, 2 were taken to decide every m and the claim '+ m Var R' was VERIFIED.
K_ = sp.Symbol("k", integer=True, positive=True)


def _fixed_pairs(upper, lo=1, hi=m):
    return sp.Sum(sp.Sum(unevaluated_mul(R(Sample(K_)), R(TI)), (i, lo, hi)), (K_, 1, upper))


def test_a_sample_numbered_by_a_fixed_range_gives_a_breakpoint_and_other_labels_are_refused():
    from derive.notation import H
    from derive.sample_degree import threshold_and_reason

    assert m_threshold_of(_fixed_pairs(40)) == (40, "")
    assert m_threshold_of(_fixed_pairs(40, 41, m + 40)) == (1, "")     # τ^(41..m+40) never meet τ^(1..40)
    assert m_threshold_of(unevaluated_mul(R(Sample(m)), R(Sample(7)))) == (8, "")  # τ^(m) is τ^(7) at m = 7
    for shape in (_fixed_pairs(H), sp.Sum(R(Sample(100 - m)), (i, 1, m)), sp.Sum(R(Sample(K_ + 1)), (K_, 1, 3))):
        m0, why = threshold_and_reason(shape)
        assert m0 is None and "sample" in why, (shape, why)


def m_threshold_of(e):
    from derive.sample_degree import threshold_and_reason

    return threshold_and_reason(e)


def _pairs_claim(upper):
    E_R2 = sum_tau(unevaluated_mul(P(), R() ** 2))
    return upper * m * J() ** 2 + m * (E_R2 - J() ** 2), _fixed_pairs(upper)


def _one_state(seed):
    full = battery(2, seed=seed)
    return Battery([x for x in full if x.name == "one state"], name=full.name, seed=full.seed)


def test_fixed_range_samples_past_the_drawn_m_fail_and_their_true_twin_holds_for_every_m():
    start, est = _pairs_claim(40)
    report = verdict(start, est, relation=UNBIASED, bat=_one_state(61))
    assert report.verdict == "failed", report.verdict
    assert int(report.counterexample.bindings["m"]) >= 41, report.counterexample.bindings
    # The true twin: the same pairs summed in the other order, equal in expectation for every m.
    swapped = sp.Sum(sp.Sum(unevaluated_mul(R(TI), R(Sample(K_))), (K_, 1, 40)), (i, 1, m))
    report = verdict(swapped, _fixed_pairs(40), relation=UNBIASED, bat=_one_state(62))
    assert report.ok and "for every m (from m = 40 on" in report.verdict, report.verdict


def test_a_fixed_range_past_the_m_budget_is_undecided_and_says_why():
    start, est = _pairs_claim(300)
    report = verdict(start, est, relation=UNBIASED, bat=_one_state(63))
    assert not report.ok and "for every m" not in report.verdict, report.verdict
    assert "changes with m up to m = 300" in report.verdict, report.verdict
