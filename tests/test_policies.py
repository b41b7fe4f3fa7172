"""Policies give exact probabilities and exact Jacobians ∂π/∂θ."""

from fractions import Fraction as F

import pytest

from derive.policies import DirectPolicy, InvalidPolicy, LinearSoftmax, TabularSoftmax


def test_softmax_rows_sum_to_one_and_jacobian_rows_sum_to_zero():
    pol = TabularSoftmax(2, 3)
    z = (F(1), F(2), F(3), F(1, 2), F(1, 2), F(5))
    pi = pol.probabilities(z)
    assert all(sum(row) == 1 for row in pi) and pi[0] == [F(1, 6), F(2, 6), F(3, 6)]
    jac = pol.jacobian(z)
    for s in range(2):
        for k in range(6):
            assert sum(jac[s][a][k] for a in range(3)) == 0


def test_softmax_jacobian_matches_the_closed_form_not_its_negation():
    pol = TabularSoftmax(1, 2)
    pi = pol.probabilities((F(1), F(3)))
    jac = pol.jacobian((F(1), F(3)))
    assert jac[0][0][0] == pi[0][0] * (1 - pi[0][0])
    assert jac[0][0][0] != -pi[0][0] * (1 - pi[0][0])


def test_linear_softmax_score_is_feature_minus_mean():
    pol = LinearSoftmax((((1, 0), (0, 1)),))
    z = (F(2), F(1))
    pi = pol.probabilities(z)
    assert pi[0] == [F(2, 3), F(1, 3)]
    jac = pol.jacobian(z)
    mean0 = pi[0][0] * 1 + pi[0][1] * 0
    assert jac[0][0][0] == pi[0][0] * (1 - mean0)


def test_linear_softmax_takes_real_features_exactly_and_refuses_non_numbers():
    pol = LinearSoftmax((((1, 0), (0.5, 1)),))
    assert pol.features[0][1] == (F(1, 2), F(1)) and pol.feature_scale == 2
    # z = (4, 1): π ∝ (4^1, 4^(1/2)) = (4, 2), exactly
    assert pol.probabilities((F(4), F(1))) == [[F(2, 3), F(1, 3)]]
    with pytest.raises(InvalidPolicy, match=r"e\^θ_0 = 2 has no exact rational root of order 2"):
        pol.probabilities((F(2), F(1)))
    for bad in (True, "1", float("nan"), None):
        with pytest.raises(InvalidPolicy, match=r"features\[0\]\[1\]\[0\]"):
            LinearSoftmax((((1, 0), (bad, 1)),))


def test_direct_policy_validates_the_simplex_and_projects_directions():
    pol = DirectPolicy(1, 2)
    assert pol.probabilities((F(1, 4), F(3, 4))) == [[F(1, 4), F(3, 4)]]
    with pytest.raises(InvalidPolicy, match="must sum to 1"):
        pol.probabilities((F(1, 4), F(1, 4)))
    assert sum(pol.tangent([F(1), F(0)])) == 0


def test_softmax_points_must_be_positive():
    with pytest.raises(InvalidPolicy, match=r"z\[1\]"):
        TabularSoftmax(1, 2).probabilities((F(1), F(0)))
