"""Statistical cross-check of a Monte-Carlo gradient estimate against the exact ∇J.

H0: E[ĝ] = ∇J. Per-component tests with Holm's step-down correction control the
family-wise false-alarm rate at α. The default ("auto") uses the exact covariance of ĝ
where the MDP's trajectories can be enumerated, and where few events carry a component's
signal (small Berry–Esseen size) Bennett's bound with its exact variance and range, valid
at any sample size, stating the biases it could not show; otherwise :func:`batch_test` runs Student t
on independent batch estimates, leaves components with a small effective sample size
untested (and says so), and judges a component that never varied by the model probability
of the event that kept it constant, never by z = ∞. Non-finite values are errors.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Sequence

import mpmath
import numpy as np

from .display import Displayed
from .exact import enumerate_support, DynamicProgram
from .mdp import FiniteMDP
from .sampling import Batch, Estimate, per_trajectory_gradients, step_weights

__all__ = [
    "DEFAULT_ALPHA", "TESTS", "MIN_ESS", "EXACT_MIN_ESS", "Verdict", "CrossCheck", "holm", "z_test", "chi2_test", "chi2_sf",
    "exact_covariance", "exact_moments", "cross_check", "batch_test", "effective_sample_size", "require_finite",
    "informative_probability", "informed_states", "unexplored_p", "reached_before_reward", "estimate_bound",
    "Moments", "exact_distribution", "batch_ess", "bennett_tail", "bennett_p", "bennett_resolution",
]

DEFAULT_ALPHA = 0.01
MIN_ESS = 100  # effective sample size below which a component's t-test is not trusted (see batch_test)
EXACT_MIN_ESS = 10  # the same for the z-test with the exact variance: only the mean's skewness is at stake
AUTO_ENUMERATION = 200_000  # trajectories up to which "auto" takes the exact covariance (~0.5 s)
AUTO_BATCHES = 1_000  # independent batches of the "auto" test when the covariance cannot be had exactly


@dataclass(frozen=True)
class Verdict(Displayed):
    """The test's outcome: per-component (Holm-adjusted) p-values, the family p-value and the verdict."""

    test: str
    alpha: float
    statistic: np.ndarray  # z per component, or the χ² statistic (0-d)
    p_values: np.ndarray   # Holm-adjusted per component (z), or the single χ² p-value
    p_value: float
    consistent: bool                    # nothing rejected and every component tested
    estimate: np.ndarray | None = None  # the mean, when the test computed it (batch_test)
    stderr: np.ndarray | None = None
    ess: np.ndarray | None = None       # effective sample size per component (batch_test)
    untested: tuple = ()                # components left untested: effective sample size too small
    notes: tuple = ()                   # warnings to print beside the verdict
    constant: tuple = ()                # of ``untested``: no variance beyond rounding (more samples will not decide)

    @property
    def rejected(self) -> bool:
        """H0 rejected: the family p-value is at most α."""
        return self.p_value <= self.alpha

    @property
    def verdict(self) -> str:
        """"biased" (rejected), "undecided" (nothing rejected, some components untested) or "consistent"."""
        if self.rejected:
            return "biased"
        return "undecided" if self.untested else "consistent"


def require_finite(what: str, values) -> np.ndarray:
    """``values`` as a float array, or a UserError naming ``what`` when any entry is nan or ±inf."""
    from .errors import UserError

    a = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(a)):
        bad = int(np.flatnonzero(~np.isfinite(a.ravel()))[0])
        raise UserError(f"{what} is not finite (entry {bad} is {a.ravel()[bad]}): float64 overflowed or the "
                        f"input holds nan/inf; rescale the rewards")
    return a


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


ROUNDING = 1e-9   # relative to the problem's scale: what float64 rounding of DP and estimator may differ by
FLAT = 1e-12      # a standard error below FLAT × the problem's scale is rounding, not variance


def _unit(*arrays) -> float:
    """A power of two at least max|x| over ``arrays`` (1 when all are 0): dividing by it is exact and puts
    every value in [-1, 1], so that squares neither overflow (rewards near 1e160) nor underflow (1e-200)."""
    top = max((float(np.max(np.abs(a), initial=0.0)) for a in arrays), default=0.0)
    if top == 0.0:
        return 1.0
    if not math.isfinite(top):
        from .errors import UserError

        raise UserError(f"a value is not finite ({top}): float64 overflowed or the input holds nan/inf")
    return math.ldexp(1.0, math.frexp(top)[1])


def _constant_p(k: int, diff: float, c: float, n: int, unexplored, bound, scale: float):
    """p-value of a component that never varied (value c, c − ∇J_k = ``diff`` beyond rounding), or None: untested.

    ``unexplored[k]`` = (1 − q)^n, q the model probability that a trajectory reaches k's states with
    reward to follow: valid only for c = 0 exactly (what a score-function estimator gives when that never
    happened) and q > 0; q = 0 (no trajectory can) gives no information, never p = 1. ``bound[k]`` = M
    with |estimate| <= M: the mean differs from c only if P(X ≠ c) >= |diff|/2M.
    """
    u = None if unexplored is None else float(unexplored[k])
    m = None if bound is None else float(bound[k])
    if u is not None and math.isfinite(u) and c == 0.0 and u < 1.0:
        return u
    if m is not None and m > 0 and math.isfinite(m):
        return math.exp(n * math.log1p(-min(1.0, abs(diff) * scale / (2 * m))))
    return None



