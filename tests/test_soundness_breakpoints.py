"""A line false at exactly one size beside its own constants: checked there, not only past the largest.

(1 − 0^{(H−200)²}), (1 − 0^{(H−200)(H−201)}) and the second difference of Σ_{k=200}^{H} 1 are 1 on every
H but 200 (0⁰ = 1 by the conventions), so the REINFORCE estimator times any of them is wrong at H = 200
alone. Each was VERIFIED: the battery was widened past the constants (H = 203, 220, 236) but never to
H = 200 itself, nor to H = 50 inside the battery's range. Now the sizes c − 1, c, c + 1 beside every
constant c (S, A: c − 1 … c + 2) are added where the battery lacks them, and c is also each integer beside a
real root of a polynomial in one size ((H − 15)(H − 25) + 25) or of a sum's span hi − lo + 1.
"""

import pytest

from derive.cli_check import format_text
from derive.read import check_text
from derive.size_reach import MAX_BREAKPOINTS, size_breakpoints

_DOC = r"""The REINFORCE estimator:

$$
\nabla_{\theta} J(\theta) \approx \frac{1}{m} \sum_{i=1}^{m} \sum_{t=0}^{H} \nabla_{\theta} \log \pi_{\theta}(a_{t}^{(i)} \mid s_{t}^{(i)}) R(\tau^{(i)}) FACTOR
$$
"""


def _run(factor, seed=1):
    report = check_text(_DOC.replace("FACTOR", factor), path="x.md", seed=seed, n_random=2, minimize=False)
    return report, format_text(report)


@pytest.mark.parametrize("factor, at", [
    (r"(1 - 0^{(H-200)^{2}})", "H=200"),
    (r"(1 - 0^{(H-200)(H-201)})", "H=200"),
    (r"(1 - (\sum_{k=200}^{H} 1 - 2\sum_{k=201}^{H} 1 + \sum_{k=202}^{H} 1))", "H=200"),
    (r"(1 - 0^{(H-50)^{2}})", "H=50"),          # inside the battery's range of H, which skips 50
    # No written constant is the breakpoint: (H − 15)(H − 25) + 25 = (H − 20)² and (H − 190)(H − 210) + 100 =
    # (H − 200)² are 0 at their roots alone, which are read off the polynomials exactly.
    (r"\left(1 - 0^{(H-15)(H-25)+25}\right)", "H=20"),
    (r"\left(1 - 0^{(H-190)(H-210)+100}\right)", "H=200"),
    # Nor is it here, and no 0^{·} either: Σ_{k=3H−3}^{H+39} is empty from H = 22 on, and the second difference
    # of the three sums is 1 at H = 20, 21 alone, where the spans hi − lo + 1 of the sums cross 0.
    (r"\left(1 - \sum_{k=3H-3}^{H+39} 1 + 2\sum_{k=3H}^{H+40} 1 - \sum_{k=3H+3}^{H+41} 1\right)", "H=20"),
])
def test_a_claim_false_at_one_horizon_beside_its_constant_fails_there(factor, at):
    report, text = _run(factor, 7)
    assert not report.verified and "failed" in text and f"{at}," in text, text


@pytest.mark.parametrize("factor", [
    r"(1 + 0^{(H-50)^{2}} - 0^{(H-50)^{2}})",
    r"(1 + \sum_{k=50}^{H} 1 - \sum_{k=50}^{H} 1)",
])
def test_the_true_twins_hold_and_name_the_sizes_beside_their_constants(factor):
    report, text = _run(factor)
    assert report.verified, text
    c = 50
    for h in (c - 1, c, c + 1):
        assert f"(2, 2, {h})" in text, text


@pytest.mark.parametrize("factor, root", [
    (r"\left(1 + 0^{(H-15)(H-25)+25} - 0^{(H-15)(H-25)+25}\right)", 20),
    (r"\left(1 + \sum_{k=3H-3}^{H+39} 1 - \sum_{k=3H-3}^{H+39} 1\right)", 21),
])
def test_the_true_twins_of_hidden_breakpoints_hold_and_are_checked_at_the_roots(factor, root):
    report, text = _run(factor)
    assert report.verified, text
    assert f"(2, 2, {root})" in text, text


def test_the_roots_are_exact_and_only_of_polynomials_in_one_size():
    import sympy as sp

    from derive.notation import H, gamma, r, t
    from derive.size_reach import _integers_at_roots

    assert _integers_at_roots((H - 15) * (H - 25) + 25, H) == {20}
    assert _integers_at_roots(H ** 2 - 2, H) == {-2, -1, 1, 2}          # ±√2 lies between: both sides are tried
    assert _integers_at_roots(H - gamma, H) == set()                  # a root that moves with γ is no size
    assert _integers_at_roots(r(t) - 3, t) == set()                   # nor one of a value indexed by t
    assert _integers_at_roots(sp.Integer(5), H) == set()
    assert size_breakpoints(sp.Sum(r(t), (t, 3 * H - 3, H + 39)))["H"] >= {21, 22}


