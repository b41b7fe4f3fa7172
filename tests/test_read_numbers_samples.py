"""Numbers and samples in a read document: big numbers print and stay exact, sizes are bounded
before anything is built, a written sample count is a sample mean, and E[…] averages the samples.

Each wrong line below once passed, hung or crashed; each has a true twin that must hold.
"""

import os
import subprocess
import sys
import time

import pytest
import sympy as sp

from derive.latex import integer_latex
from derive.read import check_text
from derive.read.document import FAILS, HOLDS, IN_EXPECTATION, NOT_UNDERSTOOD, UNDECIDED_LINE
from derive.read.transform import MAX_DIGITS, MAX_SAMPLE_COUNT, number_bits

J = r"J(\theta)"
GRAD = r"\nabla_\theta J(\theta)"
MEAN2 = r"\frac{1}{2} \sum_{i=1}^{2} R(\tau^{(i)})"


def _check(text, **kw):
    return check_text(text, n_random=2, minimize=False, seed=11, **kw)


def _verdicts(report):
    return [ln.verdict for ln in report.lines if ln.kind != "result"]


def _one(text):
    report = _check(f"$${text}$$\n")
    (line,) = [ln for ln in report.lines if ln.kind != "result"]
    return line


def _held_on_the_small_mdps_only(line) -> bool:
    """A true line over samples that no DP covers: held on every enumerable MDP, undecided for the large ones."""
    return line.verdict == UNDECIDED_LINE and bool(line.steps) and all(
        "too large to enumerate for this line" in st.verdict and "not a pass" in st.verdict for st in line.steps)


# -- printing big numbers -------------------------------------------------------------------

def test_integer_latex_short_forms():
    assert integer_latex(10**10000) == "10^{10000}"
    assert integer_latex(2**65536) == "2^{65536}"
    assert integer_latex(-(10**200)) == "-10^{200}"
    assert integer_latex(10**10000 + 1) == r"(\text{an integer of 10,001 digits})"
    assert integer_latex(12345) == "12345"


def test_big_fraction_prints_and_fails_exactly():
    # (10^10000 + 1)/10^10000 is not 1: the line fails; the reading prints without the digits.
    line = _one(GRAD + r" = \frac{10^{10000} + 1}{10^{10000}} " + GRAD)
    assert line.verdict == FAILS
    assert "10^{10000}" in line.reading and len(line.reading) < 300


def test_big_fraction_true_twin_holds():
    assert _one(GRAD + r" = \frac{10^{10000}}{10^{10000}} " + GRAD).verdict == HOLDS


