"""Gradient-check a training loss ``loss_fn(policy, batch)`` against the exact ∇J of finite MDPs.

derive builds the policy as a PyTorch or JAX module whose parameters are θ, collects
rollouts with derive's sampler in Gymnasium's layout, calls the loss on a fresh,
independent batch B times and takes g_b = −∇_θ loss_b by the framework's autograd. The
B gradients are independent draws, so their mean and covariance are honest (rows within
one batch are never treated as independent). On each MDP derive tests:

* the *scaled* hypothesis E[g] = c ∇J for some c: c by generalised least squares in the
  metric of the estimated covariance, the residual by χ² with rank − 1 degrees of freedom
  (an estimator merely correlated with ∇J leaves a residual off ∇J's direction);
* the sign of c (one-sided z-tests), and c = 1 (the χ² test of ``derive.stats``).

Across the MDPs, c_i = k·ρ_i for one constant k and one plain-scale rule ρ (1, N, 1/T, ...):
the homogeneity test of ``derive.loss_scale``; a c that moves with the MDP is a bias along ∇J.
Each family is Holm-corrected across the MDPs. Verdicts: "unbiased", "unbiased up to a
positive constant c", "points the wrong way" (c < 0), "biased", or "undecided" (too
little power to tell c from 0; never a pass).
"""

from __future__ import annotations

import json
import re
import math
import random
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import mpmath
import numpy as np

from .display import Displayed
from .errors import UserError
from .exact import DynamicProgram
from .loss_scale import ScaleFit, farthest_pair, leave_one_out, rule_text, scale_fit
from .mdp import FiniteMDP
from .policies import LinearSoftmax, TabularSoftmax
from .sampling import Sampler
from .stats import DEFAULT_ALPHA, chi2_sf, holm

__all__ = [
    "LossProblem", "Rollouts", "LossBatch", "MDPLossResult", "LossResult", "check_loss", "assert_loss",
    "loss_battery", "loss_candidates", "collect", "format_loss_result", "FRAMEWORKS", "LAYOUTS",
    "DEFAULT_BATCHES", "VERDICTS", "PlainScale", "plain_scales", "episodes_kept", "second_path",
]

FRAMEWORKS = ("torch", "jax")
LAYOUTS = ("vector", "episodes")
VERDICTS = ("unbiased", "unbiased up to a positive constant", "points the wrong way", "biased", "undecided")
DEFAULT_BATCHES = 400  # independent loss_fn calls (gradient samples) per MDP
_MAX_CELLS = 20_000_000  # batches × steps × envs × observation width collected at once (~160 MB)


# -- problems --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LossProblem:
    """An MDP with its terminal states, a softmax policy (tabular or linear) and θ."""

    mdp: FiniteMDP
    policy: object
    theta: np.ndarray
    terminal: tuple  # terminal[s]: entering s ends the episode (terminated = True)
    name: str = ""

    @property
    def size(self) -> tuple:
        return (self.mdp.n_states, self.mdp.n_actions, self.mdp.horizon)

    def to_mdpfile(self) -> dict:
        """The problem as an MDP file (``derive.mdpfile``): replay it with ``--mdp FILE``."""
        d = self.mdp.to_dict()
        d["terminal"] = [s for s, t in enumerate(self.terminal) if t]
        if isinstance(self.policy, LinearSoftmax):
            d["policy"] = {"kind": "linear-softmax", "features": [[[_number_text(v) for v in phi] for phi in row]
                                                                 for row in self.policy.features]}
        else:
            d["policy"] = {"kind": "tabular-softmax"}
        d["theta"] = [float(x) for x in self.theta]
        return d


def terminal_states(mdp: FiniteMDP) -> tuple:
    """States that are absorbing and pay nothing under every action: reaching one ends the episode.

    This is how an MDP file's ``terminal`` list is stored, and it changes no return: after
    such a state every reward is 0, so ending the episode there leaves J as it is.
    """
    def pays_nothing(s, a):
        if mdp.reward_distribution:
            return all(r == 0 for r, p in mdp.reward_distribution[s][a] if p)
        return not any(mdp.rewards[s][a])

    return tuple(all(mdp.transitions[s][a][s] == 1 and pays_nothing(s, a) for a in range(mdp.n_actions))
                 for s in range(mdp.n_states))


def _problem(item, i: int) -> LossProblem:
    if isinstance(item, LossProblem):
        return item
    from .gradcheck import _as_problem

    mdp, policy, th = _as_problem(item)
    if not isinstance(policy, (TabularSoftmax, LinearSoftmax)):
        raise UserError(f"mdps[{i}]: a loss is checked with a tabular or linear softmax policy, got {policy.describe()}")
    return LossProblem(mdp, policy, th, terminal_states(mdp), mdp.name or f"mdp #{i + 1}")


def _number_text(v):
    """An exact number as MDP files write it: an int, or a string like "1/3"."""
    v = Fraction(v)
    return int(v) if v.denominator == 1 else str(v)


def _random_problem(rng: random.Random, S: int, A: int, H: int, gamma, *, n_terminal: int = 0,
                    features: int = 0, name: str = "") -> LossProblem:
    """Full-support tables on the live states, the last ``n_terminal`` states terminal; rewards in [-1, 2]."""
    def dist(n, extra=0):
        w = [rng.randint(1, 4) for _ in range(n)] + [0] * extra
        return [Fraction(x, sum(w)) for x in w]

    live = S - n_terminal
    mu = dist(live, n_terminal)
    tr, rw = [], []
    for s in range(S):
        if s >= live:  # terminal: absorbing, pays nothing
            tr.append([[Fraction(int(s2 == s)) for s2 in range(S)] for _ in range(A)])
            rw.append([[Fraction(0)] * S for _ in range(A)])
            continue
        tr.append([dist(S) for _ in range(A)])
        rw.append([[Fraction(rng.randint(-2, 4), 2) for _ in range(S)] for _ in range(A)])
    mdp = FiniteMDP.from_tables(mu, tr, rw, horizon=H, discount=gamma, name=name or f"random S={S} A={A} H={H}")
    if features:
        # φ(s, a) = e_a ⊗ x(s) with integer x(s): logits = W x(s), θ = W row-major [A, d].
        x = [[rng.choice((-1, 0, 1, 2)) for _ in range(features)] for _ in range(S)]
        feats = tuple(tuple(tuple(x[s][j] if k == a else 0 for k in range(A) for j in range(features))
                            for a in range(A)) for s in range(S))
        policy = LinearSoftmax(feats)
    else:
        policy = TabularSoftmax(S, A)
    theta = np.array([rng.choice((-1.0, -0.5, 0.5, 1.0)) for _ in range(policy.n_params)])
    return LossProblem(mdp, policy, theta, terminal_states(mdp), mdp.name)


def _persistent_problem(rng: random.Random, A: int, m: int, H: int, gamma, *, name: str = "") -> LossProblem:
    """A hub whose action picks one of A regions for the rest of the episode; the last state terminal.

    Each episode starts at the hub (state 0). Action a moves into region a (m states), which
    the episode never leaves: inside it the moves are random, each step ends the episode with
    probability 1/16, and rewards are the region's own level ± 1/4 (levels −3/4, 1/2, 7/4, so
    rewards stay in [−1, 2]). The first action's consequences therefore last the whole episode.
    On random full-support tables they fade within a step or two, so that a return cut after
    n steps differs from the true one by little more than a baseline would.
    """
    S = 1 + A * m + 1
    end = S - 1
    levels = rng.sample([Fraction(-3, 4), Fraction(1, 2), Fraction(7, 4)], A)

    def region(k):
        return range(1 + k * m, 1 + (k + 1) * m)

    def moves(dest, stay):
        w = {d: rng.randint(1, 4) for d in dest}
        row = [Fraction(0)] * S
        for d, x in w.items():
            row[d] = stay * Fraction(x, sum(w.values()))
        row[end] += 1 - stay
        return row

    mu = [Fraction(int(s == 0)) for s in range(S)]
    tr, rw = [], []
    for s in range(S):
        if s == end:  # terminal: absorbing, pays nothing
            tr.append([[Fraction(int(s2 == s)) for s2 in range(S)] for _ in range(A)])
            rw.append([[Fraction(0)] * S for _ in range(A)])
        elif s == 0:
            tr.append([moves(region(a), Fraction(1)) for a in range(A)])
            rw.append([[Fraction(rng.randint(-2, 4), 2) for _ in range(S)] for _ in range(A)])
        else:
            k = (s - 1) // m
            tr.append([moves(region(k), Fraction(15, 16)) for _ in range(A)])
            rw.append([[levels[k] + Fraction(rng.randint(-1, 1), 4) for _ in range(S)] for _ in range(A)])
    mdp = FiniteMDP.from_tables(mu, tr, rw, horizon=H, discount=gamma, name=name or f"persistent S={S} A={A} H={H}")
    policy = TabularSoftmax(S, A)
    theta = np.array([rng.choice((-1.0, -0.5, 0.5, 1.0)) for _ in range(policy.n_params)])
    return LossProblem(mdp, policy, theta, terminal_states(mdp), mdp.name)


