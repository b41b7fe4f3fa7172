"""An index, exponent or limit is read by value, so a quotient that cancels there is refused.

γ^{(m−7)/(m−7)} γ^{-1}, Σ_{i=1}^{m(m−7)/(m−7)}, a_{t(m−7)/(m−7)}: each was read as its value
(1, m, t) and the REINFORCE estimator after it VERIFIED, though the line is undefined at m = 7;
the checks after the reader never saw the divisor.
"""

import pytest

from derive.read import check_text
from derive.read.document import HOLDS, NOT_UNDERSTOOD

_DOC = r"""The REINFORCE estimator:

$$
\nabla_{\theta} J(\theta) \approx \frac{1}{m} \sum_{i=1}^{LIM} \sum_{t=0}^{H} \nabla_{\theta} \log \pi_{\theta}(a_{T}^{(I)} \mid s_{T}^{(I)}) R(\tau^{(I)}) FACTOR
$$
"""


def _line(*, FACTOR="", LIM="m", T="t", I="i"):
    doc = _DOC.replace("FACTOR", FACTOR).replace("LIM", LIM).replace("{T}", "{" + T + "}").replace("(I)", "(" + I + ")")
    report = check_text(doc, path="x.md", seed=1, n_random=2, minimize=False)
    (line,) = [ln for ln in report.lines if ln.kind != "result"]
    return report, line


@pytest.mark.parametrize("where, written, lost", [
    ("FACTOR", r"\gamma^{\frac{m-7}{m-7}}\gamma^{-1}", "m - 7"),       # an exponent that is 1 except at m = 7
    ("LIM", r"m\frac{m-7}{m-7}", "m - 7"),                              # a sample-sum limit
    ("T", r"t\frac{m-7}{m-7}", "m - 7"),                                # a time index
    ("I", r"i\frac{m-7}{m-7}", "m - 7"),                                # a sample label
    ("FACTOR", r"\gamma^{\frac{m-1}{(m-1)(m-2)}}", "m - 1"),            # cancels one factor, keeps the other
    ("FACTOR", r"\gamma^{\frac{H-3}{H-3}}\gamma^{-1}", "H - 3"),        # a divisor in the horizon
])
def test_a_cancelling_divisor_is_refused_and_named(where, written, lost):
    report, line = _line(**{where: written})
    assert not report.verified and line.verdict == NOT_UNDERSTOOD, line
    assert f"needs {lost} ≠ 0, which derive's reading" in line.detail and f"undefined where {lost} = 0" in line.detail, \
        line.detail


@pytest.mark.parametrize("where, written", [
    ("FACTOR", r"\gamma^{2}\gamma^{-2}"),               # index arithmetic without a divisor
    ("FACTOR", r"\gamma^{\frac{2}{2}}\gamma^{-1}"),     # a numeric divisor cannot be 0
    ("T", "t+1-1"),
    ("LIM", "2m-m"),
    ("FACTOR", ""),
])
def test_the_twins_without_a_vanishing_divisor_are_read_and_hold(where, written):
    report, line = _line(**{where: written})
    assert report.verified and line.verdict == HOLDS, line


def test_a_divisor_the_value_keeps_is_not_refused_by_the_reader():
    # (m − 1)/(m − 1)² is 1/(m − 1) by value: the divisor survives, so the checks after the reader see it.
    report, line = _line(FACTOR=r"\gamma^{\frac{m-1}{(m-1)^2}}")
    assert line.verdict != NOT_UNDERSTOOD or "would drop" not in line.detail, line.detail
    assert not report.verified, line      # γ^{1/(m−1)} is no factor of the estimator: it fails or is undecided


