"""Seeded, vectorised trajectory sampling and Monte-Carlo policy-gradient estimators.

One step draws (a_t, s_{t+1}) jointly from π(a|s_t)P(s'|s_t,a) with a per-state alias
table over the positive outcomes only: one uniform, two gathers and a compare per
trajectory-step. Trajectories are sampled in chunks, so memory is bounded by the chunk
size, not by the number of samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from .display import Displayed
from .errors import UserError
from .mdp import FiniteMDP
from .policies import DirectPolicy, TabularSoftmax

__all__ = [
    "ESTIMATORS",
    "BIASED_ESTIMATORS",
    "Batch",
    "Sampler",
    "Estimate",
    "sample",
    "estimate_gradient",
    "per_trajectory_gradients",
    "step_weights",
    "group_gradients",
    "BATCH_MEANS",
]

ESTIMATORS = ("reinforce", "reward-to-go", "baseline")
# Deliberately wrong variants, kept to show that the statistical test has power.
BIASED_ESTIMATORS = ("wrong-sign", "dropped-term", "shifted-rewards")
MIN_CHUNK = 16  # trajectories per chunk at the longest horizons: a chunk's memory is MIN_CHUNK × (H+2) cells
LONG_CHUNK_CELLS = 1 << 23  # trajectory-steps per chunk at long horizons (~27 bytes each measured: ~230 MB)
_FULL_COVARIANCE_MAX = 64  # parameters up to which the sample covariance matrix is kept


@dataclass(frozen=True)
class Batch:
    """A chunk of m trajectories: states [m, H+2], actions [m, H+1], rewards [m, H+1]."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray

    @property
    def size(self) -> int:
        return int(self.actions.shape[0])


