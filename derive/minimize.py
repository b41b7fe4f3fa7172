"""Minimal counterexamples: Hypothesis searches for the smallest instance that breaks a step.

"Smallest" is Hypothesis's shrink order: fewest states and actions, smallest H, then the
simplest tables (uniform rows, zero rewards) and θ = 0 (z = 1). The search keeps the kind
of the failing instance (policy family, a boundary policy, an environment that depends on
θ), so the minimal example fails for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction as F
from typing import Callable

from hypothesis import HealthCheck, Phase, find, settings, strategies as st
from hypothesis.errors import NoSuchExample

from .mdp import FiniteMDP
from .policies import DirectPolicy, TabularSoftmax
from .semantics import EnvironmentDerivative, Instance

__all__ = ["InstanceKind", "kind_of", "instances", "minimal_instance"]


@dataclass(frozen=True)
class InstanceKind:
    """What a search keeps fixed: the policy family and which side conditions are broken."""

    policy: str = "softmax"          # "softmax" | "direct"
    boundary: bool = False           # direct policy with some π(a|s) = 0
    theta_environment: bool = False  # μ or the dynamics depend on θ
    zeros: bool = True               # zero probabilities allowed in μ and the dynamics
    random_rewards: bool = False     # rewards drawn from P(r|s,a) and recorded in τ (seed 004)


def kind_of(inst: Instance) -> InstanceKind:
    direct = isinstance(inst.policy, DirectPolicy)
    boundary = direct and any(p == 0 for row in inst.probabilities() for p in row)
    return InstanceKind("direct" if direct else "softmax", boundary, inst.environment_depends_on_theta,
                        random_rewards=bool(inst.mdp.reward_distribution))


def _distribution(draw, n: int, *, zeros: bool, positive_first: bool = False) -> list[F]:
    # Weights shrink towards 0; all-zero weights mean the uniform row, the simplest one.
    w = draw(st.lists(st.integers(0 if zeros else 1, 4), min_size=n, max_size=n))
    if positive_first and w[0] == 0:
        w[0] = 1
    if sum(w) == 0:
        w = [1] * n
    return [F(x, sum(w)) for x in w]


@st.composite
def instances(draw, kind: InstanceKind = InstanceKind(), *, states: tuple[int, int] = (1, 3),
              actions: tuple[int, int] = (1, 3), horizons: tuple[int, int] = (0, 3)) -> Instance:
    """Instances of one kind; shrinks towards one state, one action, H = 0, uniform rows, γ = 1, θ = 0."""
    S = draw(st.integers(*states))
    A = draw(st.integers(max(actions[0], 2 if kind.boundary else 1), max(actions[1], 2 if kind.boundary else 1)))
    H = draw(st.integers(*horizons))
    mu = _distribution(draw, S, zeros=kind.zeros)
    tr = [[_distribution(draw, S, zeros=kind.zeros) for _ in range(A)] for _ in range(S)]
    rw = [[[F(draw(st.integers(-3, 3))) for _ in range(S)] for _ in range(A)] for _ in range(S)]
    gamma = draw(st.sampled_from([F(1), F(1, 2), F(9, 10)]))  # shrinks to γ = 1
    if kind.random_rewards:  # one or two outcomes per (s, a); shrinks to one outcome, reward 0
        dist = [[[(F(draw(st.integers(-3, 3))), p) for p in _distribution(draw, draw(st.integers(1, 2)), zeros=False)]
                 for _ in range(A)] for _ in range(S)]
        mdp = FiniteMDP.from_tables(mu, tr, None, reward_distribution=dist, horizon=H, discount=gamma,
                                    name="minimal (Hypothesis)")
    else:
        mdp = FiniteMDP.from_tables(mu, tr, rw, horizon=H, discount=gamma, name="minimal (Hypothesis)")
    if kind.policy == "direct":
        policy = DirectPolicy(S, A)
        point = []
        for s in range(S):
            row = _distribution(draw, A, zeros=kind.boundary, positive_first=True)
            if kind.boundary and s == 0 and all(p > 0 for p in row):
                row = [F(1)] + [F(0)] * (A - 1)
            point.extend(row)
    else:
        policy = TabularSoftmax(S, A)
        point = [F(draw(st.integers(1, 9)), draw(st.integers(1, 9))) for _ in range(policy.n_params)]
    environment = None
    if kind.theta_environment:
        K = policy.n_params
        d = draw(st.integers(-2, 2).filter(lambda x: x != 0))

        def row(k):
            out = [(F(0),) * K for _ in range(S)]
            if S > 1:
                out[k % S] = (F(d),) + (F(0),) * (K - 1)
                out[(k + 1) % S] = (F(-d),) + (F(0),) * (K - 1)
            return tuple(out)

        which = draw(st.sampled_from(["initial", "dynamics"]))
        d_mu = row(0) if which == "initial" else tuple((F(0),) * K for _ in range(S))
        d_tr = tuple(tuple(row(s + a) if which == "dynamics" else tuple((F(0),) * K for _ in range(S))
                           for a in range(A)) for s in range(S))
        environment = EnvironmentDerivative(d_mu, d_tr)
    return Instance(mdp, policy, tuple(point), name=mdp.name, environment=environment)


def sizes(*, max_states: int = 3, max_actions: int = 3, max_horizon: int = 3, budget: int = 5000):
    """(S, A, H) from the fewest trajectories up: the order in which sizes are searched."""
    out = [(S, A, H) for S in range(1, max_states + 1) for A in range(1, max_actions + 1)
           for H in range(max_horizon + 1) if S * (S * A) ** (H + 1) <= budget]
    return sorted(out, key=lambda x: (x[0] * (x[0] * x[1]) ** (x[2] + 1), x[0], x[1], x[2]))


def minimal_instance(fails: Callable[[Instance], bool], kind: InstanceKind, *,
                     examples_per_size: int = 40, max_states: int = 3, max_actions: int = 3,
                     max_horizon: int = 3) -> Instance | None:
    """The smallest instance of this kind on which ``fails`` is true, or None if none was found.

    Sizes are tried from the fewest trajectories up (Hypothesis alone shrinks sizes poorly,
    since a smaller size shifts every later draw); within a size Hypothesis shrinks the
    tables and θ. Derandomized: the same failing step always gives the same example.
    """
    config = settings(max_examples=examples_per_size, database=None, derandomize=True, deadline=None,
                      phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    for S, A, H in sizes(max_states=max_states, max_actions=max_actions, max_horizon=max_horizon):
        if kind.boundary and A < 2:
            continue
        try:
            return find(instances(kind, states=(S, S), actions=(A, A), horizons=(H, H)), fails, settings=config)
        except NoSuchExample:
            continue
        except Exception:  # a strategy or check error must not hide the battery's counterexample
            return None
    return None

