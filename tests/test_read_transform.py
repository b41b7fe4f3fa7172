"""The transformer never drops an index it cannot read: a subscript or sample index is read with
its meaning (a name defined with an index is its definition at that index) or the line is refused."""

import pytest

from derive.read import check_text
from derive.read.document import FAILS, HOLDS, NOT_UNDERSTOOD

E_TAU = r"\mathbb{E}_{\tau \sim \pi_\theta}"
SCORE = r"\nabla_\theta \log \pi_\theta(a_t \mid s_t)"
RTG = r"\hat{A}_t := \sum_{t'=t}^{H} \gamma^{t'} r_{t'}"


def _check(text):
    return check_text(text, seed=7, n_random=2, minimize=False)


def _lines(text):
    return [ln for ln in _check(text).lines if ln.kind != "result"]


# -- a name defined with a time index is a function of that index ----------------------------------

def test_hat_with_a_shifted_index_is_its_definition_there():
    # Â_{t+1} is the reward-to-go from t+1: weighting a_t by it drops r_t, which is false.
    lines = _lines(f"$${RTG}$$\n\n$$\\nabla_\\theta J(\\theta) = {E_TAU}\\left[\\sum_{{t=0}}^{{H}} {SCORE} "
                   r"\cdot \hat{A}_{t+1}\right]$$" "\n")
    assert lines[1].verdict == FAILS, lines[1]


def test_hat_at_its_own_index_is_the_reward_to_go():
    # The twin: the reward-to-go from t (discounted from 0) gives the gradient.
    lines = _lines(f"$${RTG}$$\n\n$$\\nabla_\\theta J(\\theta) = {E_TAU}\\left[\\sum_{{t=0}}^{{H}} {SCORE} "
                   r"\cdot \hat{A}_{t}\right]$$" "\n")
    assert lines[1].verdict == HOLDS, lines[1]


def test_hat_at_a_written_step():
    text = f"$${RTG}$$\n\n$$\\hat{{A}}_0 = R(\\tau)$$\n\n$$\\hat{{A}}_H = R(\\tau)$$\n"
    lines = _lines(text)
    assert lines[1].verdict == HOLDS and lines[2].verdict == FAILS, lines


def test_hat_with_a_sample_index():
    text = (r"$$\hat{R}^{(i)} := R(\tau^{(i)})$$" "\n\n"
            r"$$\mathbb{E}\left[\hat{R}^{(1)} \hat{R}^{(2)}\right] = \mathbb{E}\left[R(\tau^{(1)}) R(\tau^{(1)})\right]$$" "\n\n"
            r"$$J(\theta) \approx \frac{1}{m} \sum_{i=1}^{m} \hat{R}^{(i)}$$" "\n")
    lines = _lines(text)
    assert lines[1].verdict == FAILS and lines[2].verdict == HOLDS, lines


@pytest.mark.parametrize("definition, use, why", [
    (r"\hat{g} := R(\tau)", r"\hat{g}_t = R(\tau)", "defines"),            # defined without an index
    (RTG, r"R(\tau) = \hat{A}", "without the index"),                       # used without its index
    (RTG, r"\hat{A}^{(1)} = R(\tau)", "defines"),                           # a sample index on a time-indexed name
    (RTG, r"\hat{A}_{t'} = R(\tau)", "sums over"),                          # the index is the definition's bound t'
])
def test_an_index_without_a_reading_is_refused(definition, use, why):
    lines = _lines(f"$${definition}$$\n\n$${use}$$\n")
    assert lines[1].verdict == NOT_UNDERSTOOD and why in lines[1].detail, lines[1]


# -- subscripts on the known names: never dropped ---------------------------------------------

