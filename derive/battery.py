"""The batteries of concrete instances every step is checked on.

Hand-made edge cases (one state, deterministic dynamics, H = 0, stochastic μ,
zero-probability transitions, discounting, linear-softmax and direct policies) plus random
MDPs with exact rational tables and random exact parameter points. Random points z = e^θ
are drawn from a large set of rationals, so agreement on them is a randomized identity test.

Every battery is drawn afresh from a seed (a fresh one from the operating system unless
given), and knows its name, its seed and its scope — the ranges of S, A, H and γ it covers —
which every verdict quotes. Random shapes mix long thin MDPs (S, A ≤ 2, H up to 12) with
wide short ones (S = 5, A = 4, H ≤ 1) inside the enumeration budget, and add large ones
(S = 5, A = 4, H = 20 and S = 3, A = 3, H = 10; in the softmax battery also a linear-softmax
S = 4, A = 3, H = 12) checked by DP over time — with random rewards in the rewards battery and
γ < 1 in the discounted one; γ is a random rational in (0, 1]; rewards have both signs and
magnitudes from 1/1000 to 10^4. Every value of a random instance has a prime past 10^6 in its
denominator (0 and 1 aside).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from fractions import Fraction as F

from .mdp import FiniteMDP
from .policies import DirectPolicy, LinearSoftmax, TabularSoftmax
from .semantics import EnvironmentDerivative, Instance, PointInstance

__all__ = [
    "Battery", "Scope", "scope_of", "fresh_seed", "TRAJECTORY_BUDGET",
    "default_battery", "stress_battery", "reward_battery", "edge_cases", "stress_cases", "random_instance",
    "random_point", "large_prime", "LARGE_PRIMES", "softmax_battery", "large_linear_softmax", "bandit_battery", "gaussian_battery", "discounted_battery", "BATTERIES", "NARROW_BATTERIES", "large_shapes",
]


TRAJECTORY_BUDGET = 4096  # S (SA)^(H+1) per random instance, until a DP evaluator replaces enumeration


def fresh_seed() -> int:
    """A seed from the operating system's random source."""
    # 10^12 seeds: a document fitted to 10^5 seeds' batteries and primes passes one run in 10^7
    return secrets.randbelow(10**12)


class Battery(tuple):
    """The instances of a battery, with its name and the seed that drew it (None: not recorded)."""

    def __new__(cls, instances, *, name: str, seed: int | None):
        obj = super().__new__(cls, tuple(instances))
        obj.name, obj.seed = name, seed
        return obj

    def __repr__(self):
        return f"Battery({self.name!r}, seed={self.seed}, {len(self)} instances)"


@dataclass(frozen=True)
class Scope:
    """What a battery covers, in words and as data: quoted by every 'checked on N MDPs'."""

    unit: str     # "MDPs" or "points"
    text: str     # e.g. "default: only the shapes (S, A, H) = (1, 1, 2), (5, 4, 20); γ ∈ [1/7, 1]; seed 8341"
    data: dict    # the same, for JSON


def _range(name: str, values) -> tuple[str, list]:
    lo, hi = min(values), max(values)
    if lo == hi:
        return f"{name} = {lo}", [str(lo), str(hi)]
    if name == "γ":
        return f"γ ∈ [{lo}, {hi}]", [str(lo), str(hi)]
    return (f"{name} ≤ {hi}" if lo <= 1 and name in ("S", "A") or (name == "H" and lo == 0) else f"{lo} ≤ {name} ≤ {hi}"), \
        [str(lo), str(hi)]