# A log dropped by the evaluation is a condition lost too (log(m − 7) needs m > 7), and 1^x, 1 to SymPy,
# is undefined as written where x is.
@pytest.mark.parametrize("where, written, said", [
    ("FACTOR", r"\gamma^{1+\log(m-7)-\log(m-7)}\gamma^{-1}", "needs m - 7 > 0"),
    ("FACTOR", r"\gamma^{0\cdot\log(m-7)}", "needs m - 7 > 0"),
    ("LIM", r"m+\log(m-7)-\log(m-7)", "needs m - 7 > 0"),
    ("LIM", r"m\cdot(\log(m-7))^{0}", "needs m - 7 > 0"),
    ("T", r"t+\log(H-3)-\log(H-3)", "needs H - 3 > 0"),
    ("FACTOR", r"\gamma^{t+0\cdot\log(t)}\gamma^{-t}", "needs t > 0"),
    ("FACTOR", r"\gamma^{1+0\cdot\log(1-\gamma)}\gamma^{-1}", "needs 1 - γ > 0"),
    ("FACTOR", r"1^{\frac{1}{m-7}}", "needs m - 7 ≠ 0"),
    ("FACTOR", r"\gamma^{1^{\frac{1}{m-7}}}\gamma^{-1}", "needs m - 7 ≠ 0"),
    ("LIM", r"m\cdot 1^{\frac{1}{m-7}}", "needs m - 7 ≠ 0"),
    ("T", r"t\cdot 1^{\frac{1}{H-3}}", "needs H - 3 ≠ 0"),
    ("FACTOR", r"1^{\frac{1}{\gamma-1}}", "needs γ - 1 ≠ 0"),
    ("FACTOR", r"1^{\frac{1}{R(\tau^{(i)})}}", "needs R"),
])
def test_a_condition_the_value_drops_is_refused_and_named(where, written, said):
    report, line = _line(**{where: written})
    assert not report.verified and line.verdict == NOT_UNDERSTOOD, line
    assert said in line.detail.replace("gamma", "γ"), line.detail


@pytest.mark.parametrize("where, written", [
    ("FACTOR", r"\gamma^{1+\log(m+7)-\log(m+7)}\gamma^{-1}"),   # log(m + 7) is defined for every m
    ("LIM", r"m+\log(2)-\log(2)"),
    ("T", r"t+0\cdot\log(t+1)"),
])
def test_a_log_defined_everywhere_may_be_dropped(where, written):
    report, line = _line(**{where: written})
    assert report.verified and line.verdict == HOLDS, line


@pytest.mark.parametrize("written", [r"1^{\frac{1}{m+7}}", r"1^{\frac{1}{2}}", r"1^{m}"])
def test_a_power_of_one_defined_everywhere_is_one(written):
    report, line = _line(FACTOR=written)
    assert report.verified and line.verdict == HOLDS, line


@pytest.mark.parametrize("written, said", [
    (r"1^{\frac{1}{0}}", "divides by 0"),
    (r"\gamma^{1+0\cdot\log 0}\gamma^{-1}", "the log of a number ≤ 0"),
    (r"\frac{1}{1-1}", "divides by 0"),
    (r"0^{-1}", "divides by 0"),
])
def test_an_undefined_number_is_refused_not_a_crash(written, said):
    report, line = _line(FACTOR=written)
    assert not report.verified and line.verdict == NOT_UNDERSTOOD and said in line.detail, line.detail


_DEFINED = r"""Let

$$ \hat{c} := BODY $$

The REINFORCE estimator:

$$
\nabla_{\theta} J(\theta) \approx \frac{1}{m} \sum_{i=1}^{m} \sum_{t=0}^{H} \hat{c} \, R(\tau^{(i)}) \nabla_{\theta}\log\pi_{\theta}(a_{t}^{(i)} \mid s_{t}^{(i)})
$$
"""


def _defined(body):
    report = check_text(_DEFINED.replace("BODY", body), path="x.md", seed=1, n_random=2, minimize=False)
    (line,) = [ln for ln in report.lines if ln.kind not in ("result", "definition")]
    return report, line