# The battery's shapes; sizes, γ, tables and θ are drawn from the seed. A bandit; a long
# episode with γ <= 1/2; a wide MDP that often hits the time limit; an undiscounted one whose
# first action decides the rest of a long episode (so a return cut short is caught); a linear
# softmax over features. Every non-bandit MDP has a terminal state.
_GAMMAS_LOW = (Fraction(1, 2), Fraction(2, 5), Fraction(1, 3))
_GAMMAS_MID = (Fraction(9, 10), Fraction(3, 4), Fraction(19, 20))


def _battery_makers(rng: random.Random) -> list:
    """The five battery MDPs, each as a function drawing one from ``rng`` (redrawn while ∇J is near 0)."""
    shapes = [(1, rng.randint(2, 4), 0, Fraction(1), 0, 0),
              (rng.randint(4, 6), rng.randint(3, 4), rng.randint(8, 10), rng.choice(_GAMMAS_LOW), 1, 0),
              (rng.randint(5, 6), 4, rng.randint(3, 5), rng.choice(_GAMMAS_MID), 1, 0),
              None,
              (rng.randint(3, 4), 3, rng.randint(2, 6), rng.choice((Fraction(1), Fraction(4, 5), Fraction(1, 2))), 1, 2)]
    A4, m4, H4 = rng.randint(2, 3), rng.randint(1, 2), rng.randint(10, 12)
    makers = []
    for i, shape in enumerate(shapes):
        name = f"battery #{i + 1}"
        if shape is None:
            makers.append(lambda name=name: _persistent_problem(rng, A4, m4, H4, Fraction(1), name=name))
        else:
            S, A, H, g, nt, f = shape
            makers.append(lambda S=S, A=A, H=H, g=g, nt=nt, f=f, name=name:
                          _random_problem(rng, S, A, H, g, n_terminal=nt, features=f, name=name))
    return makers


def _non_degenerate(make, *, attempts: int = 200) -> LossProblem:
    """Redraw until ∇J is well away from 0: max |∂J/∂θ_k| >= 0.05 max |r| (a bandit with equal rewards has ∇J = 0)."""
    for _ in range(attempts):
        p = make()
        _, g = DynamicProgram(p.mdp, p.policy).value_and_grad(p.theta)
        rmax = max(abs(float(r)) for row in p.mdp.rewards for a in row for r in a)
        if float(np.max(np.abs(np.asarray(g, dtype=float)))) >= 0.05 * rmax > 0:
            return p
    raise AssertionError("no non-degenerate MDP in 200 draws")  # derive's own failure, never the user's


def _rare_context_bandit(rng: random.Random, A: int, *, name: str = "") -> LossProblem:
    """A contextual bandit whose second context is rare (μ = [31/32, 1/32]): about 2 visits in a batch of 64.

    A statistic of the batch taken per state (a state-mean baseline with the slot's own return
    in it, a per-state normalisation) shrinks each state's gradient by a factor that depends on
    that state's visit count n_s (1 − 1/n_s for the own-slot mean). On states visited often the
    factor is about the same everywhere and reads as one constant; on a rare state it is far
    from the others', so the bias shows in the direction of the gradient. The rare context's
    rewards differ across actions, so its part of ∇J is not 0.
    """
    while True:
        rw = [[[Fraction(rng.randint(-2, 4), 2)] * 2 for _ in range(A)] for _ in range(2)]
        if len({row[0] for row in rw[1]}) > 1:
            break
    tr = [[[Fraction(1, 2), Fraction(1, 2)] for _ in range(A)] for _ in range(2)]
    mdp = FiniteMDP.from_tables([Fraction(31, 32), Fraction(1, 32)], tr, rw, horizon=0, discount=Fraction(1),
                                name=name or f"rare-context bandit S=2 A={A} H=0")
    policy = TabularSoftmax(2, A)
    theta = np.array([rng.choice((-1.0, -0.5, 0.5, 1.0)) for _ in range(policy.n_params)])
    return LossProblem(mdp, policy, theta, terminal_states(mdp), mdp.name)


def _late_makers(seed: int) -> list:
    """Battery #6 and #7, drawn from their own stream so that #1–#5 of a seed stay as they were.

    #6: dense full-support tables, γ = 1, H ∈ 24..30 and no terminal state, so every episode
    reaches the late steps and an action there moves the rewards there: a loss that drops the
    steps after the first n (a buffer of n steps per episode) loses most of ∇J on it.
    #7: a bandit with a rare context (see ``_rare_context_bandit``).
    """
    rng = random.Random(f"derive loss battery {seed}: late steps, a rare context")
    S, A, H = rng.randint(4, 5), rng.randint(3, 4), rng.randint(24, 30)
    A7 = rng.randint(2, 4)
    return [lambda: _random_problem(rng, S, A, H, Fraction(1), name="battery #6"),
            lambda: _rare_context_bandit(rng, A7, name="battery #7")]


def loss_battery(*, seed: int = 0) -> list:
    """The default battery: seven MDPs whose sizes, γ, tables and θ are drawn from ``seed``, each with ∇J ≠ 0."""
    return [_non_degenerate(make) for make in _battery_makers(random.Random(seed)) + _late_makers(seed)]


_CANDIDATES = ((1, 2, 0, 0), (1, 2, 1, 0), (2, 2, 1, 1), (1, 2, 2, 0), (1, 3, 1, 0), (2, 2, 1, 0), (2, 2, 2, 0),
               (2, 3, 1, 0), (3, 2, 2, 1), (2, 2, 4, 1), (3, 3, 3, 1), (3, 2, 6, 1))


def loss_candidates(*, seed: int = 0) -> list:
    """Small MDPs in order of size (S·A, then H), γ = 1/2, each with ∇J ≠ 0, for the smallest-counterexample search."""
    rng = random.Random(10_000 + seed)
    return [_non_degenerate(lambda: _random_problem(rng, S, A, H, Fraction(1, 2), n_terminal=nt,
                                                    name=f"candidate S={S} A={A} H={H}"))
            for S, A, H, nt in _CANDIDATES]


# -- rollouts --------------------------------------------------------------------------------


@dataclass
class LossBatch:
    """One batch, as ``loss_fn(policy, batch)`` receives it (arrays of the chosen framework).

    Time-major: ``obs[t, n]`` is the observation the policy acted on at step t in env (or
    episode) n, ``actions[t, n]`` the action, ``rewards[t, n]`` the reward that step
    returned, ``terminated``/``truncated[t, n]`` the flags that step returned.
    """

    obs: object            # float64 [T, N, S] one-hot (tabular) or [T, N, A, K] features φ(s, ·) (linear)
    actions: object        # int64 [T, N]
    rewards: object        # float64 [T, N]
    terminated: object     # bool [T, N]
    truncated: object      # bool [T, N]
    last_obs: object       # [N, ...]: the observation the last step returned (vector layout; CleanRL's next_obs)
    mask: object           # bool [T, N]: a real step of an episode (episodes layout); all True in the vector layout
    lengths: object        # int64 [N]: episode lengths (episodes layout); None in the vector layout
    gamma: float
    horizon: int           # H: an episode has at most H + 1 steps (then it is truncated)
    layout: str

    @property
    def steps(self) -> int:
        return int(self.actions.shape[0])

    @property
    def n_envs(self) -> int:
        return int(self.actions.shape[1])


@dataclass(frozen=True)
class Rollouts:
    """B batches in NumPy, [B, T, N, ...]; the framework adapter turns batch b into a LossBatch."""

    states: np.ndarray      # int [B, T, N]
    actions: np.ndarray     # int64 [B, T, N]
    rewards: np.ndarray     # float64 [B, T, N]
    terminated: np.ndarray  # bool [B, T, N]
    truncated: np.ndarray   # bool [B, T, N]
    last_states: np.ndarray  # int [B, N]
    mask: np.ndarray        # bool [B, T, N]
    lengths: np.ndarray | None  # int64 [B, N]
    gamma: float
    horizon: int
    layout: str

    @property
    def n_batches(self) -> int:
        return int(self.actions.shape[0])