def scope_of(battery, *, check_seed: int | None = None) -> Scope:
    """The scope of a battery: its name, the ranges of S, A, H and γ (or the points' symbols), its seed."""
    from .semantics import PointInstance

    name = getattr(battery, "name", "given")
    seed = getattr(battery, "seed", None)
    seed_text = f"seed {seed}" if seed is not None else "instances given, no battery seed"
    if check_seed is not None:
        seed_text += f"; check seed {check_seed}"
    data: dict = {"battery": name, "seed": seed, "check_seed": check_seed, "instances": len(battery)}
    if battery and all(isinstance(inst, PointInstance) for inst in battery):
        from .text import to_text

        names = [to_text(sym) for sym, _ in battery[0].values]
        data.update(unit="points", symbols=names)
        return Scope("points", f"{name}: exact points in {', '.join(names)}; {seed_text}", data)
    mdps = [inst.mdp for inst in battery if not isinstance(inst, PointInstance)]
    if not mdps:
        return Scope("MDPs", f"{name}: no instances; {seed_text}", data)
    parts = []
    shapes = sorted({(x.n_states, x.n_actions, x.horizon) for x in mdps})
    for label, values in (("S", [x.n_states for x in mdps]), ("A", [x.n_actions for x in mdps]),
                          ("H", [x.horizon for x in mdps]), ("γ", [x.discount for x in mdps])):
        text, bounds = _range(label, values)
        # A box never: only a value every instance shares (and not again when one shape says it already).
        if label == "γ" or (bounds[0] == bounds[1] and len(shapes) > 1):
            parts.append(text)
        data[{"γ": "gamma"}.get(label, label)] = bounds
    data["unit"] = "MDPs"
    # The ranges of S, A, H describe a box, yet only these shapes were checked: the text names them.
    data["shapes"] = [list(c) for c in shapes]
    data["largest_shapes"] = [list(c) for c in _largest_shapes(mdps)]
    listed = ", ".join(f"({a}, {b_}, {c})" for a, b_, c in shapes)
    kind = "the shapes" if len(shapes) > 1 else "the shape"
    return Scope("MDPs", f"{name}: only {kind} (S, A, H) = {listed}; {', '.join(parts)}; {seed_text}", data)


def _largest_shapes(mdps) -> list[tuple[int, int, int]]:
    """The (S, A, H) shapes no other instance exceeds in all three at once (the battery's joint extremes)."""
    shapes = {(x.n_states, x.n_actions, x.horizon) for x in mdps}
    top = [a for a in shapes if not any(b_ != a and all(p >= q for p, q in zip(b_, a)) for b_ in shapes)]
    return sorted(top, reverse=True)


def _seeded(seed: int | None) -> int:
    return fresh_seed() if seed is None else int(seed)


# Rewards, discounts, baselines, probabilities and points are drawn over a random prime past 10^6
# (one prime per table, fresh per seed): a polynomial that vanishes on every value a battery can
# draw needs more than 10^6 roots, and a term such as sin(N!·π·x) vanishes there only when N
# reaches that prime — both past what the limits accept. (Exact logs of such values are decided
# by a batch-gcd coprime base, derive.backends; the hand-made instances keep small values.)
LARGE_PRIMES = (10**6, 2 * 10**6)


def large_prime(rng: random.Random) -> int:
    """A random prime in ``LARGE_PRIMES``: the denominator of one table's values."""
    return _prime_between(rng, *LARGE_PRIMES)


def random_point(policy, rng: random.Random, *, large: bool = True) -> tuple[F, ...]:
    """A random exact point: z = e^θ in (0, ∞) for softmax policies, an interior θ for direct ones.

    ``large``: over a large prime (random instances); a hand-made instance keeps small values (p/q, p, q ≤ 1000;
    direct weights 1..9) so that its counterexamples stay readable.
    """
    if isinstance(policy, DirectPolicy):
        point = []
        for _ in range(policy.n_states):
            point.extend(_distribution(rng, policy.n_actions, zeros=False, top=9, large=large))
        return tuple(point)
    if not large:
        return tuple(F(rng.randint(1, 1000), rng.randint(1, 1000)) for _ in range(policy.n_params))
    q = large_prime(rng)  # z = (a/b)(1 + k/q): from 1/1000 to 2000, with q in every denominator
    return tuple(F(rng.randint(1, 1000), rng.randint(1, 1000)) * F(q + rng.randint(1, q - 1), q)
                 for _ in range(policy.n_params))