def _bennett_h(u: float) -> float:
    """h(u) = (1 + u) log(1 + u) − u, by its series where the closed form cancels."""
    if u < 1e-4:
        return u * u / 2 - u ** 3 / 6 + u ** 4 / 12
    return (1 + u) * math.log1p(u) - u


def bennett_tail(d: float, var: float, b: float, n: int) -> float:
    """Bennett's bound on P(X̄ − μ >= d), X̄ the mean of n independent copies of X with X − μ <= b, Var X = var.

    exp(−n (var/b²) h(b d/var)); valid at every n (no normal approximation). 0 when d > b
    (X̄ cannot get there) and 1 for d <= 0.
    """
    if d <= 0:
        return 1.0
    if d > b or var <= 0:
        return 0.0
    return math.exp(-n * (var / (b * b)) * _bennett_h(b * d / var))


def bennett_p(d: float, var: float, up: float, down: float, n: int) -> float:
    """Two-sided p-value for an observed X̄ − μ = d: twice Bennett's bound on the tail d points into
    (up = max X − μ, down = μ − min X). Each side holds at α/2, so the pair holds at α, and a light
    tail keeps its power when the other is heavy."""
    if d == 0:
        return 1.0
    return min(1.0, 2 * bennett_tail(abs(d), var, max(up if d > 0 else down, 0.0), n))


def bennett_resolution(var: float, up: float, down: float, n: int, level: float) -> tuple[float, float]:
    """(ε₊, ε₋): :func:`bennett_p` <= ``level`` once X̄ − μ >= ε₊ or <= −ε₋; a bias inside (−ε₋, ε₊) cannot show."""
    def solve(sign: float, b: float) -> float:
        lo, hi = 0.0, max(b, 0.0) * (1 + 1e-12) + 1e-300
        for _ in range(80):
            mid = (lo + hi) / 2
            if bennett_p(sign * mid, var, up, down, n) <= level:
                hi = mid
            else:
                lo = mid
        return hi

    return solve(1.0, up), solve(-1.0, down)


def z_test(estimate: Sequence[float], stderr: Sequence[float], exact: Sequence[float], *,
           alpha: float = DEFAULT_ALPHA, dof: int | None = None, unexplored=None, bound=None,
           samples: int | None = None, ess=None, min_ess: float = MIN_ESS, ranges=None) -> Verdict:
    """Two-sided z = (ĝ_k − ∇J_k)/se_k per component (t with ``dof``), Holm-corrected; biased if any adjusted p <= α.

    A component without variance that differs from ∇J is biased outright only when its
    standard error is exact; with a plug-in one pass ``unexplored``/``bound`` and
    ``samples`` (the number of independent rows): its p-value then comes from the model,
    as in :func:`batch_test`. Where ``ess`` is below ``min_ess`` the normal reference is not
    trusted: with ``ranges`` = (low, high), the exact range of one row's estimate (the
    standard error then exact too, of a mean of ``samples`` rows), the component is judged
    by Bennett's inequality, valid at any sample size; it counts as tested when a bias as
    large as max|∇J| would show (its resolution is named in ``notes``), else untested.
    Without ``ranges``, Chebyshev's bound judges it and it stays untested.
    """
    est, se, ex = (require_finite(w, x) for w, x in (("estimate", estimate), ("standard error", stderr),
                                                      ("exact ∇J", exact)))
    scale = _unit(est, ex, se)
    est, se, ex = est / scale, se / scale, ex / scale  # tolerances are relative to the problem's own scale
    diff = est - ex
    z = np.zeros_like(diff)
    p = np.ones_like(diff)
    untested, few, bounded = [], [], {}
    if ranges is not None:
        n = int(samples)
        low, high = (require_finite("range of the estimate", np.asarray(x, dtype=float)) / scale for x in ranges)
        level = alpha / max(1, diff.size)  # Holm's first step: what a single component must reach
        gauge = float(np.max(np.abs(ex), initial=0.0))  # the gradient's own size
    for k in range(diff.size):
        # A standard error at float-rounding level is no variance at all: compare exactly then.
        if se[k] > FLAT:
            z[k] = diff[k] / se[k]
            if ess is not None and ess[k] < min_ess and ranges is not None:
                # Few events carry the signal: Bennett's bound with the exact variance and range holds at any n.
                var = se[k] * se[k] * n
                up, down = high[k] - ex[k] + ROUNDING, ex[k] - low[k] + ROUNDING  # rounding of DP and sums
                p[k] = bennett_p(diff[k], var, up, down, n)
                bounded[k] = eps = bennett_resolution(var, up, down, n, level)
                if p[k] > alpha and not max(eps) < gauge:
                    few.append(k)  # not even a bias the size of ∇J itself could show: no verdict
                continue
            if ess is not None and ess[k] < min_ess:
                # The normal reference rests on too few events: Chebyshev's P(|z| >= c) <= 1/c² holds for any
                # distribution with this (exact) variance, so it may still reject; otherwise untested.
                few.append(k)
                p[k] = min(1.0, 1.0 / (z[k] * z[k])) if z[k] != 0 else 1.0
                continue
            p[k] = _two_sided(z[k], dof)
        elif abs(diff[k]) > ROUNDING:
            if unexplored is None and bound is None:  # the standard error is exact: no variance, yet off
                p[k] = 0.0
            else:
                pk = _constant_p(k, diff[k], est[k], samples or 1, unexplored, bound, scale)
                if pk is None:
                    untested.append(k)
                    continue
                p[k] = pk
            z[k] = math.copysign(math.inf, diff[k]) if p[k] == 0 else 0.0
    adjusted = holm(p) if p.size else p
    family = float(adjusted.min()) if adjusted.size else 1.0
    notes = []
    if bounded:
        worst = max(bounded, key=lambda k: max(bounded[k]))
        up, down = bounded[worst]
        blind = [k for k in few if k in bounded]
        notes.append(f"{len(bounded)} of {diff.size} components judged by Bennett's bound (exact variance and range, "
                     f"valid at any sample size), their effective sample size being below {min_ess:g}: only a bias "
                     f"outside its resolution can show (θ[{worst}]: above +{up * scale:.3g} or below −{down * scale:.3g}, "
                     f"∇J = {ex[worst] * scale:.3g}, effective sample size {ess[worst]:.3g})"
                     + (f"; {len(blind)} untested, a bias as large as max|∇J| = {gauge * scale:.3g} could not show "
                        f"there in both directions: raise the number of samples" if blind else ""))
    few_cheb = [k for k in few if k not in bounded]
    if few_cheb:
        worst = min(few_cheb, key=lambda k: ess[k])
        notes.append(f"{len(few_cheb)} of {diff.size} components untested: effective sample size below {min_ess:g} "
                     f"(smallest: θ[{worst}], {ess[worst]:.3g}; judged by Chebyshev's bound only, which can reject "
                     f"but has little power); raise the number of samples")
    if untested:
        notes.append(f"{len(untested)} of {diff.size} components untested: the same value on every trajectory yet "
                     f"≠ ∇J, and no event of positive probability would have moved it (e.g. θ[{untested[0]}])")
    untested = sorted(untested + few)
    return Verdict("holm-z", alpha, z, adjusted, family, family > alpha and not untested,
                   ess=None if ess is None else np.asarray(ess, dtype=float), untested=tuple(untested),
                   notes=tuple(notes))


