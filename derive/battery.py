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
from .semantics import EnvironmentDerivative, Instance, PointInstance

__all__ = [
    "default_battery", "stress_battery", "reward_battery", "edge_cases", "stress_cases", "random_instance",
    "random_point", "softmax_battery", "bandit_battery", "gaussian_battery", "discounted_battery", "BATTERIES",
]


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


def _theta_dependent(mdp: FiniteMDP, n_params: int, *, initial: bool, dynamics: bool) -> EnvironmentDerivative:
    """A derivative of μ and/or the dynamics in θ_0 whose rows sum to 0."""
    S, A = mdp.n_states, mdp.n_actions
    zero = (F(0),) * n_params

    def unit(x):
        return (F(x),) + (F(0),) * (n_params - 1)

    def row(k):  # +1 on one entry, -1 on the next: stays a distribution to first order
        return [unit(1) if j == k % S else unit(-1) if j == (k + 1) % S else zero for j in range(S)]

    d_mu = tuple(row(0)) if initial and S > 1 else tuple(zero for _ in range(S))
    d_tr = tuple(
        tuple(tuple(row(s + a)) if dynamics and S > 1 else tuple(zero for _ in range(S)) for a in range(A))
        for s in range(S)
    )
    return EnvironmentDerivative(d_mu, d_tr)


def stress_cases(rng: random.Random) -> list[Instance]:
    """Instances that break a side condition of the theorem, one condition each."""
    out = []
    boundary = FiniteMDP.from_tables(
        [F(1, 2), F(1, 2)], [[[F(1, 2), F(1, 2)], [F(1, 3), F(2, 3)]], [[1, 0], [F(1, 4), F(3, 4)]]],
        [[1, 3], [-1, 2]], horizon=1, name="direct policy on the boundary")
    # π(1|0) = 0: trajectories taking action 1 in state 0 have P(τ;θ) = 0 but ∇P(τ;θ) ≠ 0.
    out.append(Instance(boundary, DirectPolicy(2, 2), (F(1), F(0), F(1, 3), F(2, 3)), name=boundary.name))
    dyn = FiniteMDP.from_tables(
        [F(1, 3), F(2, 3)], [[[F(1, 2), F(1, 2)], [F(1, 3), F(2, 3)]], [[F(2, 5), F(3, 5)], [F(1, 4), F(3, 4)]]],
        [[1, 0], [2, -1]], horizon=1, name="dynamics depend on θ")
    pol = TabularSoftmax(2, 2)
    out.append(Instance(dyn, pol, random_point(pol, rng), name=dyn.name,
                        environment=_theta_dependent(dyn, pol.n_params, initial=False, dynamics=True)))
    init = FiniteMDP.from_tables(
        [F(1, 2), F(1, 2)], [[[F(1, 2), F(1, 2)], [1, 0]], [[0, 1], [F(1, 2), F(1, 2)]]],
        [[2, 0], [1, 3]], horizon=1, name="initial distribution depends on θ")
    out.append(Instance(init, pol, random_point(pol, rng), name=init.name,
                        environment=_theta_dependent(init, pol.n_params, initial=True, dynamics=False)))
    return out


def stress_battery(*, seed: int = 2024, n_random: int = 12) -> tuple[Instance, ...]:
    """The default battery plus instances that violate the theorem's side conditions."""
    rng = random.Random(seed + 1)
    return default_battery(seed=seed, n_random=n_random) + tuple(stress_cases(rng))


def _with_random_rewards(mdp: FiniteMDP, rng: random.Random) -> FiniteMDP:
    """The same MDP with a finite reward distribution P(r|s,a) of one to three outcomes."""
    dist = []
    for s in range(mdp.n_states):
        row = []
        for a in range(mdp.n_actions):
            k = rng.randint(1, 3)
            probs = _distribution(rng, k, zeros=False)
            row.append([(F(rng.randint(-4, 4), rng.randint(1, 2)), p) for p in probs])
        dist.append(row)
    return FiniteMDP.from_tables(
        mdp.initial, mdp.transitions, None, reward_distribution=dist, horizon=mdp.horizon,
        discount=mdp.discount, name=f"{mdp.name}, random rewards")