def _distribution(rng: random.Random, n: int, *, zeros: bool, top: int = 6, large: bool = True) -> list[F]:
    """A random distribution on n points: small weights 0..top give its zeros, then every positive entry is moved
    off them by a random multiple of 1/(W·q), q a fresh large prime, so each entry below 1 has q in its denominator."""
    w = [rng.randint(0 if zeros else 1, top) for _ in range(n)]
    if sum(w) == 0:
        w[rng.randrange(n)] = 1
    positive = [j for j, x in enumerate(w) if x]
    W = sum(w)
    if len(positive) == 1 or not large:
        return [F(x, W) for x in w]  # a point mass has only 0 and 1
    q = large_prime(rng)
    spread = q // (2 * n)  # |Σ δ| < q/2 ≤ w_j·q/2: every positive entry stays positive
    delta = [rng.choice((-1, 1)) * rng.randint(1, spread) for _ in positive[:-1]]
    delta.append(-sum(delta))
    if delta[-1] % q == 0:  # q must divide no numerator (|δ| < q: only δ = 0 could)
        delta[-1], delta[0] = delta[-1] + 1, delta[0] - 1
    out = [F(0)] * n
    for j, d in zip(positive, delta):
        out[j] = F(w[j] * q + d, W * q)
    return out


def random_gamma(rng: random.Random, *, allow_one: bool = True) -> F:
    """γ: 1 a third of the time (when allowed), else a random rational in (0, 1) over a large prime.

    Drawn from a set of more than 10^6 values, so a correction term with fixed roots in γ vanishes
    on a random γ with probability below one in 10^6 per root.
    """
    if allow_one and rng.random() < 1 / 3:
        return F(1)
    q = large_prime(rng)
    return F(rng.randint(1, q - 1), q)


def random_reward(rng: random.Random, denominator: int | None = None) -> F:
    """A reward of either sign, |r| ≤ 9 times a magnitude from 1/1000 to 10^4, over a large prime (0 now and then)."""
    scale = rng.choice([F(1, 1000), F(1, 10), F(1), F(1), F(10), F(10**4)])
    q = denominator or large_prime(rng)
    if rng.random() < 1 / 20:
        return F(0)
    return F(rng.randint(-9 * q, 9 * q), q) * scale


# Shape families, cycled so every battery has each: long thin, wide short, small, anything in budget.
def _shape(rng: random.Random, family: int, budget: int) -> tuple[int, int, int]:
    def fits(S, A, H):
        return S * (S * A) ** (H + 1) <= budget

    if family == 0:  # long thin: few states and actions, a long horizon
        S, A = rng.choice([(1, 2), (2, 1), (1, 2), (1, 1)])
        top = max(H for H in range(13) if fits(S, A, H))
        return S, A, rng.randint(min(8, top), top)
    if family == 1:  # wide short
        S, A = 5, 4
        return S, A, max(H for H in (0, 1) if fits(S, A, H) or H == 0)
    while True:
        if family == 2:
            S, A, H = rng.randint(1, 3), rng.randint(1, 3), rng.randint(0, 3)
        else:
            S, A, H = rng.randint(1, 5), rng.randint(1, 4), rng.randint(0, 9)
        if fits(S, A, H):
            return S, A, H


def random_mdp(rng: random.Random, *, family: int | None = None, budget: int = TRAJECTORY_BUDGET,
               name="random", allow_discount_one: bool = True, shape: tuple | None = None) -> FiniteMDP:
    """A random MDP with exact rational tables (some zeros), within a trajectory budget."""
    S, A, H = _shape(rng, rng.randrange(4) if family is None else family % 4, budget) if shape is None else shape
    mu = _distribution(rng, S, zeros=True)
    tr = [[_distribution(rng, S, zeros=True) for _ in range(A)] for _ in range(S)]
    q = large_prime(rng)
    rw = [[[random_reward(rng, q) for _ in range(S)] for _ in range(A)] for _ in range(S)]
    return FiniteMDP.from_tables(mu, tr, rw, horizon=H, discount=random_gamma(rng, allow_one=allow_discount_one),
                                 name=name)


