"""J(θ) and ∇J(θ) on a finite MDP by three independent routes.

1. ``symbolic``: J = Σ_τ P(τ;θ) R(τ) enumerated as an exact polynomial in the policy
   entries p_{s,a} = π(a|s), differentiated symbolically, chained with ∂π/∂θ obtained by
   SymPy from the policy's formula (exact rationals).
2. ``enumerate``: the theorem's final form E_τ[Σ_t ∇log π_θ(a_t|s_t) R(τ)], summed over
   the enumerated trajectories with exact Fractions.
3. ``dp``: forward state occupancy × Q by dynamic programming in float64, O(H·S²·A),
   for MDPs far beyond enumeration.

Exact routes work at an exact point of the policy (z = e^θ for softmax policies, θ for
the direct policy); see :func:`exact_point`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np
import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.rings import ring

from .display import Displayed
from .errors import UserError
from .mdp import FiniteMDP
from .policies import DirectPolicy, LinearSoftmax, TabularSoftmax

__all__ = [
    "Gradient",
    "Enumeration",
    "EnumerationTooLarge",
    "ScoreUndefined",
    "DynamicProgram",
    "METHODS",
    "ENUMERATION_BUDGET",
    "DP_HORIZON_CAP",
    "DP_MEMORY_CAP",
    "EXACT_HORIZON_CAP",
    "check_dp_size",
    "SYMBOLIC_BUDGET",
    "exact_point",
    "LogRational",
    "exact_in_z",
    "enumerate_support",
    "policy_formula",
    "gradient",
    "gradient_symbolic",
    "gradient_enumerate",
    "gradient_dp",
    "dp_tolerance",
]

METHODS = ("dp", "enumerate", "symbolic")
# The float64 DP keeps O(H·S) numbers (occupancy and values per step): a horizon past the cap,
# or tables past the memory cap, is refused at once rather than run out of memory or time.
DP_HORIZON_CAP = 10_000_000
DP_MEMORY_CAP = 2 * 2**30
# The exact routes walk the horizon level by level: beyond this they refuse instead of hanging.
EXACT_HORIZON_CAP = 100_000
ENUMERATION_BUDGET = 2_000_000  # trajectories with P(τ) > 0; ~2 s per million on this machine
SYMBOLIC_BUDGET = 2_000_000
ENUMERATION_CELLS = 50_000_000  # trajectories × (H+2) index cells held at once (~200 MB per int32 table)


class EnumerationTooLarge(UserError):
    """Enumerating the trajectories would exceed the budget; the DP route does not enumerate."""


class ScoreUndefined(UserError):
    """∇log π(a|s) does not exist where π(a|s) = 0, so the score-function form has no meaning."""


@dataclass(frozen=True)
class Gradient(Displayed):
    """J(θ) and ∇J(θ) from one route; exact routes hold Fractions, ``dp`` holds floats."""

    J: object
    grad: tuple
    method: str

    @property
    def exact(self) -> bool:
        return self.method != "dp"

    def as_floats(self) -> tuple[float, list[float]]:
        return float(self.J), [float(g) for g in self.grad]


@dataclass(frozen=True)
class LogRational:
    """θ_k = log z for a positive rational z: exact in the z = e^θ coordinates of softmax policies."""

    z: Fraction

    def __post_init__(self):
        if self.z <= 0:
            raise UserError(f"log({self.z}): needs a positive argument")

    def __float__(self) -> float:
        return math.log(self.z)

    def __str__(self) -> str:
        return f"log({self.z})"


def exact_point(policy, theta: Sequence) -> tuple[Fraction, ...]:
    """The exact point: z = e^θ for softmax (exact for 0 and log(p/q), else fl(e^θ_k) as a rational); θ for direct."""
    values = list(theta)
    if len(values) != policy.n_params:
        raise UserError(f"theta: expected {policy.n_params} values for {policy.describe()}, got {len(values)}")
    if getattr(policy, "coordinates", "z") == "theta":
        if any(isinstance(v, LogRational) for v in values):
            raise UserError("theta: log(p/q) values are for softmax policies; a direct θ is a probability")
        return tuple(Fraction(v) for v in values)
    from .policies import InvalidPolicy

    try:
        L = policy.exact_scale() if isinstance(policy, LinearSoftmax) else 1
    except InvalidPolicy as e:
        raise UserError(f"policy: {e}") from None
    if L == 1:
        return tuple(_z_of(v) for v in values)
    # Fractional features need z = w^L with w rational: w = e^(θ/L), exact for log(p/q) only when p/q is an L-th power.
    out = []
    for k, v in enumerate(values):
        if isinstance(v, LogRational):
            from .policies import _root

            try:
                out.append(_root(v.z, L, k) ** L)
            except InvalidPolicy as e:
                raise UserError(f"theta[{k}]: {e}") from None
        else:
            out.append(_z_of(Fraction(v) / L) ** L)
    return tuple(out)


def exact_in_z(theta: Sequence) -> bool:
    """True when every θ_k is 0 or log(p/q), so z = e^θ is rational and the exact routes are exact at θ itself."""
    return all(isinstance(v, LogRational) or v == 0 for v in theta)


def _z_of(v) -> Fraction:
    if isinstance(v, LogRational):
        return v.z
    if v == 0:
        return Fraction(1)
    x = float(v)
    try:
        z = math.exp(x)
    except OverflowError:
        z = 0.0
    if z == 0.0 or math.isinf(z):  # past float64: the correctly rounded 53-bit e^θ as an exact (huge or tiny) rational
        import mpmath

        with mpmath.workprec(53):
            man, exp = mpmath.exp(mpmath.mpf(x)).man_exp
        return Fraction(man) * Fraction(2) ** exp
    return Fraction(z)


# -- enumeration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Enumeration:
    """Trajectories with μ(s_0)ΠP(s_{t+1}|s_t,a_t) > 0 through allowed actions, with exact weights.

    Weights are integer numerators (Python ints in object arrays) over one common
    denominator each, which is ~20× faster than Fractions per trajectory.
    """

    states: np.ndarray       # [N, H+2]
    actions: np.ndarray      # [N, H+1]
    env_num: np.ndarray      # [N] ints: μ(s_0) Π_t P(s_{t+1}|s_t,a_t) · env_den
    env_den: int
    ret_num: np.ndarray      # [N] ints: Σ_t γ^t r(s_t,a_t,s_{t+1}) · ret_den
    ret_den: int

    @property
    def size(self) -> int:
        return int(self.states.shape[0])

    def environment_floats(self) -> np.ndarray:
        return np.array([n / self.env_den for n in self.env_num.tolist()], dtype=float)


def _objects(nested) -> np.ndarray:
    return np.array(nested, dtype=object)


def _common(values) -> tuple[np.ndarray, int]:
    """Integer numerators over the lcm of the denominators of a nested table of Fractions."""
    arr = np.array(values, dtype=object)
    den = math.lcm(*[Fraction(v).denominator for v in arr.ravel().tolist()]) if arr.size else 1
    num = np.array([int(Fraction(v) * den) for v in arr.ravel().tolist()], dtype=object).reshape(arr.shape)
    return num, den


def enumerate_support(mdp: FiniteMDP, allowed: np.ndarray, *, budget: int = ENUMERATION_BUDGET) -> Enumeration:
    """Grow trajectories step by step, keeping only positive-probability branches; refuse past ``budget``."""
    S = mdp.n_states
    tr_num, tr_den = _common(mdp.transitions)
    rw_num, rw_den = _common(mdp.rewards)
    mu_num, mu_den = _common(mdp.initial)
    g = Fraction(mdp.discount)
    H = mdp.horizon
    positive = np.array([[[p > 0 for p in d] for d in row] for row in mdp.transitions], dtype=bool)
    positive &= np.asarray(allowed, dtype=bool)[:, :, None]
    branches = positive.sum(axis=(1, 2))  # children per state
    starts = np.array([s for s in range(S) if mdp.initial[s] > 0], dtype=np.int32)
    states = starts[:, None]
    actions = np.empty((starts.size, 0), dtype=np.int32)
    env = mu_num[starts]
    ret = np.array([0] * starts.size, dtype=object)
    for t in range(H + 1):
        last = states[:, -1]
        count = int(branches[last].sum())
        if count > budget or count * (H + 2) > ENUMERATION_CELLS:
            cap = min(budget, ENUMERATION_CELLS // (H + 2))
            limit = (f"{cap:,} trajectories" if cap == budget else
                     f"{cap:,} trajectories at H = {H} ({ENUMERATION_CELLS:,} stored steps, trajectories × (H+2); "
                     f"at most {budget:,} trajectories at any H)")
            raise EnumerationTooLarge(
                f"{mdp.describe()}: enumeration is limited to {limit}, and this MDP has {count:,} "
                f"after {t + 1} of {H + 1} steps; use the dynamic-programming route "
                f"(--method dp, or gradient(..., method='dp')) for MDPs this large"
            )
        # Children of every trajectory, in parent order: one per positive (a, s') of its last state.
        parent = np.repeat(np.arange(last.size), branches[last])
        choice = np.concatenate([np.flatnonzero(positive[s].ravel()) for s in last]) if last.size else np.empty(0, int)
        a_new, s_new = (x.astype(np.int32) for x in np.divmod(choice, S))
        s_prev = last[parent]
        coef = g.numerator ** t * g.denominator ** (H - t)  # γ^t · γ_den^H
        env = env[parent] * tr_num[s_prev, a_new, s_new]
        ret = ret[parent] + coef * rw_num[s_prev, a_new, s_new]
        states = np.concatenate([states[parent], s_new[:, None]], axis=1)
        actions = np.concatenate([actions[parent], a_new[:, None]], axis=1)
    return Enumeration(states, actions, env, mu_den * tr_den ** (H + 1), ret, rw_den * g.denominator ** H)


def _group_sum(keys: np.ndarray, values: np.ndarray, n: int) -> list:
    """Σ of object ``values`` per integer key in [0, n), exactly."""
    out = [0] * n
    if keys.size == 0:
        return out
    order = np.argsort(keys, kind="stable")
    k_sorted = keys[order]
    starts = np.flatnonzero(np.r_[True, k_sorted[1:] != k_sorted[:-1]])
    sums = np.add.reduceat(values[order], starts)
    for k, v in zip(k_sorted[starts].tolist(), sums.tolist()):
        out[k] = v
    return out


# -- route 2: the score-function form by enumeration ---------------------------------------


def gradient_enumerate(mdp: FiniteMDP, policy, point: Sequence, *, budget: int = ENUMERATION_BUDGET) -> Gradient:
    """Σ_τ P(τ;θ) Σ_t ∇log π(a_t|s_t) R(τ), exactly (needs π(a|s) > 0 wherever it is used)."""
    _check_shapes(mdp, policy)
    pi = _objects(policy.probabilities(point))
    jac = _objects(policy.jacobian(point))  # [S, A, K] ∂π/∂θ
    allowed = np.array(pi > 0, dtype=bool)
    en = enumerate_support(mdp, allowed, budget=budget)
    pi_num, pi_den = _common(pi.tolist())
    T = en.actions.shape[1]
    prob = en.env_num
    for t in range(T):
        prob = prob * pi_num[en.states[:, t], en.actions[:, t]]
    weight = prob * en.ret_num  # P(τ) R(τ) · den
    den = en.env_den * pi_den ** T * en.ret_den
    J = Fraction(int(weight.sum()) if weight.size else 0, den)
    S, A, K = mdp.n_states, mdp.n_actions, policy.n_params
    # Linearity: Σ_τ w(τ) Σ_t score(s_t,a_t) = Σ_{s,a} [Σ_t Σ_{τ: (s_t,a_t)=(s,a)} w(τ)] score(s,a).
    per_pair = [0] * (S * A)
    for t in range(T):
        keys = en.states[:, t] * A + en.actions[:, t]
        for k, v in enumerate(_group_sum(keys, weight, S * A)):
            per_pair[k] += v
    # Direct policies on the boundary: an action with π = 0 may still move J (route 1 sees it).
    visited = np.zeros(S, dtype=bool)
    visited[np.unique(en.states[:, :T])] = True
    for s in range(S):
        for a in range(A):
            if pi[s, a] == 0 and visited[s] and any(jac[s, a, k] != 0 for k in range(K)):
                raise ScoreUndefined(
                    f"π({a}|{s}) = 0 at this θ: ∇log π({a}|{s}) does not exist, so the score-function form "
                    f"E[Σ_t ∇log π(a_t|s_t) R(τ)] misses the trajectories through that action; "
                    f"use method 'symbolic' or 'dp'"
                )
    grad = [Fraction(0)] * K
    for key in range(S * A):
        if per_pair[key] == 0:
            continue
        s, a = divmod(key, A)
        total = Fraction(per_pair[key], den)
        for k in range(K):
            if jac[s, a, k] != 0:
                grad[k] += total * jac[s, a, k] / pi[s, a]
    return Gradient(J, tuple(grad), "enumerate")


# -- route 1: symbolic differentiation of the enumerated sum -------------------------------


def policy_formula(policy) -> tuple[list[list[sp.Expr]], list[sp.Symbol], str]:
    """π(a|s) as SymPy expressions in the policy's exact coordinates (z = e^θ, or θ)."""
    if isinstance(policy, TabularSoftmax):
        z = sp.symbols(f"z0:{policy.n_params}", positive=True)
        A = policy.n_actions
        table = []
        for s in range(policy.n_states):
            row = z[s * A:(s + 1) * A]
            total = sp.Add(*row)
            table.append([x / total for x in row])
        return table, list(z), "z"
    if isinstance(policy, LinearSoftmax):
        z = sp.symbols(f"z0:{policy.n_params}", positive=True)
        table = []
        for row in policy.features:
            weights = [sp.Mul(*[zk ** sp.Rational(f.numerator, f.denominator) for zk, f in zip(z, phi)]) for phi in row]
            total = sp.Add(*weights)
            table.append([w / total for w in weights])
        return table, list(z), "z"
    if isinstance(policy, DirectPolicy):
        th = sp.symbols(f"theta0:{policy.n_params}", real=True)
        A = policy.n_actions
        return [list(th[s * A:(s + 1) * A]) for s in range(policy.n_states)], list(th), "theta"
    raise TypeError(f"no symbolic formula for {type(policy).__name__}")


