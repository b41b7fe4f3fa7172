"""Components that never vary in the sample: judged by the model, never by z = ±∞."""

import math

import numpy as np
import pytest

from derive.exact import enumerate_support
from derive.stats import batch_test, cross_check, informative_probability, informed_states
from numeric_mdps import two_state_mdp
from statistics_mdps import frozen_lake_8x8


@pytest.fixture(scope="module")
def lake():
    return frozen_lake_8x8()


@pytest.mark.parametrize("estimator", ["reinforce", "reward-to-go"])
def test_frozen_lake_8x8_unvisited_states_are_no_false_alarm(lake, estimator):
    # Many states are never reached with reward to follow: estimate = SE = 0 while ∇J is 1e-11..1e-6.
    mdp, policy, theta = lake
    check = cross_check(mdp, policy, theta, samples=20_000, seed=3, estimator=estimator)
    v = check.verdict
    constant = (v.stderr == 0) & (np.abs(v.estimate - check.exact) > 0)
    assert constant.sum() > 10  # the mechanism is exercised
    assert not v.rejected and np.all(np.isfinite(v.statistic)), v.p_value
    assert v.verdict == "undecided" and not v.consistent  # rarely visited states remain untested, and say so
    assert np.all(v.p_values[constant] > 0.01)


def test_frozen_lake_biased_estimator_is_still_rejected(lake):
    mdp, policy, theta = lake
    assert cross_check(mdp, policy, theta, samples=100_000, seed=3, estimator="wrong-sign").verdict.rejected


def test_seed_3_of_frozen_lake_once_gave_an_infinite_z(lake):
    # A state visited with reward to follow whose score sums to 0 (each action taken equally often):
    # a correct REINFORCE is constant there. The bound on |ĝ| makes its p-value ≈ 1, not 0.
    mdp, policy, theta = lake
    v = cross_check(mdp, policy, theta, samples=10_000, seed=3).verdict
    assert not v.rejected and v.p_values[105] == pytest.approx(1.0, abs=1e-3)


def test_event_probability_is_a_valid_p_value_and_can_reject():
    # A constant component that differs from ∇J: probability 0.9 of that quiet event -> no alarm;
    # probability 1e-12 -> the estimator should have moved, so reject; no model -> untested, named.
    G = np.column_stack([np.random.default_rng(0).normal(size=200), np.zeros(200)])
    exact = [0.0, 1e-3]
    assert batch_test(G, exact, unexplored=[math.nan, 0.9]).consistent
    assert batch_test(G, exact, unexplored=[math.nan, 1e-12]).rejected
    v = batch_test(G, exact)
    assert not v.rejected and not v.consistent and v.verdict == "undecided"
    assert v.untested == (1,) and "no valid reference" in v.notes[0]
    # The reason is what derive knows of a black box (no bound, events unseen), never that no event could move it.
    assert "black box" in v.notes[0] and "no event of positive probability" not in v.notes[0]


def test_bound_on_the_estimate_rejects_a_constant_far_from_the_truth():
    G = np.zeros((1000, 1))
    assert batch_test(G, [0.5], bound=[1.0]).rejected   # P(X ≠ 0) >= 1/4: 1000 zeros impossible
    assert batch_test(G, [1e-6], bound=[1.0]).consistent      # P(X ≠ 0) >= 5e-7: zeros expected


def test_structurally_zero_gradient_is_compared_exactly():
    G = np.column_stack([np.random.default_rng(1).normal(size=100), np.zeros(100)])
    assert batch_test(G, [0.0, 0.0]).consistent
    assert batch_test(G, [0.0, 1e-300]).consistent  # rounding of a structural zero


def test_informative_probability_matches_enumeration():
    mdp = two_state_mdp()
    from derive.policies import TabularSoftmax

    policy, theta = TabularSoftmax(2, 2), np.array([0.3, -0.2, 0.5, 0.1])
    masks = informed_states(policy, theta)
    q = informative_probability(mdp, policy, theta, masks)
    pi = policy.float_probabilities(theta)
    en = enumerate_support(mdp, pi > 0)
    prob = en.environment_floats()
    T = en.actions.shape[1]
    for t in range(T):
        prob = prob * pi[en.states[:, t], en.actions[:, t]]
    _, _, r = mdp.arrays()
    rew = r[en.states[:, :T], en.actions, en.states[:, 1:]]
    for k, mask in enumerate(masks):
        hit = np.zeros(len(prob), dtype=bool)
        for t in range(T):
            later = (rew[:, t:] != 0).any(axis=1)
            hit |= mask[en.states[:, t]] & later
        assert q[k] == pytest.approx(prob[hit].sum(), abs=1e-12)


def test_the_plug_in_test_judges_constant_components_by_the_model_too(lake):
    mdp, policy, theta = lake
    check = cross_check(mdp, policy, theta, samples=20_000, seed=3, test="holm", estimator="reward-to-go")
    constant = (check.estimate.stderr == 0) & (np.abs(check.estimate.mean - check.exact) > 0)
    assert constant.sum() > 10
    assert np.all(check.verdict.p_values[constant] > 0.01)  # once z = ±∞ and p < 1e-300
    assert not np.any(np.isinf(check.verdict.statistic[constant]))


# -- an estimate that never moves, or moves only at rounding size: a true reason, no useless round -----


def _zeros(tr):
    """What a gradient cut off by .detach() gives: 0 whatever the trajectories."""
    return np.zeros((tr.m, tr.n_params))


def _tiny(tr):
    """A correct reward-to-go times 1e-13 (a unit slip): it varies, at 1e-13 of ∇J's size."""
    from gradcheck_gallery import reward_to_go

    return reward_to_go(tr) * 1e-13


@pytest.fixture(scope="module")
def bandit():
    from derive.gradcheck import default_battery

    return default_battery(seed=1)[0]


def test_an_all_zero_estimate_is_undecided_with_its_true_reason_and_no_second_round(bandit):
    from derive.gradcheck import gradcheck

    r = gradcheck(_zeros, mdps=[bandit], seed=1, minimize=False)
    assert r.undecided and not r.rejected and not r.passed
    assert r.results[0].samples == 100_000  # more samples cannot move a constant: no 16× round spent on it
    (w,) = r.warnings
    assert "exactly the same value in all 1,000 batches" in w and "reached the states that move them" in w
    assert ".detach()" in w and "more samples will not decide it" in w
    assert "raise samples" not in w and "no event of positive probability" not in w


def test_a_tiny_estimate_is_not_called_the_same_value_in_every_batch(bandit):
    from derive.gradcheck import gradcheck

    r = gradcheck(_tiny, mdps=[bandit], seed=1, minimize=False)
    assert r.undecided and not r.passed and r.results[0].samples == 100_000
    (w,) = r.warnings
    assert "the same value" not in w and "vary from batch to batch" in w and "a ratio of 1e-13" in w, w


def test_components_short_of_effective_samples_still_get_the_second_round():
    # The twin: the rare reward's components vary, but on too few events: those are redrawn.
    from derive.gradcheck import gradcheck
    from gradcheck_gallery import reward_to_go
    from statistics_mdps import rare_reward

    r = gradcheck(reward_to_go, mdps=[rare_reward()], seed=4, minimize=False)
    assert r.results[0].samples > 100_000 and any("redrawn" in w for w in r.warnings)