def effective_sample_size(values: np.ndarray) -> np.ndarray:
    """2n / (κ − 1) per column, κ the sample kurtosis: n for normal data, ≈ 2·(number of events) for rare ones.

    It is the sample size at which a normal sample would estimate the variance as well;
    a t-test whose standard error rests on a few rare events has a small one.
    """
    x = np.asarray(values, dtype=float)
    n = x.shape[0]
    d = x - x.mean(axis=0)
    top = np.max(np.abs(d), axis=0, initial=0.0)
    d = d / np.where(top > 0, top, 1.0)  # kurtosis is scale-free: standardize so that d⁴ cannot over/underflow
    m2 = (d * d).mean(axis=0)
    m4 = (d ** 4).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(m2 > 0, m4 / (m2 * m2), np.inf)
        ess = np.where(kappa > 1, 2.0 * n / (kappa - 1.0), float(n))
    return np.minimum(ess, float(n))


def batch_ess(kurtosis, batch_size: int, n_batches: int) -> np.ndarray:
    """:func:`effective_sample_size` of n independent means of ``batch_size`` rows, from one row's exact kurtosis κ₁.

    A mean of B independent rows has excess kurtosis (κ₁ − 3)/B, so κ_B = 3 + (κ₁ − 3)/B and the
    effective sample size is 2n / (κ_B − 1), at most n; inf where κ₁ = 0 (no variance: nothing to guard).
    """
    k1 = np.asarray(kurtosis, dtype=float)
    kb = 3.0 + (k1 - 3.0) / float(batch_size)
    with np.errstate(divide="ignore"):
        ess = np.where(kb > 1, 2.0 * n_batches / (kb - 1.0), float(n_batches))
    return np.where(k1 > 0, np.minimum(ess, float(n_batches)), np.inf)


