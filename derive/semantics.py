"""The meaning of an abstract expression on a concrete finite MDP.

An expression of :mod:`derive.notation` is evaluated on an :class:`Instance` (MDP,
policy, exact parameter point) by walking its tree: Σ_τ enumerates the trajectories,
μ, P(s'|s,a) and π_θ look up the actual tables, P(τ;θ) multiplies them along the
trajectory, J(θ) runs backward dynamic programming, and ∇_θ differentiates for real
with dual numbers (value, derivative along a direction v). No rewrite rule is consulted,
so this is an independent check of any rewrite.

Values are batched over trajectories: every trajectory variable in scope is bound to an
index array, and each node costs one array operation per batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np
import sympy as sp
from sympy import Derivative, Expr

from .backends import Backend, LogLinear, LogLinearNumber, ModPrime, NotRepresentable, _NegativeEntries, _ZeroEntries, exact_rational, fraction_parts
from .mdp import FiniteMDP, TooManyTrajectories
from .notation import (
    Action, ActionSum, Baseline, DiscountedObjective, DiscountedOccupancy, DiscountedQ, Expectation, Feature,
    InitialDistribution, MeanReward, Objective, Occupancy,
    Policy, QValue, Return,
    PathProbability, Reward, RewardProbability, Sample, State, StateSum, TrajectoryProbability, TrajectorySum, Transition, H, gamma,
    theta,
)

__all__ = [
    "Instance", "PointInstance", "EnvironmentDerivative", "Dual", "Evaluator", "Unsupported", "Undefined", "IllFormed",
    "trajectory_text", "trajectory_space",
]

TRAJECTORY_BUDGET = 5_000_000


def trajectory_space(mdp: FiniteMDP):
    """All trajectories: states [N, H+2], actions [N, H+1], and, when rewards are random, the
    index of the reward outcome drawn at each step [N, H+1] (else None)."""
    key = "trajectory space"
    if key not in mdp._cache:
        states, actions = mdp.trajectories()
        outcomes = None
        if mdp.reward_distribution:
            K = max(len(o) for row in mdp.reward_distribution for o in row)
            T = actions.shape[1]
            combos = K ** T
            if states.shape[0] * combos > TRAJECTORY_BUDGET:
                raise TooManyTrajectories(f"{mdp.describe()}: {states.shape[0] * combos} trajectories with reward outcomes "
                                 f"is past the enumeration budget ({TRAJECTORY_BUDGET:,})")
            n = states.shape[0]
            states = np.repeat(states, combos, axis=0)
            actions = np.repeat(actions, combos, axis=0)
            digits = np.tile(np.arange(combos, dtype=np.int64), n)
            outcomes = np.empty((n * combos, T), dtype=np.int64)
            for k in range(T):
                outcomes[:, k] = digits % K
                digits //= K
        mdp._cache[key] = (states, actions, outcomes)
    return mdp._cache[key]


def reward_tables(mdp: FiniteMDP):
    """Reward outcome values and probabilities [S][A][K], padded with probability 0."""
    K = max(len(o) for row in mdp.reward_distribution for o in row)
    values = [[[o[k][0] if k < len(o) else Fraction(0) for k in range(K)] for o in row]
              for row in mdp.reward_distribution]
    probs = [[[o[k][1] if k < len(o) else Fraction(0) for k in range(K)] for o in row]
             for row in mdp.reward_distribution]
    return values, probs


REDUCE_MIN = 256  # batches from which a part reading fewer trajectories is evaluated on their distinct values
MAX_EXPONENT = 100_000  # |n| in x^n: exact rationals grow with n, so past it the instance is undecided
MAX_TERMS = 100_000     # terms of one Σ_t / Π_t evaluated one by one
MAX_NESTED_TERMS = 100_000  # terms of nested Σ/Π at once: the product of the sizes of the ranges open together
MAX_EXACT_BITS = 1 << 16  # bits of one exact number a Π builds up: past it the product alone would take minutes


class Unsupported(ValueError):
    """The expression uses a construct the evaluator has no meaning for."""


class IllFormed(ValueError):
    """The expression has no meaning on this instance (e.g. it refers to a_{H+1})."""


class Undefined(ZeroDivisionError):
    """A division by zero (or log 0) happened; ``where`` maps trajectory slots to trajectories."""

    def __init__(self, message: str, where: dict):
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class EnvironmentDerivative:
    """∂μ(s)/∂θ_k and ∂P(s'|s,a)/∂θ_k: an environment that (wrongly, for the theorem) depends on θ.

    Rows of the derivatives sum to 0, so μ and P(·|s,a) stay distributions to first order.
    """

    d_initial: tuple[tuple[Fraction, ...], ...]                         # [S][K]
    d_transitions: tuple[tuple[tuple[tuple[Fraction, ...], ...], ...], ...]  # [S][A][S][K]

    def is_zero(self) -> bool:
        flat = [x for row in self.d_initial for x in row]
        flat += [x for s in self.d_transitions for a in s for s2 in a for x in s2]
        return all(x == 0 for x in flat)


@dataclass(frozen=True)
class Instance:
    """A concrete world: an MDP, a policy and an exact parameter point (z = e^θ for softmax)."""

    mdp: FiniteMDP
    policy: object
    point: tuple[Fraction, ...]
    name: str = ""
    environment: EnvironmentDerivative | None = None  # None: μ and the dynamics are θ-free
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @property
    def environment_depends_on_theta(self) -> bool:
        return self.environment is not None and not self.environment.is_zero()

    def __post_init__(self):
        if self.policy.n_states != self.mdp.n_states or self.policy.n_actions != self.mdp.n_actions:
            raise ValueError(
                f"{self.name or 'instance'}: policy is for S={self.policy.n_states}, A={self.policy.n_actions}"
                f" but the MDP has S={self.mdp.n_states}, A={self.mdp.n_actions}"
            )

    @property
    def n_params(self) -> int:
        return self.policy.n_params

    def probabilities(self):
        if "pi" not in self._cache:
            self._cache["pi"] = self.policy.probabilities(self.point)
        return self._cache["pi"]

    def jacobian(self):
        if "jac" not in self._cache:
            self._cache["jac"] = self.policy.jacobian(self.point)
        return self._cache["jac"]

    def support(self) -> np.ndarray:
        """Boolean mask over trajectories: P(τ;θ) > 0, decided exactly."""
        if "support" not in self._cache:
            states, actions, outcomes = trajectory_space(self.mdp)
            mu = np.array([v > 0 for v in self.mdp.initial])
            tr = np.array([[[v > 0 for v in d] for d in row] for row in self.mdp.transitions])
            pi = np.array([[v > 0 for v in row] for row in self.probabilities()])
            ok = mu[states[:, 0]]
            for k in range(actions.shape[1]):
                ok &= pi[states[:, k], actions[:, k]] & tr[states[:, k], actions[:, k], states[:, k + 1]]
            if outcomes is not None:
                rp = np.array([[[p > 0 for p in o] for o in row] for row in reward_tables(self.mdp)[1]])
                for k in range(actions.shape[1]):
                    ok &= rp[states[:, k], actions[:, k], outcomes[:, k]]
            self._cache["support"] = ok
        return self._cache["support"]

    def describe(self) -> str:
        from .policies import format_point

        env = "; μ and dynamics depend on θ" if self.environment_depends_on_theta else ""
        return f"{self.mdp.describe()}; policy {self.policy.describe()}; θ = {format_point(self.policy, self.point)}{env}"


@dataclass(frozen=True)
class PointInstance:
    """A concrete point for a statement in ordinary symbols (a continuous-action problem): exact values."""

    values: tuple[tuple[Symbol, Fraction], ...]
    name: str = ""

    def describe(self) -> str:
        return f"{self.name}: " + ", ".join(f"{sym} = {val}" for sym, val in self.values)


def at_point(expr: Expr, point: PointInstance) -> Expr:
    """The exact value of expr at the point: densities written out, derivatives and integrals done by SymPy."""
    from .notation import Normal

    general = _general_value(expr.replace(lambda e: isinstance(e, Normal), lambda e: e.explicit()))
    return general.xreplace({sym: sp.Rational(val.numerator, val.denominator) for sym, val in point.values})


_GENERAL: dict = {}


def _general_value(expr: Expr) -> Expr:
    # Integrate and differentiate once in the general form, then substitute each point. Floats are
    # replaced by the exact rationals they stand for (0.5 is 1/2): nothing is snapped to a nearby value.
    if expr not in _GENERAL:
        _check_sizes(expr)
        exact = expr.xreplace({f: sp.Rational(*exact_rational(f).as_integer_ratio()) for f in expr.atoms(sp.Float)})
        _GENERAL[expr] = exact.doit()
    return _GENERAL[expr]


MAX_BATCH = 2**24 + 2**20   # (tuple of samples, trajectory) pairs one Σ_τ evaluates at once (4,096² fits)
MAX_FACTORIAL = 10_000  # n in n!, binomial(n, k), …: SymPy would compute the integer itself, so past it the line is undecided


def _check_sizes(expr: Expr) -> None:
    """Refuse at once a factorial-like term whose integer argument is past ``MAX_FACTORIAL`` (its value would not fit)."""
    kinds = (sp.factorial, sp.factorial2, sp.binomial, sp.RisingFactorial, sp.FallingFactorial, sp.subfactorial)
    for f in expr.atoms(*kinds):
        for a in f.args:
            if a.is_Integer and abs(int(a)) > MAX_FACTORIAL:
                raise Unsupported(f"undecided: {type(f).__name__} of {int(a):,} is past the size limit of {MAX_FACTORIAL:,}")


def _exact_bits(d) -> int:
    """The largest size in bits of an exact number in a Dual (numerator and denominator together)."""
    def bits(x) -> int:
        if isinstance(x, LogLinearNumber):
            return max([bits(x.r)] + [bits(q) for q in x.logs.values()])
        if isinstance(x, Fraction):
            return x.numerator.bit_length() + x.denominator.bit_length()
        if isinstance(x, int):
            return x.bit_length()
        num, den = getattr(x, "p", None), getattr(x, "q", None)  # flint's fmpq
        return int(num).bit_length() + int(den).bit_length() if num is not None else 0

    out = 0
    for part in (d.val, d.der):
        if part is not None:
            for x in np.asarray(part, dtype=object).ravel()[:64]:
                out = max(out, bits(x))
    return out


def trajectory_text(mdp: FiniteMDP, index: int) -> str:
    """τ written out: (s0=0, a0=1, s1=0, …), with the rewards r_t when they are random."""
    states, actions, outcomes = trajectory_space(mdp)
    values = reward_tables(mdp)[0] if outcomes is not None else None
    parts = [f"s0={states[index, 0]}"]
    for k in range(actions.shape[1]):
        parts.append(f"a{k}={actions[index, k]}")
        if values is not None:
            parts.append(f"r{k}={values[states[index, k]][actions[index, k]][outcomes[index, k]]}")
        parts.append(f"s{k + 1}={states[index, k + 1]}")
    return "(" + ", ".join(parts) + ")"


@dataclass(frozen=True)
class Dual:
    """A value and its derivative along the direction v; either may be None (unknown)."""

    val: object
    der: object


@dataclass
class _Env:
    batch: int
    slots: dict  # trajectory key -> index array (batch,)
    ints: dict   # integer Symbol -> int
    kinds: dict = field(default_factory=dict)  # integer Symbol -> "state" | "action" | "integer"

    def bind(self, var, value: int, kind: str) -> "_Env":
        """The same environment with var rebound (an inner binder shadows an outer one)."""
        return _Env(self.batch, self.slots, {**self.ints, var: value}, {**self.kinds, var: kind})


class Evaluator:
    """Evaluates expressions on one instance, in one backend, along one direction v."""

    def __init__(self, instance: Instance, backend: Backend, direction: Sequence, *,
                 baseline: Sequence | None = None):
        self.instance = instance
        self.mdp = instance.mdp
        self.backend = backend
        bk = backend
        if len(direction) != instance.n_params:
            raise ValueError(f"direction has {len(direction)} entries, θ has {instance.n_params}")
        self.mu = self._table("mu", lambda: list(self.mdp.initial))
        self.tr = self._table("tr", lambda: [[list(d) for d in row] for row in self.mdp.transitions])
        self.rw = self._table("rw", lambda: [[list(d) for d in row] for row in self.mdp.rewards])
        self.gamma = bk.const(self.mdp.discount)
        self.pi = self._table("pi", instance.probabilities)
        jac = self._table("jac", instance.jacobian)  # [S, A, K]
        v = bk.table(list(direction))
        self.direction = v
        self.dpi = bk.sum(bk.mul(jac, v[None, None, :]), axis=2)
        env = instance.environment
        if env is None:
            self.dmu = bk.mul(self.mu, bk.zero())
            self.dtr = bk.mul(self.tr, bk.zero())
        else:
            self.dmu = bk.sum(bk.mul(bk.table([list(r) for r in env.d_initial]), v[None, :]), axis=1)
            dtr = bk.table([[[list(k) for k in a] for a in s_] for s_ in env.d_transitions])
            self.dtr = bk.sum(bk.mul(dtr, v[None, None, None, :]), axis=3)
        if self.mdp.reward_distribution:
            values, probs = reward_tables(self.mdp)
            self.reward_values, self.reward_probs = bk.table(values), bk.table(probs)
        # b(s): an arbitrary θ-free function of the state; the checker draws it at random.
        self.baseline = bk.table(list(baseline) if baseline is not None else [0] * self.mdp.n_states)
        self._traj_cache: dict = {}
        self._distinct_memo: dict = {}

    def _table(self, name: str, nested):
        """A table of the instance in this backend; mod p from numerators and denominators split once per instance."""
        if not isinstance(self.backend, ModPrime):
            return self.backend.table(nested())
        key = "fraction parts " + name
        if key not in self.instance._cache:
            self.instance._cache[key] = fraction_parts(nested())
        return self.backend.fraction_table(self.instance._cache[key])

    def __getattr__(self, name):  # the trajectory table is built on first use: the DP route never needs it
        if name in ("states", "actions", "outcomes"):
            self.states, self.actions, self.outcomes = trajectory_space(self.mdp)
            return self.__dict__[name]
        raise AttributeError(name)

    # -- entry points -------------------------------------------------------
    def evaluate(self, expr: Expr, *, slots: dict | None = None, ints: dict | None = None, batch: int = 1,
                 kinds: dict | None = None) -> Dual:
        """The value of expr; ``kinds`` says which integer symbols stand for a state or an action."""
        env = _Env(batch, dict(slots or {}), {H: self.mdp.horizon, **(ints or {})}, dict(kinds or {}))
        return self._eval(expr, env)

    # -- per-trajectory tables ----------------------------------------------
    def _rational_tables(self, names: tuple):
        """(arithmetic, tables): for log-linear numbers, tables of rationals as flint's exact rationals (the same
        values, far fewer Python objects on the way); else the backend and its own tables."""
        tables = tuple(getattr(self, n) for n in names)
        if not isinstance(self.backend, LogLinear):
            return self.backend, tables
        key = "fmpq " + " ".join(names)
        if key not in self._traj_cache:
            self._traj_cache[key] = _as_fmpq_tables(tables)
        found = self._traj_cache[key]
        return (self.backend, tables) if found is None else (_Rationals, found)

    def _trajectory_prob(self, *, rewards: bool = True) -> Dual:
        """P(τ;θ) of every trajectory; with rewards=False the probability of its states and actions alone."""
        key = "P" if rewards or self.outcomes is None else "Ppath"
        if key not in self._traj_cache:
            S, A = self.states, self.actions
            names = ("mu", "dmu", "pi", "dpi", "tr", "dtr") + (("reward_probs",) if self.outcomes is not None else ())
            bk, (mu, dmu, pi, dpi, tr, dtr, *rps) = self._rational_tables(names)
            val = mu[S[:, 0]]
            der = dmu[S[:, 0]]
            for k in range(A.shape[1]):
                p_, t_ = pi[S[:, k], A[:, k]], tr[S[:, k], A[:, k], S[:, k + 1]]
                f = bk.mul(p_, t_)
                df = bk.add(bk.mul(dpi[S[:, k], A[:, k]], t_), bk.mul(p_, dtr[S[:, k], A[:, k], S[:, k + 1]]))
                if self.outcomes is not None and key == "P":  # the reward drawn at step k is part of τ
                    rp = rps[0][S[:, k], A[:, k], self.outcomes[:, k]]
                    f, df = bk.mul(f, rp), bk.mul(df, rp)
                der = bk.add(bk.mul(der, f), bk.mul(val, df))
                val = bk.mul(val, f)
            if bk is _Rationals:
                val, der = _from_fmpq(val), _from_fmpq(der)
            self._traj_cache[key] = Dual(val, der)
        return self._traj_cache[key]

    def _returns(self):
        if "R" not in self._traj_cache:
            bk, S, A = self.backend, self.states, self.actions
            if isinstance(bk, LogLinear):
                total = self._rational_returns()
                if total is not None:
                    self._traj_cache["R"] = total
                    return total
            total = bk.mul(bk.zero(), np.zeros(S.shape[0], dtype=np.int64))
            disc = bk.one()
            for k in range(A.shape[1]):
                total = bk.add(total, bk.mul(disc, self._step_reward(np.arange(S.shape[0]), k)))
                disc = bk.mul(disc, self.gamma)
            self._traj_cache["R"] = total
        return self._traj_cache["R"]

    def _rational_returns(self):
        """R(τ) of every trajectory in flint's exact rationals, as log-linear numbers (None if a reward is a log)."""
        S, A = self.states, self.actions
        names = ("gamma", "reward_values" if self.outcomes is not None else "rw")
        ops, (g, rewards) = self._rational_tables(names)
        if ops is not _Rationals:
            return None
        from flint import fmpq

        idx = np.arange(S.shape[0])
        total = np.full(S.shape[0], fmpq(0), dtype=object)
        disc = fmpq(1)
        for k in range(A.shape[1]):
            r_k = (rewards[S[idx, k], A[idx, k], self.outcomes[idx, k]] if self.outcomes is not None
                   else rewards[S[idx, k], A[idx, k], S[idx, k + 1]])
            total = ops.add(total, ops.mul(disc, r_k))
            disc = disc * g
        return _from_fmpq(total)

    def _step_reward(self, idx, k: int):
        """r_k of the trajectories idx: the drawn outcome, or r(s_k, a_k, s_{k+1})."""
        S, A = self.states, self.actions
        if self.outcomes is not None:
            return self.reward_values[S[idx, k], A[idx, k], self.outcomes[idx, k]]
        return self.rw[S[idx, k], A[idx, k], S[idx, k + 1]]

    def _discounted(self) -> dict:
        """Infinite-horizon values by the Bellman linear equations, with their derivatives (γ < 1)."""
        if "inf" not in self._traj_cache:
            if self.mdp.discount >= 1:
                raise IllFormed("the infinite-horizon discounted return needs γ < 1")
            bk, g = self.backend, self.gamma
            S = self.mdp.n_states
            P_pi = bk.sum(bk.mul(self.pi[:, :, None], self.tr), axis=1)                      # [S, S']
            dP_pi = bk.sum(bk.add(bk.mul(self.dpi[:, :, None], self.tr), bk.mul(self.pi[:, :, None], self.dtr)), axis=1)
            rbar = bk.sum(bk.mul(self.tr, self.rw), axis=2)                                  # [S, A]
            drbar = bk.sum(bk.mul(self.dtr, self.rw), axis=2)
            r_pi = bk.sum(bk.mul(self.pi, rbar), axis=1)
            dr_pi = bk.sum(bk.add(bk.mul(self.dpi, rbar), bk.mul(self.pi, drbar)), axis=1)
            eye = bk.table([[int(i == j) for j in range(S)] for i in range(S)])
            M = bk.add(eye, bk.neg(bk.mul(g, P_pi)))                                        # I − γ P_π
            V = _solve(bk, M, r_pi)
            dV = _solve(bk, M, bk.add(dr_pi, bk.mul(g, bk.sum(bk.mul(dP_pi, V[None, :]), axis=1))))
            Qv = bk.add(rbar, bk.mul(g, bk.sum(bk.mul(self.tr, V[None, None, :]), axis=2)))
            dQ = bk.add(drbar, bk.mul(g, bk.add(bk.sum(bk.mul(self.dtr, V[None, None, :]), axis=2),
                                               bk.sum(bk.mul(self.tr, dV[None, None, :]), axis=2))))
            one_minus = bk.add(bk.one(), bk.neg(g))
            # d_γᵀ (I − γ P_π) = (1 − γ) μᵀ, and its derivative: dd (I − γP_π) = (1 − γ) dμ + γ d dP_π.
            Mt = M.T.copy()
            dvec = _solve(bk, Mt, bk.mul(one_minus, self.mu))
            ddvec = _solve(bk, Mt, bk.add(bk.mul(one_minus, self.dmu),
                                          bk.mul(g, bk.sum(bk.mul(dvec[:, None], dP_pi), axis=0))))
            J = Dual(bk.sum(bk.mul(self.mu, V)), bk.add(bk.sum(bk.mul(self.dmu, V)), bk.sum(bk.mul(self.mu, dV))))
            self._traj_cache["inf"] = {"J": J, "d": (dvec, ddvec), "Q": (Qv, dQ)}
        return self._traj_cache["inf"]

    def _features(self):
        """v·φ(s,a) for every (s, a): the directional derivative of the softmax logit."""
        if "phi" not in self._traj_cache:
            from .policies import LinearSoftmax, TabularSoftmax

            pol, bk = self.instance.policy, self.backend
            S, A = self.mdp.n_states, self.mdp.n_actions
            if isinstance(pol, TabularSoftmax):
                self._traj_cache["phi"] = self.direction.reshape(S, A)
            elif isinstance(pol, LinearSoftmax):
                phi = bk.table([[list(f) for f in row] for row in pol.features])
                self._traj_cache["phi"] = bk.sum(bk.mul(phi, self.direction[None, None, :]), axis=2)
            else:
                raise Unsupported(f"φ(s,a) is defined for softmax policies, not for {pol.describe()}")
        return self._traj_cache["phi"]

    def _occupancy(self):
        """[(d_t, ∂d_t)] for t = 0..H+1: forward in time, d_{t+1}(s') = Σ_{s,a} d_t(s) π(a|s) P(s'|s,a)."""
        if "d" not in self._traj_cache:
            bk = self.backend
            if isinstance(bk, LogLinear):
                found = self._rational_occupancy()
                if found is not None:
                    self._traj_cache["d"] = found
                    return found
            d, dd = self.mu, self.dmu
            out = [(d, dd)]
            for _ in range(self.mdp.horizon + 1):
                flow = bk.mul(d[:, None], self.pi)                                       # [S, A]
                dflow = bk.add(bk.mul(dd[:, None], self.pi), bk.mul(d[:, None], self.dpi))
                d, dd = (bk.sum(bk.sum(bk.mul(flow[:, :, None], self.tr), axis=1), axis=0),
                         bk.sum(bk.sum(bk.add(bk.mul(dflow[:, :, None], self.tr),
                                              bk.mul(flow[:, :, None], self.dtr)), axis=1), axis=0))
                out.append((d, dd))
            self._traj_cache["d"] = out
        return self._traj_cache["d"]

    def _rational_occupancy(self):
        """The same [(d_t, ∂d_t)] in exact rationals by integer matrix products (None if a table holds a log).

        d_{t+1} = d_t P_π and ∂d_{t+1} = ∂d_t P_π + d_t ∂P_π, with P_π(s, s') = Σ_a π(a|s) P(s'|s,a), on one
        common denominator c·D^t: the same exact values as the sum over (s, a) below, but each step is an
        integer row·matrix product (flint), and a step's fractions are reduced only when that step is read.
        Summing fractions whose size grows with t took minutes at H ≈ 200 (a counterexample's exact values).
        """
        ops, tables = self._rational_tables(("mu", "dmu", "pi", "dpi", "tr", "dtr"))
        if ops is not _Rationals:
            return None
        from flint import fmpq, fmpz, fmpz_mat

        mu, dmu, pi, dpi, tr, dtr = tables
        n_s, n_a = self.mdp.n_states, self.mdp.n_actions
        zero = fmpq(0)
        P, dP = [[zero] * n_s for _ in range(n_s)], [[zero] * n_s for _ in range(n_s)]
        for s in range(n_s):
            for a in range(n_a):
                for s2 in range(n_s):
                    P[s][s2] += pi[s, a] * tr[s, a, s2]
                    dP[s][s2] += dpi[s, a] * tr[s, a, s2] + pi[s, a] * dtr[s, a, s2]
        D, c = fmpz(1), fmpz(1)
        for x in (x for rows in (P, dP) for r in rows for x in r):
            D = D.lcm(x.q)
        for x in (*mu, *dmu):
            c = c.lcm(x.q)
        Pn, dPn = (fmpz_mat([[(x * D).p for x in r] for r in m]) for m in (P, dP))
        d, dd = fmpz_mat([[(x * c).p for x in mu]]), fmpz_mat([[(x * c).p for x in dmu]])
        raw = [None]
        for _ in range(self.mdp.horizon + 1):
            d, dd = d * Pn, dd * Pn + d * dPn
            raw.append((d, dd))
        return _ExactOccupancy((self.mu, self.dmu), raw, c, D)

    def _q_values(self):
        """[(Q_t, ∂Q_t)] for t = 0..H: backward, Q_t(s,a) = Σ_s' P(s'|s,a)(r + γ Σ_a' π(a'|s') Q_{t+1}(s',a'))."""
        if "Q" not in self._traj_cache:
            bk = self.backend
            n_s = self.mdp.n_states
            V = bk.mul(bk.zero(), np.zeros(n_s, dtype=np.int64))
            dV = V
            out = []
            for _ in range(self.mdp.horizon + 1):
                target = bk.add(self.rw, bk.mul(self.gamma, V[None, None, :]))
                Qt = bk.sum(bk.mul(self.tr, target), axis=2)
                dQt = bk.sum(bk.add(bk.mul(self.dtr, target), bk.mul(self.tr, bk.mul(self.gamma, dV[None, None, :]))),
                             axis=2)
                out.append((Qt, dQt))
                V, dV = (bk.sum(bk.mul(self.pi, Qt), axis=1),
                         bk.sum(bk.add(bk.mul(self.dpi, Qt), bk.mul(self.pi, dQt)), axis=1))
            self._traj_cache["Q"] = out[::-1]  # built from t = H down to 0
        return self._traj_cache["Q"]

    def objective(self) -> Dual:
        """J(θ) and its directional derivative by backward dynamic programming (no enumeration)."""
        if "J" not in self._traj_cache:
            bk = self.backend
            n_s = self.mdp.n_states
            V = bk.mul(bk.zero(), np.zeros(n_s, dtype=np.int64))
            dV = V
            for _ in range(self.mdp.horizon + 1):
                target = bk.add(self.rw, bk.mul(self.gamma, V[None, None, :]))
                Q = bk.sum(bk.mul(self.tr, target), axis=2)  # [S, A]
                dQ = bk.sum(bk.add(bk.mul(self.dtr, target), bk.mul(self.tr, bk.mul(self.gamma, dV[None, None, :]))),
                            axis=2)
                V, dV = (
                    bk.sum(bk.mul(self.pi, Q), axis=1),
                    bk.sum(bk.add(bk.mul(self.dpi, Q), bk.mul(self.pi, dQ)), axis=1),
                )
            self._traj_cache["J"] = Dual(bk.sum(bk.mul(self.mu, V)),
                                         bk.add(bk.sum(bk.mul(self.dmu, V)), bk.sum(bk.mul(self.mu, dV))))
        return self._traj_cache["J"]

    # -- the walk -------------------------------------------------------------
    def _eval(self, e: Expr, env: _Env) -> Dual:
        if len(env.slots) > 1 and env.batch >= REDUCE_MIN:
            # A part that reads fewer of the bound trajectories than a tuple of samples binds is a function of
            # those alone: evaluated once per distinct value of theirs, then spread over the tuples.
            reads = _reads(e)
            if reads is not None:
                keys = [k for k in env.slots if k in reads] or [next(iter(env.slots))]
                if len(keys) < len(env.slots):
                    spread = self._distinct(env, keys)
                    if spread is not None:
                        return self._spread(e, env, *spread)
        return self._eval_node(e, env)

    def _distinct(self, env: _Env, keys: list):
        """(slots of the distinct values the keys take, the index of each tuple among them), or None if few repeat."""
        memo = self._distinct_memo
        ident = (tuple(keys), tuple((k, id(v)) for k, v in env.slots.items()))
        if ident not in memo:
            cols = [np.asarray(env.slots[k]) for k in keys]
            if len(cols) == 1:
                uniq, back = np.unique(cols[0], return_inverse=True)
                reduced = {keys[0]: uniq}
            else:
                uniq, back = np.unique(np.stack(cols, axis=1), axis=0, return_inverse=True)
                reduced = {k: uniq[:, j].copy() for j, k in enumerate(keys)}
            out = None if 2 * len(uniq) > env.batch else (reduced, back.ravel())
            memo[ident] = (out, tuple(env.slots.values()))  # the arrays are kept alive: their ids stay theirs
        return memo[ident][0]

    def _spread(self, e: Expr, env: _Env, reduced: dict, back: np.ndarray) -> Dual:
        try:
            d = self._eval(e, _Env(len(next(iter(reduced.values()))), reduced, env.ints, env.kinds))
        except Exception:  # noqa: BLE001 -- evaluated again on every tuple: the same error, said of the tuple
            return self._eval_node(e, env)

        def spread(x):
            if not isinstance(x, np.ndarray) or x.ndim == 0:
                return x
            return x[back]

        return Dual(spread(d.val), spread(d.der))

    def _eval_node(self, e: Expr, env: _Env) -> Dual:
        bk = self.backend
        if e.is_Number:
            if e.is_Float:  # a float in a claim is the exact binary rational it stands for (0.5 is 1/2)
                return Dual(bk.const(exact_rational(e)), bk.zero())
            if not e.is_Rational:
                raise Unsupported(f"the number {e} is not rational")
            return Dual(bk.const(int(e.p) if e.is_Integer else Fraction(int(e.p), int(e.q))), bk.zero())
        if e.is_Symbol:
            if e in env.ints:
                return Dual(bk.const(env.ints[e]), bk.zero())
            if e == gamma:
                return Dual(self.gamma, bk.zero())
            raise Unsupported(f"the symbol {e} has no value on an instance")
        if isinstance(e, sp.Add):
            parts = [self._eval(x, env) for x in e.args]
            val = _fold(bk.add, [p.val for p in parts])
            der = _fold(bk.add, [p.der for p in parts])
            return Dual(val, der)
        if isinstance(e, sp.Mul):
            acc = None
            for x in e.args:
                d = self._eval(x, env)
                acc = d if acc is None else self._mul(acc, d)
            return acc
        if isinstance(e, sp.Pow):
            return self._pow(e, env)
        if isinstance(e, sp.log):
            hit = self._entries(e.args[0], env)
            if hit is not None:
                return self._log_of_entries(*hit, env)
            from .symbolic import _probability  # a probability or product of them: > 0 on the support

            if isinstance(bk, ModPrime) and not _probability(e.args[0]):
                # A residue has no sign: mod p, log(k − 7) at k = 0 is an unknown value, and 0 · unknown = 0 would
                # hide that it is undefined. Whether the argument is > 0 is decided in an exact number system.
                raise NotRepresentable("mod p, the sign of a log's argument is unknown")
            return self._log(self._eval(e.args[0], env), env)
        if isinstance(e, Derivative):
            return self._derivative(e, env)
        if isinstance(e, (sp.Sum, sp.Product)):
            return self._finite(e, env)
        if isinstance(e, TrajectorySum):
            return self._trajectory_sum(e, env)
        if isinstance(e, ActionSum):  # Σ over actions, or over states for Σ_s
            acc = Dual(bk.zero(), bk.zero())
            kind = "state" if isinstance(e, StateSum) else "action"
            self._check_binder(e.variable, kind)
            for act in range(self.mdp.n_states if isinstance(e, StateSum) else self.mdp.n_actions):
                d = self._eval(e.body, env.bind(e.variable, act, kind))
                acc = Dual(_add_or_unknown(bk, acc.val, d.val), _add_or_unknown(bk, acc.der, d.der))
            return acc
        if isinstance(e, Reward):
            traj, k = e.args
            self._index(State(traj, k + 1), env, "state")  # r_k needs s_{k+1}: checks the index range
            idx = self._slot(traj, env)
            return Dual(self._step_reward(idx, self._int_value(k, env, what="time index")), bk.zero())
        if isinstance(e, RewardProbability):
            traj, k = e.args
            self._index(Action(traj, k), env, "action")
            if self.outcomes is None:  # deterministic rewards: the drawn reward has probability 1
                return Dual(bk.one(), bk.zero())
            idx = self._slot(traj, env)
            kk = self._int_value(k, env, what="time index")
            return Dual(self.reward_probs[self.states[idx, kk], self.actions[idx, kk], self.outcomes[idx, kk]],
                        bk.zero())
        if isinstance(e, Expectation):
            return self._eval(e.as_sum(), env)
        if isinstance(e, DiscountedObjective):
            return self._discounted()["J"]
        if isinstance(e, DiscountedOccupancy):
            val, der = self._discounted()["d"]
            st = self._index(e.args[0], env, "state")
            return Dual(val[st], der[st])
        if isinstance(e, DiscountedQ):
            val, der = self._discounted()["Q"]
            st, ac = self._index(e.args[0], env, "state"), self._index(e.args[1], env, "action")
            return Dual(val[st, ac], der[st, ac])
        if isinstance(e, Feature):
            st, ac = self._index(e.args[0], env, "state"), self._index(e.args[1], env, "action")
            return Dual(self._features()[st, ac], None)  # a gradient: its value is v·φ(s,a)
        if isinstance(e, MeanReward):
            st, ac = self._index(e.args[0], env, "state"), self._index(e.args[1], env, "action")
            return Dual(bk.sum(bk.mul(self.tr, self.rw), axis=2)[st, ac], bk.zero())
        if isinstance(e, Occupancy):
            k = self._int_value(e.args[0], env, what="time index")
            if not 0 <= k <= self.mdp.horizon + 1:
                raise IllFormed(f"d_{k} does not exist: states run from s_0 to s_{self.mdp.horizon + 1}")
            val, der = self._occupancy()[k]
            st = self._index(e.args[1], env, "state")
            return Dual(val[st], der[st])
        if isinstance(e, QValue):
            k = self._int_value(e.args[0], env, what="time index")
            if not 0 <= k <= self.mdp.horizon:
                raise IllFormed(f"Q_{k} does not exist: actions run from a_0 to a_{self.mdp.horizon}")
            val, der = self._q_values()[k]
            st, ac = self._index(e.args[1], env, "state"), self._index(e.args[2], env, "action")
            return Dual(val[st, ac], der[st, ac])
        if isinstance(e, Baseline):
            return Dual(self.baseline[self._index(e.args[0], env, "state")], bk.zero())
        if isinstance(e, InitialDistribution):
            (st,) = e.args
            idx = self._index(st, env, "state")
            return Dual(self.mu[idx], self.dmu[idx])
        if isinstance(e, Transition):
            nxt, st, ac = (self._index(x, env, role) for x, role in zip(e.args, ("state", "state", "action")))
            return Dual(self.tr[st, ac, nxt], self.dtr[st, ac, nxt])
        if isinstance(e, Policy):
            ac, st, par = e.args
            if par != theta:
                raise Unsupported(f"policy parameter {par} is not θ")
            ai, si = self._index(ac, env, "action"), self._index(st, env, "state")
            return Dual(self.pi[si, ai], self.dpi[si, ai])
        if isinstance(e, TrajectoryProbability):
            traj, par = e.args
            if par != theta:
                raise Unsupported(f"trajectory probability parameter {par} is not θ")
            idx = self._slot(traj, env)
            p = self._trajectory_prob(rewards=not isinstance(e, PathProbability))
            return Dual(p.val[idx], p.der[idx])
        if isinstance(e, Return):
            idx = self._slot(e.args[0], env)
            return Dual(self._returns()[idx], bk.zero())
        if isinstance(e, Objective):
            if e.args[0] != theta:
                raise Unsupported(f"J at {e.args[0]} is not J(θ)")
            return self.objective()
        raise Unsupported(f"{_text(e)} has no meaning on a finite MDP")

    def _mul(self, x: Dual, y: Dual) -> Dual:
        bk = self.backend
        # d(xy) = x'y + xy'; a term with an unknown factor is known only when the other is 0.
        der = _add_or_unknown(bk, _mul_or_unknown(bk, x.der, y.val), _mul_or_unknown(bk, x.val, y.der))
        return Dual(_mul_or_unknown(bk, x.val, y.val), der)

    # -- 1/x and log x of table entries: computed once per table, then gathered ---------
    def _entries(self, e, env: _Env):
        """(table, index) when e reads entries of μ, P(s'|s,a), π_θ or P(τ;θ), in an exact backend; else None."""
        if not self.backend.exact:
            return None  # balls: each gathered value is inverted and tested on its own
        if isinstance(e, Policy) and e.args[2] == theta:
            ac, st, _ = e.args
            ai = self._index(ac, env, "action")  # in the order _eval reads them (the same error first)
            return "pi", (self._index(st, env, "state"), ai)
        if isinstance(e, Transition):
            nxt, st, ac = (self._index(x, env, role) for x, role in zip(e.args, ("state", "state", "action")))
            return "tr", (st, ac, nxt)
        if isinstance(e, InitialDistribution):
            return "mu", (self._index(e.args[0], env, "state"),)
        if isinstance(e, TrajectoryProbability) and e.args[1] == theta:
            return ("Ppath" if isinstance(e, PathProbability) else "P"), (self._slot(e.args[0], env),)
        return None

    def _inverted(self, name: str) -> dict:
        """A table's 1/x, (dx)/x, log x, each entrywise, with masks of the entries where they are undefined."""
        key = "inverted " + name
        if key not in self._traj_cache:
            bk = self.backend
            if name in ("P", "Ppath"):
                p = self._trajectory_prob(rewards=name == "P")
                val, der = p.val, p.der
            else:
                val, der = {"pi": (self.pi, self.dpi), "tr": (self.tr, self.dtr), "mu": (self.mu, self.dmu)}[name]
            val = np.asarray(val)
            zero = np.asarray(bk.is_zero(val), dtype=bool)
            safe = val.copy()
            safe[zero] = bk.one()
            inv = np.asarray(bk.inv(safe))
            out = {"zero": zero, "inv": inv, "dlog": np.asarray(bk.mul(der, inv)),
                   "dinv": np.asarray(bk.neg(bk.mul(der, bk.mul(inv, inv))))}
            self._traj_cache[key] = out
        return self._traj_cache[key]

    def _logs(self, name: str) -> dict:
        """log x entrywise (None where the number system cannot hold it), with a mask of the negative entries."""
        key = "logs " + name
        if key not in self._traj_cache:
            bk, tables = self.backend, self._inverted(name)
            val = np.asarray(self._trajectory_prob(rewards=name == "P").val if name in ("P", "Ppath")
                             else getattr(self, name))
            flat, zero = val.ravel(), tables["zero"].ravel()
            logs = np.empty(flat.shape, dtype=object)
            missing = np.zeros(flat.shape, dtype=bool)
            negative = np.zeros(flat.shape, dtype=bool)
            for j, v in enumerate(flat):
                if zero[j]:
                    continue
                try:
                    logs[j] = bk.log(np.asarray(v))[()]
                except NotRepresentable:
                    missing[j] = True
                except _NegativeEntries:
                    negative[j] = True
            self._traj_cache[key] = {"log": logs.reshape(val.shape), "missing": missing.reshape(val.shape),
                                     "negative": negative.reshape(val.shape)}
        return self._traj_cache[key]

    def _log_of_entries(self, name: str, idx: tuple, env: _Env) -> Dual:
        """log x for x = table[idx]: the same value and errors as :meth:`_log` on the gathered entries."""
        tables = self._inverted(name)
        zero = tables["zero"][idx]
        if zero.any():
            raise Undefined("log of zero", self._where(env, np.flatnonzero(zero)))
        der = tables["dlog"][idx]
        if isinstance(self.backend, ModPrime):
            return Dual(None, der)  # a log has no value mod p; its derivative does
        logs = self._logs(name)
        negative = logs["negative"][idx]
        if negative.any():
            raise Undefined("log of a negative number", self._where(env, np.flatnonzero(negative)))
        if logs["missing"][idx].any():
            return Dual(None, der)
        return Dual(logs["log"][idx], der)

    def _inv(self, x: Dual, env: _Env, why) -> Dual:
        bk = self.backend
        if x.val is None:
            return Dual(None, None)
        try:
            r = bk.inv(x.val)
        except _ZeroEntries as z:
            raise Undefined(why() if callable(why) else why, self._where(env, z.where)) from None
        der = None if x.der is None else bk.neg(bk.mul(x.der, bk.mul(r, r)))
        return Dual(r, der)

    def _pow(self, e: sp.Pow, env: _Env) -> Dual:
        base, ex = e.args
        n = self._int_value(ex, env, what="exponent")
        if abs(n) > MAX_EXPONENT:
            raise Unsupported(f"undecided: the exponent {n:,} in {sp.sstr(e)} is past the limit of {MAX_EXPONENT:,}")
        if n < 0 and base == gamma and self.mdp.discount == 0:
            raise Undefined("γ^n with γ = 0 and n < 0", {})
        x = self._eval(base, env)
        if n < 0:
            x = self._inv(x, env, lambda: f"division by zero in {_text(e)}")  # the text only when it is said
            n = -n
        bk = self.backend
        # Repeated squaring: log2(n) products, not n.
        result = Dual(bk.one(), bk.zero())
        while n:
            if n & 1:
                result = self._mul(result, x)
            n >>= 1
            if n:
                x = self._mul(x, x)
        return result

    def _log(self, x: Dual, env: _Env) -> Dual:
        bk = self.backend
        r = self._inv(x, env, "log of zero")
        der = None if x.der is None or r.val is None else bk.mul(x.der, r.val)
        try:
            val = None if x.val is None else bk.log(x.val)
        except NotRepresentable:
            val = None  # only the derivative of this log is known here
        except _ZeroEntries as z:
            raise Undefined("log of zero", self._where(env, z.where)) from None
        except _NegativeEntries as z:
            raise Undefined("log of a negative number", self._where(env, z.where)) from None
        return Dual(val, der)

    def _derivative(self, e: Derivative, env: _Env) -> Dual:
        if len(e.variable_count) != 1 or e.variable_count[0] != (theta, 1):
            raise Unsupported(f"only first derivatives in θ have a meaning here, not {e}")
        inner = self._eval(e.expr, env)
        if inner.der is None:
            raise NotRepresentable("derivative needs a value this number system cannot hold")
        # Second derivatives are not tracked: a ∇ inside a ∇ raises where it is used.
        return Dual(inner.der, None)

    def _finite(self, e, env: _Env) -> Dual:
        (body, *limits) = e.args
        return self._limits(body, list(limits), isinstance(e, sp.Sum), env)

    def _limits(self, body, limits: list, is_sum: bool, env: _Env) -> Dual:
        """Σ or Π over the limits; SymPy lists a merged nest innermost first, so loop the last outermost."""
        if not limits:
            return self._eval(body, env)
        *inner, (var, lo, hi) = limits
        self._check_binder(var, "integer")
        lo = self._int_value(lo, env, what=f"lower limit of {var}")
        hi = self._int_value(hi, env, what=f"upper limit of {var}")
        if hi - lo + 1 > MAX_TERMS:
            raise Unsupported(f"undecided: a sum over {hi - lo + 1:,} terms is past the limit of {MAX_TERMS:,} terms")
        # Nested ranges multiply: each of the outer terms runs this one again, so the bound is on the product.
        outer = getattr(self, "_open_terms", 1)
        total = outer * max(hi - lo + 1, 1)
        if total > MAX_NESTED_TERMS:
            raise Unsupported(f"undecided: nested sums or products over {total:,} terms (the sizes of the ranges "
                              f"open together, multiplied) are past the limit of {MAX_NESTED_TERMS:,} terms")
        self._open_terms = total
        try:
            return self._range(body, inner, is_sum, env, var, lo, hi)
        finally:
            self._open_terms = outer

    def _range(self, body, inner: list, is_sum: bool, env: _Env, var, lo: int, hi: int) -> Dual:
        """The Σ or Π of body over var = lo..hi (inner limits innermost first), term by term."""
        bk = self.backend
        acc = Dual(bk.zero(), bk.zero()) if is_sum else Dual(bk.one(), bk.zero())
        guard = not is_sum and not isinstance(bk, ModPrime)  # residues mod p stay small; exact numbers grow
        for j, k in enumerate(range(lo, hi + 1)):
            d = self._limits(body, inner, is_sum, env.bind(var, k, "integer"))
            if is_sum:
                acc = Dual(_add_or_unknown(bk, acc.val, d.val), _add_or_unknown(bk, acc.der, d.der))
            else:
                acc = self._mul(acc, d)
                if guard and j % 32 == 31 and _exact_bits(acc) > MAX_EXACT_BITS:
                    raise Unsupported(f"undecided: the exact value of the product over {var} = {lo}..{hi} grows "
                                      f"past the limit of {MAX_EXACT_BITS:,} bits (at {var} = {k})")
        return acc

    def _trajectory_sum(self, e: TrajectorySum, env: _Env) -> Dual:
        if not env.slots:  # no enclosing trajectory: sum over time by dynamic programming where it covers e
            from .trajectory_dp import UndefinedOnStep, dp_or_none

            refusals: list = []
            dp = dp_or_none(self, e, ints=env.ints, refusals=refusals)
            if dp is not None:
                return dp
            undefined = [r for r in refusals if isinstance(r, UndefinedOnStep)]
            if undefined:
                try:
                    self.states
                except TooManyTrajectories:
                    # The DP saw a step where the line is undefined; which trajectory needs the listing.
                    raise Unsupported(f"undecided: {undefined[0]}, and the trajectories "
                                      "are too many to list to find one through it") from None
        bk = self.backend
        n_all = self.states.shape[0]
        members = np.flatnonzero(self.instance.support()) if e.support else np.arange(n_all)
        n = members.size
        if not isinstance(e.variable, Sample) and (not e.variable.is_Symbol or e.variable.is_real or e.variable.is_integer):
            raise IllFormed(f"a sum over {e.variable} is ill-formed: Σ_τ binds a trajectory, and {e.variable} is not one")
        if env.batch * n > MAX_BATCH:
            # Every tuple of samples times every trajectory: refused before the arrays are built.
            raise Unsupported(f"undecided: this Σ_τ inside a tuple of samples would evaluate {env.batch * n:,} "
                              f"(tuple, trajectory) pairs, past the limit of {MAX_BATCH:,}")
        slots = {k: np.repeat(v, n) for k, v in env.slots.items()}
        # The binder rebinds its variable, whether it is τ or a sample τ^(k).
        slots[self._slot_key(e.variable, env)] = np.tile(members, env.batch)
        inner = _Env(env.batch * n, slots, env.ints, env.kinds)
        d = self._eval(e.body, inner)

        def reduce(x):
            if x is None:
                return None
            x = np.broadcast_to(x, (env.batch * n,))
            return bk.sum(x.reshape(env.batch, n), axis=1) if env.batch > 1 or env.slots else bk.sum(x)

        return Dual(reduce(d.val), reduce(d.der))

    # -- indices ----------------------------------------------------------------
    def _slot(self, traj, env: _Env) -> np.ndarray:
        key = self._slot_key(traj, env)
        if key not in env.slots:
            raise Unsupported(f"trajectory {_text(traj)} is not bound (no Σ_τ and not a free variable of the step)")
        return env.slots[key]

    def _slot_key(self, traj, env: _Env):
        if isinstance(traj, Sample):
            return ("sample", self._int_value(traj.args[0], env, what="sample index"))
        if traj.is_Symbol:
            return traj
        raise Unsupported(f"{traj} is not a trajectory")

    def _check_binder(self, var, kind: str):
        """A binder's variable must be an integer symbol: Σ over θ (or over τ with integer limits) means nothing."""
        if not (isinstance(var, sp.Symbol) and var.is_integer):
            what = "an integer" if kind == "integer" else f"a {kind}, an integer"
            raise IllFormed(f"a sum over {var} is ill-formed: its index must be {what}, and {var} is not declared "
                            "an integer (Symbol(..., integer=True))")

    def _index(self, e, env: _Env, role: str):
        """The state or action e stands for (role), refusing swapped arguments and values out of range."""
        if isinstance(e, (State, Action)):  # the common case first: s_t or a_t of a bound trajectory
            return self._step_index(e, env, role)
        size = self.mdp.n_states if role == "state" else self.mdp.n_actions
        if e.is_Integer or (e.is_Symbol and e in env.ints):  # a literal, or a state/action bound by Σ_s, Σ_b
            kind = env.kinds.get(e)
            if kind is not None and kind != role:
                raise IllFormed(f"{e} is bound as {'an' if kind == 'action' else 'a'} {kind} but used as "
                                f"{'an' if role == 'action' else 'a'} {role} (swapped arguments?)")
            value = int(e) if e.is_Integer else env.ints[e]
            if not 0 <= value < size:
                raise IllFormed(f"{role} {e} = {value} does not exist on this MDP ({role}s 0..{size - 1})")
            return value
        raise Unsupported(f"{e} is not a state or an action")

    def _step_index(self, e, env: _Env, role: str):
        """s_k or a_k of the bound trajectories, refusing a swapped role and a k outside the horizon."""
        if (role == "state") != isinstance(e, State):
            raise IllFormed(f"{_text(e)} is used as {'an' if role == 'action' else 'a'} {role} (swapped arguments?)")
        traj, k = e.args
        idx = self._slot(traj, env)
        k = self._int_value(k, env, what="time index")
        H_ = self.mdp.horizon
        if isinstance(e, State):
            if not 0 <= k <= H_ + 1:
                raise IllFormed(f"s_{k} does not exist: a trajectory of horizon H={H_} has s_0..s_{H_ + 1}")
            return self.states[idx, k]
        if not 0 <= k <= H_:
            raise IllFormed(f"a_{k} does not exist: a trajectory of horizon H={H_} has a_0..a_{H_}")
        return self.actions[idx, k]

    def _int_value(self, e, env: _Env, *, what: str) -> int:
        if isinstance(e, sp.Integer):  # the common cases first: a literal, or a bound index
            return int(e)
        if isinstance(e, sp.Symbol) and e in env.ints:
            return int(env.ints[e])
        if isinstance(e, sp.Add) and all(isinstance(a, sp.Integer) or (isinstance(a, sp.Symbol) and a in env.ints)
                                         for a in e.args):
            return sum(int(a) if isinstance(a, sp.Integer) else int(env.ints[a]) for a in e.args)  # t + 1, H − 1
        v = sp.sympify(e).xreplace({k: sp.Integer(x) for k, x in env.ints.items()})
        if v.has(sp.Sum, sp.Product) and not v.free_symbols:
            v = v.doit()   # an exponent or index Σ_{k=0}^{3} (k − 3), a number the reader kept as written
        if v.is_Integer:
            return int(v)
        n = _integer_arithmetic(v)   # 100 − m at m = 1 stays the unevaluated 100 − 1·1 after the substitution
        if n is not None:
            return n
        if v.is_Rational or v.is_Float:  # e.g. H/(H+1) or H/2 at an odd H: the line means nothing here
            raise IllFormed(f"{what} {sp.sstr(e)} = {sp.sstr(v)} is not an integer on this instance")
        if not v.is_Integer:
            free = ", ".join(sorted(map(str, sp.sympify(v).free_symbols)))
            raise Unsupported(f"the {what} is {sp.sstr(e)}, which has no integer value here"
                              + (f" ({free} free and not bound on the instance)" if free else ""))
        return int(v)

    def _where(self, env: _Env, flat_indices) -> dict:
        j = int(flat_indices[0]) % max(env.batch, 1)
        return {k: int(np.asarray(v)[j]) for k, v in env.slots.items() if np.asarray(v).size > j}


