"""The default battery of concrete instances every step is checked on.

Hand-made edge cases (one state, deterministic dynamics, H = 0, stochastic μ,
zero-probability transitions, discounting, linear-softmax and direct policies) plus random
MDPs with exact rational tables and random exact parameter points. Random points z = e^θ
are drawn from a large set of rationals, so agreement on them is a randomized identity test.
"""

from __future__ import annotations

import random
from fractions import Fraction as F

from .mdp import FiniteMDP
from .policies import DirectPolicy, LinearSoftmax, TabularSoftmax
from .semantics import Instance

__all__ = ["default_battery", "edge_cases", "random_instance", "random_point"]


def random_point(policy, rng: random.Random) -> tuple[F, ...]:
    """A random exact point: z = e^θ in (0, ∞) for softmax policies, an interior θ for direct ones."""
    if isinstance(policy, DirectPolicy):
        point = []
        for _ in range(policy.n_states):
            w = [rng.randint(1, 9) for _ in range(policy.n_actions)]
            point.extend(F(x, sum(w)) for x in w)
        return tuple(point)
    return tuple(F(rng.randint(1, 60), rng.randint(1, 60)) for _ in range(policy.n_params))


def _distribution(rng: random.Random, n: int, *, zeros: bool) -> list[F]:
    w = [rng.randint(0 if zeros else 1, 6) for _ in range(n)]
    if sum(w) == 0:
        w[rng.randrange(n)] = 1
    return [F(x, sum(w)) for x in w]


def random_mdp(rng: random.Random, *, max_states=3, max_actions=3, max_horizon=3,
               max_trajectories=4096, name="random") -> FiniteMDP:
    """A random MDP with exact rational tables (some zeros), within a trajectory budget."""
    while True:
        S, A, H = rng.randint(1, max_states), rng.randint(1, max_actions), rng.randint(0, max_horizon)
        if S * (S * A) ** (H + 1) <= max_trajectories:
            break
    mu = _distribution(rng, S, zeros=True)
    tr = [[_distribution(rng, S, zeros=True) for _ in range(A)] for _ in range(S)]
    rw = [[[F(rng.randint(-6, 6), rng.randint(1, 3)) for _ in range(S)] for _ in range(A)] for _ in range(S)]
    gamma = rng.choice([F(1), F(1), F(1, 2), F(9, 10)])
    return FiniteMDP.from_tables(mu, tr, rw, horizon=H, discount=gamma, name=name)


def random_instance(rng: random.Random, k: int) -> Instance:
    mdp = random_mdp(rng, name=f"random #{k}")
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
    return Instance(mdp, policy, random_point(policy, rng), name=mdp.name)


def edge_cases(rng: random.Random) -> list[Instance]:
    """The hand-made instances: each exercises one corner of the theorem."""
    out = []

    def add(mdp, policy=None):
        policy = policy or TabularSoftmax(mdp.n_states, mdp.n_actions)
        out.append(Instance(mdp, policy, random_point(policy, rng), name=mdp.name))

    add(FiniteMDP.from_tables([1], [[[1], [1]]], [[F(1), F(-2)]], horizon=2, name="one state"))
    add(FiniteMDP.from_tables(
        [1, 0, 0],
        [[[0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 0, 1]], [[0, 0, 1], [1, 0, 0]]],
        [[1, 0], [F(1, 2), 2], [-1, 3]], horizon=2, name="deterministic dynamics"))
    add(FiniteMDP.from_tables([F(1, 3), F(2, 3)], [[[F(1, 2), F(1, 2)], [F(1, 5), F(4, 5)]],
                                                   [[1, 0], [F(3, 4), F(1, 4)]]],
                              [[2, -1], [0, F(5, 2)]], horizon=0, name="H = 0"))
    add(FiniteMDP.from_tables(
        [F(1, 3), F(1, 6), F(1, 2)],
        [[[F(1, 2), F(1, 4), F(1, 4)], [0, F(1, 2), F(1, 2)]],
         [[F(1, 3), F(1, 3), F(1, 3)], [1, 0, 0]],
         [[0, 0, 1], [F(1, 4), F(3, 4), 0]]],
        [[1, 2], [3, -1], [0, F(1, 3)]], horizon=1, name="stochastic initial distribution"))
    add(FiniteMDP.from_tables(
        [F(1, 2), 0, F(1, 2)],
        [[[0, 1, 0], [F(1, 2), 0, F(1, 2)]], [[0, 0, 1], [0, 1, 0]], [[1, 0, 0], [0, F(2, 3), F(1, 3)]]],
        [[[1, 0, 2], [0, 3, -1]], [[2, 2, 2], [-1, 0, 1]], [[0, 1, 0], [1, 1, 4]]],
        horizon=2, name="zero-probability transitions"))
    add(FiniteMDP.from_tables([F(1, 2), F(1, 2)], [[[F(1, 3), F(2, 3)], [1, 0]], [[0, 1], [F(1, 2), F(1, 2)]]],
                              [[1, 4], [-2, 1]], horizon=3, discount=F(1, 2), name="discounted, γ = 1/2"))
    lin = FiniteMDP.from_tables([F(1, 4), F(3, 4)],
                                [[[F(1, 2), F(1, 2)], [1, 0], [0, 1]], [[F(1, 3), F(2, 3)], [0, 1], [1, 0]]],
                                [[1, 0, -1], [2, F(1, 2), 0]], horizon=1, name="linear softmax")
    add(lin, LinearSoftmax((((1, 0), (0, 1), (1, 1)), ((2, 0), (0, -1), (1, 0)))))
    direct = FiniteMDP.from_tables([F(2, 3), F(1, 3)], [[[F(1, 2), F(1, 2)], [0, 1]], [[1, 0], [F(1, 4), F(3, 4)]]],
                                   [[3, -1], [0, 2]], horizon=1, name="direct policy (interior)")
    add(direct, DirectPolicy(2, 2))
    return out


def default_battery(*, seed: int = 2024, n_random: int = 12) -> tuple[Instance, ...]:
    """The edge cases plus ``n_random`` random instances, reproducible from ``seed``."""
    rng = random.Random(seed)
    return tuple(edge_cases(rng) + [random_instance(rng, k + 1) for k in range(n_random)])
