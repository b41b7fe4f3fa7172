"""Statistical cross-check of a Monte-Carlo gradient estimate against the exact ∇J.

H0: E[ĝ] = ∇J. Per-component z-tests with Holm's step-down correction control the
family-wise false-alarm rate at α (asymptotically, by the CLT); the χ² test uses the
covariance of ĝ, either the sample covariance or, on enumerable MDPs, the exact one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import mpmath
import numpy as np

from .exact import enumerate_support, DynamicProgram
from .mdp import FiniteMDP
from .sampling import Batch, Estimate, per_trajectory_gradients, step_weights

__all__ = [
    "DEFAULT_ALPHA", "TESTS", "Verdict", "CrossCheck", "holm", "z_test", "chi2_test", "chi2_sf",
    "exact_covariance", "cross_check",
]

DEFAULT_ALPHA = 0.01


@dataclass(frozen=True)
class Verdict:
    """The test's outcome: per-component (Holm-adjusted) p-values, the family p-value and the verdict."""

    test: str
    alpha: float
    statistic: np.ndarray  # z per component, or the χ² statistic (0-d)
    p_values: np.ndarray   # Holm-adjusted per component (z), or the single χ² p-value
    p_value: float
    consistent: bool

    @property
    def verdict(self) -> str:
        return "consistent" if self.consistent else "biased"


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values: reject H0_k at level α iff adjusted p_k <= α."""
    p = np.asarray(p, dtype=float)
    n = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (n - np.arange(n))))
    out = np.empty(n)
    out[order] = adjusted
    return out


def _two_sided(z: float, dof: int | None = None) -> float:
    """Two-sided p-value of z under N(0,1), or under Student's t with ``dof`` degrees of freedom."""
    if dof is None:
        return math.erfc(abs(z) / math.sqrt(2.0))
    return float(mpmath.betainc(dof / 2.0, 0.5, 0, dof / (dof + z * z), regularized=True))


def _tolerance(exact: np.ndarray) -> float:
    # Float64 rounding of the estimate itself: what a zero-variance component may differ by.
    return 1e-9 * max(1.0, float(np.max(np.abs(exact), initial=0.0)))


def z_test(estimate: Sequence[float], stderr: Sequence[float], exact: Sequence[float], *,
           alpha: float = DEFAULT_ALPHA, dof: int | None = None) -> Verdict:
    """Two-sided z = (ĝ_k − ∇J_k)/se_k per component (t with ``dof``), Holm-corrected; biased if any adjusted p <= α."""
    est, se, ex = (np.asarray(x, dtype=float) for x in (estimate, stderr, exact))
    diff = est - ex
    z = np.zeros_like(diff)
    p = np.ones_like(diff)
    for k in range(diff.size):
        # A standard error at float-rounding level is no variance at all: compare exactly then.
        if se[k] > 1e-12 * max(1.0, abs(est[k]), abs(ex[k])):
            z[k] = diff[k] / se[k]
            p[k] = _two_sided(z[k], dof)
        elif abs(diff[k]) > _tolerance(ex):  # no variance, yet off: certainly biased
            z[k], p[k] = math.copysign(math.inf, diff[k]), 0.0
    adjusted = holm(p) if p.size else p
    family = float(adjusted.min()) if adjusted.size else 1.0
    return Verdict("holm-z", alpha, z, adjusted, family, family > alpha)


def chi2_sf(x: float, df: int) -> float:
    """P(χ²_df > x) as the regularized upper incomplete gamma Q(df/2, x/2)."""
    if df <= 0:
        return 1.0
    return float(mpmath.gammainc(df / 2.0, x / 2.0, mpmath.inf, regularized=True))


def chi2_test(estimate: Sequence[float], covariance: np.ndarray, exact: Sequence[float], *,
              alpha: float = DEFAULT_ALPHA) -> Verdict:
    """χ² = dᵀ Σ⁺ d on the range of Σ (the covariance of the mean), df = rank Σ; off-range error means biased."""
    d = np.asarray(estimate, dtype=float) - np.asarray(exact, dtype=float)
    cov = np.asarray(covariance, dtype=float)
    w, U = np.linalg.eigh((cov + cov.T) / 2)
    noise = (1e-12 * max(1.0, float(np.max(np.abs(exact), initial=0.0)))) ** 2  # rounding-level variance
    cutoff = max(float(w.max(initial=0.0)) * d.size * 1e-12, noise)
    keep = w > cutoff
    coords = U.T @ d
    if np.any(np.abs(coords[~keep]) > _tolerance(np.asarray(exact, dtype=float))):
        return Verdict("chi2", alpha, np.array(math.inf), np.array(0.0), 0.0, False)
    stat = float(np.sum(coords[keep] ** 2 / w[keep]))
    p = chi2_sf(stat, int(keep.sum()))
    return Verdict("chi2", alpha, np.array(stat), np.array(p), p, p > alpha)