# A defined name is written out as defined: ĉ := (m − 7)/(m − 7) was 1 once substituted, and VERIFIED.
@pytest.mark.parametrize("body", [r"\frac{m-7}{m-7}", r"\frac{H-40}{H-40}", r"\frac{m-i}{m-i}"])
def test_a_defined_name_keeps_its_divisor(body):
    report, line = _defined(body)
    assert not report.verified, line


def test_a_defined_name_keeps_its_domain():
    from derive.cli_check import format_text

    report, line = _defined(r"\frac{m-1}{m-1}")
    text = format_text(report)
    assert line.verdict == HOLDS and "VERIFIED for m ≥ 2 only" in text, text


@pytest.mark.parametrize("body", ["1", r"\frac{m+1}{m+1}", r"\frac{2}{2}"])
def test_a_defined_name_without_a_vanishing_divisor_holds(body):
    report, line = _defined(body)
    assert report.verified and line.verdict == HOLDS, line


# 0^e is 1/0^{−e} where e < 0: 0^{m−7} − 0^{m−7} read as 0 drops "m − 7 ≥ 0" (undefined at m = 1: 0^{−6}).
@pytest.mark.parametrize("where, written, said", [
    ("LIM", r"m+0^{m-7}-0^{m-7}", "needs m - 7 ≥ 0"),
    ("FACTOR", r"\gamma^{1+0^{H-20}-0^{H-20}}\gamma^{-1}", "needs H - 20 ≥ 0"),
    ("FACTOR", r"\gamma^{0 \cdot 0^{m-7}}", "needs m - 7 ≥ 0"),
    ("FACTOR", r"1^{0^{m-7}}", "needs m - 7 ≥ 0"),                 # the power of a number, outside any index
    ("T", r"t+0^{t-5}-0^{t-5}", "needs t - 5 ≥ 0"),
])
def test_a_power_of_zero_keeps_its_exponent_nonnegative(where, written, said):
    report, line = _line(**{where: written})
    assert not report.verified and line.verdict == NOT_UNDERSTOOD, line
    assert said in line.detail and "0 to that power divides by 0" in line.detail, line.detail


@pytest.mark.parametrize("where, written", [
    ("LIM", r"m+0^{m+7}-0^{m+7}"),      # m + 7 > 0: 0^{m+7} is 0, defined
    ("T", r"t+0^{t}-0^{t}"),            # t ≥ 0, and 0⁰ = 1 by the conventions
    ("FACTOR", r"1^{0^{m+7}}"),
])
def test_a_power_of_zero_with_a_nonnegative_exponent_is_read(where, written):
    report, line = _line(**{where: written})
    assert report.verified and line.verdict == HOLDS, line


# T and n are derive's H in a 0-based document, and H = 0 is a horizon: T/T is 0/0 there.
@pytest.mark.parametrize("where, written", [
    ("FACTOR", r"\gamma^{\frac{T}{T}}\gamma^{-1}"),
    ("FACTOR", r"\gamma^{\frac{n}{n}}\gamma^{-1}"),
    ("FACTOR", r"\gamma^{1+\log T - \log T}\gamma^{-1}"),
    ("LIM", r"\frac{mT}{T}"),
    ("T", r"\frac{tT}{T}"),
])
def test_T_and_n_read_as_H_keep_the_divisor_H(where, written):
    report, line = _line(**{where: written})
    assert not report.verified and line.verdict != HOLDS, line


@pytest.mark.parametrize("written", [r"\gamma^{\frac{T+1}{T+1}}\gamma^{-1}", r"\gamma^{1+\log (T+1) - \log (T+1)}\gamma^{-1}"])
def test_T_plus_one_never_vanishes(written):
    report, line = _line(FACTOR=written)
    assert report.verified and line.verdict == HOLDS, line