def _episodes(problem: LossProblem, rng: np.random.Generator, n: int):
    """n episodes: states [n, H+2], actions and rewards [n, H+1], length L and whether it terminated."""
    b = Sampler(problem.mdp, problem.policy, problem.theta).batch(rng, n)
    term = np.asarray(problem.terminal, dtype=bool)
    T = problem.mdp.horizon + 1
    hit = term[b.states[:, 1:]]  # hit[:, t]: s_{t+1} is terminal
    ended = hit.any(axis=1)
    L = np.where(ended, hit.argmax(axis=1) + 1, T)
    return b.states.astype(np.int64), b.actions.astype(np.int64), b.rewards, L, ended


def collect(problem: LossProblem, *, layout: str, n_batches: int, batch_envs: int, steps: int | None,
            rng: np.random.Generator) -> Rollouts:
    """Sample ``n_batches`` independent batches in the given layout (see docs/gradcheck.md)."""
    H = problem.mdp.horizon
    gamma = float(problem.mdp.discount)
    B, N = n_batches, batch_envs
    if layout == "episodes":
        T = H + 1
        s, a, r, L, ended = _episodes(problem, rng, B * N)
        t = np.arange(T)[None, :]
        mask = t < L[:, None]
        last = L - 1
        idx = np.arange(B * N)
        terminated = np.zeros((B * N, T), dtype=bool)
        truncated = np.zeros((B * N, T), dtype=bool)
        terminated[idx, last] = ended
        truncated[idx, last] = L == T  # the time limit, set even when that step also terminates (TimeLimit)
        # Past the end: the final observation repeated, action 0, reward 0, flags False, mask False.
        final = s[idx, L]
        states = np.where(mask, s[:, :T], final[:, None])
        actions = np.where(mask, a, 0)
        rewards = np.where(mask, r, 0.0)

        def tm(x):  # [B·N, T] -> [B, T, N]
            return np.ascontiguousarray(x.reshape(B, N, T).transpose(0, 2, 1))

        return Rollouts(tm(states), tm(actions), tm(rewards), tm(terminated), tm(truncated), final.reshape(B, N),
                        tm(mask), L.reshape(B, N).astype(np.int64), gamma, H, layout)
    # The vector layout: Gymnasium 1.x's default autoreset (NEXT_STEP) on every env.
    T = int(steps)
    M = B * N
    per_lane = T // 2 + 1  # an episode takes >= 2 slots (a step and the reset step), bar the last
    s, a, r, L, ended = _episodes(problem, rng, M * per_lane)
    pi = problem.policy.float_probabilities(problem.theta)
    cdf = np.cumsum(pi, axis=1)
    lane = np.arange(M)
    ep = lane * per_lane  # current episode of each lane, in the pool
    pos = np.zeros(M, dtype=np.int64)
    reset_next = np.zeros(M, dtype=bool)  # the previous step ended an episode: this step resets
    out_s = np.empty((T, M), dtype=np.int64)
    out_a = np.empty((T, M), dtype=np.int64)
    out_r = np.empty((T, M))
    out_term = np.zeros((T, M), dtype=bool)
    out_trunc = np.zeros((T, M), dtype=bool)
    u = rng.random((T, M))
    for t in range(T):
        cur = s[ep, pos]  # the observation the policy sees: the final one on a reset step
        out_s[t] = cur
        # On a reset step the env ignores the action; the policy still draws one at the final observation.
        drawn = np.minimum((u[t][:, None] > cdf[cur]).sum(axis=1), pi.shape[1] - 1)
        step = np.minimum(pos, H)  # pos = L <= H + 1 only on a reset step, where a and r are not used
        out_a[t] = np.where(reset_next, drawn, a[ep, step])
        out_r[t] = np.where(reset_next, 0.0, r[ep, step])
        live = ~reset_next
        pos_next = np.where(live, pos + 1, 0)
        ends = live & (pos_next == L[ep])
        out_term[t] = ends & ended[ep]
        out_trunc[t] = ends & (L[ep] == H + 1)  # as TimeLimit: also when that step terminates
        ep = np.where(reset_next, ep + 1, ep)
        pos = pos_next
        reset_next = ends
    last = s[ep, pos]

    def tm(x):  # [T, B·N] -> [B, T, N]
        return np.ascontiguousarray(x.reshape(T, B, N).transpose(1, 0, 2))

    return Rollouts(tm(out_s), tm(out_a), tm(out_r), tm(out_term), tm(out_trunc), last.reshape(B, N),
                    np.ones((B, T, N), dtype=bool), None, gamma, H, layout)


def observations(problem: LossProblem) -> np.ndarray:
    """The observation of each state: one-hot [S, S] (tabular) or the features φ(s, ·) [S, A, K] (linear)."""
    if isinstance(problem.policy, LinearSoftmax):
        return np.asarray(problem.policy.features, dtype=float)
    return np.eye(problem.mdp.n_states)


# -- the statistical test --------------------------------------------------------------------


@dataclass(frozen=True)
class MDPLossResult(Displayed):
    """The tests on one MDP: E[−∇loss] against c·∇J and against ∇J, from B independent batches."""

    name: str
    size: tuple
    gamma: float
    batches: int
    batch_envs: int
    steps: int
    exact: np.ndarray
    estimate: np.ndarray     # mean of −∇loss over the batches
    stderr: np.ndarray       # per component, from the batches
    c: float                 # GLS fit of E[−∇loss] = c ∇J
    c_stderr: float
    df: int                  # degrees of freedom of the scaled test (rank − 1)
    p_scaled: float          # H0: E[−∇loss] = c ∇J for some c
    p_unit: float            # H0: E[−∇loss] = ∇J
    p_positive: float        # one-sided, H0: c <= 0
    p_negative: float        # one-sided, H0: c >= 0
    p_known: float           # H0: c is one of the scales a plain sum or mean gives (1 when none is known)
    bias: float              # ‖ḡ − ĉ∇J‖ / ‖ĉ∇J‖: the part of the estimate off ∇J's direction
    cosine: float            # cos(ḡ, ∇J)
    detectable: float        # 80% power against a relative bias this size off ∇J's direction
    c_source: str = ""
    zero_gradient: bool = False  # ∇J = 0 on this MDP: only E[−∇loss] = 0 is tested
    c_zero: bool = False         # ∇J ≠ 0, yet every batch's −∇loss is 0 along ∇J (to rounding): c = 0 exactly
    scales: tuple = ()           # (rule, value) of the plain scales on this MDP (see plain_scales)
    p_known_adj: float = 1.0     # Holm across the MDPs; decides only when one MDP has a resolved c
    p_factor: float = 1.0        # H0: c/ρ here is the k of the other MDPs (leave-one-out); descriptive, not in the family
    p_scaled_adj: float = 1.0
    p_unit_adj: float = 1.0
    p_positive_adj: float = 1.0
    p_negative_adj: float = 1.0
    problem: LossProblem | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        S, A, H = self.size
        out = {k: getattr(self, k) for k in ("name", "gamma", "batches", "batch_envs", "steps", "c", "c_stderr", "df",
                                              "p_scaled", "p_unit", "p_positive", "p_negative", "p_known", "p_scaled_adj",
                                              "p_unit_adj", "p_positive_adj", "p_negative_adj", "p_known_adj", "p_factor", "bias",
                                              "cosine", "detectable", "c_source", "zero_gradient", "c_zero")}
        out = {k: (_json_number(v) if isinstance(v, float) else v) for k, v in out.items()}
        out.update(S=S, A=A, H=H, scales=[[rule, v] for rule, v in self.scales], exact=self.exact.tolist(), estimate=self.estimate.tolist(),
                   stderr=self.stderr.tolist())
        if self.problem is not None:
            out["mdp"] = self.problem.to_mdpfile()
        return out