def exact_covariance(mdp: FiniteMDP, policy, theta: Sequence, *, estimator: str = "reinforce") -> np.ndarray:
    """Cov[ĝ] of one trajectory's estimate, by enumerating every trajectory (float64 sums of exact weights)."""
    th = np.asarray([float(x) for x in theta])
    pi = policy.float_probabilities(th)
    en = enumerate_support(mdp, pi > 0)
    prob = en.environment_floats()
    for t in range(en.actions.shape[1]):
        prob = prob * pi[en.states[:, t], en.actions[:, t]]
    _, _, r = mdp.arrays()
    T = en.actions.shape[1]
    rewards = r[en.states[:, :T], en.actions, en.states[:, 1:]]
    batch = Batch(en.states, en.actions, rewards)
    baseline = DynamicProgram(mdp, policy).state_values(th) if estimator == "baseline" else None
    g = per_trajectory_gradients(policy, th, batch, step_weights(estimator, rewards, float(mdp.discount), baseline, en.states))
    mean = prob @ g
    dev = g - mean
    cov = (dev * prob[:, None]).T @ dev
    if mdp.reward_distribution:
        cov = cov + _reward_noise(mdp, policy, th, batch, estimator, prob)
    return cov


def _reward_noise(mdp: FiniteMDP, policy, th, batch: Batch, estimator: str, prob: np.ndarray) -> np.ndarray:
    """E_τ[Cov(ĝ | τ)] from P(r|s,a): ĝ is linear in the rewards, so each r_t adds Var(r_t)·u_t u_tᵀ."""
    S, A = mdp.n_states, mdp.n_actions
    var = np.zeros((S, A))
    for s in range(S):
        for a in range(A):
            pairs = mdp.reward_distribution[s][a]
            m1 = sum(float(p * r) for r, p in pairs)
            var[s, a] = sum(float(p * r * r) for r, p in pairs) - m1 * m1
    n, T = batch.actions.shape
    K = policy.n_params
    out = np.zeros((K, K))
    for t in range(T):
        impulse = np.zeros((n, T))
        impulse[:, t] = 1.0  # u_t = ∂ĝ/∂r_t; the baseline does not depend on rewards
        w = step_weights("reward-to-go" if estimator == "baseline" else estimator, impulse, float(mdp.discount))
        u = per_trajectory_gradients(policy, th, batch, w)
        v = var[batch.states[:, t], batch.actions[:, t]] * prob
        out += (u * v[:, None]).T @ u
    return out


TESTS = ("holm", "chi2", "chi2-exact")


@dataclass(frozen=True)
class CrossCheck:
    """Exact ∇J (float64 DP), the Monte-Carlo estimate, and the test's verdict."""

    exact: np.ndarray
    J: float
    estimate: Estimate
    verdict: Verdict


def cross_check(mdp: FiniteMDP, policy, theta: Sequence, *, samples: int = 100_000, seed: int = 0,
                estimator: str = "reinforce", alpha: float = DEFAULT_ALPHA, test: str = "holm",
                progress=None) -> CrossCheck:
    """Test H0: E[ĝ] = ∇J at level α with "holm" (z-tests), "chi2" (sample covariance) or "chi2-exact"."""
    from .errors import UserError
    from .sampling import estimate_gradient

    if test not in TESTS:
        raise UserError(f"test: expected one of {', '.join(TESTS)}, got {test!r}")
    if not 0 < alpha < 1:
        raise UserError(f"alpha: expected 0 < α < 1, got {alpha!r}")
    th = [float(x) for x in theta]
    J, grad = DynamicProgram(mdp, policy).value_and_grad(np.asarray(th))
    est = estimate_gradient(mdp, policy, th, samples=samples, seed=seed, estimator=estimator, progress=progress)
    if test == "holm":
        verdict = z_test(est.mean, est.stderr, grad, alpha=alpha, dof=est.dof)
    elif test == "chi2":
        if est.covariance is None:
            raise UserError(f"test: chi2 needs the covariance, kept only for <= 64 parameters (θ has {policy.n_params}); use holm")
        verdict = chi2_test(est.mean, est.covariance, grad, alpha=alpha)
    else:
        cov = exact_covariance(mdp, policy, th, estimator=estimator) / est.samples
        verdict = chi2_test(est.mean, cov, grad, alpha=alpha)
    return CrossCheck(np.asarray(grad), J, est, verdict)