@pytest.mark.parametrize("latex", [
    E_TAU + r"\left[" + SCORE + r" \cdot b_{a_t}(s_t)\right] = 0",         # an action-dependent baseline
    r"\nabla_\theta J(\theta) = " + E_TAU + r"\left[\sum_{t=0}^{H} " + SCORE + r" \cdot R_{t+1}(\tau)\right]",
    r"\nabla_\theta \mu_\theta(s_0) = 0",
    r"J_{H}(\theta) = " + E_TAU + r"\left[R(\tau)\right]",
    r"\nabla_\theta J_{2}(\theta) = \nabla_\theta J(\theta)",
    r"\nabla_\theta \log \pi_{H}(a_0 \mid s_0, \theta) = \nabla_\theta \log \pi_{0}(a_0 \mid s_0, \theta)",
    r"\nabla_\theta \log \pi_{t}(a_t \mid s_t, \theta) = " + SCORE,
    r"P(\tau;\theta) = \pi_\theta(\tau \mid s_0)",
    r"\sum_{t}^{3} r_t = \sum_{t=0}^{H} r_t",
    r"\nabla_{\theta=0} J(\theta) = \nabla_\theta J(\theta)",
    r"\sum_{t=0}^{H} r_{t=0} = \sum_{t=0}^{H} r_t",
])
def test_a_subscript_with_no_reading_is_refused(latex):
    (ln,) = _lines(f"$$\n{latex}\n$$\n")
    assert ln.verdict == NOT_UNDERSTOOD, ln


@pytest.mark.parametrize("latex", [
    E_TAU + r"\left[" + SCORE + r" \cdot b(s_t)\right] = 0",
    r"\nabla_\theta \mu(s_0) = 0",
    r"\nabla_\theta \log \pi(a_0 \mid s_0, \theta) = \nabla_\theta \log \pi_\theta(a_0 \mid s_0)",
    r"\nabla_\theta \rho_0(s_0) = 0",
])
def test_the_twins_without_the_subscript_hold(latex):
    (ln,) = _lines(f"$$\n{latex}\n$$\n")
    assert ln.verdict == HOLDS, ln


# -- p(τ) beside p_θ(τ): two distributions are never merged -------------------------------------

@pytest.mark.parametrize("latex", [
    r"\nabla_\theta \frac{p_\theta(\tau)}{p(\tau)} = 0",
    r"\nabla_\theta \frac{p(\tau)}{p_\theta(\tau)} = 0",
    r"\sum_\tau P(\tau;\theta) \frac{\nabla_\theta p(\tau)}{P(\tau)} = 0",
])
def test_a_trajectory_probability_with_and_without_theta_in_one_line_is_refused(latex):
    (ln,) = _lines(f"$$\n{latex}\n$$\n")
    assert ln.verdict == NOT_UNDERSTOOD and "two distributions" in ln.detail, ln


def test_p_of_tau_alone_is_still_read_as_the_policy_distribution():
    # The twin: a line writing one form only keeps the documented reading (with its note).
    (ln,) = _lines("$$\n\\nabla_\\theta J(\\theta) = \\sum_\\tau \\nabla_\\theta p(\\tau) R(\\tau)\n$$\n")
    assert ln.verdict == HOLDS and any("P(τ) read as P(τ;θ)" in n for n in ln.notes), ln
    (ln,) = _lines("$$\n\\nabla_\\theta \\frac{p_\\theta(\\tau)}{p_\\theta(\\tau)} = 0\n$$\n")
    assert ln.verdict == HOLDS, ln


# -- ∇ before a number takes the whole product; its sample mean is checked term by term ------------

SURROGATE = (r"\nabla_\theta J(\theta) \approx \nabla_\theta \frac{1}{m} \sum_{i=1}^{m} \log P(\tau^{(i)};\theta) "
             r"\cdot R(\tau^{(i)})")


def test_the_gradient_of_the_surrogate_loss_is_the_reinforce_estimate():
    (ln,) = _lines(f"$$\n{SURROGATE}\n$$\n")
    assert ln.verdict == HOLDS, ln
    # The wrong twin: the surrogate without its log is no estimate of ∇J.
    (ln,) = _lines(f"$$\n{SURROGATE.replace(chr(92) + 'log ', '')}\n$$\n")
    assert ln.verdict == FAILS, ln