def test_cli_big_number_no_traceback(tmp_path):
    doc = tmp_path / "big.md"
    doc.write_text("$$" + GRAD + r" = \frac{10^{10000} + 1}{10^{10000}} " + GRAD + "$$\n"
                   "$$J(\\theta) = " + "7" * 5000 + " J(\\theta)$$\n")
    out = subprocess.run([sys.executable, "-m", "derive", "check", str(doc), "--seed", "11"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert "Traceback" not in out.stderr + out.stdout
    assert out.returncode == 1 and "an integer of 5,000 digits" in out.stdout


# -- the size of a number is bounded before SymPy builds it ------------------------------------

@pytest.mark.parametrize("power", [
    r"((10^{9999})^{9999})^{9999}",
    r"\left(\frac{1}{10^{9999}}\right)^{9999}",
    r"(10^{9999} \cdot 10^{9999} \cdot 10^{9999})^{30}",
    r"(10^{9999} + 10^{9999})^{9999}",
    r"10^{10^{6}}",
])
def test_nested_powers_refused_at_once(power):
    start = time.perf_counter()
    line = _one(f"{J} = {power} {J}")
    assert time.perf_counter() - start < 30
    assert line.verdict == NOT_UNDERSTOOD
    assert f"past the limit of {MAX_DIGITS:,} digits" in line.detail and line.detail.startswith("line 1, column")


@pytest.mark.parametrize("power", [r"10^{10^{4}}", r"2^{2^{2^{2^{2}}}}"])
def test_powers_inside_the_limit_are_checked_exactly(power):
    # J = N·J with N > 1 is false on every MDP with J ≠ 0: checked (fails), not refused.
    assert _one(f"{J} = {power} {J}").verdict == FAILS


def test_powers_inside_the_limit_true_twin():
    assert _one(r"10^{10^{4}} = 10^{10000}").verdict == HOLDS
    assert _one(r"2^{2^{2^{2^{2}}}} = 2^{65536}").verdict == HOLDS


def test_a_sum_of_too_many_terms_is_refused_naming_its_terms():
    # red team G: Σ_{i=1}^{10^100} 0 was refused as "a number of more than 10^15 digits" (it is 0): the bound
    # counts every term, and the message now says so, naming the sum.
    line = _one(GRAD + r" \approx \frac{1}{m}\sum_{i=1}^{m} R(\tau^{(i)}) + \sum_{i=1}^{10^{100}} 0")
    assert line.verdict == NOT_UNDERSTOOD
    assert line.detail.startswith(r"line 1, column 3: \sum_{i=1}^{10^{100}} has 10^{100} terms")
    assert "10^15" not in line.detail and "term by term" in line.detail
    # true twin: a sum within the limit is checked
    assert _one(r"\sum_{i=1}^{100} 0 = 0").verdict == HOLDS


def test_number_bits_composes():
    ten = sp.Integer(10)
    assert number_bits(sp.Pow(sp.Pow(ten, 100), 100, evaluate=False)) >= 100 * 100 * 3
    assert number_bits(sp.Mul(ten ** 50, ten ** 50, evaluate=False)) >= 2 * 50 * 3


# -- a written number of samples is a sample mean ------------------------------------------------

def test_literal_sample_mean_is_an_estimator():
    assert _one(f"{J} \\approx {MEAN2}").verdict == HOLDS
    assert _one(f"{J} = {MEAN2}").verdict == IN_EXPECTATION


@pytest.mark.parametrize("wrong", [
    r"\frac{1}{3} \sum_{i=1}^{2} R(\tau^{(i)})",              # biased: wrong normalisation
    r"\frac{1}{2} \sum_{i=1}^{2} R(\tau^{(i)}) R(\tau^{(i)})",  # E[R²] ≠ J
    r"\frac{1}{2} \sum_{i=1}^{1} R(\tau^{(i)})",              # n = 1 with 1/2
])
def test_literal_sample_mean_biased_fails(wrong):
    assert _one(f"{J} \\approx {wrong}").verdict == FAILS


def test_literal_sample_mean_one_sample_holds():
    assert _one(f"{J} \\approx \\sum_{{i=1}}^{{1}} R(\\tau^{{(i)}})").verdict == HOLDS


def test_literal_sample_mean_pointwise_equality_between_estimators_fails():
    # Two estimators compared with '=' are compared for every tuple of samples: false here.
    assert _one(f"{MEAN2} = R(\\tau^{{(1)}})").verdict == FAILS


def test_hundred_samples_no_internal_error():
    line = _one(f"{J} \\approx \\frac{{1}}{{100}} \\sum_{{i=1}}^{{100}} R(\\tau^{{(i)}})")
    assert line.verdict == HOLDS
    text = " ".join([line.detail, *line.notes, *(s.detail + s.scope for s in line.steps)])
    assert "ndarray" not in text and "ValueError" not in text


def test_hundred_samples_biased_fails():
    assert _one(f"{J} \\approx \\frac{{1}}{{99}} \\sum_{{i=1}}^{{100}} R(\\tau^{{(i)}})").verdict == FAILS


def test_too_many_samples_refused_at_once():
    start = time.perf_counter()
    line = _one(f"{J} \\approx \\frac{{1}}{{10^{{4}}}} \\sum_{{i=1}}^{{10^{{4}}}} R(\\tau^{{(i)}})")
    assert time.perf_counter() - start < 30
    assert line.verdict == NOT_UNDERSTOOD and f"limit of {MAX_SAMPLE_COUNT:,} samples" in line.detail


def test_estimator_on_the_left_is_checked_like_on_the_right():
    est = r"\frac{1}{m}\sum_{i=1}^{m} \sum_{t=0}^{H} \nabla_\theta \log \pi_\theta(a_t \mid s_t) R(\tau^{(i)})"
    left, right = _one(f"{est} \\approx {GRAD}"), _one(f"{GRAD} \\approx {est}")
    assert left.verdict == right.verdict == HOLDS


def test_estimator_on_the_left_wrong_fails_without_proof_script_advice():
    est = r"\frac{1}{m}\sum_{i=1}^{m} R(\tau^{(i)}) R(\tau^{(i)})"
    line = _one(f"{est} \\approx {J}")
    assert line.verdict == FAILS
    assert "'unbiased'" not in " ".join([line.detail, *(s.detail for s in line.steps)])


# -- E[…] without a subscript averages the samples ----------------------------------------------

def test_bare_expectation_of_a_sample_is_not_the_sample():
    assert _one(r"\mathbb{E}\left[R(\tau^{(1)})\right] = R(\tau^{(1)})").verdict == FAILS


def test_bare_expectation_of_a_sample_is_J():
    # True, and held on every MDP derive can enumerate; the large MDPs cannot be listed for a sample's
    # expectation (no DP over time covers it), so the line is undecided there, never a pass.
    assert _held_on_the_small_mdps_only(_one(r"\mathbb{E}\left[R(\tau^{(1)})\right] = J(\theta)"))
    assert _held_on_the_small_mdps_only(
        _one(r"\mathbb{E}\left[\frac{1}{m}\sum_{i=1}^{m} R(\tau^{(i)})\right] = J(\theta)"))
    assert _held_on_the_small_mdps_only(_one(r"\mathbb{E}\left[" + MEAN2 + r"\right] = J(\theta)"))


def test_bare_expectation_independent_samples():
    assert _held_on_the_small_mdps_only(_one(r"\mathbb{E}\left[R(\tau^{(1)}) R(\tau^{(2)})\right] = J(\theta) J(\theta)"))
    # One sample twice is not independent: E[R²] ≠ J² on an MDP with random returns.
    assert _one(r"\mathbb{E}\left[R(\tau^{(1)}) R(\tau^{(1)})\right] = J(\theta) J(\theta)").verdict == FAILS


def test_bare_expectation_wrong_normalisation_fails():
    assert _one(r"\mathbb{E}\left[\frac{1}{m+1}\sum_{i=1}^{m} R(\tau^{(i)})\right] = J(\theta)").verdict == FAILS


def test_subscripted_expectation_around_a_sample_is_refused():
    line = _one(r"\mathbb{E}_{\tau \sim \pi_\theta}\left[R(\tau^{(1)})\right] = R(\tau^{(1)})")
    assert line.verdict == NOT_UNDERSTOOD and "ambiguous" in line.detail


def test_subscripted_expectation_of_an_estimator_refused_not_hung():
    text = (r"$$\hat{g} = \frac{1}{m} \sum_{i=1}^{m} \nabla_\theta \log P(\tau^{(i)};\theta) R(\tau^{(i)})$$" "\n\n"
            r"$$\mathbb{E}_{\tau \sim \pi_\theta}\left[\hat{g}\right] = \hat{g}$$" "\n\n"
            r"$$\mathbb{E}\left[\hat{g}\right] = \nabla_\theta J(\theta)$$" "\n")
    start = time.perf_counter()
    report = _check(text, timeout=3)
    assert time.perf_counter() - start < 120
    assert _verdicts(report)[1] == NOT_UNDERSTOOD
    assert _held_on_the_small_mdps_only([ln for ln in report.lines if ln.kind != "result"][2])


# E[…] without a subscript around a sample and an unmarked step (red-team M1): a_0 may be the
# expectation's own τ (independent of τ^(1): the line below holds) or the sample's (it fails).
SCORE0 = r"\nabla_\theta \log \pi_\theta(a_0 \mid s_0)"
SCORE0_SAMPLE = r"\nabla_\theta \log \pi_\theta(a_0^{(1)} \mid s_0^{(1)})"


def test_bare_expectation_of_a_sample_and_an_unmarked_step_is_refused():
    line = _one(r"\mathbb{E}\left[" + SCORE0 + r" R(\tau^{(1)})\right] = 0")
    assert line.verdict == NOT_UNDERSTOOD
    assert line.detail.startswith("line 1, column 3: a_{0}, s_{0} written without a trajectory")
    assert "τ^(1)" in line.detail and "guess" in line.detail
    # it says how to write each reading
    assert "a_{0}^{(1)}, s_{0}^{(1)}" in line.detail and r"\sum_\tau P(\tau;\theta)" in line.detail
    # a sample of a Σ_i outside the E is just as ambiguous
    line = _one(r"\frac{1}{m} \sum_{i=1}^{m} \mathbb{E}\left[" + SCORE0 + r" R(\tau^{(i)})\right] = 0")
    assert line.verdict == NOT_UNDERSTOOD and "τ^(i)" in line.detail


def test_bare_expectation_with_the_sample_s_steps_marked_is_read_its_way():
    # The sample's score times the sample's return: E[∇log π(a_0|s_0) R] ≠ 0 on some MDP.
    line = _one(r"\mathbb{E}\left[" + SCORE0_SAMPLE + r" R(\tau^{(1)})\right] = 0")
    assert line.verdict == FAILS
    line = _one(r"\mathbb{E}\left[" + SCORE0_SAMPLE + r" R(\tau^{(1)})\right] = "
                r"\mathbb{E}_{\tau \sim \pi_\theta}\left[" + SCORE0 + r" R(\tau)\right]")
    assert _held_on_the_small_mdps_only(line)
    assert r"a_{0}^{(1)} \mid s_{0}^{(1)}" in line.reading


def test_bare_expectation_taken_apart_reads_a_fresh_tau():
    # A fresh τ's score, independent of the sample: its expectation is 0, so the product is 0.
    line = _one(r"\mathbb{E}\left[" + SCORE0 + r"\right] \mathbb{E}\left[R(\tau^{(1)})\right] = 0")
    assert _held_on_the_small_mdps_only(line)
    assert r"(a_{0} \mid s_{0})" in line.reading
    line = _one(r"\mathbb{E}\left[" + SCORE0 + r"\right] \mathbb{E}\left[R(\tau^{(1)})\right] = "
                r"\mathbb{E}\left[" + SCORE0_SAMPLE + r" R(\tau^{(1)})\right]")
    assert line.verdict == FAILS


def test_bare_expectation_with_the_unmarked_step_inside_a_sample_sum_reads_the_sample():
    # Nearest binder: inside Σ_i whose body speaks of τ^(i), a_0 is a_0^(i) (one reading, unchanged).
    line = _one(r"\mathbb{E}\left[\frac{1}{m} \sum_{i=1}^{m} " + SCORE0 + r" R(\tau^{(i)})\right] = 0")
    assert line.verdict == FAILS and r"a_{0}^{(i)}" in line.reading


# The same refusal must not be bypassed (red-team H, finding 4): the test looks at the line with its
# defined names written out, and a Σ_i's samples are samples too.
G_FREE = r"$$\hat{g} := " + SCORE0 + "$$\n\n"


def _second(text):
    report = _check(text)
    return [ln for ln in report.lines if ln.kind != "result"][1]


def test_bare_expectation_through_a_defined_name_is_refused():
    # ĝ's a_0 has no trajectory on its own line: written out, E[ĝ R(τ^(1))] is the refused line above.
    for claim in (r"\mathbb{E}\left[\hat{g} R(\tau^{(1)})\right] = 0",
                  r"\mathbb{E}\left[\hat{g} R(\tau^{(1)})\right] = \mathbb{E}\left[\hat{g}\right] "
                  r"\mathbb{E}\left[R(\tau^{(1)})\right]"):
        line = _second(G_FREE + f"$${claim}$$\n")
        assert line.verdict == NOT_UNDERSTOOD, (line.verdict, line.detail)
        assert r"\hat{g} stands for" in line.detail and "in the definition on line 1" in line.detail
        assert "a_{0}^{(1)}, s_{0}^{(1)}" in line.detail and "guess" in line.detail


def test_bare_expectation_through_a_defined_name_true_twins():
    # Taken apart, ĝ is a fresh τ's score: E[ĝ] E[R(τ^(1))] = 0 · J.
    assert _held_on_the_small_mdps_only(_second(
        G_FREE + r"$$\mathbb{E}\left[\hat{g}\right] \mathbb{E}\left[R(\tau^{(1)})\right] = 0$$" "\n"))
    assert _second(G_FREE + r"$$\mathbb{E}_{\tau \sim \pi_\theta}\left[\hat{g}\right] = 0$$" "\n").verdict == HOLDS
    # Defined with the sample's steps, the name is read its way: E[ĝ R(τ^(1))] = E_τ[score_0 R(τ)].
    line = _second(r"$$\hat{g} := " + SCORE0_SAMPLE + "$$\n\n"
                   r"$$\mathbb{E}\left[\hat{g} R(\tau^{(1)})\right] = \mathbb{E}_{\tau \sim \pi_\theta}\left[\left("
                   + SCORE0 + r"\right) R(\tau)\right]$$" "\n")
    assert _held_on_the_small_mdps_only(line), (line.verdict, line.detail)
    # A definition that speaks of τ fixes its steps as τ's: beside an independent sample, E = ∇J · J.
    g_tau = r"$$\hat{g} := \left(" + SCORE0 + r"\right) R(\tau)$$" "\n\n"
    sum_score = r"\mathbb{E}_{\tau \sim \pi_\theta}\left[\left(" + SCORE0 + r"\right) R(\tau)\right]"
    assert _held_on_the_small_mdps_only(_second(
        g_tau + r"$$\mathbb{E}\left[\hat{g} R(\tau^{(1)})\right] = " + sum_score + r" J(\theta)$$" "\n"))
    assert _second(g_tau + r"$$\mathbb{E}\left[\hat{g} R(\tau^{(1)})\right] = " + sum_score + "$$\n").verdict == FAILS


def test_an_expectation_is_never_taken_for_a_gradient_built_before_it():
    # The reader kept the ids of ∇_θ f it built; a freed one's id went to the E_τ[…] built next, read as
    # that ∇ ("AttributeError: 'Expectation' object has no attribute 'expr'"). Both readings are checked now.
    line = _second(r"$$\hat{g} := " + SCORE0 + r" R(\tau)$$" "\n\n"
                   r"$$\mathbb{E}\left[\hat{g} R(\tau^{(1)})\right] = \mathbb{E}_{\tau \sim \pi_\theta}\left["
                   + SCORE0 + r" R(\tau)\right] J(\theta)$$" "\n")
    assert "Error" not in line.detail and line.verdict != NOT_UNDERSTOOD, line.detail
    assert any("two readings of \\log" in n for n in line.notes)


def test_a_defined_name_read_otherwise_once_written_out_is_refused():
    # Written out inside Σ_i, ĝ's a_0 would be τ^(i)'s (the line fails); on its own line it is a fresh
    # τ's (the line holds). Neither is silently chosen.
    line = _second(G_FREE + r"$$\mathbb{E}\left[\frac{1}{m} \sum_{i=1}^{m} \hat{g} R(\tau^{(i)})\right] = 0$$" "\n")
    assert line.verdict == NOT_UNDERSTOOD and r"\hat{g} stands for" in line.detail and "guess" in line.detail
    line = _second(G_FREE + r"$$\hat{g} R(\tau^{(1)}) = R(\tau^{(1)}) \hat{g}$$" "\n")
    assert line.verdict == NOT_UNDERSTOOD and r"\hat{g} stands for" in line.detail
    # true twin: beside τ's own factors the name reads the same written out or not
    assert _second(G_FREE + r"$$\mathbb{E}_{\tau \sim \pi_\theta}\left[\hat{g} R(\tau)\right] = "
                   r"\mathbb{E}_{\tau \sim \pi_\theta}\left[" + SCORE0 + r" R(\tau)\right]$$" "\n").verdict == HOLDS


@pytest.mark.parametrize("mean", [r"\sum_{i=1}^{2} R(\tau^{(i)})", r"\frac{1}{m}\sum_{i=1}^{m} R(\tau^{(i)})",
                                  r"\sum_{j=1}^{2} R(\tau^{(j)})"])
def test_bare_expectation_with_an_unmarked_step_beside_a_sample_sum_is_refused(mean):
    line = _one(r"\mathbb{E}\left[" + SCORE0 + " " + mean + r"\right] = 0")
    assert line.verdict == NOT_UNDERSTOOD, (line.verdict, line.detail)
    assert line.detail.startswith("line 1, column 3: a_{0}, s_{0} written without a trajectory")
    assert "outside the \\sum_{i}" in line.detail and "guess" in line.detail
    assert "a_{0}^{(i)}, s_{0}^{(i)}" in line.detail and "a_{0}^{(1)}, s_{0}^{(1)}" in line.detail


def test_bare_expectation_beside_a_sample_sum_true_twins():
    # Taken apart: a fresh τ's score, independent of the samples, has expectation 0.
    assert _held_on_the_small_mdps_only(_one(r"\mathbb{E}\left[" + SCORE0 + r"\right] \mathbb{E}\left[" + MEAN2 +
                                             r"\right] = 0"))
    # The first sample's score beside the mean of two: E[score(τ¹)(R(τ¹) + R(τ²))]/2 = ∇J/2.
    assert _held_on_the_small_mdps_only(_one(r"\mathbb{E}\left[" + SCORE0_SAMPLE + " " + MEAN2 + r"\right] = "
                                             r"\frac{1}{2} \mathbb{E}_{\tau \sim \pi_\theta}\left[" + SCORE0 +
                                             r" R(\tau)\right]"))


def test_an_unmarked_step_outside_a_sample_sum_is_refused_without_an_expectation_too():
    # ∇log π(a_0|s_0) · (1/m) Σ_i R(τ^(i)) ≈ 0 held, a_0 read as a fresh τ's; beside τ^(1) alone the same
    # a_0 is read as the sample's (and fails). Whose step it is beside a Σ_i's samples is a guess.
    line = _one(SCORE0 + r" \frac{1}{m}\sum_{i=1}^{m} R(\tau^{(i)}) \approx 0")
    assert line.verdict == NOT_UNDERSTOOD, (line.verdict, line.detail)
    assert "outside that sum" in line.detail and "guess" in line.detail and "s_t^{(i)}" in line.detail
    # true twin: the unmarked steps inside the Σ_i are its samples' (one reading)
    line = _one(GRAD + r" \approx \frac{1}{m}\sum_{i=1}^{m} \sum_{t=0}^{H} \nabla_\theta \log \pi_\theta(a_t \mid s_t) "
                r"R(\tau^{(i)})")
    assert line.verdict == HOLDS and r"a_{t}^{(i)}" in line.reading


def test_subscripted_expectation_over_a_sample_says_how_to_write_it():
    line = _one(r"\mathbb{E}_{\tau^{(1)}}\left[" + SCORE0_SAMPLE + r" R(\tau^{(1)})\right] = 0")
    assert line.verdict == NOT_UNDERSTOOD
    assert r"\mathbb{E}_{\tau^{(1)}}[…]" in line.detail and "only as the trajectory τ" in line.detail
    assert r"write \mathbb{E}[…] without a subscript" in line.detail


def test_subscripted_expectation_without_samples_unchanged():
    assert _one(r"\mathbb{E}_{\tau \sim \pi_\theta}\left[R(\tau)\right] = J(\theta)").verdict == HOLDS
    assert _one(r"\mathbb{E}\left[R(\tau)\right] = 2 J(\theta)").verdict in (FAILS,)


# -- written step indices, and messages in the reader's words ------------------------------------

def test_a_step_past_every_horizon_is_not_checked_not_failed():
    line = _one(r"r_{1000000} = r_{1000000}")
    assert line.verdict == UNDECIDED_LINE
    assert any("no MDP of the battery has H ≥ 1,000,000" in n for n in line.notes)


def test_a_written_step_is_checked_where_it_exists():
    assert _one(r"r_{3} = r_{3}").verdict == HOLDS
    assert _one(r"r_{3} = r_{2}").verdict == FAILS    # false twin: two steps' rewards differ


def test_a_negative_step_is_refused_in_words():
    line = _one(r"s_{-1} = s_{-1}")
    assert line.verdict == NOT_UNDERSTOOD and "no step before s_{0}" in line.detail
    assert "State" not in line.detail


def test_no_internal_names_in_reports():
    text = (r"$$\mathbb{E}\left[R(\tau^{(1)}) R(\tau^{(2)}) R(\tau^{(3)}) R(\tau^{(4)}) R(\tau^{(5)})"
            r" \frac{1}{R(\tau^{(1)}) + R(\tau^{(2)})}\right] = J(\theta)$$" "\n\n"
            r"$$J(\theta) \approx \frac{1}{70} \sum_{i=1}^{70} R(\tau^{(i)})$$" "\n")
    report = _check(text)
    blob = repr([ln.to_dict() for ln in report.lines])
    for name in ("_OutsideStep", "ValueError", "ndarray", "State:", "IllFormed", "NotCovered"):
        assert name not in blob
    assert _verdicts(report)[1] == HOLDS
    assert _verdicts(report)[0] != HOLDS      # E[(R1⋯R5)/(R1 + R2)] = J is false, never a pass


def test_bare_expectation_of_an_estimator_equal_to_it_is_not_a_pass():
    # E[ĝ] is the number ∇J; '= ĝ' is the estimate written as an equality, never "holds".
    text = (r"$$\hat{g} = \frac{1}{m} \sum_{i=1}^{m} \nabla_\theta \log P(\tau^{(i)};\theta) R(\tau^{(i)})$$" "\n\n"
            r"$$\mathbb{E}\left[\hat{g}\right] = \hat{g}$$" "\n")
    report = _check(text, timeout=3)
    assert _verdicts(report)[1] in (IN_EXPECTATION, UNDECIDED_LINE) and not report.verified


_LR = r"\nabla_\theta J(\theta) = \sum_\tau P(\tau;\theta) \nabla_\theta \log P(\tau;\theta) R(\tau)"
_MEAN_LR = r"\frac{1}{m} \sum_{i=1}^{m} \nabla_\theta \log P(\tau^{(i)};\theta) R(\tau^{(i)})"


@pytest.mark.parametrize("layout", ["two displays", "aligned"])
def test_a_row_starting_with_approx_writes_its_step_with_approx(layout):
    # '&\approx …' continuing a chain is the estimate written as one: it holds, and the result keeps ≈.
    def doc(rel, mean):
        if layout == "two displays":
            return f"$${_LR}$$\n\nSampling m trajectories:\n\n$${rel} {mean}$$\n"
        return "$$\\begin{aligned}" + _LR.replace(" = ", " &= ", 1) + f" \\\\ &{rel} {mean}\\end{{aligned}}$$\n"
    good = _check(doc(r"\approx", _MEAN_LR))
    assert good.verified and _verdicts(good)[-1] == HOLDS
    result = [ln for ln in good.lines if ln.kind == "result"][-1]
    assert r"\approx" in result.reading and " = \\frac{1}{m}" not in result.reading
    # The same estimate written with '=' is not an equality: never verified.
    equal = _check(doc("=", _MEAN_LR))
    assert not equal.verified and _verdicts(equal)[-1] == IN_EXPECTATION
    # A biased estimate written with ≈ (the 1/m dropped) fails.
    biased = _check(doc(r"\approx", _MEAN_LR.replace(r"\frac{1}{m} ", "")))
    assert not biased.verified and FAILS in _verdicts(biased)
