"""Constructs read as meant: each re-printed as derive reads it, holding when true and failing when wrong."""

from derive.read import check_text
from derive.read.document import DEFINITION, FAILS, HOLDS, NOT_UNDERSTOOD


def _check(text, **kw):
    return check_text(text, seed=kw.pop("seed", 7), n_random=kw.pop("n_random", 2), minimize=False, **kw)


def _one(latex):
    rep = _check(f"$$\n{latex}\n$$\n")
    lines = [ln for ln in rep.lines if ln.kind != "result"]
    assert len(lines) == 1, lines
    return rep, lines[0]


# -- time from 1: H is the last step ---------------------------------------------------------

def test_one_based_sum_to_h_is_the_whole_return():
    rep, ln = _one(r"R(\tau) = \sum_{t=1}^{H} \gamma^{t-1} r_t")
    assert rep.base == 1 and ln.verdict == HOLDS, ln
    assert ln.reading == r"R(\tau) = \sum_{t=1}^{n} \gamma^{t - 1} r_{t}"


def test_one_based_discount_shifted_by_one_fails():
    _, ln = _one(r"R(\tau) = \sum_{t=1}^{H} \gamma^{t} r_t")
    assert ln.verdict == FAILS


def test_one_based_sum_stopping_before_h_fails():
    _, ln = _one(r"R(\tau) = \sum_{t=1}^{H-1} \gamma^{t-1} r_t")
    assert ln.verdict == FAILS


def test_one_based_h_n_and_t_are_the_same_step():
    _, ln = _one(r"\sum_{t=1}^{H} r_t = \sum_{t=1}^{n} r_t = \sum_{t=1}^{T} r_t")
    assert ln.verdict == HOLDS
    _, ln = _one(r"\sum_{t=1}^{H} r_t = \sum_{t=1}^{n-1} r_t")
    assert ln.verdict == FAILS


def test_zero_based_h_is_unchanged():
    _, ln = _one(r"R(\tau) = \sum_{t=0}^{H} \gamma^{t} r_t")
    assert ln.verdict == HOLDS and ln.reading == r"R(\tau) = \sum_{t=0}^{H} \gamma^{t} r_{t}"
    _, ln = _one(r"R(\tau) = \sum_{t=0}^{H-1} \gamma^{t} r_t")
    assert ln.verdict == FAILS


# -- common constructs -----------------------------------------------------------------------

E_TAU = r"\mathbb{E}_{\tau \sim \pi_\theta}"


def test_power_of_a_function_application():
    _, ln = _one(E_TAU + r"\left[R(\tau)^2\right] = \sum_\tau P(\tau;\theta) R(\tau) R(\tau)")
    assert ln.verdict == HOLDS
    assert ln.reading.startswith(r"\mathbb{E}_{\tau \sim \pi_{\theta}}\left[R(\tau)^{2}\right] =")
    _, ln = _one(E_TAU + r"\left[R(\tau)^2\right] = \sum_\tau P(\tau;\theta) R(\tau)")
    assert ln.verdict == FAILS


def test_power_of_the_policy():
    _, ln = _one(r"\sum_a \pi_\theta(a|s)^{2} = \sum_a \pi_\theta(a|s) \pi_\theta(a|s)")
    assert ln.verdict == HOLDS and r"\pi_{\theta}(b \mid s)^{2}" in ln.reading
    _, ln = _one(r"\sum_a \pi_\theta(a|s)^2 = 1")     # true only for a deterministic policy
    assert ln.verdict == FAILS


def test_power_of_ten():
    _, ln = _one(r"10^{15} J(\theta) = 1000000000000000 J(\theta)")
    assert ln.verdict == HOLDS and ln.reading.startswith(r"1000000000000000 J(\theta)")
    _, ln = _one(r"10^{15} J(\theta) = 10^{14} J(\theta)")
    assert ln.verdict == FAILS


def test_an_exponent_past_the_limit_is_refused_at_once():
    _, ln = _one(r"J(\theta) = J(\theta) + 0 \cdot 10^{1000000000}")
    assert ln.verdict == NOT_UNDERSTOOD and "of about 1,000,000,001 digits, past the limit of 100,000" in ln.detail


def test_decimals_are_exact_rationals():
    _, ln = _one(r"0.1 \cdot J(\theta) = \frac{1}{10} J(\theta)")
    assert ln.verdict == HOLDS and ln.reading == r"\frac{1}{10} J(\theta) = \frac{1}{10} J(\theta)"
    _, ln = _one(r"0.1 + 0.2 = 0.3")                  # false in floats, true in exact numbers
    assert ln.verdict == HOLDS
    _, ln = _one(r"0.1 + 0.2 = 0.30000000000000004")   # what floats give: wrong
    assert ln.verdict == FAILS
    _, ln = _one(r"0.1 \cdot J(\theta) = \frac{1}{9} J(\theta)")
    assert ln.verdict == FAILS


def test_tag_is_ignored():
    _, ln = _one(r"J(\theta) = \sum_\tau P(\tau;\theta) R(\tau) \tag{1}")
    assert ln.verdict == HOLDS and ln.reading == r"J(\theta) = \sum_{\tau} P(\tau;\theta) R(\tau)"
    _, ln = _one(r"J(\theta) = \sum_\tau P(\tau;\theta) \tag{2}")
    assert ln.verdict == FAILS


def test_equiv_and_colon_equals_define_a_known_quantity_and_are_checked():
    for rel in (r"\equiv", ":="):
        _, ln = _one(rf"J(\theta) {rel} \sum_\tau P(\tau;\theta) R(\tau)")
        assert ln.verdict == HOLDS and ln.reading == r"J(\theta) = \sum_{\tau} P(\tau;\theta) R(\tau)"
        assert any("read as =" in n for n in ln.notes)
        _, ln = _one(rf"J(\theta) {rel} \sum_\tau \nabla_\theta P(\tau;\theta) R(\tau)")
        assert ln.verdict == FAILS


def test_colon_equals_defines_a_hat_name():
    text = ("$$\\hat{g} := \\frac{1}{m} \\sum_{i=1}^{m} R(\\tau^{(i)})$$\n\n"
            "$$J(\\theta) \\approx \\hat{g}$$\n\n$$\\nabla_\\theta J(\\theta) \\approx \\hat{g}$$\n")
    rep = _check(text)
    assert [ln.verdict for ln in rep.lines if ln.kind != "result"] == [DEFINITION, HOLDS, FAILS]


def test_expectation_over_one_action_is_refused_with_a_clear_message():
    _, ln = _one(r"\mathbb{E}_{a_0 \sim \pi_\theta(\cdot|s_0)}\left[\nabla_\theta \log \pi_\theta(a_0|s_0)\right] = 0")
    assert ln.verdict == NOT_UNDERSTOOD
    assert "the expectation over one action" in ln.detail and r"\sum_a \pi_\theta(a|s)" in ln.detail