def random_instance(rng: random.Random, k: int) -> Instance:
    # Every other random instance has γ < 1, so every battery has random discounts.
    mdp = random_mdp(rng, family=k - 1, name=f"random #{k}", allow_discount_one=k % 2 == 0)
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
    return Instance(mdp, policy, random_point(policy, rng), name=mdp.name)


def edge_cases(rng: random.Random) -> list[Instance]:
    """The hand-made instances: each exercises one corner of the theorem."""
    out = []

    def add(mdp, policy=None):
        policy = policy or TabularSoftmax(mdp.n_states, mdp.n_actions)
        out.append(Instance(mdp, policy, random_point(policy, rng, large=False), name=mdp.name))

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


# The large MDPs' shapes are drawn afresh from the battery's seed over wide ranges, so no polynomial
# in S, A, H can be fitted in advance to vanish on them. DP over time costs about S²·A·(H+1) per
# table; the caps keep each large MDP near the cost of a fixed (5, 4, 20).
LARGE_RANGES = ((2, 8), (2, 5), (5, 40))  # S, A, H of the wide large MDPs
LONG_HORIZONS = (40, 200)                 # H of the long thin large MDP (S = A = 2)
LARGE_COSTS = (2000,)                    # S²·A·H cap of each wide large MDP (one: a third costs ~25% of a run)


def large_shapes(rng: random.Random) -> list[tuple[int, int, int]]:
    """A wide shape from ``LARGE_RANGES`` under each of ``LARGE_COSTS`` and one long one (2, 2, H), H from ``LONG_HORIZONS``."""
    (s0, s1), (a0, a1), (h0, h1) = LARGE_RANGES
    out = []
    for cap in LARGE_COSTS:
        while True:
            S, A, H = rng.randint(s0, s1), rng.randint(a0, a1), rng.randint(h0, h1)
            if S * S * A * H <= cap:
                out.append((S, A, H))
                break
    out.append((2, 2, rng.randint(*LONG_HORIZONS)))
    return out


def large_instances(rng: random.Random) -> list[Instance]:
    """Random MDPs with many states, actions and a long horizon at once, too large to enumerate.

    A line with no free trajectory is evaluated on them by dynamic programming over time; a line
    about every trajectory (or tuple of samples) by a random product-weight identity test over the
    same DP (:mod:`derive.free_identity`); a line neither covers excludes them from its count, and
    says so.
    """
    out = []
    for k, shape in enumerate(large_shapes(rng), start=1):
        mdp = random_mdp(rng, shape=shape, name=f"large #{k}", allow_discount_one=k % 2 == 0)
        policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
        out.append(Instance(mdp, policy, random_point(policy, rng), name=mdp.name))
    return out


def default_battery(*, seed: int | None = None, n_random: int = 12) -> Battery:
    """The edge cases, ``n_random`` random instances and the large ones, reproducible from ``seed`` (fresh when None)."""
    seed = _seeded(seed)
    rng = random.Random(seed)
    return Battery(edge_cases(rng) + [random_instance(rng, k + 1) for k in range(n_random)] + large_instances(rng),
                   name="default", seed=seed)


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
    out.append(Instance(dyn, pol, random_point(pol, rng, large=False), name=dyn.name,
                        environment=_theta_dependent(dyn, pol.n_params, initial=False, dynamics=True)))
    init = FiniteMDP.from_tables(
        [F(1, 2), F(1, 2)], [[[F(1, 2), F(1, 2)], [1, 0]], [[0, 1], [F(1, 2), F(1, 2)]]],
        [[2, 0], [1, 3]], horizon=1, name="initial distribution depends on θ")
    out.append(Instance(init, pol, random_point(pol, rng, large=False), name=init.name,
                        environment=_theta_dependent(init, pol.n_params, initial=True, dynamics=False)))
    return out


