"""Finite-horizon MDPs with exact rational tables.

Horizon convention (the one of the seeds' product Π_{t=0}^{H}): the agent acts at
t = 0, …, H, so a trajectory is τ = (s_0, a_0, s_1, …, s_H, a_H, s_{H+1}) with H + 1
decisions, and R(τ) = Σ_{t=0}^{H} γ^t r(s_t, a_t, s_{t+1}).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np

__all__ = ["FiniteMDP", "InvalidMDP", "TooManyTrajectories", "as_fraction"]


class TooManyTrajectories(ValueError):
    """The trajectories of an MDP are too many to list one by one (the DP route may still evaluate a line)."""

class InvalidMDP(ValueError):
    """An MDP table is malformed; the message names the key, index and value."""


def as_fraction(value, *, where: str = "value") -> Fraction:
    """Exact Fraction from an int, a Fraction, a float or a string like "1/3"."""
    if type(value) is Fraction:  # already exact: no copy (big tables hold millions of entries)
        return value
    if isinstance(value, bool):
        raise InvalidMDP(f"{where}: expected a number, got {value!r}")
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, float):
        if not np.isfinite(value):
            raise InvalidMDP(f"{where}: expected a finite number, got {value!r}")
        return Fraction(value)
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise InvalidMDP(f"{where}: {value!r} is not a number") from None
    raise InvalidMDP(f"{where}: expected a number, got {value!r}")


def _tuple(x):
    return tuple(_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


@dataclass(frozen=True)
class FiniteMDP:
    """A finite MDP: μ(s), P(s'|s,a), r(s,a,s'), horizon H and discount γ, all exact.

    ``transitions[s][a][s2]`` is P(s2 | s, a); ``rewards[s][a][s2]`` is r(s, a, s2).
    With a finite reward distribution P(r|s,a) (seed 004), ``reward_distribution[s][a]``
    lists its (r, p) outcomes and ``rewards`` holds the expected reward E[r|s,a] for every s2.
    """

    initial: tuple[Fraction, ...]
    transitions: tuple[tuple[tuple[Fraction, ...], ...], ...]
    rewards: tuple[tuple[tuple[Fraction, ...], ...], ...]
    horizon: int
    discount: Fraction = Fraction(1)
    name: str = ""
    reward_distribution: tuple = ()  # [S][A] tuples of (r, p); () when rewards are deterministic
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @classmethod
    def from_tables(
        cls,
        initial: Sequence,
        transitions: Sequence,
        rewards: Sequence | None,
        *,
        horizon: int,
        discount=1,
        name: str = "",
        reward_distribution: Sequence | None = None,
    ) -> "FiniteMDP":
        """Build and validate an MDP; rewards may be [S][A] (r(s,a)) or [S][A][S] (r(s,a,s')).

        Or give ``rewards=None`` and ``reward_distribution`` [S][A] of (r, p) pairs, P(r|s,a).
        """
        mu = tuple(as_fraction(v, where=f"initial[{s}]") for s, v in enumerate(initial))
        n_s = len(mu)
        if n_s == 0:
            raise InvalidMDP("initial: needs at least one state")
        if len(transitions) != n_s:
            raise InvalidMDP(f"transitions: expected {n_s} rows (one per state), got {len(transitions)}")
        n_a = len(transitions[0]) if n_s else 0
        if n_a == 0:
            raise InvalidMDP("transitions[0]: needs at least one action")
        tr = []
        for s, row in enumerate(transitions):
            if len(row) != n_a:
                raise InvalidMDP(f"transitions[{s}]: expected {n_a} actions, got {len(row)}")
            tr_row = []
            for a, dist in enumerate(row):
                if len(dist) != n_s:
                    raise InvalidMDP(f"transitions[{s}][{a}]: expected {n_s} next states, got {len(dist)}")
                tr_row.append(tuple(as_fraction(v, where=f"transitions[{s}][{a}][{s2}]") for s2, v in enumerate(dist)))
            tr.append(tuple(tr_row))
        outcomes = ()
        if reward_distribution is not None:
            if rewards is not None:
                raise InvalidMDP("rewards: give either rewards or reward_distribution, not both")
            outcomes = _reward_outcomes(reward_distribution, n_s, n_a)
            rewards = [[sum((r * p for r, p in outcomes[s][a]), Fraction(0)) for a in range(n_a)] for s in range(n_s)]
        if rewards is None:
            raise InvalidMDP("rewards: missing (give rewards or reward_distribution)")
        if len(rewards) != n_s:
            raise InvalidMDP(f"rewards: expected {n_s} rows, got {len(rewards)}")
        rw = []
        for s, row in enumerate(rewards):
            if len(row) != n_a:
                raise InvalidMDP(f"rewards[{s}]: expected {n_a} actions, got {len(row)}")
            rw_row = []
            for a, r in enumerate(row):
                if isinstance(r, (list, tuple)):
                    if len(r) != n_s:
                        raise InvalidMDP(f"rewards[{s}][{a}]: expected {n_s} next-state rewards, got {len(r)}")
                    rw_row.append(tuple(as_fraction(v, where=f"rewards[{s}][{a}][{s2}]") for s2, v in enumerate(r)))
                else:
                    v = as_fraction(r, where=f"rewards[{s}][{a}]")
                    rw_row.append((v,) * n_s)
            rw.append(tuple(rw_row))
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 0:
            raise InvalidMDP(f"horizon: expected an integer H >= 0, got {horizon!r}")
        gamma = as_fraction(discount, where="discount")
        mdp = cls(mu, tuple(tr), tuple(rw), int(horizon), gamma, name, outcomes)
        mdp.validate()
        return mdp

    # -- shape -------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return len(self.initial)

    @property
    def n_actions(self) -> int:
        return len(self.transitions[0])

    @property
    def n_trajectories(self) -> int:
        """Number of trajectories (s_0, a_0, …, a_H, s_{H+1}), counted with zero-probability ones."""
        return self.n_states * (self.n_actions * self.n_states) ** (self.horizon + 1)

    def validate(self) -> None:
        """Raise InvalidMDP unless μ and every P(·|s,a) are probability vectors and 0 <= γ <= 1."""
        _check_distribution(self.initial, "initial")
        for s, row in enumerate(self.transitions):
            for a, dist in enumerate(row):
                _check_distribution(dist, f"transitions[{s}][{a}]")
        if not (0 <= self.discount <= 1):
            raise InvalidMDP(f"discount: expected 0 <= γ <= 1, got {self.discount}")

    # -- views -------------------------------------------------------------
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Float64 views (μ[S], P[S,A,S], r[S,A,S])."""
        key = "float"
        if key not in self._cache:
            self._cache[key] = (
                np.array([float(x) for x in self.initial]),
                np.array([[[float(x) for x in d] for d in row] for row in self.transitions]),
                np.array([[[float(x) for x in d] for d in row] for row in self.rewards]),
            )
        return self._cache[key]

    def trajectories(self) -> tuple[np.ndarray, np.ndarray]:
        """All trajectories as index arrays: states [N, H+2] and actions [N, H+1] (zero-probability ones included)."""
        key = "traj"
        if key not in self._cache:
            S, A, T = self.n_states, self.n_actions, self.horizon + 1
            n = self.n_trajectories
            if n > 5_000_000:
                raise TooManyTrajectories(
                    f"{self.describe()}: {n} trajectories is past the enumeration budget (5,000,000)"
                )
            idx = np.arange(n, dtype=np.int64)
            states = np.empty((n, T + 1), dtype=np.int64)
            actions = np.empty((n, T), dtype=np.int64)
            # Mixed-radix digits: s_0, then (a_t, s_{t+1}) for t = 0..H.
            rest = idx
            states[:, 0] = rest % S
            rest = rest // S
            for t in range(T):
                actions[:, t] = rest % A
                rest = rest // A
                states[:, t + 1] = rest % S
                rest = rest // S
            self._cache[key] = (states, actions)
        return self._cache[key]

    def describe(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return f"{label}S={self.n_states}, A={self.n_actions}, H={self.horizon}, γ={self.discount}"

    def to_dict(self) -> dict:
        """JSON-ready tables with exact values as strings."""
        fmt = lambda x: str(x)  # noqa: E731 — Fraction prints as "p/q"
        return {
            "name": self.name,
            "initial": [fmt(x) for x in self.initial],
            "transitions": [[[fmt(x) for x in d] for d in row] for row in self.transitions],
            "rewards": [[[fmt(x) for x in d] for d in row] for row in self.rewards],
            "horizon": self.horizon,
            "discount": fmt(self.discount),
        }


def _reward_outcomes(table, n_s: int, n_a: int) -> tuple:
    if len(table) != n_s:
        raise InvalidMDP(f"reward_distribution: expected {n_s} rows, got {len(table)}")
    out = []
    for s, row in enumerate(table):
        if len(row) != n_a:
            raise InvalidMDP(f"reward_distribution[{s}]: expected {n_a} actions, got {len(row)}")
        out_row = []
        for a, pairs in enumerate(row):
            where = f"reward_distribution[{s}][{a}]"
            if not pairs:
                raise InvalidMDP(f"{where}: needs at least one (reward, probability) pair")
            parsed = []
            for k, pair in enumerate(pairs):
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise InvalidMDP(f"{where}[{k}]: expected a [reward, probability] pair, got {pair!r}")
                parsed.append((as_fraction(pair[0], where=f"{where}[{k}][0]"), as_fraction(pair[1], where=f"{where}[{k}][1]")))
            _check_distribution([p for _, p in parsed], f"{where} probabilities")
            out_row.append(tuple(parsed))
        out.append(tuple(out_row))
    return tuple(out)


def _check_distribution(values: Sequence[Fraction], where: str) -> None:
    for k, v in enumerate(values):
        if v < 0:
            raise InvalidMDP(f"{where}[{k}]: probabilities must be >= 0, got {v}")
    total = sum((v for v in values if v), Fraction(0))  # zeros skipped: sparse rows are common
    if total != 1:
        raise InvalidMDP(f"{where}: probabilities must sum to 1, they sum to {total}")
