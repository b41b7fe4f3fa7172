"""Exact kurtosis of one trajectory's REINFORCE and reward-to-go estimates by dynamic programming over time.

Enumeration gives every moment but stops at a few thousand trajectories; the fourth moment
needs no enumeration. Per component k, reward-to-go is X = Σ_t γ^t r_t C_t with
C_t = Σ_{u<=t} ∇_k log π(a_u|s_u), and REINFORCE is X = C_H · Σ_t γ^t r_t. Both are
polynomials in two running sums, (C, Y) with Y ← Y + γ^t r_t C (reward-to-go) or
(C, R) with R ← R + γ^t r_t (REINFORCE), so E[C^i Y^j ; s_t = s] for the monomials of
degree <= 4 carry forward exactly: an action adds ψ = ∇ log π(a|s) to C, a transition
adds a reward whose powers E[r^l | s, a, s'] are known. Y starts at −E[X], so its fourth
moment is central with no cancellation. Cost O((H+1)·S²·A·K·25) in float64.
"""

from __future__ import annotations

import math
from math import comb

import numpy as np

from .mdp import FiniteMDP

__all__ = ["dp_kurtosis", "DP_KURTOSIS_BUDGET", "dp_cost"]

DP_KURTOSIS_BUDGET = 4_000_000_000  # multiply-adds of one call (~1 s here); past it: None


def dp_cost(mdp: FiniteMDP, n_params: int) -> int:
    """Multiply-adds of :func:`dp_kurtosis` for one estimator: (H+1)·S·A·S·K·25 monomials·5 reward powers."""
    S, A = mdp.n_states, mdp.n_actions
    return (mdp.horizon + 1) * S * A * (S + 5) * n_params * 25 * 5


def _pow2_at_least(x: float) -> float:
    return 1.0 if x == 0 or not math.isfinite(x) else math.ldexp(1.0, math.frexp(x)[1])


def _reward_powers(mdp: FiniteMDP, unit: float, top: int) -> np.ndarray:
    """[top+1, S, A, S'] E[(r/unit)^l | s, a, s'] for l = 0..top (rewards random given (s, a), or fixed per s')."""
    _, _, r = mdp.arrays()
    S, A = mdp.n_states, mdp.n_actions
    out = np.empty((top + 1, S, A, S))
    if mdp.reward_distribution:
        for s in range(S):
            for a in range(A):
                pairs = [(float(v) / unit, float(p)) for v, p in mdp.reward_distribution[s][a]]
                for l in range(top + 1):
                    out[l, s, a, :] = sum(p * v ** l for v, p in pairs)
        return out
    rs = r / unit
    for l in range(top + 1):
        out[l] = rs ** l
    return out


def _run(mdp: FiniteMDP, pi: np.ndarray, psi: np.ndarray, rpow: np.ndarray, z0: np.ndarray, *, mode: str,
         degree: int) -> dict:
    """E[C^i Z^j] at the end of the episode for the monomials of ``mode``: {(i, j): [K]}.

    mode "rtg": Z ← Z + γ^t r C (after C ← C + ψ), monomials i + j <= degree;
    mode "reinforce": Z ← Z + γ^t r, monomials i, j <= degree. Z starts at z0 [K].
    """
    mu, P, _ = mdp.arrays()
    S, A, K = psi.shape
    if mode == "rtg":
        monos = [(i, j) for i in range(degree + 1) for j in range(degree + 1 - i)]
    else:
        monos = [(i, j) for i in range(degree + 1) for j in range(degree + 1)]
    index = {m: n for n, m in enumerate(monos)}
    top_c = max(i for i, _ in monos)
    ppow = [np.ones_like(psi)]
    for _ in range(top_c + (degree if mode == "rtg" else 0)):
        ppow.append(ppow[-1] * psi)
    gamma = float(mdp.discount)
    M = np.zeros((S, len(monos), K))
    for (i, j), n in index.items():
        if i == 0:
            M[:, n, :] = mu[:, None] * z0[None, :] ** j
    L = rpow.shape[0]
    # [L·S', SA]: row (l, s') holds P(s'|s, a) E[r^l | s, a, s'] — one contiguous product per step.
    trans = np.ascontiguousarray(np.stack([(P * rpow[l]).reshape(S * A, S).T for l in range(L)]).reshape(L * S, S * A))
    for t in range(mdp.horizon + 1):
        # The action: C ← C + ψ(s, a), weighted by π(a|s).
        M1 = np.zeros((S, A, len(monos), K))
        for (i, j), n in index.items():
            acc = np.zeros((S, A, K))
            for q in range(i + 1):
                acc += comb(i, q) * ppow[i - q] * M[:, None, index[(q, j)], :]
            M1[:, :, n, :] = pi[:, :, None] * acc
        flat = M1.reshape(S * A, len(monos) * K)
        c = gamma ** t
        # The transition to s' with its reward r: Z ← Z + c r C (or + c r); E[r^l | s, a, s'] per power.
        W = (trans @ flat).reshape(L, S, len(monos), K)
        M = np.zeros((S, len(monos), K))
        for (i, j), n in index.items():
            for l in range(j + 1):
                src = (i + l, j - l) if mode == "rtg" else (i, j - l)
                M[:, n, :] += comb(j, l) * c ** l * W[l][:, index[src], :]
    total = M.sum(axis=0)
    return {m: total[n] for m, n in index.items()}


