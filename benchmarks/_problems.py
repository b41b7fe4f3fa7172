"""Shared pieces of the benchmarks: the S=50, A=5, H=50 MDP and a fair timer."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from derive.mdp import FiniteMDP


def random_mdp(S: int = 50, A: int = 5, H: int = 50, *, seed: int = 0) -> FiniteMDP:
    """Random dense tables (every row has mass on state 0), γ = 0.99, built exactly."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(0, 5, (S, A, S))
    weights[..., 0] += 1
    totals = weights.sum(axis=2)
    transitions = [[[Fraction(int(w), int(totals[s, a])) for w in weights[s, a]] for a in range(A)] for s in range(S)]
    rewards = rng.integers(-3, 4, (S, A)).tolist()
    return FiniteMDP.from_tables([Fraction(1, S)] * S, transitions, rewards, horizon=H, discount=Fraction(99, 100),
                                 name=f"random S={S} A={A} H={H}")


def _calls_for(fn, seconds: float) -> int:
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - t
        if elapsed >= seconds / 10:
            return max(1, int(n * seconds / elapsed))
        n *= 2


def interleaved_medians(fns: dict, *, rounds: int = 9, seconds: float = 0.15) -> dict:
    """Median seconds per call of each function, timed in alternating rounds so load hits all alike."""
    counts = {name: _calls_for(fn, seconds) for name, fn in fns.items()}
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n = counts[name]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - t) / n)
    return {name: float(np.median(v)) for name, v in times.items()}


class FloatMDP:
    """The float64 view of a large random MDP, for the DP routes only (exact tables of S = 2000 would take hours)."""

    def __init__(self, S: int, A: int, H: int, *, seed: int = 0):
        rng = np.random.default_rng(seed)
        weights = rng.integers(0, 5, (S, A, S)).astype(float)
        weights[..., 0] += 1
        P = weights / weights.sum(axis=2, keepdims=True)
        r = np.broadcast_to(rng.integers(-3, 4, (S, A)).astype(float)[:, :, None], (S, A, S))
        self._arrays = (np.full(S, 1.0 / S), P, r)
        self.n_states, self.n_actions, self.horizon = S, A, H
        self.discount = Fraction(99, 100)

    def arrays(self):
        return self._arrays

    def describe(self) -> str:
        return f"random S={self.n_states} A={self.n_actions} H={self.horizon} (float64 tables)"
