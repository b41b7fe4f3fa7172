"""A divisor that is 0 at a sample count m whatever the samples: the first m are a domain, said first; any other m fails.

(1/m) Σ_i … (m − 7)/(m − 7) was VERIFIED (exit 0), m = 7 left out and said only deep in the scope; so
was … (m − 1)/(m − 1) after (1/m) Σ_i …, an identity that drops the case m = 1; and (m − H − 100)/(…)
was "for every m" though it is undefined at m = H + 100 on every MDP.
"""

import sympy as sp

from derive.check import check_step
from derive.derivation import EQUAL, UNBIASED
from derive.notation import H, P, R, Sample, grad, i, m, sample_mean, sum_tau, unevaluated_mul
from derive.read import check_text
from derive.sample_degree import m_poles
from derive.symbolic import SymbolicResult, possible_pole
from soundness_helpers import TEST_TIMEOUT, battery, verdict

TI = Sample(i)
BODY = unevaluated_mul(grad(sp.log(P(TI))), R(TI))
LIKELIHOOD = sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True)


def _one(x):
    """x/x as written: 1 wherever x ≠ 0, undefined where x = 0."""
    return sp.Mul(x, sp.Pow(x, -1, evaluate=False), evaluate=False)


def _estimator(*factors, body=BODY):
    return unevaluated_mul(*factors, sample_mean(body))


def test_the_poles_in_m_alone_are_found_exactly_however_large():
    assert m_poles(sp.Pow(m - 1000, -1, evaluate=False)) == ((1000,), "1/(m - 1000) at m = 1000")
    assert m_poles(sp.Pow(m ** 2 - 49, -1, evaluate=False))[0] == (7,)
    assert m_poles(sp.Pow(2 * m - 1, -1, evaluate=False)) == ((), "")       # no integer root
    assert m_poles(sp.Pow(m + 3, -1, evaluate=False)) == ((), "")           # a root below 1
    assert m_poles(sp.Pow(m - H, -1, evaluate=False)) == ((), "")           # not m alone: see below


def test_a_divisor_zero_at_a_later_m_fails_there():
    bat = battery(2, seed=31)
    for k in (7, 1000):
        report = verdict(LIKELIHOOD, _estimator(_one(m - k)), relation=UNBIASED, bat=bat)
        assert report.verdict == "failed", report.verdict
        assert report.counterexample is not None and report.counterexample.bindings == {"m": k}
        assert f"divides by 0 at m = {k} whatever the samples" in report.detail, report.detail
    # Its true twin, a divisor never 0 at an m ≥ 1, holds for every m.
    twin = verdict(LIKELIHOOD, _estimator(_one(m + 7)), relation=UNBIASED, bat=bat)
    assert twin.ok and "for every m" in twin.scope, twin.verdict


def test_a_symbolic_proof_that_cancels_the_divisor_is_not_taken():
    bat = battery(2, seed=32)
    report = check_step(LIKELIHOOD, _estimator(_one(m - 7)), relation=UNBIASED, battery=bat,
                        symbolic=SymbolicResult("proved"), minimize=False, timeout=TEST_TIMEOUT)
    assert report.verdict == "failed" and report.symbolic.startswith("not proved"), (report.verdict, report.symbolic)
    assert not report.contradiction


def test_a_divisor_zero_at_the_first_m_is_a_domain_said_first():
    bat = battery(2, seed=33)
    report = verdict(LIKELIHOOD, _estimator(_one(m - 1)), relation=UNBIASED, bat=bat)
    assert report.ok, report.verdict
    assert report.scope.startswith("for m ≥ 2 only (the line divides by 0 whatever the samples: 1/(m - 1) at m = 1)")
    assert report.scope_data["m_from_defined"] == 2
    # A false twin with the same domain still fails: the domain never excuses a wrong expectation.
    wrong = verdict(LIKELIHOOD, _estimator(_one(m - 1), body=unevaluated_mul(2, BODY)), relation=UNBIASED, bat=bat)
    assert wrong.verdict == "failed", wrong.verdict


def test_an_identity_that_drops_a_case_of_the_line_above_fails_there():
    bat = battery(2, seed=34)
    report = verdict(sample_mean(BODY), _estimator(_one(m - 1)), relation=EQUAL, bat=bat)
    assert report.verdict == "failed" and report.counterexample.bindings == {"m": 1}, report.verdict
    assert "the line drops the case m = 1" in report.detail, report.detail
    # The same factor on both sides drops nothing: it is their common domain, never a failure.
    both = verdict(_estimator(_one(m - 1)), _estimator(_one(m - 1)), relation=EQUAL, bat=bat)
    assert both.verdict != "failed" and both.scope_data["m_from_defined"] == 2, both.verdict


def test_a_divisor_in_m_and_the_horizon_leaves_every_m_unshown():
    bat = battery(2, seed=35)
    report = verdict(LIKELIHOOD, _estimator(_one(m - H - 100)), relation=UNBIASED, bat=bat)
    assert not report.ok and "for every m" not in report.scope, report.verdict
    assert "the line divides by m - H - 100, which SymPy cannot show nonzero for every m ≥ 1" in report.verdict
    twin = verdict(LIKELIHOOD, _estimator(_one(m + H + 1)), relation=UNBIASED, bat=bat)
    assert twin.ok and "for every m" in twin.scope, twin.verdict