class _Rationals:
    """Exact rational arithmetic on object arrays of flint's fmpq (the log-linear route's rational tables)."""

    @staticmethod
    def mul(x, y):
        return np.multiply(x, y, dtype=object)

    @staticmethod
    def add(x, y):
        return np.add(x, y, dtype=object)


class _ExactOccupancy:
    """[(d_t, ∂d_t)] from integer numerators over c·D^t: step t's fractions are made (and kept) when first read."""

    def __init__(self, first, raw, c, D):
        self._rows, self._raw, self._c, self._D = {0: first}, raw, c, D

    def __len__(self):
        return len(self._raw)

    def __getitem__(self, k):
        if k < 0:
            k += len(self._raw)
        if k not in self._rows:
            from flint import fmpq

            num, dnum = self._raw[k]
            den = self._c * self._D ** k
            n_s = num.ncols()
            val, der = np.empty(n_s, dtype=object), np.empty(n_s, dtype=object)
            for j in range(n_s):
                val[j], der[j] = fmpq(num[0, j], den), fmpq(dnum[0, j], den)
            self._rows[k] = (val, der)
        return self._rows[k]

    def __iter__(self):
        return (self[k] for k in range(len(self._raw)))


def _as_fmpq_tables(tables):
    """The tables with every entry as an fmpq, or None if an entry is not a rational (a log)."""
    from flint import fmpq

    out = []
    for t in tables:
        arr = np.asarray(t, dtype=object)
        conv = np.empty(arr.shape, dtype=object)
        for idx, v in np.ndenumerate(arr):
            v = LogLinearNumber.of(v)
            if not v.is_rational:
                return None
            conv[idx] = v.r
        out.append(conv if arr.ndim else conv[()])
    return tuple(out)