def test_every_constant_is_a_breakpoint_not_only_the_largest():
    import sympy as sp

    from derive.notation import H, r, t

    line = sp.Add(sp.Sum(r(t), (t, 50, H)), sp.Sum(r(t), (t, 300, H)), evaluate=False)
    assert size_breakpoints(line)["H"] >= {50, 300}


def test_more_sizes_than_the_limit_are_said_and_the_line_is_undecided():
    # 10 constants 100, 110, …, 190 call for 30 horizons beside them: past MAX_BREAKPOINTS, said, never a quiet pass.
    import sympy as sp

    from derive.notation import J, P, R, H, r, sum_tau, t, unevaluated_mul
    from soundness_helpers import battery, verdict

    assert 3 * 10 > MAX_BREAKPOINTS
    extra = sp.Add(*[sp.Add(sp.Sum(r(t), (t, 100 + 10 * k, H)), -sp.Sum(r(t), (t, 100 + 10 * k, H)), evaluate=False)
                     for k in range(10)], evaluate=False)
    rhs = sum_tau(unevaluated_mul(P(), sp.Add(R(), extra, evaluate=False)))
    report = verdict(J(), rhs, bat=battery(2, seed=5))
    assert not report.ok and report.verdict.startswith("undecided"), report.verdict
    import re

    said = re.search(r"the (\d+) sizes beside its constants", report.verdict)
    assert said and int(said.group(1)) > MAX_BREAKPOINTS, report.verdict   # less the horizons the battery has


@pytest.mark.parametrize("factor", [
    r"(1 - 0^{(H-15)(H-25)+25+t})",                          # 0 at H = 20, t = 0 alone: roots in H move with t
    r"(1 - \sum_{k=0}^{0} 0^{(H-15)(H-25)+25+k})",            # in H alone once k = 0, but written in two indices
])
def test_an_indicator_in_several_indices_past_degree_one_is_undecided_and_said(factor):
    report, text = _run(factor)
    assert not report.verified and "undecided" in text, text
    assert "0^e is 1 exactly where e = 0" in text and "no battery is sure to meet them" in text, text


def test_an_indicator_linear_in_several_indices_is_checked():
    report, text = _run(r"(1 + 0^{H-t} - 0^{H-t})")   # true: the indicator of t = H, added and taken away
    assert report.verified, text
    report, text = _run(r"(1 - 0^{(H-20)^{2}+t})")    # false at H = 20 (t = 0): its root in H at t = 0 is found
    assert not report.verified and "failed" in text, text


def test_which_indicators_are_uncovered():
    import sympy as sp

    from derive.notation import H, gamma, r, t
    from derive.size_reach import uncovered_indicators

    zero = sp.Integer(0)
    assert uncovered_indicators(sp.Pow(zero, (H - 15) * (H - 25) + 25 + t, evaluate=False))
    assert uncovered_indicators(sp.Pow(zero, r(t) - 3, evaluate=False))           # no polynomial in t
    assert uncovered_indicators(sp.Pow(zero, gamma * H, evaluate=False))          # its root moves with γ
    assert not uncovered_indicators(sp.Pow(zero, (H - 15) * (H - 25) + 25, evaluate=False))   # one index: roots read
    assert not uncovered_indicators(sp.Pow(zero, H - t, evaluate=False))          # linear in two
    assert not uncovered_indicators(H + t)
    j, k = sp.symbols("j k", integer=True)
    assert uncovered_indicators(sp.Pow(zero, H + 1 - 17 * j, evaluate=False))      # 0 at every 17th H, no constant
    assert uncovered_indicators(sp.Sum(sp.Integer(1), (k, 17 * j, H + 1)))         # empty or not, likewise
    assert not uncovered_indicators(sp.Sum(r(t), (t, 0, H - 1)), sp.Sum(r(k), (k, t, H)))


@pytest.mark.parametrize("factor", [
    r"\left(1 - \sum_{j=1}^{1} \sum_{k=17j}^{H+1} 0^{H+1-17j}\right)",    # 0 at H = 16 alone (red-team 74)
    r"\left(1 - \sum_{j=0}^{H} \sum_{k=17j}^{H+1} 0^{H+1-17j}\right)",    # 0 at H = 16, 33, 50, …
])
def test_an_indicator_with_a_coefficient_on_a_bound_index_is_undecided(factor):
    report, text = _run(factor)
    assert not report.verified and "undecided" in text and "no battery is sure to meet them" in text, text


@pytest.mark.parametrize("factor, verified", [
    # 0^{H−t} is 0 or 1 where defined, so 0^{H−t} + 1 ≥ 1: the divisor was "cannot show nonzero", undecided
    (r"\left(\frac{0^{H-t}+1}{0^{H-t}+1}\right)", True),
    (r"\left(\frac{0^{H-t}-1}{0^{H-t}-1}\right)", False),       # 0/0 at t = H
    (r"\left(\frac{0^{H-t}+0^{t}}{0^{H-t}+0^{t}}\right)", False),  # 0/0 at every 0 < t < H
    (r"\left(\frac{0^{t-H}+1}{0^{t-H}+1}\right)", False),       # 0 to a negative power at t < H
])
def test_a_divisor_built_of_indicators_is_nonzero_only_where_its_values_show_it(factor, verified):
    report, text = _run(factor)
    assert report.verified is verified, text