def test_the_divisor_question_names_the_factor_and_the_ranges():
    t = sp.Symbol("t", integer=True, nonnegative=True)
    assert possible_pole(sp.Sum(sp.Pow(m + t, -1, evaluate=False), (t, 0, H)), only=m) == ""
    why = possible_pole(sp.Sum(sp.Pow(m - t, -1, evaluate=False), (t, 0, H)), only=m)
    assert why.startswith("the line divides by m - t, which SymPy cannot show nonzero for t = 0..H"), why
    # Only the divisors in m are asked about; m − 1 is nonzero from m = 2 on.
    assert possible_pole(sp.Pow(R(TI) - 5, -1, evaluate=False), only=m) == ""
    assert possible_pole(sp.log(m - 1), only=m) != "" and possible_pole(sp.log(m - 1), only=m, at_least=2) == ""


_DOC = r"""The REINFORCE estimator:

$$
\nabla_{\theta} J(\theta) \approx \frac{1}{m} \sum_{i=1}^{m} \sum_{t=0}^{H} \nabla_{\theta} \log \pi_{\theta}(a_t^{(i)} \mid s_t^{(i)}) R(\tau^{(i)}) FACTOR
$$
"""


def test_a_document_says_the_domain_in_its_verdict_and_fails_a_hole():
    from derive.cli_check import format_text

    report = check_text(_DOC.replace("FACTOR", r"\frac{m-1}{m-1}"), path="x.md", seed=1, n_random=2, minimize=False)
    assert report.verified and report.to_dict()["m_from"] == 2
    assert "\nVERIFIED for m ≥ 2 only" in format_text(report)
    hole = check_text(_DOC.replace("FACTOR", r"\frac{m-7}{m-7}"), path="x.md", seed=1, n_random=2, minimize=False)
    assert not hole.verified and "\nNOT VERIFIED: 1 fails" in format_text(hole)
    plain = check_text(_DOC.replace("FACTOR", ""), path="x.md", seed=1, n_random=2, minimize=False)
    assert plain.verified and plain.to_dict()["m_from"] == 1 and "VERIFIED for m" not in format_text(plain)


# -- a divisor in the sample index, inside the sample mean --------------------------------------

def _doc_line(factor):
    report = check_text(_DOC.replace("FACTOR", factor), path="x.md", seed=1, n_random=2, minimize=False)
    (line,) = [ln for ln in report.lines if ln.kind != "result"]
    return report, line


def test_a_divisor_zero_at_a_sample_index_no_check_reaches_is_never_every_m():
    # (i − 100)/(i − 100) in Σ_{i=1}^{m} is undefined for every m ≥ 100; no m checked reaches 100.
    # It was VERIFIED "for every m": the degree argument cancelled it, the divisor question only asked about m.
    for factor, lost in ((r"\frac{i-100}{i-100}", "i - 100"), (r"\frac{i-40}{i-40}", "i - 40")):
        report, line = _doc_line(factor)
        assert not report.verified and line.verdict == "undecided", (factor, line)
        from derive.cli_check import format_text

        text = format_text(report)
        assert f"the line divides by {lost}, which SymPy cannot show nonzero for i = 1..m" in text, text


def test_a_divisor_in_the_index_that_keeps_its_sign_on_the_range_holds_for_every_m():
    # The twins: m − i + 1 ≥ 1 and i + 1 ≥ 2 for i = 1..m, shown by the range's ends.
    for factor in (r"\frac{m-i+1}{m-i+1}", r"\frac{i+1}{i+1}"):
        report, line = _doc_line(factor)
        from derive.cli_check import format_text

        assert report.verified and line.verdict == "holds", (factor, line)
        assert "; for every m (E[lhs − rhs] is a rational function of m" in format_text(report), format_text(report)


def test_a_divisor_in_m_inside_the_sample_mean_keeps_the_degree_argument():
    # (m − 1)(m − 2)/((m − 1)(m − 2)) is a constant of Σ_i: every m ≥ 3 is shown (it was undecided), m = 1, 2 a domain.
    from derive.cli_check import format_text

    report, line = _doc_line(r"\frac{(m-1)(m-2)}{(m-1)(m-2)}")
    assert report.verified and report.to_dict()["m_from"] == 3, line
    assert "\nVERIFIED for m ≥ 3 only" in format_text(report)
    # Its false twin: the same constant, but not 1.
    bad, line = _doc_line(r"\frac{(m-1)(m-2)}{(m-1)(m-3)}")
    assert not bad.verified and line.verdict != "holds", line


def test_the_degree_reads_a_quotient_as_written_not_as_its_rebuilt_value():
    from derive.sample_degree import degree_in_m

    x = sp.Add(m, -i, 1)
    body = sp.Mul(_one(x), R(TI), evaluate=False)
    assert degree_in_m(body) == (1, 1)      # (m − i + 1)/(m − i + 1) R(τ^(i)) is a quotient in the index as written
    assert degree_in_m(sp.Sum(sp.Mul(sp.Pow(x, -1, evaluate=False), R(TI), evaluate=False), (i, 1, m))) is None


def test_a_log_divisor_in_m_alone_is_a_domain_not_a_breach_of_the_support():
    # log m is 0 at m = 1 and log(m − 1) is undefined at m = 1 and 0 at m = 2: no case of the line there.
    assert m_poles(sp.Pow(sp.log(m), -1, evaluate=False))[0] == (1,)
    assert m_poles(sp.Pow(sp.log(m - 1), -1, evaluate=False))[0] == (1, 2)
    assert m_poles(sp.Pow(sp.log(m + 1), -1, evaluate=False))[0] == ()


def test_the_domain_is_said_once_and_the_every_m_claim_names_it():
    from derive.cli_check import format_text

    text = format_text(_doc_line(r"\frac{m-1}{m-1}")[0])
    assert "for m ≥ 2 only (" in text and "; for every m ≥ 2 (E[lhs − rhs]" in text and "; for every m (" not in text, text