def _from_fmpq(x):
    """fmpq values back as log-linear numbers (exactly the same rationals)."""
    arr = np.asarray(x, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = v   # a rational entry of a log-linear array is a bare fmpq
    return out


_READS: dict = {}


def _reads(e) -> frozenset | None:
    """Every trajectory e can read (its free symbols and its samples τ^(k)), or None if a sample index is not a literal."""
    if e not in _READS:
        if len(_READS) > 65536:
            _READS.clear()
        samples = e.atoms(Sample) if isinstance(e, sp.Basic) else set()
        _READS[e] = (None if any(not s.args[0].is_Integer for s in samples) else
                     frozenset(e.free_symbols) | {("sample", int(s.args[0])) for s in samples})
    return _READS[e]


def _solve(bk, M, rhs):
    """x with M x = rhs, by Gaussian elimination in the backend's arithmetic (M small and invertible)."""
    n = M.shape[0]
    A = [[M[i, j] for j in range(n)] for i in range(n)]
    y = [rhs[i] for i in range(n)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if not bool(bk.is_zero(A[r][col]))), None)
        if pivot is None:
            raise Undefined("I − γ P_π is singular", {})
        A[col], A[pivot] = A[pivot], A[col]
        y[col], y[pivot] = y[pivot], y[col]
        inv = bk.inv(np.asarray(A[col][col]))
        for r in range(n):
            if r != col and not bool(bk.is_zero(A[r][col])):
                f = bk.mul(A[r][col], inv)
                A[r] = [bk.add(A[r][j], bk.neg(bk.mul(f, A[col][j]))) for j in range(n)]
                y[r] = bk.add(y[r], bk.neg(bk.mul(f, y[col])))
    out = [bk.mul(y[i], bk.inv(np.asarray(A[i][i]))) for i in range(n)]
    return np.array(out, dtype=object if bk.dtype is object else bk.dtype)