def dp_kurtosis(mdp: FiniteMDP, policy, theta, estimator: str, *, budget: int = DP_KURTOSIS_BUDGET):
    """Per component, κ_k = E(X_k − EX_k)⁴ / σ_k⁴ of one trajectory's estimate X (0 where σ_k = 0), or None when the
    DP would cost more than ``budget`` multiply-adds or a moment is not finite. ``estimator``: "reinforce" or
    "reward-to-go"."""
    if estimator not in ("reinforce", "reward-to-go"):
        raise ValueError(f"estimator: expected reinforce or reward-to-go, got {estimator!r}")
    th = np.asarray([float(x) for x in theta])
    K = int(policy.n_params)
    if dp_cost(mdp, K) > budget:
        return None
    pi = np.asarray(policy.float_probabilities(th), dtype=float)
    psi = np.asarray(policy.float_scores(th), dtype=float)
    with np.errstate(invalid="ignore"):
        psi = np.where(pi[:, :, None] > 0, psi, 0.0)  # actions never taken carry no score (and may be ±inf)
    if not np.all(np.isfinite(psi)):
        return None
    # Kurtosis is scale-free: powers of two put ψ and r in [-1, 1], so that fourth powers stay in range.
    psi = psi / _pow2_at_least(float(np.max(np.abs(psi), initial=0.0)))
    _, _, r = mdp.arrays()
    top = float(np.max(np.abs(r), initial=0.0))
    if mdp.reward_distribution:
        top = max(top, max(abs(float(v)) for row in mdp.reward_distribution for pairs in row for v, _ in pairs))
    rpow = _reward_powers(mdp, _pow2_at_least(top), 4)
    with np.errstate(all="ignore"):
        if estimator == "reward-to-go":
            mean = _run(mdp, pi, psi, rpow[:2], np.zeros(K), mode="rtg", degree=1)[(0, 1)]
            m = _run(mdp, pi, psi, rpow, -mean, mode="rtg", degree=4)
            m2, m4 = m[(0, 2)], m[(0, 4)]
        else:
            first = _run(mdp, pi, psi, rpow[:2], np.zeros(K), mode="reinforce", degree=1)
            J = float(first[(0, 1)][0])  # E[R], the same for every component
            m = _run(mdp, pi, psi, rpow, np.full(K, -J), mode="reinforce", degree=4)
            # X = C·R = C·R̃ + J·C with R̃ = R − J; central moments by the multinomial expansion in (C R̃, J C, −μ).
            mu = m[(1, 1)] + J * m[(1, 0)]

            def central(power):
                out, size = np.zeros(K), np.zeros(K)
                for p in range(power + 1):
                    for q in range(power + 1 - p):
                        rr = power - p - q
                        coeff = math.factorial(power) // (math.factorial(p) * math.factorial(q) * math.factorial(rr))
                        term = coeff * J ** q * (-mu) ** rr * m[(p + q, p)]
                        out += term
                        size += np.abs(term)
                return out, size

            (m2, size2), (m4, size4) = central(2), central(4)
            # The expansion cancels: a variance within rounding of its terms is none (X = 0 on every trajectory,
            # as enumeration finds it), and a fourth moment lost in rounding is no figure: inf, which can
            # only leave components untested.
            m2 = np.where(m2 <= 1e-12 * size2, 0.0, m2)
            lost = (m2 > 0) & (m4 * 1e-3 < 1e-14 * size4)
            m4 = np.where(lost, np.inf, m4)
        if not (np.all(np.isfinite(m2)) and np.all(np.isfinite(m4) | (m4 == np.inf))):
            return None
        ok = m2 > 1e-300
        kurt = np.where(ok, m4 / np.where(ok, m2 * m2, 1.0), 0.0)
    # Rounding can leave a tiny negative m4 or a ratio below 1 where σ is rounding-level: no variance, nothing to cap.
    return np.where(ok & (kurt >= 1.0), kurt, np.where(ok, 1.0, 0.0))
