"""gradcheck's battery: drawn afresh per run, replayable by its seed, long enough for late-step bugs."""

import numpy as np
import pytest

from derive.gradcheck import DEFAULT_RANDOM, default_battery, fresh_seed, gradcheck
from gradcheck_gallery import _discounted, reward_to_go


def truncated(n):
    """An n-step return without a bootstrap: a_t credited with r_t .. r_{t+n-1} only."""
    def estimator(tr):
        r = _discounted(tr)
        T = tr.horizon + 1
        c = np.concatenate([np.zeros((tr.m, 1)), np.cumsum(r, axis=1)], axis=1)
        w = c[:, np.minimum(np.arange(T) + n, T)] - c[:, :T]
        return np.einsum("mt,mtk->mk", w, tr.scores())
    return estimator


truncated_return = truncated(4)
LANES = 4  # the battery's slot at H = 30 with two absorbing lanes


@pytest.mark.parametrize("seed", range(20))
def test_every_battery_reaches_long_horizons_and_several_discounts(seed):
    battery = default_battery(seed=seed)
    assert len(battery) == DEFAULT_RANDOM
    sizes = [(m.n_states, m.n_actions, m.horizon) for m, _, _ in battery]
    assert any(S >= 5 and A >= 4 and H >= 20 for S, A, H in sizes)
    assert min(H for _, _, H in sizes) == 0  # the bandit stays: H = 0 bugs show there first
    assert len({m.discount for m, _, _ in battery}) >= 2


def test_batteries_differ_between_seeds_and_fresh_seeds_differ():
    a, b = default_battery(seed=1), default_battery(seed=2)
    assert [m.to_dict() for m, _, _ in a] != [m.to_dict() for m, _, _ in b]
    assert len({fresh_seed() for _ in range(5)}) > 1


def test_a_run_without_a_seed_reports_one_that_replays_it():
    first = gradcheck(reward_to_go, samples=2_000, minimize=False)
    assert isinstance(first.seed, int) and first.to_dict()["seed"] == first.seed
    again = gradcheck(reward_to_go, samples=2_000, seed=first.seed, minimize=False)
    assert again.to_dict() == first.to_dict()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_truncated_return_is_rejected_at_the_defaults_and_the_full_return_passes(seed):
    bad = gradcheck(truncated_return, seed=seed, minimize=False)
    assert not bad.passed and bad.p_value < 1e-6
    assert gradcheck(reward_to_go, seed=seed, minimize=False).passed


@pytest.mark.slow
def test_truncated_return_is_rejected_on_twenty_five_more_batteries():
    rejected = sum(not gradcheck(truncated_return, seed=s, minimize=False).passed for s in range(100, 125))
    assert rejected == 25


@pytest.mark.parametrize("n", [4, 8, 16, 24, 29])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_lanes_slot_rejects_every_truncation_below_its_horizon_and_passes_the_full_return(n, seed):
    problem = default_battery(seed=seed)[LANES]
    assert problem[0].horizon == 30
    bad = gradcheck(truncated(n), mdps=[problem], seed=seed, minimize=False)
    assert bad.rejected and bad.p_value < 1e-6, (n, seed, bad.p_value)
    assert not gradcheck(truncated(31), mdps=[problem], seed=seed, minimize=False).rejected  # 31 rewards: all of them


@pytest.mark.slow
def test_the_longest_truncation_is_rejected_on_25_lanes_mdps_and_the_full_return_is_not():
    # n = 29 drops only r_29 and r_30 of a_0 and r_30 of a_1: the hardest truncation below H = 30.
    rejected = passed = 0
    for s in range(100, 125):
        problem = default_battery(seed=s)[LANES]
        rejected += gradcheck(truncated(29), mdps=[problem], seed=s, minimize=False).rejected
        passed += gradcheck(reward_to_go, mdps=[problem], seed=s, minimize=False).passed
    assert rejected == 25 and passed >= 23  # Binomial(25, 0.01) exceeds 2 with probability 0.002


# -- biases only some slots can show: late score terms, unlikely actions ----------------------

from gradcheck_gallery import late_scores_dropped, unlikely_actions_zeroed  # noqa: E402

PEAKED, DENSE = 2, 5  # the slots with a near-deterministic policy, and the dense one with H from 32 to 40


@pytest.mark.parametrize("seed", range(20))
def test_every_battery_has_unlikely_actions_and_a_dense_mdp_past_thirty_steps(seed):
    battery = default_battery(seed=seed)
    mdp, policy, theta = battery[PEAKED]
    pi = policy.float_probabilities(theta)
    # Each state has one likely action; every other one is unlikely, yet drawn often enough for the t-test.
    assert np.all(np.sort(pi, axis=1)[:, :-1] < 0.05) and pi.min() > 0.01
    dense = battery[DENSE][0]
    assert 32 <= dense.horizon <= 40 and dense.discount == 1


def test_late_score_terms_dropped_are_rejected_at_the_defaults_and_the_full_sum_passes():
    # Seed 2 once PASSED with p = 1: the dense slot drew H = 25, where a cut at t = 25 drops one step of six.
    bad = gradcheck(late_scores_dropped(25), seed=2, minimize=False)
    assert bad.rejected and bad.p_value < 1e-6, bad.p_value
    assert gradcheck(late_scores_dropped(41), seed=2, minimize=False).passed  # past H: the full sum, unbiased


def test_reward_to_go_zeroed_on_unlikely_actions_is_rejected_at_the_defaults_and_the_full_one_passes():
    # Seeds 1 and 3 once PASSED (θ entries only ±1/2, ±1: π(a|s) < 0.05 on no state of some batteries).
    for seed in (1, 3):
        bad = gradcheck(unlikely_actions_zeroed(0.05), seed=seed, minimize=False)
        assert bad.rejected and bad.p_value < 1e-6, (seed, bad.p_value)
    assert gradcheck(unlikely_actions_zeroed(0.0), seed=1, minimize=False).passed  # no action below 0: unbiased


def test_a_pass_names_the_least_likely_action_it_tried():
    r = gradcheck(reward_to_go, seed=1, samples=20_000, minimize=False)
    assert r.passed and 0.01 < r.scope["min_pi"] < 0.05
    assert f"min π(a|s) = {r.scope['min_pi']:.2g}; " in r.headline
    assert 32 <= r.scope["max_H"] <= 40 and f"H ≤ {r.scope['max_H']}, " in r.headline
