"""Gradient-check a user's policy-gradient estimator against the exact ∇J of finite MDPs.

The estimator gets a :class:`Trajectories` view and returns one gradient estimate per
trajectory, an [m, K] array. derive tests H0: E[ĝ] = ∇J on every MDP of a battery with
per-component z-tests, Holm-corrected within an MDP (``derive.stats.z_test``), then
Holm-corrected again across the MDPs, so the overall false-alarm rate is at most α
(asymptotically, by the CLT). After a rejection it re-tests small candidate MDPs in order
of size and reports the first one that also rejects, at level α / (number of candidates).
"""

from __future__ import annotations

import math
import random
import sys
import types
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from .errors import UserError
from .exact import DynamicProgram
from .mdp import FiniteMDP
from .policies import TabularSoftmax
from .sampling import Sampler, per_trajectory_gradients, step_weights
from .stats import DEFAULT_ALPHA, holm, z_test

__all__ = [
    "Trajectories", "MDPResult", "GradcheckResult", "gradcheck", "assert_gradcheck", "default_battery",
    "candidate_mdps", "random_problem", "format_result", "DEFAULT_SAMPLES", "loss", "assert_loss",
]

DEFAULT_SAMPLES = 100_000  # as `derive estimate`
# (S, A, H, γ) of the default battery: a bandit, then γ < 1 and H >= 1 so discount and time-indexing bugs show.
_BATTERY = ((1, 2, 0, Fraction(1)), (2, 2, 1, Fraction(1, 2)), (2, 3, 2, Fraction(9, 10)), (3, 2, 3, Fraction(1, 2)))
# Candidates for the smallest failing MDP, in order of size (S·A, then H).
_CANDIDATES = ((1, 2, 0), (1, 2, 1), (1, 2, 2), (1, 3, 1), (2, 2, 0), (2, 2, 1), (2, 2, 2), (2, 3, 1), (3, 2, 2))
_CHUNK_CELLS = 4_000_000  # trajectory-steps × parameters handed to the estimator at once (~32 MB of float64)


@dataclass(frozen=True)
class Trajectories:
    """m sampled trajectories, as the estimator receives them.

    The agent acts at t = 0..H (H + 1 decisions). ``states[:, t]`` is s_t for t = 0..H+1,
    ``actions[:, t]`` is a_t and ``rewards[:, t]`` is r_t, the reward received after a_t
    (for the move s_t → s_{t+1}), for t = 0..H. R(τ) = Σ_t γ^t r_t. Every trajectory has
    the full length: a terminal state is absorbing with reward 0, so no masking is needed.
    """

    states: np.ndarray    # int64 [m, H+2]
    actions: np.ndarray   # int64 [m, H+1]
    rewards: np.ndarray   # float64 [m, H+1]
    gamma: float
    horizon: int
    theta: np.ndarray     # float64 [K]
    policy: object        # float_probabilities(θ) [S, A], float_scores(θ) [S, A, K]

    @property
    def m(self) -> int:
        return int(self.actions.shape[0])

    @property
    def n_params(self) -> int:
        return int(self.policy.n_params)

    def scores(self) -> np.ndarray:
        """∇_θ log π(a_t|s_t) for every trajectory and step, [m, H+1, K] (a convenience)."""
        return self.policy.float_scores(self.theta)[self.states[:, :-1], self.actions]


@dataclass(frozen=True)
class MDPResult:
    """The test on one MDP: exact ∇J, the mean estimate, its standard errors and the Holm p-value."""

    name: str
    size: tuple          # (S, A, H)
    gamma: float
    samples: int
    exact: np.ndarray
    estimate: np.ndarray
    stderr: np.ndarray
    p_value: float       # Holm-adjusted across this MDP's components
    p_adjusted: float = 1.0  # Holm-adjusted again across the battery's MDPs
    variance_ratio: float | None = None  # tr Cov(user) / tr Cov(REINFORCE) on the same trajectories
    variance_p: float | None = None      # one-sided p of "variance no worse than REINFORCE"
    mdp: FiniteMDP | None = field(default=None, repr=False, compare=False)
    theta: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        S, A, H = self.size
        out = {"name": self.name, "S": S, "A": A, "H": H, "gamma": self.gamma, "samples": self.samples,
               "exact": self.exact.tolist(), "estimate": self.estimate.tolist(), "stderr": self.stderr.tolist(),
               "p_value": self.p_value, "p_adjusted": self.p_adjusted}
        if self.variance_ratio is not None:
            out.update(variance_ratio=self.variance_ratio, variance_p=self.variance_p)
        if self.mdp is not None:
            out["mdp"] = self.mdp.to_dict()
            out["theta"] = [float(x) for x in self.theta]
        return out


