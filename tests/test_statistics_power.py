"""Power where a few rare events carry the signal, with the level kept.

``estimate`` judges a component with a small effective sample size by Bennett's bound with
the exact variance and range (valid at any sample size) instead of a normal reference, and
says which biases it could not show; ``gradcheck``, which has no exact moments for a user's
estimator, draws a second, larger sample on fresh trajectories, with α split 0.9 / 0.1
between the rounds. Each mechanism has a wrong input it rejects and a true twin it accepts.
"""

import math

import mpmath
import pytest

from derive.gradcheck import gradcheck
from derive.stats import bennett_p, bennett_resolution, bennett_tail, cross_check
from gradcheck_gallery import BUGGY, CORRECT
from statistics_mdps import heavy_tailed, rare_reward

ALPHA = 0.01


def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) >= k) = I_p(k, n − k + 1), exactly (mpmath)."""
    return float(mpmath.betainc(k, n - k + 1, 0, p, regularized=True))


@pytest.mark.parametrize("p, n", [(1e-4, 100_000), (1e-4, 10_000), (0.01, 1_000), (0.3, 50)])
def test_bennett_bounds_the_exact_binomial_tail_where_the_normal_reference_does_not(p, n):
    # X ~ Bernoulli(p): X − μ <= 1 − p, Var X = p(1 − p). For every count k above the mean the bound
    # must lie above the exact P(Σ X >= k); the normal tail it replaces lies below it on rare events.
    var, normal_below = p * (1 - p), False
    for k in range(int(n * p) + 1, int(n * p) + 40):
        d = k / n - p
        exact = binomial_upper_tail(k, n, p)
        assert bennett_tail(d, var, 1 - p, n) >= exact * (1 - 1e-9), (k, n, p)
        normal_below |= 0.5 * math.erfc(d / math.sqrt(var / n) / math.sqrt(2)) < exact / 2
    assert normal_below or p > 0.1  # the wrong reference: a normal tail under the true one on rare events


def test_bennett_p_rejects_beyond_the_support_and_its_resolution_is_where_it_starts_to():
    var, up, down, n = 1e-4, 1.0, 1e-4, 100_000  # X >= μ − 1e-4: a mean far below is impossible
    assert bennett_p(-2e-4, var, up, down, n) == 0.0
    assert bennett_p(1e-5, var, up, down, n) == 1.0
    eps_up, eps_down = bennett_resolution(var, up, down, n, ALPHA)
    assert bennett_p(eps_up * 1.01, var, up, down, n) <= ALPHA < bennett_p(eps_up * 0.99, var, up, down, n)
    assert eps_down <= down * 1.0001 and eps_down < eps_up


@pytest.mark.parametrize("seed", range(5))
def test_estimate_rejects_a_flipped_sign_from_fifteen_rare_events_and_not_the_correct_estimator(seed):
    mdp, policy, theta = rare_reward()  # ≈ 15 rewarding trajectories in 300,000: effective sample size 15
    bad = cross_check(mdp, policy, theta, samples=300_000, seed=seed, estimator="wrong-sign").verdict
    good = cross_check(mdp, policy, theta, samples=300_000, seed=seed).verdict
    assert bad.rejected and not good.rejected


def test_at_five_rare_events_bennett_rejects_the_flip_about_half_the_time_and_says_what_it_cannot_show():
    mdp, policy, theta = rare_reward()  # ≈ 5 rewarding trajectories in 100,000: effective sample size 5
    bad = [cross_check(mdp, policy, theta, samples=100_000, seed=s, estimator="wrong-sign").verdict for s in range(20)]
    good = [cross_check(mdp, policy, theta, samples=100_000, seed=s).verdict for s in range(20)]
    assert sum(v.rejected for v in bad) >= 5  # measured: 50 of 100 seeds (the flip shows once ~5 events are seen)
    assert all("Bennett" in v.notes[0] for v in bad)
    assert not any(v.rejected for v in good)
    # No power against an upward bias the size of ∇J there: undecided, and the note says so.
    assert all(v.verdict == "undecided" and "could not show" in v.notes[0] for v in good)


def test_rare_reward_at_a_million_samples_is_consistent_and_the_flip_is_rejected():
    mdp, policy, theta = rare_reward()
    assert cross_check(mdp, policy, theta, samples=1_000_000, seed=0).verdict.verdict == "consistent"
    assert cross_check(mdp, policy, theta, samples=1_000_000, seed=0, estimator="wrong-sign").verdict.rejected


def test_heavy_tails_show_a_bias_only_towards_the_light_side_and_say_so():
    mdp, policy, theta = heavy_tailed()
    good = cross_check(mdp, policy, theta, samples=100_000, seed=0).verdict
    assert good.verdict == "undecided" and not good.rejected  # rewards up to 2^20: an upward bias cannot show
    note = good.notes[0]
    assert "above +" in note and "below −" in note
    # The flipped estimator's heavy tail points the way of its bias; at 10^6 samples the light side rejects.
    assert cross_check(mdp, policy, theta, samples=1_000_000, seed=0, estimator="wrong-sign").verdict.rejected
    assert cross_check(mdp, policy, theta, samples=100_000, seed=0, estimator="shifted-rewards").verdict.rejected


@pytest.mark.parametrize("make", [rare_reward])
def test_gradcheck_draws_a_second_sample_and_then_decides(make):
    problem = make()
    good = gradcheck(CORRECT["reward-to-go"], mdps=[problem], seed=1, minimize=False)
    bad = gradcheck(BUGGY["sign flip"], mdps=[problem], seed=1, minimize=False)
    assert good.passed and good.results[0].samples == 1_600_000 and "redrawn" in good.warnings[0]
    assert bad.rejected and not bad.passed
    # The twin without the second round: the same estimators stay undecided, never a pass or an alarm.
    one = gradcheck(BUGGY["sign flip"], mdps=[problem], seed=1, minimize=False, max_samples=100_000)
    assert one.undecided and not one.passed and not one.rejected


def test_gradcheck_on_heavy_tails_stays_undecided_at_the_cap_and_says_so():
    r = gradcheck(CORRECT["reward-to-go"], mdps=[heavy_tailed()], seed=1, minimize=False)
    assert r.undecided and not r.passed and "not redrawn" in r.warnings[0] and "exact kurtosis" in r.warnings[0]
    assert r.results[0].samples == 100_000  # the model shows the cap could not decide: no second round drawn


def test_a_possible_second_round_splits_the_level_between_the_rounds():
    from statistics_mdps import chain

    one = gradcheck(CORRECT["reward-to-go"], mdps=[chain()], seed=3, samples=20_000, max_samples=20_000,
                    minimize=False)
    two = gradcheck(CORRECT["reward-to-go"], mdps=[chain()], seed=3, samples=20_000, minimize=False)
    assert two.p_value == pytest.approx(min(1.0, one.p_value / 0.9))  # 0.9 α for the first round, 0.1 α for a second
    assert two.results[0].samples == 20_000  # nothing untested: no second round was drawn


@pytest.mark.slow
def test_estimate_keeps_its_level_on_the_rare_reward_over_300_seeds():
    # Binomial(300, 0.01) exceeds 8 with probability 0.004; Bennett's bound holds at any n,
    # so the expected count is below 3. The flipped sign is rejected on nearly every seed.
    mdp, policy, theta = rare_reward()
    alarms = sum(cross_check(mdp, policy, theta, samples=100_000, seed=s).verdict.rejected for s in range(300))
    caught = sum(cross_check(mdp, policy, theta, samples=300_000, seed=s, estimator="wrong-sign").verdict.rejected
                 for s in range(1_000, 1_050))
    assert alarms <= 8 and caught >= 48
