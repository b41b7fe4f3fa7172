"""Gymnasium's toy-text tables as finite MDPs (optional extra ``derive[gym]``).

``env.unwrapped.P[s][a]`` lists (prob, next_state, reward, terminated); repeated next states
are added up. A state entered with ``terminated`` becomes absorbing with reward 0, since the
episode ends there (CliffWalking's goal is not absorbing in its own table).
"""

from __future__ import annotations

from fractions import Fraction

from .errors import UserError
from .mdp import FiniteMDP
from .mdpfile import Problem
from .policies import TabularSoftmax

__all__ = ["GYM_ENVS", "load_gym", "mdp_from_env"]

GYM_ENVS = ("FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1", "Taxi-v4")
_DENOMINATOR = 10**6  # table probabilities such as 0.333… are read as the nearest p/q, q <= 10^6


def _gymnasium():
    try:
        import gymnasium
    except ImportError:
        raise UserError("gym: sources need Gymnasium: pip install 'derive[gym]' (or gymnasium>=1.0)") from None
    return gymnasium


def load_gym(env_id: str, *, horizon: int | None = None) -> Problem:
    """gym:ENV_ID as a Problem with a tabular softmax policy at θ = 0 (the uniform policy)."""
    if env_id not in GYM_ENVS:
        raise UserError(f"gym:{env_id}: expected one of {', '.join('gym:' + e for e in GYM_ENVS)}")
    env = _gymnasium().make(env_id)
    try:
        if horizon is None:
            steps = env.spec.max_episode_steps if env.spec else None
            horizon = (steps or 100) - 1  # H + 1 decisions = the episode step limit
        mdp = mdp_from_env(env, horizon=horizon, name=env_id)
    finally:
        env.close()
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
    return Problem(mdp, policy, (Fraction(0),) * policy.n_params, f"gym:{env_id}")


def mdp_from_env(env, *, horizon: int, name: str = "") -> FiniteMDP:
    """Exact tables from a toy-text env's P and initial_state_distrib."""
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0:
        raise UserError(f"--horizon: expected an integer H >= 0, got {horizon!r}")
    u = env.unwrapped
    S, A = u.observation_space.n, u.action_space.n
    zero = Fraction(0)
    mu = [Fraction(float(p)).limit_denominator(_DENOMINATOR) for p in u.initial_state_distrib]
    mu = _normalised(mu)
    terminal = set()
    tr, rw = [], []
    for s in range(S):
        t_row, r_row = [], []
        for a in range(A):
            probs = [zero] * S
            mass = {}
            for p, s2, r, done in u.P[s][a]:
                p = Fraction(float(p)).limit_denominator(_DENOMINATOR)
                probs[s2] += p
                mass[s2] = mass.get(s2, zero) + p * Fraction(float(r))
                if done:
                    terminal.add(s2)
            rewards = [zero] * S
            for s2, m in mass.items():
                if probs[s2]:
                    rewards[s2] = m / probs[s2]  # E[r | s, a, s']
            t_row.append(_normalised(probs))
            r_row.append(rewards)
        tr.append(t_row)
        rw.append(r_row)
    for s in terminal:
        tr[s] = [[Fraction(int(s2 == s)) for s2 in range(S)] for _ in range(A)]
        rw[s] = [[zero] * S for _ in range(A)]
    return FiniteMDP.from_tables(mu, tr, rw, horizon=horizon, discount=1, name=name)


def _normalised(values: list) -> list:
    total = sum(values, Fraction(0))
    return values if total == 1 else [v / total if v else v for v in values]
