"""Finite reward distributions P(r|s,a) (seed 004): exact J uses E[r|s,a]; sampling draws r."""

from fractions import Fraction as F

import numpy as np
import pytest

from derive.errors import UserError
from derive.exact import gradient
from derive.mdp import FiniteMDP, InvalidMDP
from derive.mdpfile import parse
from derive.policies import TabularSoftmax
from derive.sampling import estimate_gradient, sample
from derive.stats import cross_check, exact_covariance

DOC = {
    "initial": [1, 0],
    "transitions": [[["1/2", "1/2"], [0, 1]], [[1, 0], [0, 1]]],
    "reward_distribution": [
        [[[0, "1/2"], [4, "1/2"]], [[1, 1]]],
        [[[-2, 0.25], [2, 0.75]], [[0, "1/3"], [3, "2/3"]]],
    ],
    "horizon": 2,
    "discount": "1/2",
}
THETA = [0.4, -0.3, 0.1, 0.2]


@pytest.fixture
def noisy():
    return parse(DOC).mdp


def test_expected_rewards_are_stored_and_used_exactly(noisy):
    assert noisy.rewards[0][0] == (2, 2) and noisy.rewards[1][0] == (1, 1) and noisy.rewards[1][1] == (2, 2)
    same = FiniteMDP.from_tables(noisy.initial, noisy.transitions, [[2, 1], [1, 2]], horizon=2, discount=F(1, 2))
    pol = TabularSoftmax(2, 2)
    assert gradient(noisy, pol, [0, 0, 0, 0], method="symbolic") == gradient(same, pol, [0, 0, 0, 0], method="symbolic")


def test_sampled_rewards_come_from_the_distribution(noisy):
    batch = next(sample(noisy, TabularSoftmax(2, 2), THETA, samples=40_000, seed=3))
    at = (batch.states[:, 0] == 0) & (batch.actions[:, 0] == 0)
    values = batch.rewards[at, 0]
    assert set(np.unique(values)) == {0.0, 4.0}
    assert abs(values.mean() - 2.0) < 5 * 2.0 / np.sqrt(at.sum())  # sd of r is 2


def test_cross_check_with_random_rewards(noisy):
    pol = TabularSoftmax(2, 2)
    assert cross_check(noisy, pol, THETA, seed=1).verdict.consistent
    assert cross_check(noisy, pol, THETA, seed=1, test="chi2-exact").verdict.consistent
    assert not cross_check(noisy, pol, THETA, seed=1, estimator="shifted-rewards").verdict.consistent


def test_exact_covariance_includes_the_reward_noise(noisy):
    pol = TabularSoftmax(2, 2)
    est = estimate_gradient(noisy, pol, THETA, samples=200_000, seed=2)
    exact = np.diag(exact_covariance(noisy, pol, THETA)) / est.samples
    assert np.allclose(np.diag(est.covariance), exact, rtol=0.05)
    # Without the noise term the covariance is too small: the check must see that.
    plain = FiniteMDP.from_tables(noisy.initial, noisy.transitions, noisy.rewards, horizon=2, discount=F(1, 2))
    too_small = np.diag(exact_covariance(plain, pol, THETA)) / est.samples
    assert not np.allclose(np.diag(est.covariance), too_small, rtol=0.05)


@pytest.mark.parametrize("change,message", [
    ({"rewards": [[0, 0], [0, 0]]}, "exactly one of 'rewards' and 'reward_distribution'"),
    ({"reward_distribution": [[[[0, "1/2"], [4, "1/3"]], [[1, 1]]], [[[0, 1]], [[0, 1]]]]},
     r"reward_distribution\[0\]\[0\] probabilities: .*sum to 1 exactly, they sum to 5/6"),
    ({"reward_distribution": [[[[0, 1, 2]], [[1, 1]]], [[[0, 1]], [[0, 1]]]]}, r"reward_distribution\[0\]\[0\]\[0\]: expected 2"),
])
def test_bad_reward_distributions_are_rejected(change, message):
    with pytest.raises(UserError, match=message):
        parse(DOC | change, source="noisy.json")


def test_from_tables_wants_one_reward_form():
    with pytest.raises(InvalidMDP, match="not both"):
        FiniteMDP.from_tables([1], [[[1]]], [[0]], horizon=0, reward_distribution=[[[(1, 1)]]])