def batch_test(batches, exact, *, alpha: float = DEFAULT_ALPHA, unexplored=None, bound=None,
               min_ess: float = MIN_ESS, labels: Sequence[str] | None = None, model_ess=None) -> Verdict:
    """Test E[batch estimate] = ∇J from n independent batch estimates [n, K]: Student t (n − 1 dof), Holm.

    Rows of ``batches`` must be independent (one per independent batch); rows within a
    batch may depend on each other, since only the batch's estimate enters. A component
    whose effective sample size is below min(``min_ess``, n/4) is left untested (p = 1) and
    named in ``notes``: its standard error rests on too few events for the t reference.
    A component that never varied (value c ≠ ∇J_k beyond rounding) gets a p-value that
    holds for any estimator only from the model: ``unexplored[k]`` (finite) is the
    probability of the sample's event that kept it constant (no trajectory reached its
    states with reward to follow); else with ``bound[k]`` = M, |batch estimate| <= M, the
    mean differs from c only if P(X ≠ c) >= |∇J_k − c| / 2M, so p = (1 − |∇J_k − c|/2M)^n.
    Without either, such a component is untested and named in ``notes``: a correct
    estimator can be constant on every batch drawn (e.g. Σ_t (e_{a_t} − π) = 0 when each
    action was taken equally often), so z = ∞ would be a false alarm.

    ``model_ess`` [K] (from :func:`batch_ess`: a correct estimator's exact kurtosis on this
    MDP) caps the sample's effective sample size: on heavy tails whose largest values are
    rarely drawn the sample kurtosis understates the true one, so the sample alone would let
    a liberal t-test run (its standard error shrinks with the estimate when the tail is not
    seen). The cap can only leave more components untested, never make a verdict stronger.
    """
    G = require_finite("batch estimates", batches)
    ex = require_finite("exact ∇J", exact)
    if G.ndim != 2 or G.shape[1] != ex.size or G.shape[0] < 2:
        from .errors import UserError

        raise UserError(f"batch estimates: expected an [n >= 2, K = {ex.size}] array, got shape {list(G.shape)}")
    n, K = G.shape
    scale = _unit(G, ex)
    Gs, exs = G / scale, ex / scale  # in the problem's own unit: relative tolerances, no over/underflow
    mean_s = Gs.mean(axis=0)
    se_s = Gs.std(axis=0, ddof=1) / math.sqrt(n)
    ess = effective_sample_size(Gs)
    for what, v in (("mean of the batch estimates", mean_s), ("standard error", se_s), ("effective sample size", ess)):
        require_finite(what, v)
    sample_ess = ess
    if model_ess is not None:
        model = np.asarray(model_ess, dtype=float)
        if model.shape != ess.shape or np.any(np.isnan(model)):
            from .errors import UserError

            raise UserError(f"model_ess: expected {ess.size} numbers (inf where there is no bound), got {model!r}")
        ess = np.minimum(ess, model)
    mean, se = mean_s * scale, se_s * scale
    floor = min(float(min_ess), n / 4.0)  # a normal sample's own kurtosis rarely puts it below n/4
    t = np.zeros(K)
    p = np.ones(K)
    untested = []
    constant, flat = [], []
    notes = []
    for k in range(K):
        diff = mean_s[k] - exs[k]
        if se_s[k] > FLAT:
            if ess[k] < floor:
                untested.append(k)
                continue
            t[k] = diff / se_s[k]
            p[k] = _two_sided(t[k], n - 1)
        elif abs(diff) > ROUNDING:
            pk = _constant_p(k, diff, mean_s[k], n, unexplored, bound, scale)
            if pk is None:
                # Exactly one value in every batch, or a spread below FLAT × the problem's scale (a real
                # variation cannot be told from float64 rounding of a constant there): told apart in the note.
                (constant if float(np.ptp(Gs[:, k])) == 0.0 else flat).append(k)
                continue
            p[k] = pk  # P(the event that kept component k constant) under the model, or the bound's
            t[k] = math.copysign(math.inf, diff) if p[k] == 0 else 0.0
    name = (lambda k: labels[k]) if labels is not None else (lambda k: f"θ[{k}]")
    if untested:
        worst = min(untested, key=lambda k: ess[k])
        capped = [k for k in untested if ess[k] < sample_ess[k]]
        notes.append(f"{len(untested)} of {K} components untested: effective sample size below {floor:g} "
                     f"(smallest: {name(worst)}, {ess[worst]:.3g}"
                     + (f"; {len(capped)} of them by the exact kurtosis of a correct estimator on this MDP, "
                        f"where the sample's own kurtosis said {sample_ess[capped[0]]:.3g} for {name(capped[0])}: "
                        f"a tail too rare to show in the sample" if capped else "")
                     + "); raise the number of samples")
    black_box = ("no valid reference: the estimator is a black box with no known bound, so an event its samples "
                 "never hit could carry the difference; derive does not call it biased, and more samples will not "
                 "decide it")
    if constant:
        k0 = constant[0]
        reached = unexplored is not None and all(math.isnan(float(unexplored[k])) for k in constant)
        notes.append(f"{len(constant)} of {K} components untested: exactly the same value in all {n:,} batches yet "
                     f"≠ ∇J (e.g. {name(k0)}: {mean[k0]:.4g} against {ex[k0]:.4g})"
                     + (", although the sample reached the states that move them with a reward to follow, where a "
                        "score-function estimate varies" if reached else "")
                     + f"; {black_box}. An estimate that does not depend on the trajectories gives this (a gradient "
                       f"cut off by .detach() or computed under no_grad, rewards zeroed or overwritten, a component "
                       f"masked): check that yours moves with tr.rewards and tr.actions")
    if flat:
        k0 = flat[0]
        spread = float(np.max(np.ptp(G[:, flat], axis=0)))
        ratio = mean[k0] / ex[k0] if ex[k0] != 0 else math.nan
        notes.append(f"{len(flat)} of {K} components untested: they vary from batch to batch (by up to {spread:.3g}), "
                     f"but their standard error is below {FLAT:g} of the problem's scale ({scale:.3g}), where a real "
                     f"variation cannot be told from float64 rounding of a constant (e.g. {name(k0)}: mean {mean[k0]:.4g} against "
                     f"∇J = {ex[k0]:.4g}, a ratio of {ratio:.3g}); {black_box}. A stray factor (a unit or normaliser "
                     f"slip) or a cut gradient gives this: check the estimate's scale against ∇J's")
    constant = sorted(constant + flat)
    untested = sorted(untested + constant)
    adjusted = holm(p) if p.size else p
    family = float(adjusted.min()) if adjusted.size else 1.0
    return Verdict("batch-t", alpha, t, adjusted, family, family > alpha and not untested, mean, se, ess,
                   tuple(untested), tuple(notes), tuple(constant))


def estimate_bound(mdp: FiniteMDP, policy, theta, estimator: str) -> np.ndarray:
    """M_k with |ĝ_k| <= M_k for every trajectory: (H+1) max|∇_k log π| × the largest step weight |w_t|."""
    th = np.asarray(theta, dtype=float)
    sc = np.abs(np.asarray(policy.float_scores(th)))
    _, _, r = mdp.arrays()
    top = float(np.max(np.abs(r), initial=0.0))
    if mdp.reward_distribution:
        top = max(top, max(abs(float(v)) for row in mdp.reward_distribution for pairs in row for v, _ in pairs))
    T = mdp.horizon + 1
    weight = top * float(np.sum(float(mdp.discount) ** np.arange(T)))  # |Σ γ^t r_t|, a whole return
    if estimator == "baseline":
        weight *= 2  # reward-to-go minus γ^t V_t(s_t), each no larger than a whole return
    return T * sc.max(axis=(0, 1)) * weight


