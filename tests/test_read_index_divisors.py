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
    assert f"divides by {lost}, which would cancel" in line.detail and f"undefined where {lost} = 0" in line.detail, line.detail


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
    assert line.verdict != NOT_UNDERSTOOD or "would cancel" not in line.detail, line.detail
    assert not report.verified, line      # γ^{1/(m−1)} is no factor of the estimator: it fails or is undecided