def _policy_derivatives(policy, point) -> tuple[list[list[Fraction]], dict]:
    """π(a|s) and ∂π(a|s)/∂θ_k by SymPy differentiation of the formula (d/dθ = z·d/dz)."""
    table, syms, coords = policy_formula(policy)
    subs = {x: sp.Rational(v.numerator, v.denominator) for x, v in zip(syms, (Fraction(p) for p in point))}
    values, derivs = [], {}
    for s, row in enumerate(table):
        vrow = []
        for a, expr in enumerate(row):
            vrow.append(_fraction(expr.xreplace(subs)))
            for k, x in enumerate(syms):
                if x in expr.free_symbols:
                    d = sp.diff(expr, x)
                    if coords == "z":
                        d = x * d
                    derivs[(s, a, k)] = _fraction(d.xreplace(subs))
        values.append(vrow)
    return values, derivs


def _fraction(e) -> Fraction:
    if not e.is_Rational:
        raise ValueError(f"expected a rational value, got {e}")
    return Fraction(int(e.p), int(e.q))


def _monomials(en: Enumeration, n_pairs: int, A: int) -> tuple[np.ndarray, np.ndarray]:
    """Group trajectories by their monomial Π_t p_{s_t,a_t}: (sorted pair sequence per group, group index per trajectory)."""
    T = en.actions.shape[1]
    pairs = np.sort(en.states[:, :T] * A + en.actions, axis=1)
    if n_pairs ** T < 2**62:  # pack the sorted sequence into one int64 key
        key = np.zeros(en.size, dtype=np.int64)
        for t in range(T):
            key = key * n_pairs + pairs[:, t]
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
    return pairs[first], inverse.ravel()