def informed_states(policy, theta) -> np.ndarray:
    """[K, S] mask: the states whose score ∇log π(·|s) moves component k (where its estimate can change)."""
    sc = np.asarray(policy.float_scores(np.asarray(theta, dtype=float)))  # [S, A, K]
    with np.errstate(invalid="ignore"):
        return np.any((sc != 0) & ~np.isnan(sc), axis=1).T


def _rewarding(mdp: FiniteMDP) -> np.ndarray:
    """ρ(s, a, s') = P(r_t ≠ 0 | s, a, s')."""
    _, _, r = mdp.arrays()
    if not mdp.reward_distribution:
        return (r != 0).astype(float)
    rho = np.array([[sum(float(p) for v, p in pairs if v != 0) for pairs in row] for row in mdp.reward_distribution])
    return np.broadcast_to(rho[:, :, None], r.shape).astype(float)


def informative_probability(mdp: FiniteMDP, policy, theta, masks: np.ndarray) -> np.ndarray:
    """q per mask: P(the trajectory visits a masked state at some t and gets a nonzero reward at some t' >= t).

    Float64 forward recursion over (state, visited yet) for every mask at once, O(H·S²·n_masks).
    """
    th = np.asarray(theta, dtype=float)
    mu, P, _ = mdp.arrays()
    pi = policy.float_probabilities(th)
    rho = _rewarding(mdp)
    flow = pi[:, :, None] * P                    # [S, A, S'] P(a, s' | s)
    M = flow.sum(axis=1)                         # s -> s'
    M0 = (flow * (1 - rho)).sum(axis=1)          # s -> s' with a zero reward on the way
    hit = (flow * rho).sum(axis=(1, 2))          # P(nonzero reward now | s)
    V = np.asarray(masks, dtype=bool)
    u = np.where(V, 0.0, mu[None, :])            # not yet visited
    v = np.where(V, mu[None, :], 0.0)            # visited, no nonzero reward since
    q = np.zeros(V.shape[0])
    for _ in range(mdp.horizon + 1):
        q += v @ hit
        u, v = u @ M, v @ M0
        v = v + np.where(V, u, 0.0)
        u = np.where(V, 0.0, u)
    return np.clip(q, 0.0, 1.0)


def unexplored_p(mdp: FiniteMDP, policy, theta, informed: np.ndarray, samples: int) -> np.ndarray:
    """Per component: (1 − q_k)^samples where the sample never reached component k's states with reward to follow
    (``informed``: [S] bool, states so reached in the sample); nan where it did."""
    masks = informed_states(policy, theta)
    out = np.full(masks.shape[0], np.nan)
    quiet = ~np.any(masks & np.asarray(informed, dtype=bool)[None, :], axis=1)
    if np.any(quiet):
        q = informative_probability(mdp, policy, theta, masks[quiet])
        out[quiet] = np.exp(samples * np.log1p(-np.minimum(q, 1.0 - 1e-16)))
    return out


def reached_before_reward(states: np.ndarray, rewards: np.ndarray, n_states: int) -> np.ndarray:
    """[S] bool: states s_t that some trajectory visited at a t with a nonzero reward at some t' >= t."""
    T = rewards.shape[1]
    nz = rewards != 0
    last = np.where(nz.any(axis=1), T - 1 - np.argmax(nz[:, ::-1], axis=1), -1)
    keep = np.arange(T)[None, :] <= last[:, None]
    return np.bincount(states[:, :T][keep].astype(np.int64), minlength=n_states) > 0


def chi2_sf(x: float, df: int) -> float:
    """P(χ²_df > x) as the regularized upper incomplete gamma Q(df/2, x/2)."""
    if df <= 0:
        return 1.0
    return float(mpmath.gammainc(df / 2.0, x / 2.0, mpmath.inf, regularized=True))


def chi2_test(estimate: Sequence[float], covariance: np.ndarray, exact: Sequence[float], *,
              alpha: float = DEFAULT_ALPHA) -> Verdict:
    """χ² = dᵀ Σ⁺ d on the range of Σ (the covariance of the mean), df = rank Σ; off-range error means biased."""
    est, ex = require_finite("estimate", estimate), require_finite("exact ∇J", exact)
    cov = require_finite("covariance", covariance)
    scale = _unit(est, ex, np.sqrt(np.abs(np.diag(cov))))
    d = est / scale - ex / scale
    w, U = np.linalg.eigh((cov + cov.T) / 2 / scale / scale)
    cutoff = max(float(w.max(initial=0.0)) * d.size * FLAT, FLAT * FLAT)  # rounding-level variance, relative
    keep = w > cutoff
    coords = U.T @ d
    if np.any(np.abs(coords[~keep]) > ROUNDING):
        return Verdict("chi2", alpha, np.array(math.inf), np.array(0.0), 0.0, False)
    stat = float(np.sum(coords[keep] ** 2 / w[keep]))
    p = chi2_sf(stat, int(keep.sum()))
    return Verdict("chi2", alpha, np.array(stat), np.array(p), p, p > alpha)


def exact_covariance(mdp: FiniteMDP, policy, theta: Sequence, *, estimator: str = "reinforce",
                     budget: int | None = None) -> np.ndarray:
    """Cov[ĝ] of one trajectory's estimate, by enumerating every trajectory (float64 sums of exact weights)."""
    scale, cov, _ = exact_moments(mdp, policy, theta, estimator=estimator, budget=budget)
    return cov * scale * scale


