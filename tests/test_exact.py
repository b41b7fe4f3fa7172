"""The three routes to J and ∇J agree exactly (symbolic = enumerate) and to float64 (dp)."""

from fractions import Fraction as F

import numpy as np
import pytest

from derive.errors import UserError
from derive.exact import (
    EnumerationTooLarge, ScoreUndefined, dp_tolerance, exact_point, gradient, gradient_dp,
    gradient_enumerate, gradient_symbolic,
)
from derive.mdp import FiniteMDP
from derive.policies import DirectPolicy, LinearSoftmax, TabularSoftmax


def two_state(horizon=3, discount=F(9, 10)):
    return FiniteMDP.from_tables(
        [F(1, 2), F(1, 2)],
        [[[F(1, 3), F(2, 3)], [1, 0]], [[0, 1], [F(1, 4), F(3, 4)]]],
        [[1, [0, 2]], [-1, 3]],
        horizon=horizon, discount=discount,
    )


CASES = [
    (TabularSoftmax(2, 2), [F(1), F(2), F(1, 3), F(1)]),
    (LinearSoftmax((((1, 0), (0, 1)), ((1, 1), (0, -1)))), [F(3, 2), F(1, 5)]),
    (DirectPolicy(2, 2), [F(1, 3), F(2, 3), F(1, 2), F(1, 2)]),
]


def theta_floats(policy, point):
    if policy.coordinates == "theta":
        return [float(x) for x in point]
    return [float(np.log(float(z))) for z in point]


def assert_dp_agrees(mdp, policy, point, exact):
    dp = gradient_dp(mdp, policy, theta_floats(policy, point))
    tol = dp_tolerance(mdp, exact)
    assert abs(dp.J - float(exact.J)) <= tol
    assert max(abs(a - float(b)) for a, b in zip(dp.grad, exact.grad)) <= tol


@pytest.mark.parametrize("policy,point", CASES, ids=["tabular", "linear", "direct"])
def test_three_routes_agree(policy, point):
    mdp = two_state()
    sym = gradient_symbolic(mdp, policy, point)
    enum = gradient_enumerate(mdp, policy, point)
    assert (sym.J, sym.grad) == (enum.J, enum.grad)
    assert all(isinstance(g, F) for g in sym.grad)
    assert_dp_agrees(mdp, policy, point, sym)


def test_routes_reject_a_wrong_gradient():
    mdp, (policy, point) = two_state(), CASES[0]
    exact = gradient_symbolic(mdp, policy, point)
    wrong = tuple(-g for g in exact.grad)  # sign flip
    assert wrong != exact.grad
    dp = gradient_dp(mdp, policy, theta_floats(policy, point))
    assert max(abs(a - float(b)) for a, b in zip(dp.grad, wrong)) > dp_tolerance(mdp, exact)


def test_horizon_zero_is_one_decision():
    mdp = FiniteMDP.from_tables([1], [[[1], [1]]], [[[2], [0]]], horizon=0)
    g = gradient_symbolic(mdp, TabularSoftmax(1, 2), [F(1), F(1)])
    # J = 2·π(0) = 1 at θ = 0; ∂J/∂θ_0 = 2 π0 π1 = 1/2.
    assert g.J == 1 and g.grad == (F(1, 2), F(-1, 2))


def test_direct_policy_on_the_boundary_has_no_score():
    mdp = two_state()
    point = [F(1), F(0), F(1, 2), F(1, 2)]
    sym = gradient_symbolic(mdp, DirectPolicy(2, 2), point)
    assert sym.grad[1] != 0  # J still moves with π(1|0) although π(1|0) = 0
    with pytest.raises(ScoreUndefined):
        gradient_enumerate(mdp, DirectPolicy(2, 2), point)
    assert_dp_agrees(mdp, DirectPolicy(2, 2), point, sym)


def test_enumeration_refuses_past_budget_and_points_to_dp():
    mdp = two_state(horizon=12)
    with pytest.raises(EnumerationTooLarge, match="--method dp"):
        gradient(mdp, TabularSoftmax(2, 2), [0, 0, 0, 0], method="enumerate", budget=1000)
    assert isinstance(EnumerationTooLarge("x"), UserError)
    J = gradient(mdp, TabularSoftmax(2, 2), [0, 0, 0, 0], method="dp").J
    assert np.isfinite(J)


def test_exact_point_is_exact_at_zero_and_checks_length():
    assert exact_point(TabularSoftmax(1, 2), [0, 0]) == (1, 1)
    assert exact_point(TabularSoftmax(1, 2), [0.5, 0])[0] == F(float(np.exp(0.5)))
    with pytest.raises(UserError, match="expected 2"):
        exact_point(TabularSoftmax(1, 2), [0])


def test_dp_doubling_and_sequential_sweeps_agree():
    from derive.exact import DynamicProgram

    mdp = two_state(horizon=9)
    policy = TabularSoftmax(2, 2)
    theta = np.array([0.3, -0.2, 0.5, 0.1])
    fast, slow = DynamicProgram(mdp, policy), DynamicProgram(mdp, policy)
    fast._doubling, slow._doubling = True, False
    (J1, g1), (J2, g2) = fast.value_and_grad(theta), slow.value_and_grad(theta)
    assert abs(J1 - J2) <= 1e-12 and np.max(np.abs(g1 - g2)) <= 1e-12
    assert np.allclose(fast.state_values(theta), slow.state_values(theta), atol=1e-12)
    wrong = DynamicProgram(two_state(horizon=8), policy).value_and_grad(theta)[1]  # one step short
    assert np.max(np.abs(g1 - wrong)) > 1e-6


@pytest.mark.parametrize("policy,point", CASES, ids=["tabular", "linear", "direct"])
def test_exact_scores_match_float_scores(policy, point):
    exact = np.array([[[float(x) for x in row] for row in table] for table in policy.scores(point)])
    floats = policy.float_scores(np.array(theta_floats(policy, point)))
    assert np.allclose(exact, floats, rtol=1e-12, atol=1e-12)
    assert not np.allclose(exact, -floats, rtol=1e-12, atol=1e-12)  # a sign slip would be seen


def test_no_exact_score_where_the_direct_policy_is_zero():
    from derive.policies import InvalidPolicy

    with pytest.raises(InvalidPolicy, match="does not exist"):
        DirectPolicy(1, 2).scores([F(1), F(0)])


@pytest.mark.parametrize("method", ["enumerate", "symbolic", "dp"])
def test_large_theta_is_evaluated_stably_on_every_route(method):
    """θ = ±1000 overflows e^θ in float64; the exact routes take e^θ as an exact (huge or tiny) rational."""
    from derive.mdp import FiniteMDP
    from derive.policies import TabularSoftmax

    mdp = FiniteMDP.from_tables([1], [[[1], [1]]], [[1, 0]], horizon=0)
    g = gradient(mdp, TabularSoftmax(1, 2), (1000, -1000), method=method)
    # π(0) = 1/(1 + e^-2000): the gradient e^-2000/(1+e^-2000)^2 is 0 to float64 precision, never an error
    assert [float(x) for x in g.grad] == [0.0, 0.0]
    h = gradient(mdp, TabularSoftmax(1, 2), (1000, 1000), method=method)
    assert [float(x) for x in h.grad] == [0.25, -0.25]  # equal logits: the uniform policy's gradient, exactly
