"""Parametrised policies π_θ(a|s) with exact probabilities and exact Jacobians ∂π/∂θ.

Exact coordinates: a softmax policy is given at a point z = e^θ with z rational and
positive, so π and every derivative with respect to θ are rational functions of z
(d/dθ = z·d/dz). A direct policy is given at θ itself (θ_{s,a} = π(a|s)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

__all__ = [
    "TabularSoftmax",
    "LinearSoftmax",
    "DirectPolicy",
    "InvalidPolicy",
    "format_point",
]


class InvalidPolicy(ValueError):
    """A policy or a parameter point is malformed; the message names what and where."""


def _fractions(point: Sequence, n: int, what: str) -> tuple[Fraction, ...]:
    if len(point) != n:
        raise InvalidPolicy(f"{what}: expected {n} values, got {len(point)}")
    return tuple(Fraction(x) for x in point)


class _Softmax:
    """What every softmax policy shares: unconstrained directions and a stable normalisation."""

    coordinates = "z"  # exact points are z = e^θ

    def tangent(self, v: Sequence) -> list[Fraction]:
        """Directions of differentiation are unconstrained for a softmax policy."""
        return [Fraction(x) for x in v]

    @staticmethod
    def _normalise(logits: np.ndarray) -> np.ndarray:
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class TabularSoftmax(_Softmax):
    """π(a|s) = exp θ_{s,a} / Σ_b exp θ_{s,b}; exact at z = e^θ, θ indexed row-major (s, a)."""

    n_states: int
    n_actions: int

    @property
    def n_params(self) -> int:
        return self.n_states * self.n_actions

    def probabilities(self, point: Sequence) -> list[list[Fraction]]:
        z = self._z(point)
        A = self.n_actions
        table = []
        for s in range(self.n_states):
            row = z[s * A:(s + 1) * A]
            total = sum(row, Fraction(0))
            table.append([x / total for x in row])
        return table

    def jacobian(self, point: Sequence) -> list[list[list[Fraction]]]:
        """J[s][a][k] = ∂π(a|s)/∂θ_k = π(a|s)(δ_{(s,a),k} − π(b|s) δ_{(s,b),k})."""
        pi = self.probabilities(point)
        A, K = self.n_actions, self.n_params
        jac = []
        for s in range(self.n_states):
            rows = []
            for a in range(A):
                g = [Fraction(0)] * K
                for b in range(A):
                    g[s * A + b] = pi[s][a] * ((1 if a == b else 0) - pi[s][b])
                rows.append(g)
            jac.append(rows)
        return jac

    def _z(self, point):
        z = _fractions(point, self.n_params, "z (= e^θ)")
        for k, v in enumerate(z):
            if v <= 0:
                raise InvalidPolicy(f"z[{k}] = e^θ_{k} must be > 0, got {v}")
        return z

    def float_probabilities(self, theta: np.ndarray) -> np.ndarray:
        return self._normalise(np.asarray(theta, dtype=float).reshape(self.n_states, self.n_actions))

    def scores(self, point: Sequence) -> list[list[list[Fraction]]]:
        """Exact ∇_θ log π(a|s) at an exact point, [S][A][K]."""
        return _exact_scores(self, point)

    def float_scores(self, theta: np.ndarray) -> np.ndarray:
        """∇_θ log π(a|s) as an [S, A, K] float array: e_{(s,a)} − Σ_b π(b|s) e_{(s,b)}."""
        pi = self.float_probabilities(theta)
        S, A = self.n_states, self.n_actions
        out = np.zeros((S, A, S, A))
        idx = np.arange(S)
        out[idx, :, idx, :] = -pi[:, None, :]
        out[idx[:, None], np.arange(A)[None, :], idx[:, None], np.arange(A)[None, :]] += 1.0
        return out.reshape(S, A, S * A)

    def float_pullback(self, theta: np.ndarray, weights: np.ndarray, *, probabilities=None) -> np.ndarray:
        """Σ_{s,a} w(s,a) ∂π(a|s)/∂θ for a weight table w[S, A]; costs O(S·A)."""
        pi = self.float_probabilities(theta) if probabilities is None else probabilities
        return (pi * (weights - (pi * weights).sum(axis=1, keepdims=True))).ravel()

    def theta_of(self, point: Sequence) -> list[str]:
        return [_log_text(v) for v in self._z(point)]

    def describe(self) -> str:
        return f"tabular softmax ({self.n_params} parameters)"


@dataclass(frozen=True)
class LinearSoftmax(_Softmax):
    """π(a|s) ∝ exp(θ·φ(s,a)) with real features, exact at z = e^θ (π ∝ Π_k z_k^{φ_k}).

    Features are held as exact rationals (a float is converted exactly: 0.5 is 1/2). With
    denominators whose least common multiple is L, the exact routes need z_k = w_k^L for a
    rational w_k, so that every power z_k^{φ_k} = w_k^{L·φ_k} stays rational.
    """

    features: tuple[tuple[tuple[Fraction, ...], ...], ...]  # [S][A][K]

    def __post_init__(self):
        rows = []
        for s, row in enumerate(self.features):
            out_row = []
            for a, phi in enumerate(row):
                out_row.append(tuple(_feature(v, f"features[{s}][{a}][{k}]") for k, v in enumerate(phi)))
            rows.append(tuple(out_row))
        object.__setattr__(self, "features", tuple(rows))

    @property
    def n_states(self) -> int:
        return len(self.features)

    @property
    def n_actions(self) -> int:
        return len(self.features[0])

    @property
    def n_params(self) -> int:
        return len(self.features[0][0])

    @property
    def feature_scale(self) -> int:
        """L, the least common multiple of the features' denominators (1 for integer features)."""
        return math.lcm(*(v.denominator for row in self.features for phi in row for v in phi))

    def exact_scale(self) -> int:
        """L, checked: the exact routes refuse L past MAX_FEATURE_SCALE (the powers would be astronomical)."""
        L = self.feature_scale
        if L > MAX_FEATURE_SCALE:
            raise InvalidPolicy(
                f"exact linear softmax: the features' denominators have least common multiple {L:.3g} "
                f"(past {MAX_FEATURE_SCALE:,}; a float such as 0.1 is exactly 3602879701896397/2^55): give the "
                f"features as exact numbers such as \"1/10\", or use a float route")
        return L

    def probabilities(self, point: Sequence) -> list[list[Fraction]]:
        z = _fractions(point, self.n_params, "z (= e^θ)")
        L = self.exact_scale()
        w = [_root(zk, L, k) for k, zk in enumerate(z)]
        table = []
        for row in self.features:
            weights = []
            for phi in row:
                weight = Fraction(1)
                for wk, fk in zip(w, phi):
                    weight *= wk ** int(fk * L)
                weights.append(weight)
            total = sum(weights, Fraction(0))
            table.append([x / total for x in weights])
        return table

    def jacobian(self, point: Sequence) -> list[list[list[Fraction]]]:
        """∂π(a|s)/∂θ_k = π(a|s)(φ_k(s,a) − Σ_b π(b|s) φ_k(s,b))."""
        pi = self.probabilities(point)
        jac = []
        for s, row in enumerate(self.features):
            mean = [sum((pi[s][b] * row[b][k] for b in range(len(row))), Fraction(0)) for k in range(self.n_params)]
            jac.append([[pi[s][a] * (row[a][k] - mean[k]) for k in range(self.n_params)] for a in range(len(row))])
        return jac

    def float_probabilities(self, theta: np.ndarray) -> np.ndarray:
        return self._normalise(np.asarray(self.features, dtype=float) @ np.asarray(theta, dtype=float))

    def scores(self, point: Sequence) -> list[list[list[Fraction]]]:
        """Exact ∇_θ log π(a|s) at an exact point, [S][A][K]."""
        return _exact_scores(self, point)

    def float_scores(self, theta: np.ndarray) -> np.ndarray:
        """∇_θ log π(a|s) as an [S, A, K] float array: φ(s,a) − Σ_b π(b|s) φ(s,b)."""
        phi = np.asarray(self.features, dtype=float)
        pi = self.float_probabilities(theta)
        return phi - np.einsum("sb,sbk->sk", pi, phi)[:, None, :]

    def float_pullback(self, theta: np.ndarray, weights: np.ndarray, *, probabilities=None) -> np.ndarray:
        """Σ_{s,a} w(s,a) ∂π(a|s)/∂θ for a weight table w[S, A]."""
        pi = self.float_probabilities(theta) if probabilities is None else probabilities
        return np.einsum("sa,sak->k", pi * weights, self.float_scores(theta))

    def theta_of(self, point: Sequence) -> list[str]:
        return [_log_text(Fraction(v)) for v in point]

    def describe(self) -> str:
        return f"linear softmax ({self.n_params} features)"