def gradient_symbolic(mdp: FiniteMDP, policy, point: Sequence, *, budget: int = SYMBOLIC_BUDGET) -> Gradient:
    """∇ of J = Σ_τ P(τ;θ) R(τ), built as an exact polynomial in p_{s,a} and differentiated symbolically."""
    _check_shapes(mdp, policy)
    S, A, K = mdp.n_states, mdp.n_actions, policy.n_params
    # Every action is kept: ∂J/∂p_{s,a} needs the trajectories through a = π^{-1}(0) too.
    en = enumerate_support(mdp, np.ones((S, A), dtype=bool), budget=budget)
    R, *p = ring(",".join(f"p{k}" for k in range(S * A)), QQ)
    den = en.env_den * en.ret_den
    sequences, group = _monomials(en, S * A, A)
    coeff = _group_sum(group, en.env_num * en.ret_num, len(sequences))
    terms = {}
    for seq, c in zip(sequences.tolist(), coeff):
        if c:
            exps = [0] * (S * A)
            for k in seq:
                exps[k] += 1
            terms[tuple(exps)] = QQ(c, den)
    poly = R.from_dict(terms) if terms else R(0)
    pi, dpi = _policy_derivatives(policy, point)
    values = [QQ(pi[s][a].numerator, pi[s][a].denominator) for s in range(S) for a in range(A)]
    J = _qq(_evaluate(poly, values))
    grad = [Fraction(0)] * K
    for key in range(S * A):
        s, a = divmod(key, A)
        dJ = poly.diff(p[key])
        if dJ == 0:
            continue
        dval = _qq(_evaluate(dJ, values))
        for k in range(K):
            d = dpi.get((s, a, k))
            if d:
                grad[k] += dval * d
    return Gradient(J, tuple(grad), "symbolic")