@pytest.mark.parametrize("body, use", [
    (r"\frac{m-7}{m-7}", r"\gamma^{\hat{c}}\gamma^{-1}"),    # was a traceback: the refusal escaped the reader
    (r"\frac{m-7}{m-7}", r"\sum_{i=1}^{m\hat{c}}"),
    (r"0^{m-7}-0^{m-7}", r"\sum_{i=1}^{m+\hat{c}}"),
    (r"1+0^{m-7}-0^{m-7}", r"\gamma^{\hat{c}}\gamma^{-1}"),
])
def test_a_defined_name_written_into_an_index_keeps_its_conditions(body, use):
    doc = _DEFINED.replace("BODY", body).replace(r"\hat{c} \, R", "R")
    doc = doc.replace(r"\sum_{i=1}^{m}", use) if use.startswith(r"\sum") else doc.replace(r"\sum_{t=0}^{H} ", r"\sum_{t=0}^{H} " + use + " ")
    report = check_text(doc, path="x.md", seed=1, n_random=2, minimize=False)
    (line,) = [ln for ln in report.lines if ln.kind not in ("result", "definition")]
    assert not report.verified and line.verdict == NOT_UNDERSTOOD, line
    assert r"\hat{c} written out as defined on line 3" in line.detail and "needs m - 7" in line.detail, line.detail


def test_a_defined_name_without_conditions_in_an_index_holds():
    doc = _DEFINED.replace("BODY", r"\frac{2}{2}").replace(r"\hat{c} \, R", r"\gamma^{\hat{c}}\gamma^{-1} R")
    report = check_text(doc, path="x.md", seed=1, n_random=2, minimize=False)
    assert report.verified, [ln.detail for ln in report.lines]


# A sum or product written with \dots is read as its pattern only where each written term is the pattern's
# term without losing a condition: γ^H (m − 7)/(m − 7) r_H is γ^H r_H by value but undefined at m = 7.
_RETURN = r"$$R(\tau) = r_0 + \gamma r_1 + \gamma^2 r_2 + \dots + \gamma^H r_H$$" "\n"
_PATH = (r"$$\nabla_\theta \log P(\tau;\theta) = \nabla_\theta \log \left[\mu(s_0) \pi_\theta(a_0 \mid s_0) "
         r"P(s_1 \mid s_0, a_0) \cdots \pi_\theta(a_H \mid s_H) P(s_{H+1} \mid s_H, a_H)\right]$$" "\n")


@pytest.mark.parametrize("doc, said", [
    (_RETURN.replace(r"\gamma^H r_H", r"\gamma^H \frac{m-7}{m-7} r_H"), "needs m - 7 ≠ 0"),
    (_RETURN.replace("r_0", r"\frac{m-7}{m-7} r_0"), "needs m - 7 ≠ 0"),
    (_RETURN.replace(r"\gamma r_1", r"\gamma \frac{H-20}{H-20} r_1"), "needs H - 20 ≠ 0"),
    (_RETURN.replace(r"\gamma^H r_H", r"\gamma^H (1+\log(\gamma - \frac{1}{2}) - \log(\gamma-\frac{1}{2})) r_H"),
     "needs gamma - 1/2 > 0"),
    (_RETURN.replace(r"\gamma^H r_H", r"\gamma^H \frac{r_H r_H}{r_H}"), r"needs r_{t} ≠ 0"),
    (_PATH.replace(r"\cdots \pi_\theta(a_H \mid s_H)", r"\cdots \left(\frac{m-7}{m-7}\pi_\theta(a_H \mid s_H)\right)"),
     "needs m - 7 ≠ 0"),
])
def test_a_dots_pattern_keeps_the_conditions_of_its_written_terms(doc, said):
    report = check_text(doc, path="x.md", seed=1, n_random=2, minimize=False)
    (line,) = [ln for ln in report.lines if ln.kind != "result"]
    assert not report.verified and line.verdict == NOT_UNDERSTOOD, line
    assert said in line.detail and r"written with \dots" in line.detail, line.detail