@pytest.mark.parametrize("latex, verdict", [
    (r"\nabla_\theta 2 J(\theta) = 2 \nabla_\theta J(\theta)", HOLDS),
    (r"\nabla_\theta \frac{1}{2} J(\theta) = 0", FAILS),
    (r"\nabla_\theta \gamma J(\theta) = \gamma \nabla_\theta J(\theta)", HOLDS),
    (r"\nabla_\theta 2 J(\theta) = \nabla_\theta J(\theta)", FAILS),
])
def test_nabla_before_a_number_takes_the_product(latex, verdict):
    (ln,) = _lines(f"$$\n{latex}\n$$\n")
    assert ln.verdict == verdict, ln


# -- a sample index named j or k is a sample index -------------------------------------------------

REINFORCE_J = (r"\nabla_\theta J(\theta) \approx \frac{1}{m} \sum_{j=1}^{m} \nabla_\theta \log P(\tau^{(j)};\theta) "
               r"R(\tau^{(j)})")


def test_a_sum_over_samples_indexed_by_j_is_the_reinforce_estimate():
    rep = _check(f"$$\n{REINFORCE_J}\n$$\n")
    (ln,) = [ln_ for ln_ in rep.lines if ln_.kind != "result"]
    assert rep.base == 0, rep.base           # Σ_{j=1}^{m} over samples says nothing of the time base
    assert ln.verdict == HOLDS and r"\tau^{(i)}" in ln.reading and "j + 1" not in ln.reading, ln
    # The wrong twin: the estimate without its log is no estimate of ∇J.
    (ln,) = _lines(f"$$\n{REINFORCE_J.replace(chr(92) + 'log ', '')}\n$$\n")
    assert ln.verdict == FAILS, ln


def test_a_mean_with_i_equals_the_mean_with_k_and_not_a_shifted_one():
    (ln,) = _lines("$$\n\\frac{1}{m}\\sum_{i=1}^{m} R(\\tau^{(i)}) = \\frac{1}{m}\\sum_{k=1}^{m} R(\\tau^{(k)})\n$$\n")
    assert ln.verdict == HOLDS, ln
    (ln,) = _lines("$$\nJ(\\theta)^2 \\approx \\frac{1}{m}\\sum_{k=1}^{m} R(\\tau^{(1)}) R(\\tau^{(k)})\n$$\n")
    assert ln.verdict == FAILS, ln           # the k = 1 term is E[R²], not J²


def test_a_sample_sum_around_a_sum_over_i_is_refused_not_captured():
    # Σ_{k=1}^{3} Σ_{i=1}^{m} R(τ^(k)) R(τ^(i)) has two sample indices; renaming k to i read it as Σ_i R(τ^(i))²,
    # on which the false claim = 3m Σ_τ P R² held wherever it was evaluated.
    two = (r"\mathbb{E}\left[\sum_{k=1}^{3} \sum_{i=1}^{m} R(\tau^{(k)}) R(\tau^{(i)})\right] = "
           r"3 m \sum_\tau P(\tau;\theta) R(\tau)^2")
    (ln,) = _lines(f"$${two}$$\n")
    assert ln.verdict == NOT_UNDERSTOOD and "two sample indices" in ln.detail, ln
    # The twin with one sample index is read, and its true value holds on every MDP it can be enumerated on
    # (sample lines are not taken past enumeration: undecided there, never a pass); its wrong value fails.
    one = r"\mathbb{E}\left[\sum_{k=1}^{3} R(\tau^{(k)})\right] = 3 J(\theta)"
    (ln,) = _lines(f"$${one}$$\n")
    assert ln.verdict != NOT_UNDERSTOOD and ln.steps[0].verdict.startswith("undecided: held on the 10 smaller"), ln
    (ln,) = _lines(f"$${one.replace('3 J', '2 J')}$$\n")
    assert ln.verdict == FAILS, ln


def test_a_trajectory_estimated_by_a_sample_mean_is_never_a_pass():
    mean = r"\frac{1}{m}\sum_{i=1}^{m} R(\tau^{(i)})"
    for wrong in (rf"R(\tau) \approx {mean}", rf"{mean} \approx R(\tau)"):
        (ln,) = _lines(f"$${wrong}$$\n")
        assert ln.verdict != HOLDS, ln
    (ln,) = _lines(rf"$$J(\theta) \approx {mean}$$" "\n")
    assert ln.verdict == HOLDS, ln
