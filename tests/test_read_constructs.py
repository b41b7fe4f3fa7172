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


# -- red-team A1: a trajectory written as a tuple, log-products under Σ_τ P, a product that takes R(τ) ---

def test_a_trajectory_written_as_a_tuple_is_its_description():
    rep = _check(r"A trajectory is $\tau = (s_0, a_0, r_0, s_1, a_1, r_1, \dots)$." "\n\n"
                 r"$$J(\theta) = \sum_\tau P(\tau;\theta) R(\tau)$$" "\n")
    (tup, claim) = [ln for ln in rep.lines if ln.kind != "result"]
    assert tup.verdict == DEFINITION and tup.reading == r"\tau = (s_{0}, a_{0}, r_{0}, s_{1}, a_{1}, r_{1}, \dots)"
    assert "τ is a sequence of states, actions and rewards" in tup.notes
    assert claim.verdict == HOLDS and rep.verified
    _, ln = _one(r"\tau = (s_0, a_0, s_1, a_1, \dots, s_H)")   # without rewards, too
    assert ln.verdict == DEFINITION


def test_a_tuple_with_the_reward_one_step_late_is_refused_in_words():
    # Sutton and Barto's S_0, A_0, R_1: read as derive's r_t, every reward would be one step off.
    _, ln = _one(r"\tau = (s_0, a_0, r_1, s_1, a_1, r_2, \dots)")
    assert ln.verdict == NOT_UNDERSTOOD
    assert "r_{1} right after a_{0}" in ln.detail and "Sutton and Barto" in ln.detail
    assert r"write τ = (s_0, a_0, r_0, s_1, a_1, r_1, \dots)" in ln.detail


def test_a_tuple_that_is_not_a_trajectory_is_refused_in_words():
    _, ln = _one(r"J(\theta) = (s_0, a_0)")
    assert ln.verdict == NOT_UNDERSTOOD and "a tuple (…) is compared with something that is not a trajectory" in ln.detail
    _, ln = _one(r"\tau = (s_0, a_0, \theta)")
    assert ln.verdict == NOT_UNDERSTOOD and "\\theta, which is not a state, an action or a reward" in ln.detail
    assert "unexpected" not in ln.detail


LOG_FACTORS = (r"\sum_\tau P(\tau;\theta) \left(\log \mu(s_0) + \sum_{t=0}^{H} \log \pi_\theta(a_t \mid s_t)"
               r" + \sum_{t=0}^{H} \log P(s_{t+1} \mid s_t, a_t)\right)")


def test_an_expectation_of_log_factors_is_read_over_the_support():
    # Σ_τ P(τ;θ) log P(τ;θ) is the sum of the expected logs of its factors; a log P(s'|s,a) = log 0 on a
    # trajectory of probability 0 is a term the expectation does not have (it failed as "log of zero").
    rep, ln = _one(r"\sum_\tau P(\tau;\theta) \log P(\tau;\theta) = " + LOG_FACTORS)
    assert ln.verdict == HOLDS, ln
    assert ln.reading.count(r"\sum_{\tau:\, P(\tau;\theta) > 0}") == 2
    assert any(n.startswith("Σ_τ read over the trajectories with P(τ;θ) > 0") for n in ln.notes)
    assert all(c.text.startswith("P(τ;θ) > 0") for st in ln.steps for c in st.conditions) and ln.steps[0].conditions


def test_an_expectation_of_log_factors_missing_one_fails():
    _, ln = _one(r"\sum_\tau P(\tau;\theta) \log P(\tau;\theta) = " + LOG_FACTORS.replace(r"\log \mu(s_0) + ", ""))
    assert ln.verdict == FAILS


def test_an_unweighted_sum_of_logs_keeps_the_strict_reading():
    # Without the weight P(τ;θ) the terms at P(τ;θ) = 0 are not an expectation's: summed over every τ, as written.
    _, ln = _one(r"\sum_\tau \log P(s_1 \mid s_0, a_0) = 0")
    assert r"\sum_{\tau:\," not in ln.reading and ln.verdict == FAILS


def test_a_product_that_takes_the_return_gives_a_hint_to_bracket_it():
    from derive.read.document import AMBIGUOUS

    written = r"J(\theta) = \sum_\tau \mu(s_0) \prod_{t=0}^{H} \pi_\theta(a_t \mid s_t) P(s_{t+1} \mid s_t, a_t) R(\tau)"
    _, ln = _one(written)
    assert ln.verdict == AMBIGUOUS and not ln.ok
    assert (r"hint: the product \prod_{t} … extends over R(\tau) (Π takes the rest of its product, so R(\tau) is read "
            r"as a factor at every step); bracket it, \left(\prod_{t=0}^{H} \pi_{\theta}(a_{t} \mid s_{t}) "
            r"P(s_{t + 1} \mid s_{t}, a_{t})\right) R(\tau), if you meant R(\tau) outside the product "
            r"(that reading holds)") in ln.detail
    # The true twin, bracketed: one reading, holds, no hint.
    _, ln = _one(written.replace(r"\prod_{t=0}^{H} \pi", r"\left(\prod_{t=0}^{H} \pi").replace(r"R(\tau)", r"\right) R(\tau)"))
    assert ln.verdict == HOLDS and "hint" not in ln.detail


def test_only_the_terms_with_log_p_are_read_over_the_support():
    # Σ_τ (R + P log P): restricting R(τ) too dropped its values at P(τ;θ) = 0 (the default battery has
    # such trajectories), so this true line failed, and its false twin below held.
    _, ln = _one(r"\sum_\tau \left(R(\tau) + P(\tau;\theta)\log P(\tau;\theta)\right) = "
                 r"\sum_\tau R(\tau) + \sum_\tau P(\tau;\theta)\log P(\tau;\theta)")
    assert ln.verdict == HOLDS, ln
    assert ln.reading.split("=")[0].count(r"\sum_{\tau:\, P(\tau;\theta) > 0}") == 1
    assert any("the other terms over every τ" in n for n in ln.notes)


def test_a_term_dropped_off_the_support_fails():
    # R(τ) P(τ;θ)/P(τ;θ) is read over P(τ;θ) > 0, where it is R(τ): the line drops R off the support, which is false.
    _, ln = _one(r"\sum_\tau \left(R(\tau) + P(\tau;\theta)\log P(\tau;\theta)\right) = "
                 r"\sum_\tau \frac{P(\tau;\theta) R(\tau)}{P(\tau;\theta)} + \sum_\tau P(\tau;\theta)\log P(\tau;\theta)")
    assert ln.verdict == FAILS, ln
