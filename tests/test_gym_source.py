"""Gymnasium toy-text tables as exact MDPs; the three routes agree on FrozenLake-v1."""

from fractions import Fraction as F

import numpy as np
import pytest

from derive.errors import UserError
from derive.exact import dp_tolerance, gradient_dp, gradient_enumerate, gradient_symbolic
from derive.mdpfile import load

gym = pytest.importorskip("gymnasium")

from derive.gym_source import mdp_from_env  # noqa: E402


def z_point(n):
    return [F((1, 2, 3)[k % 3], (1, 1, 2)[k % 3]) for k in range(n)]


def agree(problem_mdp, policy, z):
    sym = gradient_symbolic(problem_mdp, policy, z)
    enum = gradient_enumerate(problem_mdp, policy, z)
    assert (sym.J, sym.grad) == (enum.J, enum.grad)
    dp = gradient_dp(problem_mdp, policy, [float(np.log(float(v))) for v in z])
    tol = dp_tolerance(problem_mdp, sym)
    assert abs(dp.J - float(sym.J)) <= tol
    assert max(abs(a - float(b)) for a, b in zip(dp.grad, sym.grad)) <= tol
    return sym


def test_frozenlake_tables():
    p = load("gym:FrozenLake-v1")
    assert p.mdp.n_states == 16 and p.mdp.n_actions == 4 and p.mdp.horizon == 99
    assert p.mdp.transitions[0][0][0] == F(2, 3) and p.mdp.initial[0] == 1
    assert p.mdp.transitions[15][2] == tuple(F(int(s == 15)) for s in range(16))  # goal absorbing


def test_three_routes_agree_on_deterministic_frozenlake():
    env = gym.make("FrozenLake-v1", is_slippery=False)
    mdp = mdp_from_env(env, horizon=5, name="FrozenLake-v1 (not slippery)")
    p = load("gym:FrozenLake-v1")
    sym = agree(mdp, p.policy, z_point(64))
    assert sym.J > 0 and any(g != 0 for g in sym.grad)  # the goal is reachable in 6 steps


@pytest.mark.slow
def test_three_routes_agree_on_slippery_frozenlake():
    p = load("gym:FrozenLake-v1", horizon=5)  # about 10^6 trajectories
    sym = agree(p.mdp, p.policy, z_point(64))
    assert sym.J > 0


def test_cliffwalking_goal_becomes_absorbing():
    p = load("gym:CliffWalking-v1")
    goal = 47
    assert p.mdp.transitions[goal][0][goal] == 1 and p.mdp.rewards[goal][0][goal] == 0


def test_unknown_environment_is_a_user_error():
    with pytest.raises(UserError, match="expected one of"):
        load("gym:CartPole-v1")
