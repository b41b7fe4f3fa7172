"""A divisor that may be 0 at an H, a γ or a reward no instance takes: agreement on the instances is no pass.

(H − 40)/(H − 40), (10γ − 9)/(10γ − 9) and (2γ^H − 1)/(2γ^H − 1) after the REINFORCE estimator were
VERIFIED: the line is undefined at H = 40, γ = 9/10 (inside the battery's γ range) and γ = 2^{−1/H},
values the random battery essentially never takes. Each is undecided now, the divisor named; the
twins whose divisor has no root where the line is checked still pass.
"""

import pytest

from derive.check import _pole_doubt
from derive.cli_check import format_text
from derive.read import check_text

_DOC = r"""The REINFORCE estimator:

$$
\nabla_{\theta} J(\theta) \approx \frac{1}{m} \sum_{i=1}^{m} \sum_{t=0}^{H} \nabla_{\theta} \log \pi_{\theta}(a_{t}^{(i)} \mid s_{t}^{(i)}) R(\tau^{(i)}) FACTOR
$$
"""

_SEED = r"""$$
\nabla_\theta J(\theta) = \sum_{\tau} \nabla_\theta P(\tau;\theta) R(\tau) FACTOR
$$
"""


def _run(doc, factor):
    report = check_text(doc.replace("FACTOR", factor), path="x.md", seed=1, n_random=2, minimize=False)
    return report, format_text(report)


@pytest.mark.parametrize("factor, said", [
    (r"\frac{H-40}{H-40}", "H - 40 = 0 at H = 40"),
    (r"\frac{10\gamma-9}{10\gamma-9}", "10 γ - 9 has 1 root γ in (0, 1]"),
    (r"\frac{2\gamma^{H}-1}{2\gamma^{H}-1}", "the line divides by 2 γ^H - 1"),
    (r"\frac{r_{0}-5}{r_{0}-5}", "the line divides by r_0^(i) - 5"),
])
def test_a_divisor_zero_where_no_instance_looks_is_never_a_pass(factor, said):
    report, text = _run(_DOC, factor)
    assert not report.verified and "undecided" in text, text
    assert said in text and "no instance need meet it" in text, text


def test_the_same_hole_in_a_plain_equality_is_never_a_pass():
    report, text = _run(_SEED, r"\frac{H-40}{H-40}")
    assert not report.verified and "H - 40 = 0 at H = 40" in text, text


@pytest.mark.parametrize("factor", [r"\frac{\gamma-2}{\gamma-2}", r"\frac{H+1}{H+1}", r"\frac{2H-1}{2H-1}", ""])
def test_a_divisor_without_a_root_where_the_line_is_checked_passes(factor):
    report, text = _run(_DOC, factor)
    assert report.verified, text


def test_the_gamma_root_at_one_counts_only_where_the_battery_has_gamma_one():
    import sympy as sp

    from derive.notation import gamma

    one_minus = sp.Pow(1 - gamma, -1, evaluate=False)

    class _M:
        def __init__(self, g):
            self.discount = g

    class _I:
        def __init__(self, g):
            self.mdp = _M(g)

    assert "-γ + 1 has 1 root γ in (0, 1]" in _pole_doubt(one_minus, sp.Integer(0), [_I(sp.Rational(1, 2)), _I(1)])
    assert _pole_doubt(one_minus, sp.Integer(0), [_I(sp.Rational(1, 2)), _I(sp.Rational(9, 10))]) == ""