@dataclass(frozen=True)
class GradcheckResult:
    """Overall verdict, its p-value (Holm across MDPs), per-MDP results and the smallest failing MDP."""

    passed: bool
    p_value: float
    alpha: float
    results: tuple
    minimal: MDPResult | None  # smallest MDP where the bias shows (None when passed)
    variance_passed: bool | None = None

    def to_dict(self) -> dict:
        return {"passed": self.passed, "p_value": self.p_value, "alpha": self.alpha,
                "variance_passed": self.variance_passed, "mdps": [r.to_dict() for r in self.results],
                "minimal": self.minimal.to_dict() if self.minimal else None}


# -- MDPs ------------------------------------------------------------------------------------


def random_problem(rng: random.Random, S: int, A: int, H: int, gamma=Fraction(1, 2), *, name: str = ""):
    """(mdp, tabular softmax, θ): full-support tables with small denominators, rewards in [-1, 2], θ in [-1, 1]."""
    def dist(n):
        w = [rng.randint(1, 4) for _ in range(n)]
        return [Fraction(x, sum(w)) for x in w]

    mu = dist(S)
    tr = [[dist(S) for _ in range(A)] for _ in range(S)]
    rw = [[[Fraction(rng.randint(-2, 4), 2) for _ in range(S)] for _ in range(A)] for _ in range(S)]
    mdp = FiniteMDP.from_tables(mu, tr, rw, horizon=H, discount=gamma, name=name or f"random S={S} A={A} H={H}")
    policy = TabularSoftmax(S, A)
    theta = np.array([rng.choice((-1.0, -0.5, 0.5, 1.0)) for _ in range(policy.n_params)])
    return mdp, policy, theta


def default_battery(*, n_random: int = len(_BATTERY), seed: int = 0) -> list:
    """``n_random`` seeded MDPs cycling through the battery's sizes (a bandit; γ < 1 with H = 1..3)."""
    rng = random.Random(seed)
    out = []
    for i in range(n_random):
        S, A, H, g = _BATTERY[i % len(_BATTERY)]
        out.append(random_problem(rng, S, A, H, g, name=f"battery #{i + 1}"))
    return out


def candidate_mdps(*, seed: int = 0) -> list:
    """Small MDPs in order of size (S·A, then H), γ = 1/2, for the smallest-counterexample search."""
    rng = random.Random(10_000 + seed)
    return [random_problem(rng, S, A, H, Fraction(1, 2), name="candidate") for S, A, H in _CANDIDATES]


def _as_problem(item):
    """(mdp, policy, θ) from a Problem (``derive.mdpfile``) or a triple."""
    if hasattr(item, "mdp") and hasattr(item, "policy") and hasattr(item, "theta"):
        item = (item.mdp, item.policy, item.theta)
    try:
        mdp, policy, theta = item
    except (TypeError, ValueError):
        raise UserError(f"mdps: expected Problem objects or (mdp, policy, theta) triples, got {item!r}") from None
    return mdp, policy, np.asarray([float(x) for x in theta], dtype=float)


# -- one MDP ---------------------------------------------------------------------------------


def _to_numpy(value, m: int, K: int) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor; torch itself is never imported here
        value = value.detach().cpu().numpy()
    try:
        g = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"estimator: expected a float array [m, K] = [{m}, {K}], got {type(value).__name__}") from None
    if g.shape != (m, K):
        hint = " (return one row per trajectory, not their mean)" if g.shape == (K,) else ""
        raise UserError(f"estimator: expected per-trajectory estimates of shape [m, K] = [{m}, {K}], "
                        f"got shape {list(g.shape)}{hint}")
    if not np.all(np.isfinite(g)):
        raise UserError("estimator: returned a non-finite value (nan or inf)")
    return g