def _alias(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table for one distribution: (keep probability, alias slot) per slot."""
    n = probs.size
    scaled = probs * n / probs.sum()
    keep = np.ones(n)
    alias = np.arange(n)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        lo, hi = small.pop(), large.pop()
        keep[lo] = scaled[lo]
        alias[lo] = hi
        scaled[hi] -= 1.0 - scaled[lo]
        (small if scaled[hi] < 1.0 else large).append(hi)
    return keep, alias  # leftovers keep themselves (probability 1 up to rounding)


class Sampler:
    """Alias tables for μ and for the joint step (a, s') | s under π_θ; draws chunks of trajectories."""

    def __init__(self, mdp: FiniteMDP, policy, theta: Sequence):
        mu, P, r = mdp.arrays()
        pi = policy.float_probabilities(np.asarray(theta, dtype=float))
        if not np.all(np.isfinite(pi)) or np.any(pi < 0):
            raise UserError("theta: the policy's probabilities are not a distribution at this θ")
        S, A = mdp.n_states, mdp.n_actions
        self.S, self.A, self.T = S, A, mdp.horizon + 1
        self.gamma = float(mdp.discount)
        joint = (pi[:, :, None] * P).reshape(S, A * S)  # q(a, s' | s)
        outcomes = [np.flatnonzero(joint[s] > 0) for s in range(S)]
        n = max(len(o) for o in outcomes)
        self.width = n
        keep = np.zeros(S * n)
        alias = np.zeros(S * n, dtype=np.int32)
        nxt = np.zeros(S * n, dtype=np.int32)
        sa = np.zeros(S * n, dtype=np.int32)
        rew = np.zeros(S * n)
        for s, o in enumerate(outcomes):
            q = np.zeros(n)
            q[:len(o)] = joint[s, o]
            k, al = _alias(q)
            keep[s * n:(s + 1) * n] = k
            alias[s * n:(s + 1) * n] = s * n + al
            a_of, s2_of = np.divmod(o, S)
            nxt[s * n:s * n + len(o)] = s2_of
            sa[s * n:s * n + len(o)] = s * A + a_of
            rew[s * n:s * n + len(o)] = r[s, a_of, s2_of]
            nxt[s * n + len(o):(s + 1) * n] = s  # padding slots are never kept (probability 0)
            sa[s * n + len(o):(s + 1) * n] = s * A
        self.keep, self.alias = keep, alias
        self.next_base = (nxt * n).astype(np.int32)  # next state's first slot
        self.next_state, self.pair, self.reward = nxt, sa, rew
        self.mu_keep, self.mu_alias = _alias(mu)
        self._reward_tables(mdp)

    def _reward_tables(self, mdp: FiniteMDP) -> None:
        """Alias tables per (s, a) over P(r|s,a), when rewards are random."""
        self.noisy = bool(mdp.reward_distribution)
        if not self.noisy:
            return
        rows = [pairs for row in mdp.reward_distribution for pairs in row]  # index s·A + a
        n = max(len(r) for r in rows)
        self.r_width = n
        self.r_keep = np.zeros(len(rows) * n)
        self.r_value = np.zeros(len(rows) * n)
        self.r_alias = np.zeros(len(rows) * n, dtype=np.int64)
        for i, pairs in enumerate(rows):
            q = np.zeros(n)
            q[:len(pairs)] = [float(p) for _, p in pairs]
            k, al = _alias(q)
            self.r_keep[i * n:(i + 1) * n] = k
            self.r_alias[i * n:(i + 1) * n] = i * n + al
            self.r_value[i * n:i * n + len(pairs)] = [float(r) for r, _ in pairs]

    def rewards(self, rng: np.random.Generator, slots: np.ndarray) -> np.ndarray:
        """r_t for drawn slots: r(s,a,s') from the table, or a draw from P(r|s,a) when rewards are random."""
        if not self.noisy:
            return self.reward[slots]
        n = self.r_width
        x = rng.random(slots.shape) * n
        j = x.astype(np.int64)
        i = self.pair[slots].astype(np.int64) * n + j
        return self.r_value[np.where(x - j < self.r_keep[i], i, self.r_alias[i])]

    def draw(self, rng: np.random.Generator, m: int) -> np.ndarray:
        """Slot indices [H+1, m]: slot o encodes (s_t, a_t, s_{t+1}, r_t) through the tables."""
        n = self.width
        u = rng.random(m) * self.S
        j = u.astype(np.int32)
        s0 = np.where(u - j < self.mu_keep[j], j, self.mu_alias[j]).astype(np.int32)
        self._s0 = s0
        base = s0 * np.int32(n)
        out = np.empty((self.T, m), dtype=np.int32)
        keep, alias, next_base = self.keep, self.alias, self.next_base
        x = np.empty(m)
        jj = np.empty(m, dtype=np.int32)
        for t in range(self.T):
            rng.random(out=x)
            x *= n
            np.copyto(jj, x, casting="unsafe")  # floor, as x >= 0
            x -= jj
            jj += base
            o = np.where(x < keep[jj], jj, alias[jj])
            out[t] = o
            base = next_base[o]
        return out

    def batch(self, rng: np.random.Generator, m: int) -> Batch:
        """m trajectories as states, actions and rewards."""
        slots = self.draw(rng, m)
        states = np.empty((m, self.T + 1), dtype=np.int32)
        states[:, 0] = self._s0
        states[:, 1:] = self.next_state[slots].T
        actions = (self.pair[slots].T % self.A).astype(np.int32)
        return Batch(states, actions, self.rewards(rng, slots).T.copy())


def _chunks(samples: int, chunk: int) -> Iterator[int]:
    full, rest = divmod(samples, chunk)
    yield from [chunk] * full
    if rest:
        yield rest


def default_chunk(mdp: FiniteMDP, n_params: int) -> int:
    """Trajectories per chunk so that a chunk's arrays stay near 32 MB; past H ≈ 32,000, LONG_CHUNK_CELLS
    trajectory-steps (at least MIN_CHUNK trajectories), so that memory grows as O(H), never as H × 256."""
    width = max(mdp.horizon + 1, mdp.n_states * mdp.n_actions, n_params)
    floor = max(MIN_CHUNK, min(256, LONG_CHUNK_CELLS // width))
    return int(np.clip((32 << 20) // (16 * width), floor, 65536))


def sample(mdp: FiniteMDP, policy, theta: Sequence, *, samples: int, seed: int = 0,
           chunk_size: int | None = None) -> Iterator[Batch]:
    """Yield batches of trajectories, seeded and reproducible for a given seed and chunk size."""
    sampler = Sampler(mdp, policy, theta)
    rng = np.random.default_rng(seed)
    chunk = chunk_size or default_chunk(mdp, policy.n_params)
    for m in _chunks(samples, chunk):
        yield sampler.batch(rng, m)


# -- estimators ------------------------------------------------------------------------------


def step_weights(estimator: str, rewards: np.ndarray, gamma: float, baseline=None, states=None) -> np.ndarray:
    """w[i, t] such that ĝ_i = Σ_t w[i, t] ∇log π(a_t|s_t) for the named estimator."""
    m, T = rewards.shape
    disc = gamma ** np.arange(T)
    r = rewards * disc  # γ^t r_t
    if estimator in ("reinforce", "wrong-sign", "dropped-term"):
        w = np.repeat(r.sum(axis=1, keepdims=True), T, axis=1)  # R(τ) for every t, as in seed 000
        if estimator == "wrong-sign":
            w = -w
        elif estimator == "dropped-term":
            w[:, 0] = 0.0  # the t = 0 score term left out
        return w
    to_go = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]  # Σ_{t' >= t} γ^{t'} r_{t'}
    if estimator == "reward-to-go":
        return to_go
    if estimator == "shifted-rewards":
        return to_go - r  # rewards shifted one step: r_t no longer credited to a_t
    if estimator == "baseline":
        # b_t(s_t) = γ^t V_t(s_t), exact from the model: action-independent, so unbiased.
        return to_go - disc[None, :] * baseline[np.arange(T)[None, :], states[:, :T]]
    raise UserError(f"estimator: expected one of {', '.join(ESTIMATORS + BIASED_ESTIMATORS)}, got {estimator!r}")


def per_trajectory_gradients(policy, theta: np.ndarray, batch: Batch, weights: np.ndarray) -> np.ndarray:
    """ĝ_i = Σ_t w[i,t] ∇log π(a_t|s_t) for every trajectory of the batch: [m, K]."""
    T = batch.actions.shape[1]
    pair = batch.states[:, :T].astype(np.int64) * policy.n_actions + batch.actions
    return group_gradients(policy, theta, pair, weights, np.arange(batch.size), batch.size)


def group_gradients(policy, theta: np.ndarray, pair: np.ndarray, weights: np.ndarray,
                    group: np.ndarray, n_groups: int) -> np.ndarray:
    """Σ over the trajectories of each group of Σ_t w[i,t] ∇log π at pair[i,t] = s_t·A + a_t: [n_groups, K]."""
    S, A = policy.n_states, policy.n_actions
    key = group[:, None].astype(np.int64) * (S * A) + pair
    W = np.bincount(key.ravel(order="F"), weights=weights.ravel(order="F"), minlength=n_groups * S * A)
    W = W.reshape(n_groups, S * A)
    if isinstance(policy, TabularSoftmax):
        # Score e_{(s,a)} − π(·|s) on state s: ĝ = W − (Σ_a W[s,a]) π(·|s).
        pi = policy.float_probabilities(theta)
        W3 = W.reshape(n_groups, S, A)
        return (W3 - W3.sum(axis=2, keepdims=True) * pi[None]).reshape(n_groups, S * A)
    if isinstance(policy, DirectPolicy):
        th = np.asarray(theta, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(W != 0, W / th[None, :], 0.0)  # π = 0 is never sampled
    return W @ policy.float_scores(theta).reshape(S * A, -1)


@dataclass(frozen=True)
class Estimate(Displayed):
    """Mean of ĝ over m trajectories, its standard errors and (K <= 64) the covariance of the mean.

    ``dof`` is None when the errors come from per-trajectory moments (normal reference) and
    B − 1 when they come from B batch means (Student t reference).
    """

    estimator: str
    samples: int
    mean: np.ndarray
    stderr: np.ndarray
    covariance: np.ndarray | None
    steps: int
    dof: int | None = None
    batch_means: np.ndarray | None = None  # [B, K] independent batch estimates, with ``batches=B``
    informed: np.ndarray | None = None     # [S] bool: states visited with a nonzero reward to follow


class _Moments:
    """Running mean and centred second moments, merged chunk by chunk (Chan et al.)."""

    def __init__(self, k: int, full: bool):
        self.n, self.mean = 0, np.zeros(k)
        self.m2 = np.zeros((k, k)) if full else np.zeros(k)

    def add(self, g: np.ndarray) -> None:
        m = g.shape[0]
        mean = g.mean(axis=0)
        dev = g - mean
        m2 = dev.T @ dev if self.m2.ndim == 2 else np.einsum("ij,ij->j", dev, dev)
        delta = mean - self.mean
        n = self.n + m
        corr = np.outer(delta, delta) if self.m2.ndim == 2 else delta * delta
        self.m2 = self.m2 + m2 + corr * (self.n * m / n)
        self.mean = self.mean + delta * (m / n)
        self.n = n


BATCH_MEANS = 100  # batches used for the standard errors when θ has more than 64 parameters


def estimate_gradient(mdp: FiniteMDP, policy, theta: Sequence, *, samples: int = 100_000, seed: int = 0,
                      estimator: str = "reinforce", chunk_size: int | None = None, batches: int | None = None,
                      progress: Callable[[int, int], None] | None = None, track_informed: bool = False) -> Estimate:
    """Monte-Carlo ∇J from ``samples`` trajectories with the named estimator, plus standard errors.

    Errors come from per-trajectory moments, or with ``batches=B`` (the default past 64
    parameters) from B equal batch means, which costs O(steps) instead of O(m·K).
    """
    if estimator not in ESTIMATORS + BIASED_ESTIMATORS:
        raise UserError(f"estimator: expected one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise UserError(f"samples: expected an integer >= 2, got {samples!r}")
    th = np.asarray([float(x) for x in theta])
    if th.size != policy.n_params:
        raise UserError(f"theta: expected {policy.n_params} values for {policy.describe()}, got {th.size}")
    K = policy.n_params
    if batches is None and K > _FULL_COVARIANCE_MAX and samples >= 2 * BATCH_MEANS:
        batches = BATCH_MEANS
    if batches is not None and not 2 <= batches <= samples:
        raise UserError(f"batches: expected 2 <= B <= samples, got {batches!r}")
    baseline = None
    if estimator == "baseline":
        from .exact import DynamicProgram  # the model's values V_t(s) as the baseline

        baseline = DynamicProgram(mdp, policy).state_values(th)
    sampler = Sampler(mdp, policy, th)
    rng = np.random.default_rng(seed)
    gamma, A, T = float(mdp.discount), mdp.n_actions, mdp.horizon + 1
    chunk = chunk_size or default_chunk(mdp, K)
    samples = int(samples)
    if batches:
        size = samples // batches  # trajectories per batch; the remainder is not drawn
        chunk = max(size, chunk - chunk % size)
        samples = size * batches
        totals = np.zeros((batches, K))
    moments = _Moments(K, full=K <= _FULL_COVARIANCE_MAX)
    informed = np.zeros(mdp.n_states, dtype=bool) if track_informed else None
    done = 0
    for m in _chunks(samples, chunk):
        slots = sampler.draw(rng, m)  # [T, m]
        pair = sampler.pair[slots].T  # [m, T] views in F order
        rewards = sampler.rewards(rng, slots).T
        states = pair // A if estimator == "baseline" else None
        w = step_weights(estimator, rewards, gamma, baseline, states)
        if informed is not None:
            from .stats import reached_before_reward

            informed |= reached_before_reward(pair // A, rewards, mdp.n_states)
        if batches:
            first = done // size
            group = np.arange(m) // size
            totals[first:first + (m // size)] += group_gradients(policy, th, pair, w, group, m // size)
        else:
            moments.add(group_gradients(policy, th, pair, w, np.arange(m), m))
        done += m
        if progress:
            progress(done, samples)
    if batches:
        means = totals / size
        cov = np.cov(means, rowvar=False).reshape(K, K) / batches
        mean, var = means.mean(axis=0), np.diag(cov).copy()
        return Estimate(estimator, samples, mean, np.sqrt(np.maximum(var, 0.0)),
                        cov if K <= _FULL_COVARIANCE_MAX else None, samples * T, batches - 1, means, informed)
    n = moments.n
    if moments.m2.ndim == 2:
        cov = moments.m2 / (n - 1) / n
        var = np.diag(cov).copy()
    else:
        cov, var = None, moments.m2 / (n - 1) / n
    return Estimate(estimator, n, moments.mean, np.sqrt(np.maximum(var, 0.0)), cov, n * T, informed=informed)
