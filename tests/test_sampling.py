"""Sampling is seeded, reproducible, chunked, and draws from the MDP's own distributions."""

import numpy as np
import pytest

from derive.errors import UserError
from derive.policies import LinearSoftmax, TabularSoftmax
from derive.sampling import (
    BIASED_ESTIMATORS, ESTIMATORS, Sampler, _alias, estimate_gradient, sample, step_weights,
)
from numeric_mdps import two_state_mdp


@pytest.fixture
def two_state():
    return two_state_mdp()


THETA = [0.3, -0.2, 0.5, 0.1]


def test_same_seed_same_trajectories_and_different_seed_differs(two_state):
    a = [b.states for b in sample(two_state, TabularSoftmax(2, 2), THETA, samples=1000, seed=7)]
    b = [b.states for b in sample(two_state, TabularSoftmax(2, 2), THETA, samples=1000, seed=7)]
    c = [b.states for b in sample(two_state, TabularSoftmax(2, 2), THETA, samples=1000, seed=8)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_memory_is_bounded_by_the_chunk_size(two_state):
    sizes = [b.size for b in sample(two_state, TabularSoftmax(2, 2), THETA, samples=2500, seed=0, chunk_size=1000)]
    assert sizes == [1000, 1000, 500]


def test_alias_table_reproduces_the_distribution_and_a_corrupt_one_does_not():
    p = np.array([0.1, 0.0, 0.45, 0.2, 0.25])
    keep, alias = _alias(p)
    n = p.size
    mass = keep / n
    np.add.at(mass, alias, (1 - keep) / n)
    assert np.allclose(mass, p, atol=1e-15)
    alias[0] = 1  # send the rejected mass of slot 0 to the impossible outcome
    bad = keep / n
    np.add.at(bad, alias, (1 - keep) / n)
    assert not np.allclose(bad, p, atol=1e-3)


def test_paths_follow_the_tables(two_state):
    batch = next(sample(two_state, TabularSoftmax(2, 2), THETA, samples=20000, seed=1))
    mu, P, r = two_state.arrays()
    T = batch.actions.shape[1]
    s, a, s2 = batch.states[:, :T], batch.actions, batch.states[:, 1:]
    assert np.all(P[s, a, s2] > 0)  # never an impossible transition
    assert np.array_equal(batch.rewards, r[s, a, s2])
    # First-step frequencies within 5 standard errors of μ(s)π(a|s)P(s'|s,a).
    pi = TabularSoftmax(2, 2).float_probabilities(THETA)
    expected = mu[:, None, None] * pi[:, :, None] * P
    freq = np.zeros_like(expected)
    np.add.at(freq, (s[:, 0], a[:, 0], s2[:, 0]), 1.0 / batch.size)
    se = np.sqrt(expected * (1 - expected) / batch.size)
    assert np.all(np.abs(freq - expected) <= 5 * se + 1e-12)
    wrong = expected.transpose(0, 2, 1)  # P(s'|s,a) read with the wrong axis order
    assert np.any(np.abs(freq - wrong) > 5 * np.sqrt(wrong * (1 - wrong) / batch.size) + 1e-12)


def test_step_weights_of_each_estimator():
    r = np.array([[1.0, 2.0, 4.0]])
    g = 0.5
    # γ^t r_t = 1, 1, 1: R = 3, reward-to-go 3, 2, 1.
    assert step_weights("reinforce", r, g).tolist() == [[3.0, 3.0, 3.0]]
    assert step_weights("reward-to-go", r, g).tolist() == [[3.0, 2.0, 1.0]]
    assert step_weights("wrong-sign", r, g).tolist() == [[-3.0, -3.0, -3.0]]
    assert step_weights("dropped-term", r, g).tolist() == [[0.0, 3.0, 3.0]]
    assert step_weights("shifted-rewards", r, g).tolist() == [[2.0, 1.0, 0.0]]


def test_estimate_has_a_standard_error_per_component(two_state):
    policy = LinearSoftmax((((1, 0), (0, 1)), ((1, 1), (0, -1))))
    est = estimate_gradient(two_state, policy, [0.2, -0.4], samples=5000, seed=0)
    assert est.mean.shape == est.stderr.shape == (2,)
    assert np.all(est.stderr > 0) and est.covariance.shape == (2, 2)
    assert est.steps == 5000 * 4


@pytest.mark.parametrize("kwargs,match", [
    ({"estimator": "reinforcee"}, "estimator"),
    ({"samples": 1}, "samples"),
    ({"samples": 1.5}, "samples"),
])
def test_bad_arguments_are_user_errors(two_state, kwargs, match):
    with pytest.raises(UserError, match=match):
        estimate_gradient(two_state, TabularSoftmax(2, 2), THETA, **kwargs)


def test_estimator_names_are_disjoint():
    assert not set(ESTIMATORS) & set(BIASED_ESTIMATORS)


def test_sampler_rejects_probabilities_that_are_not_a_distribution(two_state):
    from derive.policies import DirectPolicy

    with pytest.raises(UserError):
        Sampler(two_state, DirectPolicy(2, 2), [1.5, -0.5, 0.5, 0.5])