def _fold(op, xs):
    if any(x is None for x in xs):
        return None
    acc = xs[0]
    for x in xs[1:]:
        acc = op(acc, x)
    return acc


def _add_or_unknown(bk, x, y):
    return None if x is None or y is None else bk.add(x, y)


def _is_known_zero(bk, x) -> bool:
    return x is not None and bk.all_zero(x)


def _mul_or_unknown(bk, x, y):
    if x is None or y is None:
        other = y if x is None else x
        if other is not None and _is_known_zero(bk, other):
            return other  # 0 · (anything finite) = 0
        return None
    return bk.mul(x, y)



def _text(e) -> str:
    from .text import to_text  # lazily: the printer imports the notation

    return to_text(e)


def _integer_arithmetic(v, *, max_bits: int = 4096):
    """The value of +, ·, and small powers of integers written unevaluated (2·250, 100 − 1·1), else None."""
    if isinstance(v, sp.Integer):
        return int(v)
    if isinstance(v, (sp.Add, sp.Mul)):
        parts = [_integer_arithmetic(a, max_bits=max_bits) for a in v.args]
        if any(x is None for x in parts):
            return None
        out = 0 if isinstance(v, sp.Add) else 1
        for x in parts:
            out = out + x if isinstance(v, sp.Add) else out * x
            if out.bit_length() > max_bits:
                return None
        return out
    if isinstance(v, sp.Pow):
        base, ex = (_integer_arithmetic(a, max_bits=max_bits) for a in v.args)
        if base is None or ex is None or ex < 0 or abs(base).bit_length() * ex > max_bits:
            return None
        return base ** ex
    return None