def _check_one(estimator, mdp, policy, theta, *, samples: int, seed: int, alpha: float, variance: bool,
               name: str) -> MDPResult:
    """Sample, run the estimator chunk by chunk, and z-test its mean against the exact ∇J (Holm)."""
    K, T = policy.n_params, mdp.horizon + 1
    _, exact = DynamicProgram(mdp, policy).value_and_grad(theta)
    sampler = Sampler(mdp, policy, theta)
    rng = np.random.default_rng(seed)
    gamma = float(mdp.discount)
    chunk = max(256, _CHUNK_CELLS // max(1, T * K))
    rows, diffs = [], []
    done = 0
    while done < samples:
        m = min(chunk, samples - done)
        b = sampler.batch(rng, m)
        traj = Trajectories(b.states.astype(np.int64), b.actions.astype(np.int64), b.rewards, gamma, mdp.horizon,
                            theta.copy(), policy)
        g = _to_numpy(estimator(traj), m, K)
        rows.append(g)
        if variance:  # REINFORCE on the very same trajectories: a paired comparison
            diffs.append(per_trajectory_gradients(policy, theta, b, step_weights("reinforce", b.rewards, gamma)))
        done += m
    G = np.concatenate(rows)
    mean = G.mean(axis=0)
    se = G.std(axis=0, ddof=1) / np.sqrt(samples)
    verdict = z_test(mean, se, exact, alpha=alpha)
    ratio = var_p = None
    if variance:
        ratio, var_p = _variance_test(G, np.concatenate(diffs))
    return MDPResult(name, (mdp.n_states, mdp.n_actions, mdp.horizon), gamma, samples, np.asarray(exact), mean, se,
                     verdict.p_value, verdict.p_value, ratio, var_p, mdp, theta)


def _variance_test(G: np.ndarray, R: np.ndarray) -> tuple[float, float]:
    """tr Cov(G) / tr Cov(R) and the one-sided paired z-test p-value of H0: tr Cov(G) <= tr Cov(R)."""
    g = ((G - G.mean(axis=0)) ** 2).sum(axis=1)
    r = ((R - R.mean(axis=0)) ** 2).sum(axis=1)
    ref = float(r.mean())
    ratio = float(g.mean()) / ref if ref > 0 else (1.0 if g.mean() == 0 else math.inf)
    d = g - r
    se = float(d.std(ddof=1)) / math.sqrt(d.size)
    # Rounding-level differences (REINFORCE itself, computed another way) are no difference.
    if se <= 1e-9 * max(ref, 1e-300):
        return ratio, 0.0 if d.mean() > 1e-9 * ref else 1.0
    return ratio, 0.5 * math.erfc(float(d.mean()) / se / math.sqrt(2.0))


# -- the check -------------------------------------------------------------------------------


def gradcheck(estimator: Callable[[Trajectories], object], *, mdps: Sequence | None = None, n_random: int = 4,
              samples: int = DEFAULT_SAMPLES, seed: int = 0, alpha: float = DEFAULT_ALPHA, variance: bool = False,
              minimize: bool = True) -> GradcheckResult:
    """Test E[estimator] = ∇J on each MDP (default: ``n_random`` seeded small MDPs); overall level α by Holm.

    With ``variance=True`` the estimator must also have a total variance no worse than
    REINFORCE's on the same trajectories (one-sided paired test, Holm across MDPs).
    """
    if not callable(estimator):
        raise UserError(f"estimator: expected a callable, got {estimator!r}")
    if not 0 < alpha < 1:
        raise UserError(f"alpha: expected 0 < α < 1, got {alpha!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise UserError(f"samples: expected an integer >= 2, got {samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"seed: expected an integer >= 0, got {seed!r}")  # NumPy's generators refuse negative seeds
    if mdps is None:
        if isinstance(n_random, bool) or not isinstance(n_random, int) or n_random < 1:
            raise UserError(f"n_random: expected an integer >= 1, got {n_random!r}")
        problems = default_battery(n_random=n_random, seed=seed)
    else:
        problems = [_as_problem(p) for p in mdps]
        if not problems:
            raise UserError("mdps: expected at least one MDP")
    results = []
    for i, (mdp, policy, theta) in enumerate(problems):
        name = mdp.name or f"mdp #{i + 1}"
        results.append(_check_one(estimator, mdp, policy, theta, samples=int(samples), seed=seed * 1000 + i,
                                  alpha=alpha, variance=variance, name=name))
    # Holm across the MDPs: each MDP's p-value is valid for its own (intersection) null.
    adjusted = holm([r.p_value for r in results])
    results = [replace(r, p_adjusted=float(p)) for r, p in zip(results, adjusted)]
    p_value = float(adjusted.min())
    passed = p_value > alpha
    variance_passed = None
    if variance:
        variance_passed = bool(holm([r.variance_p for r in results]).min() > alpha)
    minimal = None
    if not passed:
        failing = [r for r in results if r.p_adjusted <= alpha]
        minimal = min(failing, key=_size_key)
        if minimize:
            minimal = _smallest(estimator, minimal, samples=int(samples), seed=seed, alpha=alpha) or minimal
    return GradcheckResult(passed, p_value, alpha, tuple(results), minimal, variance_passed)


def _size_key(r: MDPResult):
    S, A, H = r.size
    return (S * A, H, S)


def _smallest(estimator, failing: MDPResult, *, samples: int, seed: int, alpha: float) -> MDPResult | None:
    """The first candidate smaller than ``failing`` that rejects at α / (number of candidates)."""
    smaller = [c for c in candidate_mdps(seed=seed)
               if _size_key_of(c[0]) < _size_key(failing)]
    level = alpha / max(1, len(smaller))
    for j, (mdp, policy, theta) in enumerate(smaller):
        r = _check_one(estimator, mdp, policy, theta, samples=samples, seed=seed * 1000 + 500 + j, alpha=level,
                       variance=False, name=f"smallest failing: S={mdp.n_states} A={mdp.n_actions} H={mdp.horizon}")
        if r.p_value <= level:
            return r
    return None


def _size_key_of(mdp: FiniteMDP):
    return (mdp.n_states * mdp.n_actions, mdp.horizon, mdp.n_states)


# -- reporting -------------------------------------------------------------------------------


def _p(p: float) -> str:
    return "< 1e-300" if p == 0 else f"{p:.3g}"  # 0 is an underflow of erfc, not a certainty


def _eq(p: float) -> str:
    return _p(p) if p == 0 else "= " + _p(p)


def _vec(x: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in x) + "]"


def format_result(result: GradcheckResult, *, title: str = "gradcheck") -> str:
    """A readable multi-line report: per-MDP p-values, then the smallest failing MDP with both gradients."""
    verdict = "PASSED" if result.passed else "FAILED: the estimator is biased, E[estimate] ≠ ∇J"
    lines = [f"{title}: {verdict} (p {_eq(result.p_value)}, α = {result.alpha:g}, "
             f"Holm across {len(result.results)} MDP{'' if len(result.results) == 1 else 's'})"]
    for r in result.results:
        S, A, H = r.size
        extra = ""
        if r.variance_ratio is not None:
            extra = f"; variance / REINFORCE's = {r.variance_ratio:.3g} (p {_eq(r.variance_p)})"
        lines.append(f"  {r.name}: S={S} A={A} H={H} γ={r.gamma:g}, {r.samples:,} trajectories: "
                     f"p {_eq(r.p_adjusted)}{extra}")
    if result.variance_passed is not None:
        lines.append("  variance: " + ("no worse than REINFORCE's" if result.variance_passed
                                        else "worse than REINFORCE's (one-sided paired test, Holm across MDPs)"))
    m = result.minimal
    if m is not None:
        S, A, H = m.size
        lines.append(f"  smallest MDP where the bias shows: S={S}, A={A}, H={H}, γ={m.gamma:g} (p {_eq(m.p_value)})")
        if m.mdp is not None:
            d = m.mdp.to_dict()
            lines.append(f"    μ = [{', '.join(d['initial'])}]")
            for s in range(S):
                for a in range(A):
                    lines.append(f"    s={s}, a={a}: P(·|s,a) = [{', '.join(d['transitions'][s][a])}], "
                                 f"r(s,a,·) = [{', '.join(d['rewards'][s][a])}]")
            lines.append(f"    θ = {_vec(m.theta)}")
        lines.append(f"    exact ∇J   = {_vec(m.exact)}")
        lines.append(f"    estimated  = {_vec(m.estimate)}")
        lines.append(f"    std. error = {_vec(m.stderr)}")
    return "\n".join(lines)


def assert_gradcheck(estimator, **options) -> GradcheckResult:
    """Run :func:`gradcheck` and raise AssertionError with the readable report when it fails."""
    __tracebackhide__ = True  # pytest: show the report, not this frame
    result = gradcheck(estimator, **options)
    name = getattr(estimator, "__qualname__", repr(estimator))
    if not result.passed or result.variance_passed is False:
        raise AssertionError(format_result(result, title=f"gradcheck of {name}"))
    return result


# -- training losses (derive.losscheck; torch or jax imported only when asked) ---------------


def loss(loss_fn, **options):
    """Gradient-check a training loss ``loss_fn(policy, batch)``: see :func:`derive.losscheck.check_loss`."""
    from .losscheck import check_loss

    return check_loss(loss_fn, **options)


def assert_loss(loss_fn, **options):
    """Run :func:`loss` and raise AssertionError with the readable report unless it passes."""
    __tracebackhide__ = True  # pytest: show the report, not this frame
    from .losscheck import assert_loss as _assert_loss

    return _assert_loss(loss_fn, **options)


class _CallableModule(types.ModuleType):
    """This module, callable as :func:`gradcheck` so that ``derive.gradcheck(estimator)`` keeps working."""

    def __call__(self, *args, **kwargs):
        return gradcheck(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
