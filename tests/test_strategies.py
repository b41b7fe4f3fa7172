"""Property tests over drawn MDPs: the three routes agree; the cross-check accepts and rejects."""

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from derive.exact import dp_tolerance, gradient_dp, gradient_enumerate, gradient_symbolic
from derive.mdp import FiniteMDP
from derive.policies import DirectPolicy
from derive.stats import cross_check
from derive.strategies import finite_mdps, policies, problems, thetas


def theta_floats(policy, point):
    if policy.coordinates == "theta":
        return [float(x) for x in point]
    return [float(np.log(float(z))) for z in point]


@settings(max_examples=30, deadline=None)
@given(problems())
def test_three_routes_agree_on_drawn_mdps(problem):
    mdp, policy, point = problem
    sym = gradient_symbolic(mdp, policy, point)
    enum = gradient_enumerate(mdp, policy, point)
    assert (sym.J, sym.grad) == (enum.J, enum.grad)
    dp = gradient_dp(mdp, policy, theta_floats(policy, point))
    tol = dp_tolerance(mdp, sym)
    assert abs(dp.J - float(sym.J)) <= tol
    assert max(abs(a - float(b)) for a, b in zip(dp.grad, sym.grad)) <= tol


@settings(max_examples=20, deadline=None)
@given(problems(min_horizon=1), st.data())
def test_a_corrupted_gradient_is_told_apart(problem, data):
    mdp, policy, point = problem
    sym = gradient_symbolic(mdp, policy, point)
    assume(any(g != 0 for g in sym.grad))
    k = data.draw(st.sampled_from([i for i, g in enumerate(sym.grad) if g != 0]))
    wrong = list(sym.grad)
    wrong[k] = -wrong[k]
    dp = gradient_dp(mdp, policy, theta_floats(policy, point))
    # The DP comparison that accepts the right gradient must reject the corrupted one.
    assert max(abs(a - float(b)) for a, b in zip(dp.grad, wrong)) > dp_tolerance(mdp, sym)


@settings(max_examples=15, deadline=None)
@given(problems(kinds=("tabular-softmax", "linear-softmax"), min_horizon=1, max_horizon=2))
def test_cross_check_accepts_reinforce_and_rejects_a_sign_flip(problem):
    mdp, policy, point = problem
    theta = theta_floats(policy, point)
    # α = 1e-6: over all examples the chance of a false alarm stays negligible.
    good = cross_check(mdp, policy, theta, samples=20_000, seed=1, alpha=1e-6)
    assert good.verdict.consistent
    se = good.estimate.stderr
    assume(np.any(2 * np.abs(good.exact) > 12 * np.maximum(se, 1e-12)))  # a sign flip moves ĝ by 12 se
    bad = cross_check(mdp, policy, theta, samples=20_000, seed=1, alpha=1e-6, estimator="wrong-sign")
    assert not bad.verdict.consistent


@settings(max_examples=20, deadline=None)
@given(finite_mdps(max_states=2, max_actions=2, max_horizon=2))
def test_drawn_mdps_are_valid(mdp):
    assert isinstance(mdp, FiniteMDP)
    assert sum(mdp.initial) == 1 and all(sum(d) == 1 for row in mdp.transitions for d in row)


@settings(max_examples=10, deadline=None)
@given(thetas(DirectPolicy(2, 3)))
def test_direct_thetas_are_interior_distributions(point):
    assert all(v > 0 for v in point)
    assert sum(point[:3]) == 1 and sum(point[3:]) == 1


@pytest.mark.parametrize("make", [
    lambda: finite_mdps(max_states=0),
    lambda: finite_mdps(min_states=3, max_states=2),
    lambda: finite_mdps(max_horizon=-1),
    lambda: finite_mdps(max_actions=1.5),
    lambda: finite_mdps(discounts=[F(3, 2)]),
    lambda: policies(n_states=0, n_actions=1),
    lambda: policies(n_states=1, n_actions=1, kinds=("gaussian",)),
    lambda: thetas(object()),
], ids=["no-states", "min>max", "negative-horizon", "float-actions", "discount>1", "policy-no-states",
        "unknown-kind", "not-a-policy"])
def test_bad_arguments_raise_invalid_argument(make):
    with pytest.raises(InvalidArgument):
        make()


def test_smallest_mdp_is_what_it_shrinks_to():
    from hypothesis import find

    mdp = find(finite_mdps(), lambda m: True)
    assert (mdp.n_states, mdp.n_actions, mdp.horizon, mdp.discount) == (1, 1, 0, 1)
    assert mdp.rewards == (((0,),),)