@pytest.mark.parametrize("doc", [_RETURN, _RETURN.replace(r"\gamma^H r_H", r"\gamma^H \frac{m+7}{m+7} r_H"), _PATH])
def test_a_dots_pattern_without_conditions_is_read_as_the_pattern(doc):
    report = check_text(doc, path="x.md", seed=1, n_random=2, minimize=False)
    assert report.verified, [ln.detail for ln in report.lines]


@pytest.mark.parametrize("written, holds", [
    (r"\left((-1)^{\frac{1}{2}}\right)^{2}(-1)", False),   # SymPy's i squared: read as (−1)(−1) and VERIFIED before
    (r"\left((-1)^{2}\right)^{\frac{1}{2}}", True),        # 1^{1/2}: real
    (r"(-1)^{2}", True),
])
def test_a_fractional_power_of_a_negative_number_is_refused(written, holds):
    report, line = _line(FACTOR=written)
    if holds:
        assert report.verified and line.verdict == HOLDS, line
    else:
        assert line.verdict == NOT_UNDERSTOOD and "a fractional power of a negative number" in line.detail, line.detail


@pytest.mark.parametrize("body", [r"0^{H-3}", "2"])
def test_a_defined_name_an_index_would_drop_is_refused(body):
    # ĉ − ĉ is 0 before ĉ is written out: with ĉ := 0^{H−3} (undefined for H < 3) that was VERIFIED.
    doc = _DEFINED.replace("BODY", body).replace(r"\hat{c} \, R", "R").replace(r"\sum_{t=0}^{H}", r"\sum_{t=0}^{H+\hat{c}-\hat{c}}")
    report = check_text(doc, path="x.md", seed=1, n_random=2, minimize=False)
    (line,) = [ln for ln in report.lines if ln.kind not in ("result", "definition")]
    assert not report.verified and line.verdict == NOT_UNDERSTOOD, line
    assert r"would drop \hat{c}, whose definition may be undefined somewhere" in line.detail, line.detail


def test_T_is_no_positive_number_with_time_from_0():
    # 0^T was 0 (T positive), so (1 − 0^T) read as 1; T is H here, and at H = 0, 0^T = 1.
    doc = _DOC.replace(r"\sum_{t=0}^{H}", r"\sum_{t=0}^{T}")
    wrong = check_text(doc.replace("FACTOR", r"(1 - 0^{T})").replace("LIM", "m").replace("{T}^{(I)}", "{t}^{(i)}")
                       .replace("(I)", "(i)"), path="x.md", seed=1, n_random=2, minimize=False)
    assert not wrong.verified
    plain = check_text(doc.replace("FACTOR", "").replace("LIM", "m").replace("{T}^{(I)}", "{t}^{(i)}")
                       .replace("(I)", "(i)"), path="x.md", seed=1, n_random=2, minimize=False)
    assert plain.verified


@pytest.mark.parametrize("written", [r"\left(1 + \frac{0}{0 \cdot t}\right)", r"\left(1 + \frac{0}{0 \cdot H}\right)",
                                     r"\left(1 + 0 \cdot \log(0 \cdot t)\right)", r"\left(1 + 0 \cdot \log(0 \cdot H)\right)"])
def test_zero_times_an_index_as_a_divisor_is_refused_not_a_recursion(written):
    report, line = _line(FACTOR=written)
    assert line.verdict == NOT_UNDERSTOOD and ("divides by 0" in line.detail or "≤ 0 is undefined" in line.detail), line


@pytest.mark.parametrize("written, holds", [
    (r"2^{0^{H-3}-0^{H-3}}", False),   # 2⁰ once rebuilt, undefined for H < 3 (0^{−3}): was VERIFIED (red-team 74)
    (r"2^{0^{H+3}-0^{H+3}}", True),
])
def test_the_exponent_of_a_number_keeps_its_conditions_once_rebuilt(written, holds):
    report, line = _line(FACTOR=written)
    assert (report.verified and line.verdict == HOLDS) == holds, line
    if not holds:
        assert line.verdict == NOT_UNDERSTOOD and "needs H - 3 ≥ 0" in line.detail, line.detail