def reward_battery(*, seed: int = 2024, n_random: int = 12) -> tuple[Instance, ...]:
    """Instances whose rewards are random, P(r|s,a) (seed 004): trajectories record the rewards drawn."""
    rng = random.Random(seed + 2)
    out = []
    for inst in default_battery(seed=seed, n_random=n_random):
        mdp = inst.mdp
        if mdp.n_trajectories * 3 ** (mdp.horizon + 1) > 200_000:  # outcomes multiply the trajectories
            mdp = FiniteMDP.from_tables(mdp.initial, mdp.transitions, mdp.rewards, horizon=min(mdp.horizon, 1),
                                        discount=mdp.discount, name=mdp.name)
        out.append(Instance(_with_random_rewards(mdp, rng), inst.policy, inst.point, name=f"{inst.name}, random rewards",
                            environment=inst.environment))
    return tuple(out)


def softmax_battery(*, seed: int = 2024, n_random: int = 12) -> tuple[Instance, ...]:
    """The default battery without its direct policy: statements about softmax policies."""
    return tuple(i for i in default_battery(seed=seed, n_random=n_random) if not isinstance(i.policy, DirectPolicy))


def bandit_battery(*, seed: int = 2024, n_random: int = 12) -> tuple[Instance, ...]:
    """One state, one step (H = 0): multi-armed bandits with a softmax policy."""
    rng = random.Random(seed + 3)
    out = []
    for k in range(max(n_random, 4)):
        A = rng.randint(1, 5)
        mdp = FiniteMDP.from_tables([1], [[[1]] * A], [[F(rng.randint(-6, 6), rng.randint(1, 3)) for _ in range(A)]],
                                    horizon=0, name=f"bandit #{k + 1}, {A} arms")
        policy = TabularSoftmax(1, A)
        out.append(Instance(mdp, policy, random_point(policy, rng), name=mdp.name))
    lin = FiniteMDP.from_tables([1], [[[1]] * 3], [[2, -1, F(1, 2)]], horizon=0, name="bandit, linear softmax")
    out.append(Instance(lin, LinearSoftmax((((1, 0), (0, 1), (1, 1)),)), (F(2), F(1, 3)), name=lin.name))
    return tuple(out)


def gaussian_battery(*, seed: int = 2024, n_random: int = 6) -> tuple:
    """Exact points (θ, σ > 0, w, reward coefficients, an action a) for one-step Gaussian-policy statements."""
    from .notation import action, k0, k1, k2, sigma, theta, w

    rng = random.Random(seed + 4)

    def q(lo, hi):
        return F(rng.randint(lo, hi), rng.randint(1, 9))

    points = []
    for k in range(max(n_random // 2, 4)):
        values = ((theta, q(-9, 9)), (sigma, q(1, 9)), (w, q(-4, 4)), (action, q(-9, 9)),
                  (k0, q(-5, 5)), (k1, q(-5, 5)), (k2, q(-5, 5)))
        points.append(PointInstance(values, name=f"point #{k + 1}"))
    return tuple(points)


def discounted_battery(*, seed: int = 2024, n_random: int = 12) -> tuple[Instance, ...]:
    """The default battery with γ < 1 everywhere: infinite-horizon discounted statements."""
    rng = random.Random(seed + 5)
    out = []
    for inst in default_battery(seed=seed, n_random=n_random):
        m = inst.mdp
        if m.discount < 1:
            out.append(inst)
            continue
        gamma = rng.choice([F(1, 2), F(9, 10), F(2, 3)])
        mdp = FiniteMDP.from_tables(m.initial, m.transitions, m.rewards, horizon=m.horizon, discount=gamma,
                                    name=f"{m.name}, γ = {gamma}")
        out.append(Instance(mdp, inst.policy, inst.point, name=mdp.name, environment=inst.environment))
    return tuple(out)


BATTERIES = {"default": default_battery, "gaussian": gaussian_battery, "discounted": discounted_battery, "stress": stress_battery, "rewards": reward_battery,
             "softmax": softmax_battery, "bandits": bandit_battery}