@dataclass(frozen=True)
class LossResult(Displayed):
    """Overall verdict (one of VERDICTS), the per-MDP results and the smallest MDP where the bias shows."""

    verdict: str
    passed: bool
    alpha: float
    seed: int
    framework: str
    layout: str
    results: tuple
    minimal: MDPLossResult | None = None
    minimal_file: str | None = None
    reason: str = ""  # why, when the verdict rests on c (its sign, its value) rather than the direction
    p_one_rule: float = 1.0  # Holm-adjusted p of "c = k·ρ with one k on every MDP, for some plain-scale rule ρ"
    scale: ScaleFit | None = None  # that fit: the rule named, k, and the spread test
    pair: tuple = ()  # rejected across MDPs only: the two MDPs whose c/ρ differ most (no single MDP shows it)
    pair_p: float = 1.0  # χ²₁ p of that gap (descriptive)
    pair_files: tuple = ()  # where the pair was saved (save_minimal)
    scope: dict = field(default_factory=dict)  # what was tested: the MDPs' shapes, γ, rewards, batches, seed

    @property
    def p_value(self) -> float:
        """The p-value behind the verdict: of the scaled test (a pass), of the family's rejection (biased), of c >= 0 (wrong way)."""
        if self.verdict == "points the wrong way":
            return float(max(r.p_negative_adj for r in self.results))
        scaled = float(min(r.p_scaled_adj for r in self.results))
        if self.verdict == "biased":
            family = min(scaled, self.p_one_rule)
            if family <= self.alpha:  # the strongest rejection in the family: the direction, or c
                return float(family)
            if scaled > self.alpha:
                return float(min(r.p_unit_adj for r in self.results))  # through c's sign
        return scaled

    def __str__(self) -> str:
        return format_loss_result(self)

    def _repr_markdown_(self) -> str:
        head, *rest = format_loss_result(self).splitlines()
        return f"**{head}**\n\n```text\n" + "\n".join(rest) + "\n```\n"

    def _repr_latex_(self) -> str:
        head = format_loss_result(self).splitlines()[0]
        return r"$$\text{%s}$$" % re.sub(r"[_&%#$]", lambda m: "\\" + m[0], head).replace("α", r"} \alpha \text{")

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "passed": self.passed, "alpha": self.alpha, "seed": self.seed,
                "framework": self.framework, "layout": self.layout, "p_value": _json_number(self.p_value),
                "reason": self.reason, "p_one_rule": _json_number(self.p_one_rule),
                "scale": self.scale.to_dict() if self.scale is not None else None,
                "scope": self.scope, "mdps": [r.to_dict() for r in self.results],
                "minimal": self.minimal.to_dict() if self.minimal else None, "minimal_file": self.minimal_file,
                "pair": [r.to_dict() for r in self.pair], "pair_p": _json_number(self.pair_p),
                "pair_files": list(self.pair_files)}


def _json_number(v: float):
    """A float as JSON allows it: ±inf and nan become null."""
    return v if math.isfinite(v) else None


@lru_cache(maxsize=256)
def _lambda80(df: int, level: float) -> float:
    """Noncentrality λ at which a χ²_df test at ``level`` has 80% power (Poisson mixture, bisection)."""
    if df <= 0:
        return math.inf
    lo, hi = 0.0, 1.0
    crit_lo, crit_hi = 0.0, 1.0
    while chi2_sf(crit_hi, df) > level:
        crit_hi *= 2
    for _ in range(60):
        mid = (crit_lo + crit_hi) / 2
        crit_lo, crit_hi = (mid, crit_hi) if chi2_sf(mid, df) > level else (crit_lo, mid)
    crit = crit_hi

    def power(lam):
        half = lam / 2
        total, j, weight = 0.0, 0, math.exp(-half)
        while True:
            total += weight * float(mpmath.gammainc(df / 2 + j, crit / 2, mpmath.inf, regularized=True))
            j += 1
            weight *= half / j
            if j > half + 20 and weight < 1e-12:
                return total

    while power(hi) < 0.8:
        hi *= 2
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if power(mid) < 0.8 else (lo, mid)
    return hi


