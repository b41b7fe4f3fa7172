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


def _reference_dp(mdp, policy, theta):
    """J and ∇J by the plain recursions, one step at a time: Q_t backward, d_t forward, Σ_t γ^t d_t ∇π Q_t."""
    mu, P, r = mdp.arrays()
    g, T = float(mdp.discount), mdp.horizon + 1
    pi = policy.float_probabilities(theta)
    rbar = (P * r).sum(axis=2)
    Qs, V = [], np.zeros(mdp.n_states)
    for _ in range(T):
        Q = rbar + g * P @ V
        Qs.append(Q)
        V = (pi * Q).sum(axis=1)
    J = float(mu @ V)
    weights, d = np.zeros_like(rbar), mu.copy()
    for t in range(T):
        weights += g ** t * d[:, None] * Qs[T - 1 - t]
        d = d @ np.einsum("sa,sax->sx", pi, P)
    return J, policy.float_pullback(theta, weights, probabilities=pi)


@pytest.mark.parametrize("horizon", [0, 1, 2, 7, 300])
def test_dp_matches_the_plain_recursions(horizon):
    from derive.exact import DynamicProgram

    mdp = two_state(horizon=horizon, discount=F(99, 100))
    policy = TabularSoftmax(2, 2)
    theta = np.array([0.3, -0.2, 0.5, 0.1])
    J, grad = DynamicProgram(mdp, policy).value_and_grad(theta)
    J_ref, grad_ref = _reference_dp(mdp, policy, theta)
    tol = 1e-12 * (horizon + 1) * max(1.0, abs(J_ref))
    assert abs(J - J_ref) <= tol and np.max(np.abs(grad - grad_ref)) <= tol
    _, short = _reference_dp(two_state(horizon=max(horizon - 1, 0), discount=F(99, 100)), policy, theta)
    if horizon:
        assert np.max(np.abs(grad - short)) > 1e-6  # the twin one step short is told apart


def test_dp_at_a_million_steps_matches_the_closed_form():
    # One state: J = r_π (1 − γ^T)/(1 − γ) and ∇J = (1 − γ^T)/(1 − γ) ∇r_π, with T = H + 1 = 10^6 + 1.
    from derive.exact import DynamicProgram

    mdp = FiniteMDP.from_tables([1], [[[1], [1]]], [[F(1), F(-2)]], horizon=10**6, discount=F(999_999, 1_000_000))
    policy = TabularSoftmax(1, 2)
    theta = np.array([0.4, -0.3])
    J, grad = DynamicProgram(mdp, policy).value_and_grad(theta)
    pi = policy.float_probabilities(theta)[0]
    g, T = 0.999999, 10**6 + 1
    factor = (1 - g ** T) / (1 - g)
    r = np.array([1.0, -2.0])
    r_pi = pi @ r
    assert abs(J - factor * r_pi) <= 1e-6 * factor
    expected = factor * pi * (r - r_pi)  # softmax: ∂r_π/∂θ_a = π_a (r_a − r_π)
    assert np.max(np.abs(grad - expected)) <= 1e-6 * factor


def test_huge_horizons_are_refused_at_once():
    import time

    from derive.exact import DP_HORIZON_CAP, EXACT_HORIZON_CAP

    policy = TabularSoftmax(2, 2)
    t = time.perf_counter()
    with pytest.raises(UserError, match="past the cap"):
        gradient(two_state(horizon=DP_HORIZON_CAP + 1), policy, [0.0] * 4)
    with pytest.raises(UserError, match="GiB"):  # within the step cap but past the memory cap
        gradient(FiniteMDP.from_tables([1] + [0] * 99, [[[1] + [0] * 99]] * 100, [[0]] * 100,
                                       horizon=DP_HORIZON_CAP - 1), TabularSoftmax(100, 1), [0.0] * 100)
    for method in ("enumerate", "symbolic"):
        with pytest.raises(UserError, match="--method dp"):
            gradient(two_state(horizon=EXACT_HORIZON_CAP + 1), policy, [0] * 4, method=method)
    assert time.perf_counter() - t < 5


def test_cli_gradient_refuses_a_billion_steps_with_exit_2(tmp_path, capsys):
    from pathlib import Path

    from derive.cli import main

    src = Path(__file__).resolve().parent.parent / "examples" / "chain.json"
    assert main(["gradient", str(src), "--horizon", "1000000000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "past the cap" in err[0]