def stress_battery(*, seed: int | None = None, n_random: int = 12) -> Battery:
    """The default battery plus instances that violate the theorem's side conditions."""
    seed = _seeded(seed)
    rng = random.Random(seed + 1)
    return Battery(default_battery(seed=seed, n_random=n_random) + tuple(stress_cases(rng)), name="stress", seed=seed)


def _with_random_rewards(mdp: FiniteMDP, rng: random.Random, *, large: bool = True) -> FiniteMDP:
    """The same MDP with a finite reward distribution P(r|s,a) of one to three outcomes."""
    # A hand-made instance keeps small reward values (k/d, d ≤ 7): its counterexamples stay readable.
    dist, q = [], large_prime(rng) if large else None
    for s in range(mdp.n_states):
        row = []
        for a in range(mdp.n_actions):
            k = rng.randint(1, 3)
            probs = _distribution(rng, k, zeros=False, large=large)
            row.append([(random_reward(rng, q) if large else F(rng.randint(-9, 9), rng.randint(1, 7)), p) for p in probs])
        dist.append(row)
    return FiniteMDP.from_tables(
        mdp.initial, mdp.transitions, None, reward_distribution=dist, horizon=mdp.horizon,
        discount=mdp.discount, name=f"{mdp.name}, random rewards")


def reward_battery(*, seed: int | None = None, n_random: int = 12) -> Battery:
    """Instances whose rewards are random, P(r|s,a) (seed 004): trajectories record the rewards drawn."""
    seed = _seeded(seed)
    rng = random.Random(seed + 2)
    out = []
    for inst in default_battery(seed=seed, n_random=n_random):
        mdp = inst.mdp
        horizon = mdp.horizon
        # The large MDPs keep their size: with reward outcomes too they go by DP over time.
        while not mdp.name.startswith("large #") and horizon > 0 and mdp.n_states * (mdp.n_states * mdp.n_actions * 3) ** (horizon + 1) > 200_000:
            horizon -= 1  # reward outcomes multiply the trajectories: shorten to stay in budget
        if horizon != mdp.horizon:
            mdp = FiniteMDP.from_tables(mdp.initial, mdp.transitions, mdp.rewards, horizon=horizon,
                                        discount=mdp.discount, name=mdp.name)
        out.append(Instance(_with_random_rewards(mdp, rng, large=inst.name.startswith(("random", "large"))), inst.policy, inst.point, name=f"{inst.name}, random rewards",
                            environment=inst.environment))
    return Battery(out, name="rewards", seed=seed)


LARGE_LINEAR_SHAPE = (4, 3, 12)  # (S, A, H) of the softmax battery's large linear-softmax MDP


def large_linear_softmax(rng: random.Random) -> Instance:
    """A large MDP under a linear softmax policy with random integer features (three per (s, a)), by DP over time."""
    mdp = random_mdp(rng, shape=LARGE_LINEAR_SHAPE, name="large linear softmax", allow_discount_one=False)
    features = tuple(tuple(tuple(rng.randint(-2, 2) for _ in range(3)) for _ in range(mdp.n_actions))
                     for _ in range(mdp.n_states))
    policy = LinearSoftmax(features)
    return Instance(mdp, policy, random_point(policy, rng), name=mdp.name)


def softmax_battery(*, seed: int | None = None, n_random: int = 12) -> Battery:
    """The default battery without its direct policy, plus a large linear-softmax MDP: statements about softmax policies."""
    seed = _seeded(seed)
    rng = random.Random(seed + 6)
    return Battery([i for i in default_battery(seed=seed, n_random=n_random) if not isinstance(i.policy, DirectPolicy)]
                   + [large_linear_softmax(rng)], name="softmax", seed=seed)