def _z_one_sided(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


_EPS = {"float64": 2.0 ** -53, "float32": 2.0 ** -24, "bfloat16": 2.0 ** -8, "float16": 2.0 ** -11}


def rounding_unit(dtype) -> float:
    """The unit roundoff of the loss's floating type (float64 when unknown)."""
    name = str(dtype).rsplit(".", 1)[-1]
    return _EPS.get(name, _EPS["float64"])


def _f_sf(x: float, d1: int, d2: int) -> float:
    """P(F(d1, d2) > x)."""
    if x <= 0:
        return 1.0
    if not math.isfinite(x):
        return 0.0
    z = d2 / (d2 + d1 * x)
    return float(mpmath.betainc(d2 / 2, d1 / 2, 0, z, regularized=True))


def _t_sf(t: float, df: int) -> float:
    """P(T_df > t), Student's t."""
    if not math.isfinite(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * float(mpmath.betainc(df / 2, 0.5, 0, df / (df + t * t), regularized=True))
    return tail if t > 0 else 1.0 - tail


def _hotelling_p(resid, w, B: int, dims: int) -> float:
    """Hotelling's T² of a mean residual in the eigenbasis of the sample covariance (rows' scale), F reference.

    ``dims`` is the rank r minus the number of fitted coefficients q; T²·(B − dims)/(dims·(B − 1))
    is F(dims, B − dims) exactly for Gaussian rows, at any B > dims.
    """
    if dims <= 0:
        return 1.0
    t2 = B * float(np.sum(resid ** 2 / w))
    return _f_sf(t2 * (B - dims) / (dims * (B - 1)), dims, B - dims)


def scaled_test(G: np.ndarray, exact: np.ndarray, *, alpha: float = DEFAULT_ALPHA, level: float | None = None,
                eps: float = _EPS["float64"], terms: int = 1, known: Sequence[float] = (),
                zero_gradient: bool = False) -> dict:
    """Tests of E[g] = c·∇J (some c), of c's sign, of c = 1 and of c ∈ ``known``, from B independent draws G [B, K].

    Scale-invariant: G is divided by its largest entry and ∇J by its own, so every tolerance is
    relative and the verdict does not move when the loss or the rewards are multiplied by a
    constant. Directions in which the rows do not vary beyond rounding (``terms``·``eps``, the
    error bound of a sum of ``terms`` products in the loss's arithmetic) are compared with that
    bound; the others with Hotelling's T² on the sample covariance (F reference).
    """
    B, K = G.shape
    G = np.asarray(G, dtype=float)
    exact = np.asarray(exact, dtype=float)
    gs = float(np.max(np.abs(G), initial=0.0))
    js = float(np.max(np.abs(exact), initial=0.0))
    if zero_gradient:
        js = 0.0
    gs = gs if gs > 0 else 1.0  # every gradient 0: nothing to standardise
    Gs = G / gs
    Js = exact / js if js > 0 else np.zeros(K)
    mean = Gs.mean(axis=0)
    S = np.cov(Gs, rowvar=False).reshape(K, K)  # covariance of one row, from independent batches
    w, U = np.linalg.eigh((S + S.T) / 2)
    tol = 16.0 * max(1, terms) * eps + 1e-13  # a row's rounding error, relative to the largest entry
    wmax = float(w.max(initial=0.0))
    keep = (w > tol ** 2) & (w > wmax * K * 1e-13)
    r = int(keep.sum())
    dg, dj = U.T @ mean, U.T @ Js
    wk = w[keep]
    off_j = dj[~keep]
    pinned = bool(np.any(np.abs(off_j) > 1e3 * tol))  # ∇J has a part where the rows do not vary
    info = float(np.sum(dj[keep] ** 2 / wk)) * B
    identified = js > 0 and (pinned or float(np.linalg.norm(dj[keep])) > 1e-9)
    if not identified:
        c_s, c_se_s, q = 0.0, math.inf, 0
    elif pinned:  # c is fixed by the noiseless directions, up to rounding
        c_s = float(dg[~keep] @ off_j / (off_j @ off_j))
        c_se_s, q = 0.0, 0  # not fitted on the noisy directions: all r of them stay in the test
    else:
        c_s = float(np.sum(dg[keep] * dj[keep] / wk) * B / info)
        c_se_s, q = 1.0 / math.sqrt(info), 1
    room = tol * (1.0 + abs(c_s))  # rounding allowed in a noiseless direction of ḡ − c∇J

    def p_fixed(cs: float, dims: int) -> float:
        resid = dg - cs * dj
        if np.any(np.abs(resid[~keep]) > room + tol * abs(cs)):
            return 0.0
        return _hotelling_p(resid[keep], wk, B, dims)

    df = max(0, r - q)
    p_scaled = p_fixed(c_s, df)
    ratio = gs / js if js > 0 else math.inf  # c in the original units = c_s · ratio
    p_unit = p_fixed(1.0 / ratio, r) if js > 0 else p_scaled
    p_known = max((p_fixed(v / ratio, r) for v in known), default=1.0) if js > 0 and known else 1.0
    if not identified:
        p_pos = p_neg = 1.0
    elif c_se_s == 0.0:
        p_pos, p_neg = (0.0, 1.0) if c_s > room else ((1.0, 0.0) if c_s < -room else (1.0, 1.0))
    else:
        dft = max(1, B - r)
        p_pos, p_neg = _t_sf(c_s / c_se_s, dft), _t_sf(-c_s / c_se_s, dft)
    c = c_s * ratio if identified else 0.0
    c_se = c_se_s * ratio if identified else math.inf
    # c pinned by noiseless directions and 0 there up to rounding: every draw is 0 along ∇J, exactly
    c_zero = bool(identified and c_se_s == 0.0 and abs(c_s) <= room)
    fit = c_s * Js
    denom = float(np.linalg.norm(fit))
    bias = float(np.linalg.norm(mean - fit)) / denom if denom > 0 else math.inf
    nm, nj = float(np.linalg.norm(mean)), float(np.linalg.norm(Js))
    cosine = float(mean @ Js) / (nm * nj) if nm > 0 and nj > 0 else 0.0
    # Power: a bias δ orthogonal (in Σ's metric) to ∇J has noncentrality B·δᵀS⁻¹δ >= B‖δ‖²/w_max;
    # the χ² λ at 80% power, inflated by (B − 1)/(B − df − 1) for the F reference's heavier tail.
    lam = _lambda80(df, level if level is not None else alpha)
    if denom > 0 and math.isfinite(lam) and r and B > df + 1:
        detectable = math.sqrt(lam * (B - 1) / (B - df - 1) * float(wk.max()) / B) / denom
    else:
        detectable = math.inf
    stderr = np.sqrt(np.maximum(np.diag(S), 0.0) / B) * gs
    return dict(estimate=mean * gs, stderr=stderr, c=c, c_stderr=c_se, df=df, p_scaled=float(p_scaled),
                p_unit=float(p_unit), p_known=float(p_known), p_positive=float(p_pos), p_negative=float(p_neg),
                bias=bias, cosine=cosine, detectable=detectable, c_zero=c_zero)


@dataclass(frozen=True)
class PlainScale:
    """A c that a plain sum or mean over the batch gives; ``rule`` names it the same on every MDP."""

    rule: str     # e.g. "1/T": the same rule must give c on every MDP of a run
    value: float
    text: str     # how the report names it


def episodes_kept(problem: LossProblem, T: int) -> float:
    """Vector layout: E[number of one env's episodes that begin at a slot <= T − (H+1)], exactly (floats).

    An episode of L steps takes L slots and the reset step one more, so episode starts form a
    renewal process: q[0] = 1, q[t] = Σ_l q[t − l − 1]·P(L = l). Those that begin by slot
    T − (H+1) always finish inside the window, and which they are does not depend on their own
    actions; each has mean Σ_t ∇log π · (return) = ∇J, so a loss over them has c ∝ this count.
    """
    H = problem.mdp.horizon
    mu, P, _ = problem.mdp.arrays()
    pi = problem.policy.float_probabilities(problem.theta)
    step = np.einsum("sa,sat->st", pi, np.asarray(P, dtype=float))
    term = np.asarray(problem.terminal, dtype=bool)
    x = np.asarray(mu, dtype=float)
    p_len = np.zeros(H + 2)  # p_len[l] = P(L = l), l = 1..H+1
    for t in range(H + 1):
        nxt = x @ step
        p_len[t + 1] = float(nxt[term].sum())
        x = np.where(term, 0.0, nxt)
    p_len[H + 1] += float(x.sum())
    last = T - (H + 1)
    if last < 0:
        return 0.0
    q = np.zeros(last + 1)
    q[0] = 1.0
    for t in range(1, last + 1):
        ls = np.arange(1, min(H + 1, t - 1) + 1)
        q[t] = float(q[t - ls - 1] @ p_len[ls])
    return float(q.sum())


def plain_scales(layout: str, N: int, T: int, kept: float = 1.0) -> tuple:
    """The c's a plain sum or mean gives (see docs/gradcheck.md): each episode's Σ_t ∇log π · (return) has mean ∇J.

    Episodes layout: a mean over the N episodes (1), a sum (N), a mean over the N·T slots (1/T).
    Vector layout: the same over each env's first episode, or over the ``kept`` = E[K]
    episodes per env that begin by slot T − (H+1) (K, N·K, K/T).
    """
    if layout == "episodes":
        return (PlainScale("1", 1.0, f"1: a mean over the {N} episodes"),
                PlainScale("N", float(N), f"N = {N}: a sum over the {N} episodes"),
                PlainScale("1/T", 1.0 / T, f"1/T = 1/{T}: a mean over the N·T = {N * T} slots"))
    first = (PlainScale("1", 1.0, f"1: a mean over the {N} envs of their first episodes"),
             PlainScale("N", float(N), f"N = {N}: a sum over the {N} envs' first episodes"),
             PlainScale("1/T", 1.0 / T, f"1/T = 1/{T}: a mean over the N·T = {N * T} slots of first episodes"))
    if kept <= 0:
        return first
    k = f"the K = {kept:.4g} episodes per env that begin by slot T − (H+1)"
    return first + (PlainScale("K", kept, f"K = {kept:.4g}: a mean over the {N} envs of {k}"),
                    PlainScale("N·K", N * kept, f"N·K = {N * kept:.4g}: a sum over the {N} envs of {k}"),
                    PlainScale("K/T", kept / T, f"K/T = {kept / T:.4g}: a mean over the N·T = {N * T} slots of {k}"))


def _c_source(c: float, c_se: float, scales: Sequence[PlainScale]) -> str:
    """Name the plain scale (or its negative) that c's 99.9% interval holds, if any."""
    if not math.isfinite(c_se):
        return "c undefined"
    width = 3.29 * c_se
    for sc in scales:
        if abs(c - sc.value) <= width:
            return sc.text
    for sc in scales:
        if abs(c + sc.value) <= width:
            return f"−({sc.text})"
    return "not a plain sum or mean over the batch"


# -- the check -------------------------------------------------------------------------------


def _adapter(framework: str, problem: LossProblem):
    if framework == "torch":
        try:
            from . import losscheck_torch
        except ImportError as exc:
            raise UserError(f"framework: torch is not installed ({exc}); pip install 'derive[torch]'") from None
        return losscheck_torch.Adapter(problem, observations(problem))
    if framework == "jax":
        try:
            from . import losscheck_jax
        except ImportError as exc:
            raise UserError(f"framework: jax is not installed ({exc}); pip install 'derive[jax]'") from None
        return losscheck_jax.Adapter(problem, observations(problem))
    raise UserError(f"framework: expected one of {', '.join(FRAMEWORKS)}, got {framework!r}")


def _int_option(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise UserError(f"{name}: expected an integer >= {low}, got {value!r}")
    return int(value)


class LossRaised(Exception):
    """The user's loss (or its backward pass) raised; ``original`` is that exception."""

    def __init__(self, original: BaseException):
        super().__init__(f"loss_fn raised {type(original).__name__}: {original}")
        self.original = original


MAX_STEPS = 50_000_000  # batches × batch_envs × steps sampled per MDP: a stated budget, refused past it
MAX_BATCHES = 1_000_000


def _gradients(loss_fn, problem: LossProblem, *, framework: str, layout: str, batches: int, batch_envs: int,
               steps: int, seed: int):
    """−∇_θ loss on ``batches`` fresh independent batches: [B, K], the loss's rounding unit, whether any grad reached θ."""
    adapter = _adapter(framework, problem)
    rng = np.random.default_rng(seed)
    width = observations(problem)[0].size
    per_batch = max(1, steps * batch_envs * (width + 8))
    chunk = max(1, min(batches, _MAX_CELLS // per_batch))
    out = []
    done = 0
    while done < batches:
        m = min(chunk, batches - done)
        roll = collect(problem, layout=layout, n_batches=m, batch_envs=batch_envs, steps=steps, rng=rng)
        out.append(adapter.gradients(loss_fn, roll))
        done += m
    G = np.concatenate(out)
    if not np.all(np.isfinite(G)):
        raise UserError("loss_fn: the gradient of the loss has a non-finite entry (nan, inf or an overflow)")
    return G, adapter.eps, adapter.reached


def _reward_scale(mdp: FiniteMDP) -> float:
    """max |r| × Σ_t γ^t: the scale of J, against which ∇J = 0 is judged."""
    rmax = max((abs(float(r)) for row in mdp.rewards for a in row for r in a), default=0.0)
    if mdp.reward_distribution:
        rmax = max([rmax] + [abs(float(r)) for row in mdp.reward_distribution for a in row for r, _ in a])
    g = float(mdp.discount)
    horizon = mdp.horizon + 1
    return rmax * (horizon if g == 1 else (1 - g ** horizon) / (1 - g))


def _exact_gradient(problem: LossProblem) -> tuple:
    """∇J (float) and whether it is 0 up to the DP's rounding, relative to the reward scale."""
    _, exact = DynamicProgram(problem.mdp, problem.policy).value_and_grad(problem.theta)
    exact = np.asarray(exact, dtype=float)
    scale = _reward_scale(problem.mdp)
    return exact, bool(float(np.max(np.abs(exact), initial=0.0)) <= 1e-12 * scale)


def _check_one(loss_fn, problem: LossProblem, *, framework, layout, batches, batch_envs, steps, seed, alpha,
               level=None) -> MDPLossResult:
    T = problem.mdp.horizon + 1 if layout == "episodes" else steps
    try:
        G, eps, reached = _gradients(loss_fn, problem, framework=framework, layout=layout, batches=batches,
                                     batch_envs=batch_envs, steps=T, seed=seed)
    except UserError as e:  # say on which MDP: a loss ÷ H is non-finite on the bandit only
        S, A, H = problem.size
        raise UserError(f"{e} (on {problem.name}: S={S}, A={A}, H={H}, γ={float(problem.mdp.discount):g})") from None
    exact, zero = _exact_gradient(problem)
    # refused where the rounding bound is a percent of the gradient (float16, bfloat16); float32 at the
    # battery's largest T·N = 31·64 is 0.2%: tested, with a bias below that bound in a noiseless direction unseen
    if 16.0 * T * batch_envs * eps > 1e-2:
        raise UserError(f"loss_fn: computed in a floating type with unit roundoff {eps:.2g}: the rounding of a sum of "
                        f"{T * batch_envs} terms (up to {16.0 * T * batch_envs * eps:.2g} relative) swamps the test; "
                        "compute the loss in float32 or float64")
    scales = plain_scales(layout, batch_envs, T, episodes_kept(problem, T) if layout == "vector" else 1.0)
    # ± each plain scale: an ascent loss (c = −1) "points the wrong way" only if its negation would pass
    known = tuple(sc.value for sc in scales) + tuple(-sc.value for sc in scales)
    t = scaled_test(G, exact, alpha=alpha, level=level, eps=eps, terms=T * batch_envs, known=known,
                    zero_gradient=zero)
    source = "∇J = 0 here: nothing to test" if zero else _c_source(t["c"], t["c_stderr"], scales)
    r = MDPLossResult(problem.name, problem.size, float(problem.mdp.discount), batches, batch_envs, T,
                      exact, c_source=source, problem=problem, zero_gradient=zero,
                      scales=tuple((sc.rule, sc.value) for sc in scales), **t)
    return r, reached


def _names(results) -> str:
    names = [r.name for r in results]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _verdict(results: Sequence[MDPLossResult], alpha: float, fit: ScaleFit | None, p_same: float = 1.0,
             layout: str = "episodes") -> tuple:
    """(verdict, reason). Every clause is a rejection on one MDP or across them, or a statement true of every MDP tested."""
    if min(r.p_scaled_adj for r in results) <= alpha:
        return "biased", ""
    live = [r for r in results if not r.zero_gradient]
    if not live:
        return "undecided", "∇J = 0 on every MDP: nothing to test"
    blind = [r for r in live if r.c_zero]
    if blind:  # no statistics needed: c = 0 is resolved exactly, and ∇J ≠ 0 there
        short = [r for r in blind if layout == "vector" and r.steps < r.size[2] + 2]
        why = ""
        if short:
            r0 = short[0]
            why = (f"; the window is shorter than an episode there (T = {r0.steps} slots, H + 2 = {r0.size[2] + 2}): "
                   "no episode that begins in it is sure to finish, so raise steps")
        return "biased", (f"E[−∇loss] = 0·∇J on {_names(blind)}, where ∇J ≠ 0: every one of the "
                          f"{blind[0].batches} batches gave a gradient of 0 along ∇J (to rounding), so c = 0 exactly, "
                          f"not > 0{why}")
    pos = [r.p_positive_adj <= alpha for r in live]
    neg = [r.p_negative_adj <= alpha for r in live]
    if any(pos) and any(neg):
        return "biased", "c > 0 on one MDP and c < 0 on another"
    if fit is not None and fit.n_mdps >= 2 and p_same <= alpha:
        ratios = ", ".join(f"{z:.4g}" for z in fit.ratios)
        each = ("; on each MDP alone the direction passes and c > 0, so E[−∇loss] is a positive multiple of ∇J "
                "there, but not one multiple on all (a factor that depends on the MDP, like γ or 1/Σγ^t, is biased "
                "for this check)") if all(pos) else ""
        return "biased", (f"c / ρ moves with the MDP: no one constant k gives c = k·ρ on every MDP for any plain-scale "
                          f"rule ρ (closest: c / ({fit.rule}) = {ratios}; spread χ² = {fit.chi2:.3g}, df {fit.df}){each}")
    if (fit is None or fit.n_mdps < 2) and min(r.p_known_adj for r in results) <= alpha:
        # One c and nothing to compare it with: a constant factor and a c that moves with the MDP look alike.
        r = min(results, key=lambda r: r.p_known_adj)
        names = ", ".join(f"{rule} = {v:.4g}" for rule, v in r.scales)
        return "undecided", (f"on {r.name} c = {r.c:.4g} is none of the plain scales (±: {names}), and with one MDP "
                             "whose c is resolved derive cannot tell a constant factor from a c that moves with the "
                             "MDP; check on two or more MDPs (the default battery has seven)")
    if all(neg):  # the negation would pass: one constant on every MDP, the direction reversed
        return "points the wrong way", ""
    if all(pos):
        unit = min(r.p_unit_adj for r in live) > alpha
        return ("unbiased" if unit else "unbiased up to a positive constant"), ""
    return "undecided", "too little power to tell c from 0 on some MDP"


def _scale_sentence(fit: ScaleFit | None, layout: str) -> str:
    """c's source for the whole run: the plain scale, or a constant factor beside it, and the homogeneity test."""
    if fit is None:
        return ""
    what = rule_text(fit.rule, layout)
    if fit.n_mdps < 2:
        spread = "one MDP: the spread across MDPs is not tested"
    else:
        spread = f"spread of c/ρ over {fit.n_mdps} MDPs: χ² = {fit.chi2:.3g}, df {fit.df}, p {_p(fit.p_rule)}"
    if fit.n_mdps >= 2 and fit.p_rule <= fit.alpha:
        ratios = ", ".join(f"{z:.4g}" for z in fit.ratios)
        return (f"no one constant: the closest rule, {fit.rule} ({what}), has c/ρ = {ratios} on the {fit.n_mdps} "
                f"MDPs with ∇J ≠ 0 (pooled {fit.k:.4g} ± {fit.k_stderr:.2g}); {spread}")
    if fit.p_one > fit.alpha:
        head = f"c = {fit.rule} ({what}) on every MDP: k = c/ρ = {fit.k:.4g} ± {fit.k_stderr:.2g}"
    elif fit.p_minus_one > fit.alpha:
        head = f"c = −{fit.rule} (−1 × {what}) on every MDP: k = c/ρ = {fit.k:.4g} ± {fit.k_stderr:.2g}"
    else:
        head = (f"c = {fit.k:.4g} × {fit.rule} (a constant factor {fit.k:.4g} ± {fit.k_stderr:.2g} beside {what}, "
                f"the same on every MDP; k = {'1' if fit.k > 0 else '−1'}: "
                f"p {_p(fit.p_one if fit.k > 0 else fit.p_minus_one)})")
    extra = []
    if fit.same_fit:
        extra.append("the same fit as " + ", ".join(f"{rule} with k = {k:.4g}" for rule, k in fit.same_fit)
                     + " (proportional on these MDPs)")
    if fit.also_fit:
        extra.append("also fits: " + ", ".join(f"{rule} with k = {k:.4g}" for rule, k in fit.also_fit))
    return f"{head}; {spread}" + "".join(f"; {x}" for x in extra)


def _named_source(r: MDPLossResult, fit: ScaleFit | None, layout: str) -> str:
    """An MDP's c named by the run's fit when it is a constant factor beside a rule, else as the MDP alone names it."""
    if fit is None or fit.plain or fit.p_rule <= fit.alpha or r.zero_gradient or not 0 < r.c_stderr < math.inf:
        return r.c_source
    v = dict(r.scales).get(fit.rule)
    if not v:
        return r.c_source
    value = "" if fit.rule == "1" else f" = {fit.k * v:.4g}"
    return f"{fit.k:.4g} × {fit.rule}{value}: a constant factor beside {rule_text(fit.rule, layout)}"


def _size_key(size) -> tuple:
    S, A, H = size
    return (S * A, H, S)


def check_loss(loss_fn: Callable, *, framework: str = "torch", layout: str = "episodes", batch_envs: int | None = None,
               steps: int | None = None, batches: int = DEFAULT_BATCHES, mdps: Sequence | None = None, seed: int | None = None,
               alpha: float = DEFAULT_ALPHA, minimize: bool = True, save_minimal: str | None = None) -> LossResult:
    """Test E[−∇ loss_fn(policy, batch)] = c·∇J on each MDP; see the module docstring and docs/gradcheck.md.

    ``layout="episodes"``: ``batch_envs`` complete episodes per batch (default 64), padded to
    H + 1 steps. ``layout="vector"``: ``batch_envs`` envs (default 16) stepped ``steps`` times
    (default 4·(H+2)) with Gymnasium's NEXT_STEP autoreset. ``batches`` independent batches
    per MDP; ``save_minimal`` writes the smallest MDP where the bias shows as an MDP file.
    """
    if not callable(loss_fn):
        raise UserError(f"loss_fn: expected a callable loss_fn(policy, batch), got {loss_fn!r}")
    if framework not in FRAMEWORKS:
        raise UserError(f"framework: expected one of {', '.join(FRAMEWORKS)}, got {framework!r}")
    if layout not in LAYOUTS:
        raise UserError(f"layout: expected one of {', '.join(LAYOUTS)}, got {layout!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise UserError(f"alpha: expected 0 < α < 1, got {alpha!r}")
    if seed is None:  # a battery drawn afresh; the seed is in the result, so the run replays
        from .gradcheck import fresh_seed

        seed = fresh_seed()
    seed = _int_option("seed", seed, 0)
    batches = _int_option("batches", batches, 1)
    N = _int_option("batch_envs", 64 if layout == "episodes" else 16, 1) if batch_envs is None else \
        _int_option("batch_envs", batch_envs, 1)
    if steps is not None:
        steps = _int_option("steps", steps, 1)
        if layout == "episodes":
            raise UserError("steps: the episodes layout has H + 1 steps per episode; steps is for layout='vector'")
    if batches > MAX_BATCHES:
        raise UserError(f"batches: at most {MAX_BATCHES:,} batches per MDP, got {batches:,}")
    problems = loss_battery(seed=seed) if mdps is None else [_problem(p, i) for i, p in enumerate(mdps)]
    if not problems:
        raise UserError("mdps: expected at least one MDP")

    def t_of(p):
        if layout == "episodes":
            return p.mdp.horizon + 1
        return steps if steps is not None else 4 * (p.mdp.horizon + 2)

    for p in problems:
        K = p.policy.n_params
        if batches < K + 20:  # the covariance of K components comes from the batches: Hotelling needs B >> K
            raise UserError(f"batches: expected at least K + 20 = {K + 20} independent batches for the {K} "
                            f"parameters of {p.name}, got {batches}")
        total = batches * N * t_of(p)
        if total > MAX_STEPS:
            raise UserError(f"batches × batch_envs × steps = {batches:,} × {N:,} × {t_of(p):,} = {total:,} on {p.name} "
                            f"exceeds the budget of {MAX_STEPS:,} sampled steps per MDP")
    runs = [_check_one(loss_fn, p, framework=framework, layout=layout, batches=batches, batch_envs=N,
                       steps=t_of(p), seed=seed * 1000 + i, alpha=alpha) for i, p in enumerate(problems)]
    results = [r for r, _ in runs]
    adj = {k: holm([getattr(r, k) for r in results]) for k in ("p_unit", "p_positive", "p_negative", "p_known")}
    fit = scale_fit(results, alpha=alpha)
    # Every rejection that can make the verdict "biased" is in one Holm family: its level is α overall.
    M = len(results)
    family = holm([r.p_scaled for r in results] + [fit.p_same if fit is not None else 1.0])
    moved = leave_one_out(results, fit)
    results = [replace(r, p_scaled_adj=float(family[i]), p_unit_adj=float(adj["p_unit"][i]),
                       p_positive_adj=float(adj["p_positive"][i]), p_negative_adj=float(adj["p_negative"][i]),
                       p_known_adj=float(adj["p_known"][i]), p_factor=float(moved[i]),
                       c_source=_named_source(r, fit, layout))
               for i, r in enumerate(results)]
    p_same = float(family[M])
    verdict, reason = _verdict(results, alpha, fit, p_same, layout)
    if not any(reached for _, reached in runs):
        verdict, reason = "biased", ("no gradient reaches θ: −∇loss was 0 on every batch of every MDP (autograd found no path "
                                       "from the loss to policy.theta: a loss constant in θ, or cut from it by .detach())")
    passed = verdict in ("unbiased", "unbiased up to a positive constant")
    minimal = path = None
    pair, pair_p, pair_files = (), 1.0, ()
    if verdict == "biased":
        failing = [r for r in results if r.p_scaled_adj <= alpha]
        minimal = min(failing, key=lambda r: _size_key(r.size)) if failing else None
        if minimal is None and "moves with the MDP" in reason:
            # Rejected across MDPs only: no one MDP shows it (on each, E[−∇loss] may be a positive multiple of
            # ∇J, even ∇J itself); the two whose c/ρ differ most do, and both are shown.
            found = farthest_pair(results, fit)
            if found is not None:
                i, j, pair_p = found
                pair = (results[i], results[j])
        if minimal is None and not pair:  # c's sign, an exact 0, no gradient: the MDP whose c/ρ is farthest
            minimal = min(results, key=lambda r: (r.p_factor, _size_key(r.size)))
        if minimize and failing:
            smaller = [c for c in loss_candidates(seed=seed) if _size_key(c.size) < _size_key(minimal.size)]
            level = alpha / max(1, len(smaller))
            for j, cand in enumerate(smaller):
                if batches < cand.policy.n_params + 20:
                    continue
                r, _ = _check_one(loss_fn, cand, framework=framework, layout=layout, batches=batches, batch_envs=N,
                                  steps=t_of(cand), seed=seed * 1000 + 500 + j, alpha=level, level=level)
                # The direction test only: one MDP has one c and nothing to compare it with, so a c/ρ off
                # the battery's k says where c differs, not that the bias shows here (on a bandit, where
                # many a biased loss is right, c/ρ is off a biased battery's k).
                if r.p_scaled <= level:  # Bonferroni over the candidates
                    minimal = replace(r, p_scaled_adj=r.p_scaled, c_source=_named_source(r, fit, layout))
                    break
        if save_minimal:
            path = str(save_minimal)
            written = [(path, minimal)] if minimal is not None else \
                [(path, pair[0]), (second_path(path), pair[1])]
            for name, r in written:
                try:
                    Path(name).write_text(json.dumps(r.problem.to_mdpfile(), indent=1) + "\n")
                except OSError as e:
                    raise UserError(f"{name}: cannot write ({e.strerror})") from None
            if pair:
                pair_files, path = tuple(name for name, _ in written), None
    scope = _scope(results, layout=layout, seed=seed, battery="default" if mdps is None else "given")
    return LossResult(verdict, passed, alpha, seed, framework, layout, tuple(results), minimal, path, reason,
                      p_same, fit, pair, float(pair_p), pair_files, scope)


def _span(values) -> str:
    return str(values[0]) if values[0] == values[-1] else f"{values[0]}..{values[-1]}"


def second_path(path: str) -> str:
    """The file the second MDP of a pair is saved to: ``x.json`` → ``x-2.json``."""
    p = Path(path)
    return str(p.with_name(f"{p.stem}-2{p.suffix}"))


def _fraction_text(v) -> str:
    v = Fraction(v).limit_denominator(10 ** 6)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _scope(results: Sequence[MDPLossResult], *, layout: str, seed: int, battery: str) -> dict:
    """What the run tested, and nothing more: the shapes, γ, the rewards' range, the batch sizes, the seed."""
    problems = [r.problem for r in results if r.problem is not None]
    rewards = [float(x) for p in problems for row in p.mdp.rewards for a in row for x in a]
    for p in problems:
        if p.mdp.reward_distribution:
            rewards += [float(x) for row in p.mdp.reward_distribution for a in row for x, _ in a]
    gammas = [Fraction(p.mdp.discount) for p in problems]
    shapes = [list(r.size) for r in results]
    first = results[0]
    text_parts = [f"{len(results)} MDP{'s' * (len(results) != 1)} "
                  + (f"of the default loss battery (seed {seed})" if battery == "default" else "given"),
                  "only the shapes (S, A, H) = " + ", ".join(f"({S}, {A}, {H})" for S, A, H in shapes),
                  (f"γ ∈ [{_fraction_text(min(gammas))}, {_fraction_text(max(gammas))}]" if gammas and min(gammas) != max(gammas)
                   else f"γ = {_fraction_text(gammas[0])}" if gammas else "γ unknown"),
                  (f"rewards in [{_fraction_text(min(rewards))}, {_fraction_text(max(rewards))}]" if rewards else "no rewards"),
                  f"{first.batches} batches × {first.batch_envs} {'episodes' if layout == 'episodes' else 'envs'}"
                  + (f" × T = {_span(sorted({r.steps for r in results}))} steps" if layout == "vector" else "")]
    return {"battery": battery, "seed": seed, "n_mdps": len(results), "shapes": shapes,
            "S": [min(s[0] for s in shapes), max(s[0] for s in shapes)],
            "A": [min(s[1] for s in shapes), max(s[1] for s in shapes)],
            "H": [min(s[2] for s in shapes), max(s[2] for s in shapes)],
            "gamma": [_fraction_text(min(gammas)), _fraction_text(max(gammas))] if gammas else None,
            "rewards": [min(rewards), max(rewards)] if rewards else None,
            "batches": first.batches, "batch_envs": first.batch_envs, "layout": layout,
            "steps": sorted({r.steps for r in results}), "text": "; ".join(text_parts),
            "short": (f"S ≤ {max(s[0] for s in shapes)}, A ≤ {max(s[1] for s in shapes)}, "
                      f"H ≤ {max(s[2] for s in shapes)}, {text_parts[2]}, {text_parts[3]}, N = {first.batch_envs}, "
                      f"{first.batches} batches")}


# -- reporting -------------------------------------------------------------------------------


def _p(p: float) -> str:
    return "< 1e-300" if p == 0 else f"= {p:.3g}"


def _vec(x) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in x) + "]"


def format_loss_result(result: LossResult, *, title: str = "gradcheck --loss") -> str:
    """A readable report: the verdict, per-MDP c and p-values with the power, then the smallest failing MDP."""
    n = len(result.results)
    within = f" on these {n} MDP{'s' * (n != 1)} only" + (f" ({result.scope['short']}; power below)" if result.scope
                                                           else " (power below)")
    head = {"unbiased": "PASSED: unbiased, E[−∇loss] = ∇J" + within,
            "unbiased up to a positive constant": "PASSED: unbiased up to a positive constant, E[−∇loss] = c·∇J, c > 0"
                                                  + within,
            "points the wrong way": "FAILED: points the wrong way, E[−∇loss] = c·∇J with c < 0",
            "biased": "FAILED: biased, E[−∇loss] is not c·∇J for any c",
            "undecided": "UNDECIDED (not a pass)"}[result.verdict]
    if result.verdict == "biased" and min(r.p_scaled_adj for r in result.results) > result.alpha:
        head = "FAILED: biased"  # the direction test did not reject: only c is at fault, and the reason says how
    if result.reason:
        head += f": {result.reason}"
    lines = [f"{title}: {head} (p {_p(result.p_value)}, α = {result.alpha:g}, Holm across {n} MDP{'s' * (n != 1)}; "
             f"{result.framework}, {result.layout} layout, seed {result.seed})"]
    if result.scope:  # a pass (or any verdict) says what it covers, and no more
        lines.append(f"  scope: {result.scope['text']}")
    if result.passed:
        lines.append("  " + _power_line(result))
    if result.scale is not None and result.verdict != "undecided":
        lines.append("  scale: " + _scale_sentence(result.scale, result.layout))
    for r in result.results:
        lines.extend(_mdp_lines(r, result.layout, indent="  "))
    if result.pair:
        lines.extend(_pair_lines(result))
    m = result.minimal
    if m is not None:
        S, A, H = m.size
        fit = result.scale
        if m.p_scaled_adj <= result.alpha or fit is None:
            what, why = "smallest MDP where the bias shows", f"p {_p(m.p_scaled_adj)}"
        else:  # only the one-constant test rejected: a pair of MDPs shows it, not one
            v = dict(m.scales).get(fit.rule, math.nan)
            what = "MDP whose c/ρ is farthest from the other MDPs' k (the bias shows only across MDPs)"
            why = (f"c / ({fit.rule}) = {m.c / v:.4g} here, p {_p(m.p_factor)} against the others; alone one MDP has one c "
                   f"and nothing to compare it with: replay it beside another")
        lines.append(f"  {what}: S={S}, A={A}, H={H}, γ={m.gamma:g} "
                     f"({why}, c = {m.c:.4g}, bias {m.bias:.3g} off ∇J's direction)")
        if m.problem is not None:
            from .gradcheck import mdp_table_lines

            lines.extend(mdp_table_lines(m.problem.to_mdpfile(), S, A))
            lines.append(f"    θ = {_vec(m.problem.theta)}")
        lines.append(f"    exact ∇J        = {_vec(m.exact)}")
        lines.append(f"    E[−∇loss] (est) = {_vec(m.estimate)}")
        lines.append(f"    std. error      = {_vec(m.stderr)}")
        if result.minimal_file:
            lines.append(f"    saved to {result.minimal_file} (replay: --mdp {result.minimal_file})")
    return "\n".join(lines)


def _pair_lines(result: LossResult) -> list:
    """Rejected across MDPs only: the two MDPs whose c/ρ differ, each with its c (neither alone shows the bias)."""
    fit = result.scale
    a, b = result.pair
    out = [f"  the bias shows only across MDPs: c / ({fit.rule}) differs between {a.name} and {b.name} "
           f"(χ²₁ of the gap p {_p(result.pair_p)}); on each alone E[−∇loss] may be a positive multiple of ∇J, "
           "so neither is a counterexample by itself: replay them together"]
    for r in (a, b):
        S, A, H = r.size
        v = dict(r.scales).get(fit.rule, math.nan)
        out.append(f"    {r.name}: S={S}, A={A}, H={H}, γ={r.gamma:g}: c = {r.c:.4g} ± {r.c_stderr:.2g}, "
                   f"c / ({fit.rule}) = {r.c / v:.4g}; direction p {_p(r.p_scaled_adj)}, bias {r.bias:.3g} off ∇J's direction")
    if result.pair_files:
        out.append(f"    saved to {' and '.join(result.pair_files)} (replay: "
                   + " ".join(f"--mdp {f}" for f in result.pair_files) + ")")
    return out


def _power_line(result: LossResult) -> str:
    """What a pass does not rule out: the bias sizes the test would catch with 80% power."""
    det = [r.detectable for r in result.results if not r.zero_gradient and math.isfinite(r.detectable)]
    cs = [r for r in result.results if not r.zero_gradient and math.isfinite(r.c_stderr) and r.c_stderr > 0 and r.c]
    parts = []
    if det:
        parts.append(f"a relative bias off ∇J's direction below {min(det):.2g} (most sensitive MDP; "
                     f"{max(det):.2g} on the least) can go unseen")
    if cs:
        parts.append(f"c is resolved to ±{min(2.8 * r.c_stderr / abs(r.c) for r in cs):.2g} of itself at best")
    fit = result.scale
    if fit is not None and math.isfinite(fit.detectable):
        parts.append(f"c/ρ on one MDP off the others' by less than {fit.detectable:.2g} of k can go unseen")
    return "power (80%): " + "; ".join(parts) if parts else "power: nothing was testable"


def _mdp_lines(r: MDPLossResult, layout: str, *, indent: str) -> list:
    S, A, H = r.size
    shape = f"{r.batches} batches × {r.batch_envs} {'episodes' if layout == 'episodes' else 'envs'}"
    if layout == "vector":
        shape += f" × {r.steps} steps"
    if r.zero_gradient:
        c = "∇J = 0 here: nothing to test (only E[−∇loss] = 0 is)"
    elif math.isfinite(r.c_stderr):
        c = f"c = {r.c:.4g} ± {r.c_stderr:.2g} ({r.c_source})"
    else:
        c = "c undefined (∇J is in no direction the batches resolve)"
    power = f"80% power at {r.detectable:.2g}" if math.isfinite(r.detectable) else "df = 0: only c is tested"
    return [f"{indent}{r.name}: S={S} A={A} H={H} γ={r.gamma:g}, {shape}: {c}",
            f"{indent}  E = c·∇J: p {_p(r.p_scaled_adj)} (df {r.df}); E = ∇J: p {_p(r.p_unit_adj)}; "
            f"relative bias off ∇J {r.bias:.2g} ({power})"]


def assert_loss(loss_fn, *, expect: str | None = None, **options) -> LossResult:
    """Run :func:`check_loss`; raise AssertionError with the report unless it passes (or gives ``expect``)."""
    __tracebackhide__ = True
    if expect is not None and expect not in VERDICTS:
        raise UserError(f"expect: expected one of {', '.join(map(repr, VERDICTS))}, got {expect!r}")
    result = check_loss(loss_fn, **options)
    ok = result.passed if expect is None else result.verdict == expect
    if not ok:
        name = getattr(loss_fn, "__qualname__", repr(loss_fn))
        raise AssertionError(format_loss_result(result, title=f"gradcheck.loss of {name}"))
    return result