def exact_moments(mdp: FiniteMDP, policy, theta: Sequence, *, estimator: str = "reinforce",
                  budget: int | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """(u, Cov[ĝ/u], ρ): see :func:`exact_distribution`, of which these are the first three fields."""
    m = exact_distribution(mdp, policy, theta, estimator=estimator, budget=budget)
    return m.scale, m.cov, m.rho


@dataclass(frozen=True)
class Moments:
    """One trajectory's estimate ĝ/u under the model: covariance, Berry–Esseen ratio ρ, mean and range."""

    scale: float       # u, a power of two putting ĝ in [-1, 1]
    cov: np.ndarray    # Cov[ĝ/u], [K, K]
    rho: np.ndarray    # β_k², β_k = E|ĝ_k − Eĝ_k|³/σ_k³ (0 where σ_k = 0)
    mean: np.ndarray   # E[ĝ/u]
    low: np.ndarray    # min of ĝ_k/u over the trajectories of positive probability
    high: np.ndarray   # max of ĝ_k/u over them
    kurtosis: np.ndarray | None = None  # κ_k = E(ĝ_k − Eĝ_k)⁴/σ_k⁴ (0 where σ_k = 0); None when reward noise was not enumerated


def exact_distribution(mdp: FiniteMDP, policy, theta: Sequence, *, estimator: str = "reinforce",
                       budget: int | None = None) -> Moments:
    """ĝ's moments and range by enumerating every trajectory (and every reward outcome): u a power of two putting
    ĝ in [-1, 1] (no overflow in the squares), ρ_k = β_k², β_k = E|ĝ_k − Eĝ_k|³/σ_k³ (1.6 for a normal).

    m/ρ_k is the effective sample size of a mean of m: the Berry–Esseen bound on the distance of
    its distribution from the normal is 0.4748/√(m/ρ_k), and m/ρ_k ≈ m·p for a signal carried by
    an event of probability p; the z-test's normal reference is trusted only where it is large.
    """
    th = np.asarray([float(x) for x in theta])
    pi = policy.float_probabilities(th)
    en = enumerate_support(mdp, pi > 0) if budget is None else enumerate_support(mdp, pi > 0, budget=budget)
    prob = en.environment_floats()
    for t in range(en.actions.shape[1]):
        prob = prob * pi[en.states[:, t], en.actions[:, t]]
    _, _, r = mdp.arrays()
    T = en.actions.shape[1]
    rewards = r[en.states[:, :T], en.actions, en.states[:, 1:]]
    batch = Batch(en.states, en.actions, rewards)
    noisy = bool(mdp.reward_distribution)
    if noisy:  # every reward outcome enumerated too: the moments are then complete
        from .exact import ENUMERATION_BUDGET, EnumerationTooLarge

        try:
            batch, prob = _expand_rewards(mdp, batch, prob, ENUMERATION_BUDGET if budget is None else budget)
            noisy = False
        except EnumerationTooLarge:
            if budget is not None:
                raise  # "auto" then takes the batch test, whose size guard sees the rewards' noise
            # chi2-exact: the covariance adds the rewards' noise below (ρ then misses it)
    rewards = batch.rewards
    baseline = DynamicProgram(mdp, policy).state_values(th) if estimator == "baseline" else None
    g = per_trajectory_gradients(policy, th, batch, step_weights(estimator, rewards, float(mdp.discount), baseline,
                                                                 batch.states))
    require_finite("per-trajectory estimates of the enumeration", g)
    scale = _unit(g, rewards)
    g = g / scale
    mean = prob @ g
    dev = g - mean
    cov = (dev * prob[:, None]).T @ dev
    m2 = np.maximum(np.diag(cov), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(m2)
        z = np.where(sd > 0, dev / np.where(sd > 0, sd, 1.0), 0.0)
        beta = prob @ np.abs(z) ** 3  # E|ĝ_k − E ĝ_k|³ / σ³, the Berry–Esseen ratio
        kurt = prob @ z ** 4
    rho = np.where(m2 > 0, beta * beta, 0.0)
    kurt = np.where(m2 > 0, kurt, 0.0)
    support = prob > 0
    low, high = g[support].min(axis=0, initial=np.inf), g[support].max(axis=0, initial=-np.inf)
    if noisy:  # the rewards' outcomes were not enumerated: the range is unknown
        cov = cov + _reward_noise(mdp, policy, th, batch, estimator, prob, scale)
        low, high = np.full_like(mean, -np.inf), np.full_like(mean, np.inf)
        kurt = None  # the rewards' own noise is not in it
    return Moments(scale, cov, rho, mean, low, high, kurt)


def _expand_rewards(mdp: FiniteMDP, batch: Batch, prob: np.ndarray, budget: int) -> tuple[Batch, np.ndarray]:
    """Each enumerated trajectory once per outcome of its random rewards, with that outcome's probability."""
    from .exact import EnumerationTooLarge

    S, A = mdp.n_states, mdp.n_actions
    outcomes = [[[(float(r), float(p)) for r, p in mdp.reward_distribution[s][a] if p != 0] for a in range(A)]
                for s in range(S)]
    states, actions, rewards = batch.states, batch.actions, batch.rewards.copy()
    for t in range(actions.shape[1]):
        sa = list(zip(states[:, t].tolist(), actions[:, t].tolist()))
        reps = np.array([len(outcomes[s][a]) for s, a in sa], dtype=np.int64)
        if int(reps.sum()) > budget:
            raise EnumerationTooLarge(f"{mdp.describe()}: trajectories × reward outcomes exceed {budget:,}")
        idx = np.repeat(np.arange(len(sa)), reps)
        vals = np.array([v for s, a in sa for v, _ in outcomes[s][a]])
        ps = np.array([p for s, a in sa for _, p in outcomes[s][a]])
        states, actions, rewards, prob = states[idx], actions[idx], rewards[idx], prob[idx] * ps
        rewards[:, t] = vals
    return Batch(states, actions, rewards), prob


def _reward_noise(mdp: FiniteMDP, policy, th, batch: Batch, estimator: str, prob: np.ndarray,
                  scale: float = 1.0) -> np.ndarray:
    """E_τ[Cov(ĝ/u | τ)] from P(r|s,a), u = ``scale``: ĝ is linear in the rewards, so each r_t adds Var(r_t/u)·u_t u_tᵀ."""
    from fractions import Fraction

    S, A = mdp.n_states, mdp.n_actions
    var = np.zeros((S, A))
    unit = Fraction(scale)
    for s in range(S):
        for a in range(A):
            pairs = [(Fraction(r) / unit, Fraction(p)) for r, p in mdp.reward_distribution[s][a]]
            m1 = sum(p * r for r, p in pairs)
            var[s, a] = float(sum(p * r * r for r, p in pairs) - m1 * m1)
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


TESTS = ("auto", "holm", "chi2", "chi2-exact")


@dataclass(frozen=True)
class CrossCheck(Displayed):
    """Exact ∇J (float64 DP), the Monte-Carlo estimate, and the test's verdict."""

    exact: np.ndarray
    J: float
    estimate: Estimate
    verdict: Verdict


def cross_check(mdp: FiniteMDP, policy, theta: Sequence, *, samples: int = 100_000, seed: int = 0,
                estimator: str = "reinforce", alpha: float = DEFAULT_ALPHA, test: str = "auto",
                progress=None) -> CrossCheck:
    """Test H0: E[ĝ] = ∇J at level α with "auto" (default), "holm", "chi2" or "chi2-exact".

    "auto": z-tests with the exact covariance where the trajectories can be enumerated (up
    to ``AUTO_ENUMERATION``), else :func:`batch_test` on ``AUTO_BATCHES`` independent batch
    means. "holm": z-tests with per-trajectory plug-in standard errors (liberal on rare
    events); "chi2": the sample covariance; "chi2-exact": the exact covariance. A float64
    overflow anywhere is reported as a UserError, never as a verdict.
    """
    scaled, unit = _by_identity(_in_reward_unit, mdp)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        check = _cross_check(scaled, policy, theta, samples=samples, seed=seed, estimator=estimator, alpha=alpha,
                             test=test, progress=progress)
        if unit == 1:
            return check
        u = float(unit)  # every estimator is linear in the rewards: the verdict is the same in either unit

        def back(x):
            return None if x is None else require_finite("the result in the rewards' unit", np.asarray(x) * u)

        est = replace(check.estimate, mean=back(check.estimate.mean), stderr=back(check.estimate.stderr),
                      covariance=None if check.estimate.covariance is None else check.estimate.covariance * u * u,
                      batch_means=back(check.estimate.batch_means))
        verdict = replace(check.verdict, estimate=back(check.verdict.estimate), stderr=back(check.verdict.stderr))
        return CrossCheck(back(check.exact), float(back([check.J])[0]), est, verdict)


_IDENTITY_MEMO: dict = {}


def _by_identity(fn, mdp, *args):
    """fn(mdp, *args), kept for the very same MDP and policy objects (weak references: an object at a reused id is
    computed afresh). Hashing an MDP's exact tables costs 0.07 s on FrozenLake8x8: repeated runs on one
    problem (many seeds) pay for it once. ``fn`` must be a function of the model alone, never of a sample."""
    import weakref

    objs = [mdp] + [a for a in args if isinstance(a, object) and hasattr(a, "__weakref__")]
    key = (fn, *(id(o) for o in objs), *(a for a in args if not hasattr(a, "__weakref__")))
    hit = _IDENTITY_MEMO.get(key)
    if hit is not None and all(r() is o for r, o in zip(hit[0], objs)):
        return hit[1]
    value = fn(mdp, *args)
    if len(_IDENTITY_MEMO) >= 16:
        _IDENTITY_MEMO.pop(next(iter(_IDENTITY_MEMO)))
    _IDENTITY_MEMO[key] = ([weakref.ref(o) for o in objs], value)
    return value


def _in_reward_unit(mdp: FiniteMDP):
    """(mdp with rewards / u, u): u = 2^e a power of two near max|r| when that lies outside 2^±60, else (mdp, 1).

    Sampling and the DP then work on rewards of order 1, so that squares neither overflow (1e160)
    nor underflow (1e-200); dividing by a power of two is exact.
    """
    from fractions import Fraction

    values = [Fraction(r) for rows in mdp.rewards for row in rows for r in row]
    values += [Fraction(r) for row in mdp.reward_distribution for pairs in row for r, _ in pairs]
    values = [v for v in values if v != 0]
    if not values:
        return mdp, 1
    e = max(abs(v.numerator).bit_length() - v.denominator.bit_length() for v in values)
    if -60 <= e <= 60:
        return mdp, 1
    unit = Fraction(2) ** e
    rewards = tuple(tuple(tuple(Fraction(r) / unit for r in row) for row in rows) for rows in mdp.rewards)
    dist = tuple(tuple(tuple((Fraction(r) / unit, p) for r, p in pairs) for pairs in row)
                 for row in mdp.reward_distribution)
    return replace(mdp, rewards=rewards, reward_distribution=dist), unit


def _dp_kurtosis(mdp: FiniteMDP, policy, theta: tuple, estimator: str):
    """:func:`derive.tail_moments.dp_kurtosis` (a function of the model alone), None past its budget."""
    from .tail_moments import dp_kurtosis

    with np.errstate(all="ignore"):
        return dp_kurtosis(mdp, policy, theta, estimator)


@functools.lru_cache(maxsize=8)
def _auto_distribution(mdp: FiniteMDP, policy, theta: tuple, estimator: str) -> Moments | None:
    """The exact moments "auto" uses, or None past ``AUTO_ENUMERATION``; kept for repeated runs on one problem
    (a function of the model alone, never of the sample: many seeds pay for the enumeration once)."""
    from .exact import EnumerationTooLarge

    try:
        m = exact_distribution(mdp, policy, theta, estimator=estimator, budget=AUTO_ENUMERATION)
    except EnumerationTooLarge:
        return None
    for a in (m.cov, m.rho, m.mean, m.low, m.high):
        a.setflags(write=False)
    return m


def _cross_check(mdp: FiniteMDP, policy, theta: Sequence, *, samples: int = 100_000, seed: int = 0,
                estimator: str = "reinforce", alpha: float = DEFAULT_ALPHA, test: str = "auto",
                progress=None) -> CrossCheck:
    """The body of :func:`cross_check`.

    "auto" (default): z-tests with the exact covariance where the trajectories can be
    enumerated (up to ``AUTO_ENUMERATION``), else :func:`batch_test` on ``AUTO_BATCHES``
    independent batch means. "holm": z-tests with per-trajectory plug-in standard errors
    (liberal on rare events); "chi2": sample covariance; "chi2-exact": exact covariance.
    """
    from .errors import UserError
    from .exact import EnumerationTooLarge
    from .limits import check_horizon, check_steps
    from .sampling import estimate_gradient

    if test not in TESTS:
        raise UserError(f"test: expected one of {', '.join(TESTS)}, got {test!r}")
    if not 0 < alpha < 1:
        raise UserError(f"alpha: expected 0 < α < 1, got {alpha!r}")
    check_horizon(mdp.horizon, states=mdp.n_states)
    check_steps(samples, mdp.horizon)
    th = [float(x) for x in theta]
    J, grad = DynamicProgram(mdp, policy).value_and_grad(np.asarray(th))
    require_finite("exact ∇J", grad)
    require_finite("exact J", [J])
    cov = None
    if test == "auto":
        try:
            cov = _by_identity(_auto_distribution, mdp, policy, tuple(th), estimator)
        except TypeError:  # an unhashable policy: no memo, the same moments
            cov = _auto_distribution.__wrapped__(mdp, policy, tuple(th), estimator)
    if test == "auto" and cov is None:
        batches = max(2, min(AUTO_BATCHES, int(samples) // 10))
        est = estimate_gradient(mdp, policy, th, samples=samples, seed=seed, estimator=estimator, progress=progress,
                                batches=batches, track_informed=True)
        quiet = unexplored_p(mdp, policy, th, est.informed, est.samples)
        # The estimator's own exact kurtosis (by DP over time) caps the batches' effective sample size: past
        # the enumeration a tail too rare to be drawn would otherwise let the sample's kurtosis open the t-test.
        kurt = _by_identity(_dp_kurtosis, mdp, policy, tuple(th), estimator) if estimator in (
            "reinforce", "reward-to-go") else None
        model = None if kurt is None else batch_ess(kurt, est.samples // batches, batches)
        verdict = batch_test(est.batch_means, grad, alpha=alpha, unexplored=quiet,
                             bound=estimate_bound(mdp, policy, th, estimator), model_ess=model)
        return CrossCheck(np.asarray(grad), J, est, verdict)
    est = estimate_gradient(mdp, policy, th, samples=samples, seed=seed, estimator=estimator, progress=progress,
                            track_informed=test == "holm")
    require_finite("estimate", est.mean)
    if test == "auto":
        unit, cov_u, rho = cov.scale, cov.cov, cov.rho
        require_finite("exact covariance", cov_u)
        se = unit * np.sqrt(np.maximum(np.diag(cov_u), 0.0) / est.samples)
        ess = est.samples / np.maximum(1.0, rho)  # Berry–Esseen: ≈ the expected number of the signal's events
        verdict = replace(z_test(est.mean, se, grad, alpha=alpha, ess=ess, min_ess=EXACT_MIN_ESS, samples=est.samples,
                                 ranges=(cov.low * unit, cov.high * unit)), test="z-exact", stderr=se)
    elif test == "holm":  # plug-in errors: a constant component is judged by the model, never by z = ∞
        verdict = z_test(est.mean, est.stderr, grad, alpha=alpha, dof=est.dof,
                         unexplored=unexplored_p(mdp, policy, th, est.informed, est.samples),
                         bound=estimate_bound(mdp, policy, th, estimator),
                         samples=est.samples if est.dof is None else est.dof + 1)
    elif test == "chi2":
        if est.covariance is None:
            raise UserError(f"test: chi2 needs the covariance, kept only for <= 64 parameters (θ has {policy.n_params}); use holm")
        verdict = chi2_test(est.mean, est.covariance, grad, alpha=alpha)
    else:
        cov = exact_covariance(mdp, policy, th, estimator=estimator) / est.samples
        verdict = replace(chi2_test(est.mean, cov, grad, alpha=alpha), test="chi2-exact")  # named as the test it is
    return CrossCheck(np.asarray(grad), J, est, verdict)