def _evaluate(poly, values):
    return poly(*values) if len(values) > 1 else poly(values[0])


def _qq(x) -> Fraction:
    if hasattr(x, "numerator"):
        return Fraction(int(x.numerator), int(x.denominator))
    x = QQ.convert(x)
    return Fraction(int(x.numerator), int(x.denominator))


# -- route 3: dynamic programming in float64 ------------------------------------------------


class DynamicProgram:
    """Float64 J and ∇J by forward occupancy × Q; tables are prepared once, each call is O(H·S² + S²·A)."""

    def __init__(self, mdp: FiniteMDP, policy):
        _check_shapes(mdp, policy)
        mu, P, r = mdp.arrays()
        self.policy = policy
        self.mu = mu
        self.P = P
        self._r = r
        self.rbar = (P * r).sum(axis=2)  # expected immediate reward r̄(s, a)
        self.gamma = float(mdp.discount)
        self.T = mdp.horizon + 1
        self.S, self.A = mdp.n_states, mdp.n_actions
        check_dp_size(mdp)
        self.disc = self.gamma ** np.arange(self.T)
        # Doubling pays log2(T) S×S matrix products to save T Python-level matvecs: a model of
        # this machine's costs (25 GFlop/s products, ~1.3 µs per small call) picks the cheaper.
        levels = max(1, int(np.ceil(np.log2(self.T))))
        S = self.S
        self._doubling = levels * (S**3 * 4e-11 + 6e-6) < 2 * self.T * max(1.3e-6, S * S * 2e-10)

    def _sweep(self, theta):
        """C[k] = Σ_{j<=k} (γM)^j r_π and Dw[t] = γ^t d_t for k, t = 0..H, π, and the state kernel M under π."""
        S, T, g = self.S, self.T, self.gamma
        pi = self.policy.float_probabilities(theta)
        M = np.matmul(pi[:, None, :], self.P)[:, 0, :]  # M(s, s') = Σ_a π(a|s) P(s'|s,a)
        rpi = (pi * self.rbar).sum(axis=1)
        # V_t = C[H-t]. Both sequences by doubling, C_{n+i} = C_{n-1} + (γM)^n C_i and
        # Dw_{n+i} = Dw_i (γM)^n: log2(T) matrix products instead of T dependent
        # matrix-vector products (Python overhead), and no running sum afterwards.
        N = g * M
        C = np.empty((T, S))
        Dw = np.empty((T, S))  # Dw[t] = γ^t d_t, d_t(s) = Pr(s_t = s)
        C[0], Dw[0] = rpi, self.mu
        if not self._doubling:
            for k in range(1, T):
                np.dot(N, C[k - 1], out=C[k])
                C[k] += rpi
                np.dot(Dw[k - 1], N, out=Dw[k])
            return C, Dw, pi, M
        n, power = 1, N
        while n < T:
            m = min(n, T - n)
            np.matmul(C[:m], power.T, out=C[n:n + m])
            C[n:n + m] += C[n - 1]
            np.matmul(Dw[:m], power, out=Dw[n:n + m])
            n += m
            if n < T:
                power = power @ power
        return C, Dw, pi, M

    def state_values(self, theta) -> np.ndarray:
        """V_t(s) = E[Σ_{k>=t} γ^{k-t} r_k | s_t = s] for t = 0..H+1, as a [H+2, S] array."""
        C = self._sweep(theta)[0]
        V = np.zeros((self.T + 1, self.S))
        V[:self.T] = C[::-1]  # V_t = Σ_{k <= H-t} (γM)^k r_π
        return V

    def value_and_grad(self, theta) -> tuple[float, np.ndarray]:
        """(J(θ), ∇J(θ)) = (Σ μ V_0, Σ_t γ^t Σ_{s,a} d_t(s) ∇π(a|s) Q_t(s,a))."""
        C, Dw, pi, M = self._sweep(theta)
        # Σ_t γ^t d_t(s) Q_t(s,a), Q_t = r̄ + γ Σ_s' P V_{t+1}: sum over t before contracting with P.
        # V_{t+1} = C[H-1-t], so Σ_t Dw_t ⊗ V_{t+1} is one product of [S, H] by [H, S]: no [H, H]
        # table, memory O(H·S).
        T = self.T
        X = Dw[:T - 1].T @ C[T - 2::-1] if T > 1 else np.zeros((self.S, self.S))
        weights = self.rbar * Dw.sum(axis=0)[:, None] + self.gamma * np.matmul(self.P, X[:, :, None])[:, :, 0]
        if isinstance(self.policy, DirectPolicy):
            weights = weights + self._past_rewards(pi, M)[:, None]
        return float(self.mu @ C[T - 1]), self.policy.float_pullback(theta, weights, probabilities=pi)

    def _past_rewards(self, pi: np.ndarray, M: np.ndarray) -> np.ndarray:
        """Σ_t E[Σ_{k<t} γ^k r_k ; s_t = s]: J = Σ_τ P(τ;θ)R(τ) also weighs past rewards by π(a_t|s_t).

        A softmax policy never sees this term (Σ_a ∂π(a|s) = 0 kills any weight constant in a);
        a direct policy's ∂/∂θ_{s,a} leaves the simplex, where it counts.
        """
        Pr = (self.P * self._r).reshape(-1, self.S)  # [S·A, S'] P(s'|s,a) r(s,a,s')
        rho = np.zeros(self.S)
        total = np.zeros(self.S)
        d = self.mu
        for t in range(self.T - 1):
            flow = (d[:, None] * pi).ravel()
            d = d @ M
            rho = rho @ M + self.disc[t] * (flow @ Pr)
            total += rho
        return total