@dataclass(frozen=True)
class DirectPolicy:
    """π(a|s) = θ_{s,a}: the probabilities are the parameters (row-major (s, a))."""

    n_states: int
    n_actions: int

    coordinates = "theta"

    @property
    def n_params(self) -> int:
        return self.n_states * self.n_actions

    def probabilities(self, point: Sequence) -> list[list[Fraction]]:
        th = _fractions(point, self.n_params, "θ")
        A = self.n_actions
        table = [list(th[s * A:(s + 1) * A]) for s in range(self.n_states)]
        for s, row in enumerate(table):
            for a, v in enumerate(row):
                if v < 0:
                    raise InvalidPolicy(f"θ[{s * A + a}] = π({a}|{s}) must be >= 0, got {v}")
            if sum(row, Fraction(0)) != 1:
                raise InvalidPolicy(f"θ for state {s}: π(·|{s}) must sum to 1, sums to {sum(row, Fraction(0))}")
        return table

    def jacobian(self, point: Sequence) -> list[list[list[Fraction]]]:
        """∂π(a|s)/∂θ_k = δ_{(s,a),k}."""
        self.probabilities(point)
        A, K = self.n_actions, self.n_params
        return [
            [[Fraction(1 if k == s * A + a else 0) for k in range(K)] for a in range(A)]
            for s in range(self.n_states)
        ]

    def float_probabilities(self, theta: np.ndarray) -> np.ndarray:
        return np.asarray(theta, dtype=float).reshape(self.n_states, self.n_actions)

    def scores(self, point: Sequence) -> list[list[list[Fraction]]]:
        """Exact ∇_θ log π(a|s) at an exact point, [S][A][K]."""
        return _exact_scores(self, point)

    def float_scores(self, theta: np.ndarray) -> np.ndarray:
        """∇_θ log π(a|s) = e_{(s,a)} / θ_{s,a}; infinite where π(a|s) = 0 (no score there)."""
        th = np.asarray(theta, dtype=float)
        S, A = self.n_states, self.n_actions
        out = np.zeros((S * A, S * A))
        with np.errstate(divide="ignore"):
            out[np.arange(S * A), np.arange(S * A)] = 1.0 / th
        return out.reshape(S, A, S * A)

    def float_pullback(self, theta: np.ndarray, weights: np.ndarray, *, probabilities=None) -> np.ndarray:
        """Σ_{s,a} w(s,a) ∂π(a|s)/∂θ = w itself (∂π/∂θ is the identity)."""
        return np.asarray(weights, dtype=float).ravel().copy()

    def theta_of(self, point: Sequence) -> list[str]:
        return [str(Fraction(v)) for v in point]

    def tangent(self, v: Sequence) -> list[Fraction]:
        """Project v onto the simplex's tangent space (Σ_a v_{s,a} = 0 in each state).

        J is only defined on the simplex; off it, different formulas for J (enumeration,
        dynamic programming) are different functions, so only tangent derivatives mean anything.
        """
        A = self.n_actions
        out = []
        for s in range(self.n_states):
            row = [Fraction(x) for x in v[s * A:(s + 1) * A]]
            mean = sum(row, Fraction(0)) / A
            out.extend(x - mean for x in row)
        return out

    def describe(self) -> str:
        return f"direct ({self.n_params} parameters)"