def bandit_battery(*, seed: int | None = None, n_random: int = 12) -> Battery:
    """One state, one step (H = 0): multi-armed bandits with a softmax policy (a narrow battery)."""
    seed = _seeded(seed)
    rng = random.Random(seed + 3)
    out = []
    for k in range(max(n_random, 4)):
        A, q = rng.randint(1, 8), large_prime(rng)
        mdp = FiniteMDP.from_tables([1], [[[1]] * A], [[random_reward(rng, q) for _ in range(A)]],
                                    horizon=0, discount=random_gamma(rng), name=f"bandit #{k + 1}, {A} arms")
        policy = TabularSoftmax(1, A)
        out.append(Instance(mdp, policy, random_point(policy, rng), name=mdp.name))
    lin = FiniteMDP.from_tables([1], [[[1]] * 3], [[2, -1, F(1, 2)]], horizon=0, name="bandit, linear softmax")
    out.append(Instance(lin, LinearSoftmax((((1, 0), (0, 1), (1, 1)),)), (F(2), F(1, 3)), name=lin.name))
    return Battery(out, name="bandits", seed=seed)


def _prime_between(rng: random.Random, lo: int, hi: int) -> int:
    """A random prime in [lo, hi): the first prime at or after a random start (n ≥ 4, as before).

    flint's test proves primality (the same primes trial division finds, about 30 times faster: a battery
    and every instance's baseline draw primes, tens of thousands in a run of the suite).
    """
    from flint import fmpz

    n = rng.randrange(lo, hi)
    while n < 4 or not fmpz(n).is_prime():
        n += 1
    return n


def gaussian_battery(*, seed: int | None = None, n_random: int = 6) -> Battery:
    """Exact points (θ, σ > 0, w, reward coefficients, an action a) for one-step Gaussian-policy statements."""
    from .notation import action, k0, k1, k2, sigma, theta, w

    seed = _seeded(seed)
    rng = random.Random(seed + 4)

    def q(lo, hi):
        # A rational in [lo, hi] over a random prime denominator past 10^6, fresh per seed: a term
        # such as sin(N!·π·θ) vanishes there only when N ≥ that prime, a size the limits refuse.
        den = _prime_between(rng, 10**6, 2 * 10**6)
        return F(rng.randint(lo * den, hi * den), den)

    points = []
    for k in range(max(n_random // 2, 4)):
        values = ((theta, q(-9, 9)), (sigma, q(1, 9)), (w, q(-4, 4)), (action, q(-9, 9)),
                  (k0, q(-5, 5)), (k1, q(-5, 5)), (k2, q(-5, 5)))
        points.append(PointInstance(values, name=f"point #{k + 1}"))
    return Battery(points, name="gaussian", seed=seed)


def discounted_battery(*, seed: int | None = None, n_random: int = 12) -> Battery:
    """The default battery with γ < 1 everywhere: infinite-horizon discounted statements."""
    seed = _seeded(seed)
    rng = random.Random(seed + 5)
    out = []
    for inst in default_battery(seed=seed, n_random=n_random):
        m = inst.mdp
        if m.discount < 1:
            out.append(inst)
            continue
        gamma = random_gamma(rng)
        while gamma == 1:
            gamma = random_gamma(rng)
        mdp = FiniteMDP.from_tables(m.initial, m.transitions, m.rewards, horizon=m.horizon, discount=gamma,
                                    name=f"{m.name}, γ = {gamma}")
        out.append(Instance(mdp, inst.policy, inst.point, name=mdp.name, environment=inst.environment))
    return Battery(out, name="discounted", seed=seed)


# Batteries that cover only part of what a general policy-gradient statement claims: the verdict names it.
NARROW_BATTERIES = {
    "bandits": "bandits only (S = 1, H = 0)",
    "gaussian": "one-step Gaussian-policy points only",
    "discounted": "discounted MDPs only (γ < 1)",
    "softmax": "softmax policies only",
}

BATTERIES = {"default": default_battery, "gaussian": gaussian_battery, "discounted": discounted_battery, "stress": stress_battery, "rewards": reward_battery,
             "softmax": softmax_battery, "bandits": bandit_battery}