def check_dp_size(mdp: FiniteMDP) -> None:
    """Refuse at once (UserError) a horizon past DP_HORIZON_CAP or tables past DP_MEMORY_CAP bytes."""
    T, S = mdp.horizon + 1, mdp.n_states
    if mdp.horizon > DP_HORIZON_CAP:
        raise UserError(f"horizon: {mdp.horizon:,} is past the cap of {DP_HORIZON_CAP:,} steps for the "
                        f"dynamic program")
    need = 4 * 8 * T * S  # the occupancy, the Krylov sequence, its running sum and a product buffer
    if need > DP_MEMORY_CAP:
        raise UserError(f"horizon: {mdp.horizon:,} with {S} states needs about {need / 2**30:.1f} GiB for the "
                        f"dynamic program, past the cap of {DP_MEMORY_CAP / 2**30:.0f} GiB")


def gradient_dp(mdp: FiniteMDP, policy, theta: Sequence) -> Gradient:
    """Float64 J and ∇J by dynamic programming (no enumeration)."""
    J, g = DynamicProgram(mdp, policy).value_and_grad(np.asarray([float(x) for x in theta]))
    return Gradient(J, tuple(float(x) for x in g), "dp")


def dp_tolerance(mdp: FiniteMDP, exact: Gradient) -> float:
    """Absolute tolerance for float64 DP against an exact route: 1e-9 relative, scaled by H+1."""
    scale = max([1.0, abs(float(exact.J))] + [abs(float(g)) for g in exact.grad])
    return 1e-9 * (mdp.horizon + 1) * scale


def gradient(mdp: FiniteMDP, policy, theta: Sequence, *, method: str = "dp", budget: int | None = None) -> Gradient:
    """J and ∇J at θ by the named route ("dp", "enumerate" or "symbolic")."""
    if method == "dp":
        return gradient_dp(mdp, policy, theta)
    if method in ("enumerate", "symbolic") and mdp.horizon > EXACT_HORIZON_CAP:
        raise UserError(f"horizon: {mdp.horizon:,} is past the cap of {EXACT_HORIZON_CAP:,} steps for the "
                        f"exact {method} route (use --method dp)")
    point = exact_point(policy, theta)
    if method == "enumerate":
        return gradient_enumerate(mdp, policy, point, budget=budget or ENUMERATION_BUDGET)
    if method == "symbolic":
        return gradient_symbolic(mdp, policy, point, budget=budget or SYMBOLIC_BUDGET)
    raise UserError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")


def _check_shapes(mdp: FiniteMDP, policy) -> None:
    if policy.n_states != mdp.n_states or policy.n_actions != mdp.n_actions:
        raise UserError(
            f"policy is for S={policy.n_states}, A={policy.n_actions} but the MDP has "
            f"S={mdp.n_states}, A={mdp.n_actions}"
        )