MAX_FEATURE_SCALE = 10**6


def _feature(v, where: str) -> Fraction:
    """A feature value as an exact rational: ints, floats (converted exactly) and rationals."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, Fraction, np.integer, np.floating)):
        raise InvalidPolicy(f"{where}: expected a real number, got {v!r}")
    if not math.isfinite(float(v)):
        raise InvalidPolicy(f"{where}: expected a finite number, got {v!r}")
    return Fraction(v.item() if isinstance(v, np.generic) else v)


def _root(z: Fraction, L: int, k: int) -> Fraction:
    """The rational w > 0 with w^L = z; InvalidPolicy when z is not an L-th power."""
    if z <= 0:
        raise InvalidPolicy(f"z[{k}] = e^θ_{k} must be > 0, got {z}")
    if L == 1:
        return z
    num, den = _int_root(z.numerator, L), _int_root(z.denominator, L)
    if num is None or den is None:
        raise InvalidPolicy(f"e^θ_{k} = {z} has no exact rational root of order {L}, which features with "
                            f"denominator {L} need (π ∝ e^(θ·φ)); write θ_{k} as log(p/q) with p/q a perfect power "
                            f"of order {L}, give integer features, or use the float route (method dp)")
    return Fraction(num, den)


def _int_root(n: int, L: int) -> int | None:
    from sympy import integer_nthroot  # exact integer arithmetic; only fractional features need it

    r, exact = integer_nthroot(n, L)
    return int(r) if exact else None


def _exact_scores(policy, point) -> list[list[list[Fraction]]]:
    """∇_θ log π(a|s) = (∂π(a|s)/∂θ) / π(a|s), exactly; InvalidPolicy where π(a|s) = 0 (no score there)."""
    pi, jac = policy.probabilities(point), policy.jacobian(point)
    out = []
    for s, row in enumerate(jac):
        out_row = []
        for a, grad in enumerate(row):
            if pi[s][a] == 0:
                raise InvalidPolicy(f"π({a}|{s}) = 0: ∇log π({a}|{s}) does not exist")
            out_row.append([g / pi[s][a] for g in grad])
        out.append(out_row)
    return out


def _log_text(z: Fraction) -> str:
    """θ = log z, written exactly (and 0 when z = 1)."""
    if z == 1:
        return "0"
    return f"log({z}) ≈ {math.log(z):.4g}"


def format_point(policy, point: Sequence) -> str:
    """Human-readable θ for a policy's exact point."""
    return "[" + ", ".join(policy.theta_of(point)) + "]"
