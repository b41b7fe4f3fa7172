"""The cross-check accepts unbiased estimators and rejects biased ones at the default sample size."""

import math

import numpy as np
import pytest

from derive.policies import DirectPolicy, LinearSoftmax, TabularSoftmax
from derive.sampling import BIASED_ESTIMATORS, ESTIMATORS, estimate_gradient
from derive.stats import chi2_sf, chi2_test, cross_check, exact_covariance, holm, z_test
from numeric_mdps import two_state_mdp


@pytest.fixture
def two_state():
    return two_state_mdp()


TABULAR = (TabularSoftmax(2, 2), [0.3, -0.2, 0.5, 0.1])
LINEAR = (LinearSoftmax((((1, 0), (0, 1)), ((1, 1), (0, -1)))), [0.2, -0.4])


def test_holm_adjusts_step_down_and_is_not_bonferroni():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 -> ×4, ×3, ×2, ×1, then running max
    assert np.allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    assert not np.allclose(holm(p), np.minimum(1, np.array(p) * 4))


def test_chi2_survival_function_known_values():
    assert math.isclose(chi2_sf(3.841458820694124, 1), 0.05, rel_tol=1e-9)
    assert math.isclose(chi2_sf(5.991464547107979, 2), 0.05, rel_tol=1e-9)
    assert chi2_sf(1.0, 2) > 0.5


def test_z_test_accepts_the_truth_and_rejects_a_shift():
    assert z_test([1.0, 2.0], [0.1, 0.1], [1.05, 1.98]).consistent
    assert not z_test([1.0, 2.0], [0.1, 0.1], [1.5, 2.0]).consistent


def test_zero_variance_component_must_match_exactly():
    assert z_test([1.0, 0.0], [0.1, 0.0], [1.0, 0.0]).consistent
    assert not z_test([1.0, 0.0], [0.1, 0.0], [1.0, 1e-3]).consistent


def test_chi2_rejects_an_error_outside_the_covariance_range():
    cov = np.diag([0.01, 0.0])
    assert chi2_test([0.05, 0.0], cov, [0.0, 0.0]).consistent
    assert not chi2_test([0.05, 0.01], cov, [0.0, 0.0]).consistent


@pytest.mark.parametrize("policy,theta", [TABULAR, LINEAR], ids=["tabular", "linear"])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_unbiased_estimators_are_consistent(two_state, policy, theta, estimator):
    check = cross_check(two_state, policy, theta, seed=11, estimator=estimator)
    assert check.verdict.consistent, check.verdict


@pytest.mark.parametrize("policy,theta", [TABULAR, LINEAR], ids=["tabular", "linear"])
@pytest.mark.parametrize("estimator", BIASED_ESTIMATORS)
def test_biased_estimators_are_rejected_at_the_default_sample_size(two_state, policy, theta, estimator):
    check = cross_check(two_state, policy, theta, seed=11, estimator=estimator)
    assert not check.verdict.consistent and check.verdict.p_value < 1e-6


@pytest.mark.parametrize("test", ["chi2", "chi2-exact"])
def test_chi2_variants_accept_reinforce_and_reject_a_sign_flip(two_state, test):
    policy, theta = TABULAR
    check = cross_check(two_state, policy, theta, seed=5, test=test)
    assert check.verdict.consistent and check.verdict.test == test  # the report names the test that ran
    assert not cross_check(two_state, policy, theta, seed=5, test=test, estimator="wrong-sign").verdict.consistent


def test_direct_policy_only_the_whole_return_is_unbiased(two_state):
    # Off the simplex E[∇log π] = Σ_a e_{(s,a)} ≠ 0, so reward-to-go loses unbiasedness.
    theta = [0.3, 0.7, 0.6, 0.4]
    assert cross_check(two_state, DirectPolicy(2, 2), theta, seed=2).verdict.consistent
    assert not cross_check(two_state, DirectPolicy(2, 2), theta, seed=2, estimator="reward-to-go").verdict.consistent


def test_false_alarm_rate_is_bounded_by_alpha(two_state):
    policy, theta = TABULAR
    alarms = sum(
        not cross_check(two_state, policy, theta, samples=2000, seed=s, alpha=0.05).verdict.consistent
        for s in range(40)
    )
    # Holm keeps the family-wise rate <= α: expected <= 2 of 40; P(>= 8) < 1e-3 under H0.
    assert alarms < 8


def test_exact_covariance_matches_the_sample_covariance(two_state):
    policy, theta = TABULAR
    est = estimate_gradient(two_state, policy, theta, samples=200_000, seed=4)
    exact = exact_covariance(two_state, policy, theta) / est.samples
    diag = np.diag(exact)
    assert np.allclose(np.diag(est.covariance), diag, rtol=0.05)
    other = np.diag(exact_covariance(two_state, policy, theta, estimator="reward-to-go")) / est.samples
    assert not np.allclose(np.diag(est.covariance), other, rtol=0.05)


def test_student_t_p_values_for_batch_means():
    # t_9 two-sided 5% critical value 2.262157: p = 0.05 there; the normal would give 0.0237.
    v = z_test([2.262157163], [1.0], [0.0], dof=9)
    assert math.isclose(v.p_value, 0.05, rel_tol=1e-6)
    assert math.isclose(z_test([2.262157163], [1.0], [0.0]).p_value, 0.02369, rel_tol=1e-3)


@pytest.mark.parametrize("estimator,consistent", [("reinforce", True), ("reward-to-go", True), ("dropped-term", False)])
def test_batch_means_errors_accept_and_reject(two_state, estimator, consistent):
    policy, theta = TABULAR
    est = estimate_gradient(two_state, policy, theta, samples=100_000, seed=9, estimator=estimator, batches=50)
    assert est.dof == 49 and est.samples == 100_000
    exact = cross_check(two_state, policy, theta, samples=2, seed=0).exact
    assert z_test(est.mean, est.stderr, exact, dof=est.dof).consistent is consistent


def test_rounding_level_standard_errors_count_as_no_variance():
    # A constant estimator whose moments leave a 1e-17 residue must not look "biased".
    assert z_test([7 / 3], [8e-18], [2.3333333333333335]).consistent
    assert chi2_test([7 / 3], np.array([[1e-34]]), [2.3333333333333335]).consistent
    assert not z_test([7 / 3 + 1e-6], [8e-18], [7 / 3]).consistent
