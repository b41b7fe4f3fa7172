"""Gradient-check a user's policy-gradient estimator against the exact ∇J of finite MDPs.

The estimator is called on independent batches of ``batch_size`` trajectories (the user's
training batch size) and returns per-trajectory estimates [B, K] or the batch's estimate
[K]; rows within a batch may depend on each other. derive tests H0: E[batch estimate] = ∇J
on every MDP of a battery drawn afresh per run (the seed is reported; pass it back to
replay) with ``derive.stats.batch_test`` (Student t on the batch estimates, Holm within an
MDP), then Holm again across the MDPs. After a rejection it re-tests small candidate MDPs
in order of size and reports the first one that also rejects, at level α / (number of
candidates).
"""

from __future__ import annotations

import functools
import math
import random
import secrets
import sys
import types
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from .display import Displayed
from .errors import UserError
from .exact import DynamicProgram
from .mdp import FiniteMDP
from .policies import TabularSoftmax
from .limits import check_horizon, check_steps
from .sampling import Sampler, per_trajectory_gradients, step_weights
from .stats import (DEFAULT_ALPHA, MIN_ESS, batch_ess, batch_test, holm, reached_before_reward, require_finite,
                    unexplored_p)

__all__ = [
    "Trajectories", "MDPResult", "GradcheckResult", "gradcheck", "assert_gradcheck", "default_battery",
    "candidate_mdps", "random_problem", "format_result", "fresh_seed", "DEFAULT_SAMPLES", "DEFAULT_BATCH_SIZE",
    "DEFAULT_RANDOM", "loss", "assert_loss", "mdp_table_lines", "model_kurtosis",
]

DEFAULT_SAMPLES = 100_000  # as `derive estimate`
DEFAULT_BATCH_SIZE = 100   # trajectories per estimator call: a typical REINFORCE training batch
# Slots of the battery, each a range to draw from per run: (S choices, A choices, H range, γ choices).
# A γ choice is a value (γ = 1 where the slot needs it) or an interval (lo, hi): a rational drawn
# there over a random denominator past 10^5, so that no estimator can be fitted to the γ drawn (a
# factor equal to 1 at a few fixed discounts, say) — only 1 is ever drawn twice.
# A bandit; then γ < 1 and H >= 1 so discount and time-indexing bugs show; then long episodes
# (H >= 20, S >= 5, A >= 4) so that truncated returns and late-step bugs show.
_SLOTS = (
    ((1,), (2, 3), (0, 0), (Fraction(1),)),
    ((1, 2), (2, 3), (1, 2), ((Fraction(1, 2), Fraction(19, 20)),)),
    # Two draws to one γ = 1, as the earlier fixed sets had: γ < 1 on two thirds of these MDPs (discount bugs).
    ((2, 3), (2, 3, 4), (3, 6), ((Fraction(1, 2), Fraction(1)), (Fraction(1, 2), Fraction(1)), Fraction(1))),
    ((3, 4), (2, 3), (7, 12), ((Fraction(9, 10), Fraction(1)), (Fraction(9, 10), Fraction(1)), Fraction(1))),
    # Lanes at the longest horizon: an early action commits the episode to one of two absorbing
    # states paying different rewards on every later step, so a_t moves r_{t'} for every t' > t
    # and dropping the rewards after t + n costs a bias of about (H − n) × the lanes' difference
    # for every n < H, against a standard error near H / √samples (the n-step truncation).
    # γ stays in [199/200, 1] there: near 99/100 the last rewards weigh too little for n = 29 to show on
    # every seed (p = 0.014 at γ = 0.99003, seed 108), at 19/20 on a fifth of them.
    ((5, 6), (4, 5), (30, 30), ((Fraction(199, 200), Fraction(1)), Fraction(1))),
    # Dense transitions, γ = 1 and rewards of mean 0 at H >= 32: late actions keep moving late rewards
    # and the return's spread grows like √H, so a bug in the score terms of late steps shows (the
    # lanes' episodes mostly sit in an absorbing state by then).
    ((5, 6), (4, 5), (32, 40), (Fraction(1),)),
)


def _draw_gamma(rng: random.Random, choice) -> Fraction:
    """γ from a slot's choice: the value itself, or a rational in the interval [lo, hi) over a random denominator past 10^5."""
    if isinstance(choice, Fraction):
        return choice
    lo, hi = choice
    q = rng.randint(10**5, 10**6)
    return Fraction(rng.randint(math.ceil(lo * q), math.ceil(hi * q) - 1), q)


_DENSE_SLOTS = frozenset({5})
_LANE_SLOTS = frozenset({4})
_PEAKED_SLOTS = frozenset({2})   # near-deterministic policies: unlikely actions at π ≈ 0.015–0.05
_CENTRED_SLOTS = frozenset({5})  # rewards of mean 0
DEFAULT_RANDOM = len(_SLOTS)
# Candidates for the smallest failing MDP, in order of size (S·A, then H).
_CANDIDATES = ((1, 2, 0), (1, 2, 1), (1, 2, 2), (1, 2, 4), (1, 3, 1), (2, 2, 0), (2, 2, 1), (2, 2, 2), (2, 2, 4),
               (2, 3, 1), (3, 2, 2))
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
    score_table: np.ndarray | None = field(default=None, repr=False, compare=False)  # float_scores(θ), once per MDP

    @property
    def m(self) -> int:
        return int(self.actions.shape[0])

    @property
    def n_params(self) -> int:
        return int(self.policy.n_params)

    def scores(self) -> np.ndarray:
        """∇_θ log π(a_t|s_t) for every trajectory and step, [m, H+1, K] (a convenience)."""
        table = self.policy.float_scores(self.theta) if self.score_table is None else self.score_table
        return table[self.states[:, :-1], self.actions]


@dataclass(frozen=True)
class MDPResult(Displayed):
    """The test on one MDP: exact ∇J, the mean of the batch estimates, its standard errors and the Holm p-value."""

    name: str
    size: tuple          # (S, A, H)
    gamma: float
    samples: int
    exact: np.ndarray
    estimate: np.ndarray
    stderr: np.ndarray   # of the mean, from the spread of independent batch estimates
    p_value: float       # Holm-adjusted across this MDP's components
    p_adjusted: float = 1.0  # Holm-adjusted again across the battery's MDPs
    variance_ratio: float | None = None  # Var(user's batch estimate) / Var(REINFORCE's), same trajectories
    variance_p: float | None = None      # one-sided p of "variance no worse than REINFORCE"
    mdp: FiniteMDP | None = field(default=None, repr=False, compare=False)
    theta: np.ndarray | None = field(default=None, repr=False, compare=False)
    batch_size: int = 1
    n_batches: int = 0
    untested: tuple = ()  # components left untested (effective sample size too small)
    notes: tuple = ()     # warnings, e.g. naming the effective sample size
    policy: object = field(default=None, repr=False, compare=False)
    constant: tuple = ()  # of ``untested``: no variance beyond rounding, so more samples will not decide them

    def to_mdpfile(self) -> dict:
        """This MDP as an MDP file with its policy and θ (the float θ, written as it is): `derive gradient` reads it."""
        from .mdpfile import to_document

        if self.mdp is None or self.policy is None:
            raise UserError(f"{self.name}: no MDP tables kept with this result")
        doc = to_document(self.mdp, self.policy, [1] * self.policy.n_params, name=self.name)
        doc["theta"] = [float(x) for x in self.theta]
        return doc

    def to_dict(self) -> dict:
        S, A, H = self.size
        out = {"name": self.name, "S": S, "A": A, "H": H, "gamma": self.gamma, "samples": self.samples,
               "batch_size": self.batch_size, "n_batches": self.n_batches,
               "exact": self.exact.tolist(), "estimate": self.estimate.tolist(), "stderr": self.stderr.tolist(),
               "p_value": self.p_value, "p_adjusted": self.p_adjusted, "untested": list(self.untested),
               "warnings": list(self.notes)}
        if self.variance_ratio is not None:
            out.update(variance_ratio=self.variance_ratio, variance_p=self.variance_p)
        if self.mdp is not None:
            out["mdp"] = self.mdp.to_dict()
            out["theta"] = [float(x) for x in self.theta]
            if self.policy is not None:
                out["mdp_file"] = self.to_mdpfile()
        return out


@dataclass(frozen=True)
class GradcheckResult(Displayed):
    """Overall verdict, its p-value (Holm across MDPs), per-MDP results and the smallest failing MDP."""

    passed: bool
    p_value: float
    alpha: float
    results: tuple
    minimal: MDPResult | None  # smallest MDP where the bias shows (None when passed)
    variance_passed: bool | None = None
    seed: int | None = None    # the battery's and sampler's seed: gradcheck(..., seed=seed) replays the run
    batch_size: int = DEFAULT_BATCH_SIZE
    undecided: bool = False    # nothing rejected, but some components were left untested: not a pass

    @property
    def rejected(self) -> bool:
        return self.p_value <= self.alpha

    @property
    def warnings(self) -> tuple:
        return tuple(f"{r.name}: {n}" for r in self.results for n in r.notes)

    @property
    def scope(self) -> dict:
        """What was tested: the number of MDPs and the largest S, A, H and the range of γ among them."""
        sizes = [r.size for r in self.results]
        gammas = [r.gamma for r in self.results]
        if not sizes:
            return {"mdps": 0}
        out = {"mdps": len(sizes), "max_S": max(s[0] for s in sizes), "max_A": max(s[1] for s in sizes),
               "max_H": max(s[2] for s in sizes), "gamma": [min(gammas), max(gammas)],
               "gammas": sorted(set(gammas)), "seed": self.seed}
        probs = [float(np.min(r.policy.float_probabilities(r.theta))) for r in self.results
                 if r.policy is not None and r.theta is not None]
        if len(probs) == len(self.results):  # the least likely action tried: code paths below it were never run
            out["min_pi"] = min(probs)
        return out

    @property
    def headline(self) -> str:
        """'gradcheck: PASSED on these 6 MDPs only (S ≤ 5, A ≤ 4, H ≤ 29, γ ∈ {0.61824, 0.97, 1}; p = 0.41, …)' and the like."""
        return format_result(self).splitlines()[0]

    def __str__(self) -> str:
        return format_result(self)

    def _repr_markdown_(self) -> str:
        rows = [f"**{self.headline}**", "", f"seed {self.seed} (`seed={self.seed}` replays), batch size {self.batch_size}",
                "", "| MDP | S | A | H | γ | trajectories | p |", "|---|---|---|---|---|---|---|"]
        for r in self.results:
            S, A, H = r.size
            rows.append(f"| {r.name} | {S} | {A} | {H} | {r.gamma:g} | {r.samples:,} | {_eq(r.p_adjusted)} |")
        rows.extend(f"- warning: {w}" for w in self.warnings)
        m = self.minimal
        if m is not None:
            S, A, H = m.size
            rows += ["", f"smallest MDP where the bias shows: S={S}, A={A}, H={H}, γ={m.gamma:g}; θ = {_vec(m.theta)}",
                     "", "| | ∇J (exact) | estimated | std. error |", "|---|---|---|---|"]
            rows += [f"| θ[{k}] | {e:.4g} | {g:.4g} | {se:.2g} |" for k, (e, g, se) in
                     enumerate(zip(m.exact, m.estimate, m.stderr))]
        return "\n".join(rows) + "\n"

    def _repr_latex_(self) -> str:
        head = r"\text{%s}" % self.headline.replace("_", r"\_")
        for char, tex in (("α", r"\alpha"), ("≠", r"\neq"), ("∇", r"\nabla ")):  # math outside \text
            head = head.replace(char, r"}%s\text{" % tex)
        rows = [head]
        m = self.minimal
        if m is not None:
            S, A, H = m.size
            rows.append(r"\text{smallest MDP where the bias shows: }S=%d,\ A=%d,\ H=%d,\ \gamma=%g" % (S, A, H, m.gamma))
            rows.append(r"\nabla J = %s,\quad \widehat{\nabla J} = %s" % (_vec(m.exact), _vec(m.estimate)))
        return "$$\\begin{array}{l}\n%s\n\\end{array}$$" % " \\\\\n".join(rows)

    def to_dict(self) -> dict:
        return {"passed": self.passed, "undecided": self.undecided, "p_value": self.p_value, "alpha": self.alpha,
                "seed": self.seed,
                "batch_size": self.batch_size, "variance_passed": self.variance_passed,
                "warnings": list(self.warnings), "scope": self.scope, "mdps": [r.to_dict() for r in self.results],
                "minimal": self.minimal.to_dict() if self.minimal else None}


# -- MDPs ------------------------------------------------------------------------------------


def random_problem(rng: random.Random, S: int, A: int, H: int, gamma=Fraction(1, 2), *, name: str = "",
                   sparse: bool = False, lanes: bool = False, peaked: bool = False, centred: bool = False):
    """(mdp, tabular softmax, θ): tables with small denominators, rewards in [-1, 2], θ in [-1, 1].

    ``peaked`` gives every state one preferred action (θ = 3) and the others θ in {−1, −1/2, 0}:
    each other action then has π(a|s) between about 0.015 and 0.05, so that code paths taken only
    on unlikely actions (clipped or skipped low-probability steps) carry weight, while each is
    still drawn often enough for the t-test. ``centred`` draws the rewards from [−1, 1] (mean 0)
    instead: a return's spread then grows like √H rather than H, so that the score terms of late
    steps, which carry little of the return, are not drowned by the early ones' variance.

    ``sparse`` gives each P(·|s,a) one or two next states and makes the last state absorbing
    with a fixed nonzero reward per step, so that an action's effect on the state lasts to
    the end of the episode: then a bug that ignores late rewards shows. ``lanes`` (S >= 3,
    A >= 2) makes the last two states absorbing instead, paying per-step rewards 1 to 2
    apart (the only rewards), starts in the others, and gives each of those two actions leading
    into different lanes: the first action already moves every later reward, up to r_H.
    """
    def dist(n, support=None):
        w = [0] * n
        for j in (range(n) if support is None else support):
            w[j] = rng.randint(1, 4)
        return [Fraction(x, sum(w)) for x in w]

    def row():
        return dist(S, rng.sample(range(S), rng.randint(1, min(2, S)))) if sparse else dist(S)

    mu = dist(S)
    tr = [[row() for _ in range(A)] for _ in range(S)]
    top = 2 if centred else 4
    rw = [[[Fraction(rng.randint(-2, top), 2) for _ in range(S)] for _ in range(A)] for _ in range(S)]
    if lanes and S >= 3:
        low = rng.choice((-2, -1, 0, 1))
        stays = [Fraction(low, 2), Fraction(low + rng.choice((2, 3, 4)), 2)]  # per step in each lane, 1 to 2 apart
        rng.shuffle(stays)
        for lane, stay in zip((S - 2, S - 1), stays):
            tr[lane] = [[Fraction(int(j == lane)) for j in range(S)] for _ in range(A)]
            rw[lane] = [[stay] * S for _ in range(A)]
        for s in range(S - 2):  # two actions of every other state lead into different lanes: a_0 already decides
            for act, lane in zip(rng.sample(range(A), 2), (S - 2, S - 1)):
                tr[s][act] = dist(S, sorted({lane, rng.randrange(S - 2)}) if rng.random() < 0.5 else [lane])
            rw[s] = [[Fraction(0)] * S for _ in range(A)]  # only the lanes pay: no noise but the lanes' own
        mu = dist(S, range(S - 2))  # start outside the lanes: the entry into one is what the actions decide
    elif sparse and S > 1:
        stay = Fraction(rng.choice((-2, -1, 1, 2, 3, 4)), 2)  # paid on every step spent in the absorbing state
        tr[S - 1] = [[Fraction(int(j == S - 1)) for j in range(S)] for _ in range(A)]
        rw[S - 1] = [[stay] * S for _ in range(A)]
    mdp = FiniteMDP.from_tables(mu, tr, rw, horizon=H, discount=gamma, name=name or f"random S={S} A={A} H={H}")
    policy = TabularSoftmax(S, A)
    if peaked:
        theta = np.array([3.0 if a == rng_a else rng.choice((-1.0, -0.5, 0.0))
                          for rng_a in [rng.randrange(A) for _ in range(S)] for a in range(A)])
    else:
        theta = np.array([rng.choice((-1.0, -0.5, 0.5, 1.0)) for _ in range(policy.n_params)])
    return mdp, policy, theta


def default_battery(*, n_random: int = DEFAULT_RANDOM, seed: int = 0) -> list:
    """``n_random`` MDPs drawn from ``seed``, cycling through the slots: a bandit, short γ < 1 episodes,
    short episodes under a near-deterministic policy (every state's unlikely actions at π ≈ 0.015–0.05),
    then S up to 6, A up to 5, H up to 40 and γ = 1 or a rational with a random denominator past 10^5
    drawn in [1/2, 1) (see ``_SLOTS``); from H = 7 on the
    transitions are sparse (slow mixing), so that late rewards matter to early actions (at H = 30
    with two absorbing lanes, so that early actions move every later reward), except in the last
    slot (dense, γ = 1, rewards of mean 0, H from 32 to 40), where late actions matter to late rewards."""
    rng = random.Random(seed)
    out = []
    for i in range(n_random):
        states, actions, (h_lo, h_hi), gammas = _SLOTS[i % len(_SLOTS)]
        S, A, H, g = rng.choice(states), rng.choice(actions), rng.randint(h_lo, h_hi), _draw_gamma(rng, rng.choice(gammas))
        slot = i % len(_SLOTS)
        sparse = H >= 7 and slot not in _DENSE_SLOTS
        out.append(random_problem(rng, S, A, H, g, name=f"battery #{i + 1}", sparse=sparse,
                                  lanes=slot in _LANE_SLOTS, peaked=slot in _PEAKED_SLOTS,
                                  centred=slot in _CENTRED_SLOTS))
    return out


def fresh_seed() -> int:
    """A seed for a battery drawn afresh: from the operating system's entropy."""
    return secrets.randbelow(2**31)


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
    """The batch's estimate [K]: the mean of per-trajectory rows [m, K], or the estimator's own [K]."""
    if type(value) is np.ndarray and value.dtype == np.float64:  # the common case, called once per batch
        g = value
    else:
        g = _converted(value, m, K)
    if g.shape == (m, K):
        g = g.mean(axis=0)
    elif g.shape != (K,):
        raise UserError(f"estimator: expected per-trajectory estimates of shape [m, K] = [{m}, {K}] or the batch's "
                        f"estimate of shape [K] = [{K}], got shape {list(g.shape)}")
    if not np.isfinite(g).all():
        raise UserError("estimator: returned a non-finite value (nan or inf)")
    return g


def _converted(value, m: int, K: int) -> np.ndarray:
    """An estimator's output as a float64 array: torch tensors, lists; complex values refused."""
    if hasattr(value, "detach"):  # a torch tensor; torch itself is never imported here
        value = value.detach().cpu().numpy()
    if np.iscomplexobj(value) or (isinstance(value, (list, tuple)) and any(isinstance(x, complex) for x in
                                                                            np.ravel(np.asarray(value, dtype=object)))):
        raise UserError(f"estimator: returned complex values; expected a real float array [m, K] = [{m}, {K}] or [K]")
    try:
        g = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"estimator: expected a float array [m, K] = [{m}, {K}] or [K], "
                        f"got {type(value).__name__}") from None
    return g


def _check_one(estimator, mdp, policy, theta, *, samples: int, seed, alpha: float, variance: bool,
               name: str, batch_size: int, max_samples: int | None = None) -> MDPResult:
    """:func:`_sample_and_test`, once more on fresh trajectories (up to ``max_samples``) when components were left untested.

    The second round is a new sample, independent of the first, which served only to decide
    it was needed. Whenever a second round is possible the level is split between the rounds
    (Bonferroni): the first round's p-value is divided by ``FIRST_SHARE`` = 0.9, the second's
    by 0.1, so the MDP's p-value holds at α whichever round decided, and the common case (one
    round) loses little power.
    """
    cap = _second_round(samples, mdp.horizon, batch_size, max_samples)
    if cap is not None:
        check_steps(cap, mdp.horizon, where="max_samples")  # refused before the first round, not after it
    kurtosis = model_kurtosis(mdp, policy, theta)
    first = _sample_and_test(estimator, mdp, policy, theta, samples=samples, seed=seed, alpha=alpha, variance=variance,
                             name=name, batch_size=batch_size, kurtosis=kurtosis)
    if cap is None:
        return first
    share = FIRST_SHARE
    hopeless = None
    if first.untested and kurtosis is not None:
        # The model's effective sample size at the cap: where it stays below the t-test's floor for every
        # untested component, a second round could only be untested again (a tail too rare for the cap).
        n = cap // batch_size
        at_cap = batch_ess(kurtosis, batch_size, n)[list(first.untested)]
        if np.all(at_cap < min(float(MIN_ESS), n / 4.0)):
            hopeless = float(at_cap.max())
    if hopeless is not None and not first.p_value / share <= alpha:
        note = (f"{len(first.untested)} components untested at {first.samples:,} trajectories and not redrawn: at "
                f"the cap ({cap:,}, max_samples) a correct estimator's exact kurtosis gives an effective sample "
                f"size of at most {hopeless:.3g}, below the t-test's floor; raise samples far more, or use "
                f"`derive estimate` on this MDP (exact moments and range of its own estimators, where its "
                f"trajectories enumerate)")
        first = replace(first, notes=(note,) + first.notes)
    elif set(first.untested) - set(first.constant) and not first.p_value / share <= alpha:
        # Only components short of effective samples can gain from more: a constant one stays constant.
        again = _sample_and_test(estimator, mdp, policy, theta, samples=cap, seed=[*np.atleast_1d(seed), 1 << 20],
                                 alpha=alpha, variance=variance, name=name, batch_size=batch_size, kurtosis=kurtosis)
        share = 1.0 - FIRST_SHARE
        note = (f"{len(first.untested)} components untested at {first.samples:,} trajectories; redrawn with "
                f"{cap:,} fresh ones (the cap: max_samples), tested at {share:g} α (the level split between the "
                f"two rounds)" + ("; still untested there: raise samples" if again.untested else ""))
        first = replace(again, notes=(note,) + again.notes)
    p = min(1.0, first.p_value / share)
    return replace(first, p_value=p, p_adjusted=p)


FIRST_SHARE = 0.9           # of α, for the first round when a second is possible; the rest for the second
AUTO_GROWTH = 16            # a second round draws up to 16 × the trajectories of the first
AUTO_STEPS = 20_000_000     # ... and at most this many trajectory-steps (~2 s of sampling)


def _second_round(samples: int, horizon: int, batch_size: int, max_samples: int | None) -> int | None:
    """Trajectories of the second round (a multiple of the batch size), or None when it would add none."""
    top = min(AUTO_GROWTH * samples, max(samples, AUTO_STEPS // (horizon + 1))) if max_samples is None else max_samples
    top = top // batch_size * batch_size
    return top if top > samples else None


MODEL_ENUMERATION = 20_000  # trajectories × reward outcomes up to which gradcheck takes a model kurtosis (~0.1 s)


@functools.lru_cache(maxsize=8)
def _exact_kurtosis(mdp: FiniteMDP, policy, theta: tuple, estimator: str):
    """One estimator's exact per-component kurtosis: by enumeration up to ``MODEL_ENUMERATION`` trajectories, past it
    by dynamic programming over time (:func:`derive.tail_moments.dp_kurtosis`), None past the DP's budget; kept
    across runs."""
    from .exact import EnumerationTooLarge
    from .stats import exact_distribution
    from .tail_moments import dp_kurtosis

    try:
        k = exact_distribution(mdp, policy, theta, estimator=estimator, budget=MODEL_ENUMERATION).kurtosis
    except EnumerationTooLarge:
        k = dp_kurtosis(mdp, policy, theta, estimator)
    if k is not None:
        k.setflags(write=False)
    return k


def model_kurtosis(mdp: FiniteMDP, policy, theta) -> np.ndarray | None:
    """Per component, the larger exact kurtosis of one trajectory's REINFORCE and reward-to-go estimates
    (enumerating trajectories and reward outcomes up to ``MODEL_ENUMERATION``, by dynamic programming over time
    past it, up to ``derive.tail_moments.DP_KURTOSIS_BUDGET``), or None past both.

    A correct estimator sees the same rewards: where their tail is heavy, so is its batch estimate, and a
    tail too rare to show in the sample leaves the sample's kurtosis far below this one.
    """
    th = tuple(float(x) for x in theta)
    out = None
    for est in ("reinforce", "reward-to-go"):
        try:
            with np.errstate(all="ignore"):  # an overflow leaves no model: the sampled round reports it, in one line
                try:
                    k = _exact_kurtosis(mdp, policy, th, est)
                except TypeError:  # an unhashable policy: no memo, the same moments
                    k = _exact_kurtosis.__wrapped__(mdp, policy, th, est)
        except UserError:
            return None
        if k is None:
            return None
        out = k if out is None else np.maximum(out, k)
    return out


def _sample_and_test(estimator, mdp, policy, theta, *, samples: int, seed, alpha: float, variance: bool,
                     name: str, batch_size: int, kurtosis=None) -> MDPResult:
    """Sample independent batches, run the estimator once per batch, and t-test the batch estimates (Holm)."""
    K, T = policy.n_params, mdp.horizon + 1
    check_horizon(mdp.horizon, where=f"{name}: horizon", states=mdp.n_states, trajectories=batch_size)
    check_steps(samples, mdp.horizon)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, as an error
        _, exact = DynamicProgram(mdp, policy).value_and_grad(theta)
    exact = require_finite(f"{name}: exact ∇J", exact)
    _, _, r = mdp.arrays()
    top = float(np.max(np.abs(r), initial=0.0)) * T * float(np.max(np.abs(policy.float_scores(theta)), initial=0.0)) * T
    if not math.isfinite(top):  # derive's own float64 range, before the estimator is blamed for an overflow
        raise UserError(f"{name}: rewards up to {float(np.max(np.abs(r))):.3g} over {T} steps overflow float64 in a "
                        f"score-function estimate; rescale the rewards")
    sampler = Sampler(mdp, policy, theta)
    rng = np.random.default_rng(seed)
    gamma = float(mdp.discount)
    n_batches = samples // batch_size
    per_draw = max(1, _CHUNK_CELLS // max(1, T * K * batch_size)) * batch_size  # whole batches per draw
    rows, ref = [], []
    informed = np.zeros(mdp.n_states, dtype=bool)
    table = np.asarray(policy.float_scores(theta))
    table.setflags(write=False)  # shared by every batch: the estimator must not change it
    done = 0
    while done < n_batches:
        nb = min(per_draw // batch_size, n_batches - done)
        b = sampler.batch(rng, nb * batch_size)
        states, actions = b.states.astype(np.int64), b.actions.astype(np.int64)
        informed |= reached_before_reward(states, b.rewards, mdp.n_states)
        with np.errstate(over="ignore", invalid="ignore"):  # a non-finite result is reported in one line
            for j in range(nb):
                sl = slice(j * batch_size, (j + 1) * batch_size)
                traj = Trajectories(states[sl], actions[sl], b.rewards[sl], gamma, mdp.horizon, theta.copy(), policy,
                                    table)
                rows.append(_to_numpy(estimator(traj), batch_size, K))
        if variance:  # REINFORCE on the very same trajectories: a paired comparison
            g = per_trajectory_gradients(policy, theta, b, step_weights("reinforce", b.rewards, gamma))
            ref.append(g.reshape(nb, batch_size, K).mean(axis=1))
        done += nb
    G = np.asarray(rows)
    quiet = unexplored_p(mdp, policy, theta, informed, n_batches * batch_size)
    verdict = batch_test(G, exact, alpha=alpha, unexplored=quiet,
                         model_ess=None if kurtosis is None else batch_ess(kurtosis, batch_size, n_batches))
    ratio = var_p = None
    if variance:
        ratio, var_p = _variance_test(G, np.concatenate(ref))
    return MDPResult(name, (mdp.n_states, mdp.n_actions, mdp.horizon), gamma, n_batches * batch_size,
                     np.asarray(exact), verdict.estimate, verdict.stderr, verdict.p_value, verdict.p_value, ratio,
                     var_p, mdp, theta, batch_size, n_batches, verdict.untested, verdict.notes, policy,
                     verdict.constant)


def _variance_test(G: np.ndarray, R: np.ndarray) -> tuple[float, float]:
    """tr Cov(G) / tr Cov(R) over independent batches and the one-sided paired z-test p of H0: tr Cov(G) <= tr Cov(R)."""
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


def gradcheck(estimator: Callable[[Trajectories], object], *, mdps: Sequence | None = None,
              n_random: int = DEFAULT_RANDOM, samples: int = DEFAULT_SAMPLES, batch_size: int = DEFAULT_BATCH_SIZE,
              seed: int | None = None, alpha: float = DEFAULT_ALPHA, variance: bool = False,
              minimize: bool = True, max_samples: int | None = None) -> GradcheckResult:
    """Test E[estimator on a batch] = ∇J on each MDP; overall level α by Holm across the MDPs.

    The estimator is called on independent batches of ``batch_size`` trajectories (use your
    training batch size: a batch-dependent bias such as a batch-mean baseline's shows at the
    size where it occurs). The default battery is drawn from ``seed``; None draws a fresh
    seed, reported in the result, so that every run tries new MDPs and any run can be replayed.
    With ``variance=True`` the estimator must also have a variance no worse than REINFORCE's
    on the same trajectories (one-sided paired test over batches, Holm across MDPs).

    Where components are left untested (effective sample size too small: a few rare events
    carry the signal), the MDP is tested once more on fresh trajectories, up to
    ``max_samples`` (default: 16 × ``samples`` and at most 20 M trajectory-steps; pass
    ``max_samples=samples`` for one round only); with a second round possible, α is split
    0.9 / 0.1 between the rounds, so the level holds. Undecided is never a pass.
    """
    if not callable(estimator):
        raise UserError(f"estimator: expected a callable, got {estimator!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise UserError(f"alpha: expected 0 < α < 1, got {alpha!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise UserError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2 * batch_size:
        raise UserError(f"samples: expected an integer >= 2 × batch_size = {2 * int(batch_size)} "
                        f"(two independent batches at least), got {samples!r}")
    if seed is None:
        seed = fresh_seed()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"seed: expected an integer >= 0, got {seed!r}")  # NumPy's generators refuse negative seeds
    seed, batch_size = int(seed), int(batch_size)
    if max_samples is not None and (isinstance(max_samples, bool) or not isinstance(max_samples, (int, np.integer))
                                    or max_samples < samples):
        raise UserError(f"max_samples: expected an integer >= samples = {int(samples)}, got {max_samples!r}")
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
        results.append(_check_one(estimator, mdp, policy, theta, samples=int(samples), seed=[seed, i],
                                  alpha=alpha, variance=variance, name=name, batch_size=batch_size,
                                  max_samples=None if max_samples is None else int(max_samples)))
    # Holm across the MDPs: each MDP's p-value is valid for its own (intersection) null.
    adjusted = holm([r.p_value for r in results])
    results = [replace(r, p_adjusted=float(p)) for r, p in zip(results, adjusted)]
    p_value = float(adjusted.min())
    rejected = p_value <= alpha
    undecided = not rejected and any(r.untested for r in results)
    passed = not rejected and not undecided
    variance_passed = None
    if variance:
        variance_passed = bool(holm([r.variance_p for r in results]).min() > alpha)
    minimal = None
    if rejected:
        failing = [r for r in results if r.p_adjusted <= alpha]
        minimal = min(failing, key=_size_key)
        if minimize:
            minimal = _smallest(estimator, minimal, samples=int(samples), seed=seed, alpha=alpha,
                                batch_size=batch_size) or minimal
    return GradcheckResult(passed, p_value, alpha, tuple(results), minimal, variance_passed, seed, batch_size,
                           undecided)


def _size_key(r: MDPResult):
    S, A, H = r.size
    return (S * A, H, S)


def _smallest(estimator, failing: MDPResult, *, samples: int, seed: int, alpha: float,
              batch_size: int) -> MDPResult | None:
    """The first candidate smaller than ``failing`` that rejects at α / (number of candidates)."""
    smaller = [c for c in candidate_mdps(seed=seed)
               if _size_key_of(c[0]) < _size_key(failing)]
    level = alpha / max(1, len(smaller))
    for j, (mdp, policy, theta) in enumerate(smaller):
        r = _check_one(estimator, mdp, policy, theta, samples=samples, seed=[seed, 1_000_000 + j], alpha=level,
                       variance=False, name="smallest failing",  # its size is in the description
                       batch_size=batch_size)
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
    n = len(result.results)
    verdict = ("PASSED" if result.passed else "FAILED: the estimator is biased, E[estimate] ≠ ∇J" if result.rejected
               else "UNDECIDED: nothing rejected, but some components could not be tested (see the warnings)")
    ranges = ""
    if result.passed and n:  # a pass is a pass on the MDPs tested and no others: the headline names their ranges
        sc = result.scope
        drawn = sc["gammas"]
        rel = "=" if n == 1 else "≤"
        verdict += f" on {'this MDP' if n == 1 else f'these {n} MDPs'} only"
        ranges = (f"S {rel} {sc['max_S']}, A {rel} {sc['max_A']}, H {rel} {sc['max_H']}, "
                  # The discounts drawn, each: a pass says nothing of the γ between them.
                  + (f"γ = {drawn[0]:.6g}" if len(drawn) == 1 else "γ ∈ {" + ", ".join(f"{g:.6g}" for g in drawn) + "}")
                  + (f", min π(a|s) = {sc['min_pi']:.2g}; " if "min_pi" in sc else "; "))
    lines = [f"{title}: {verdict} ({ranges}p {_eq(result.p_value)}, α = {result.alpha:g}, "
             f"Holm across {n} MDP{'' if n == 1 else 's'})",
             f"  seed {result.seed} (--seed {result.seed} replays), batch size {result.batch_size}"]
    for r in result.results:
        S, A, H = r.size
        extra = ""
        if r.variance_ratio is not None:
            extra = f"; variance / REINFORCE's = {r.variance_ratio:.3g} (p {_eq(r.variance_p)})"
        lines.append(f"  {r.name}: S={S} A={A} H={H} γ={r.gamma:g}, {r.samples:,} trajectories in "
                     f"{r.n_batches:,} batches: p {_eq(r.p_adjusted)}{extra}")
    for w in result.warnings:
        lines.append(f"  warning: {w}")
    if result.variance_passed is not None:
        lines.append("  variance: " + ("no worse than REINFORCE's" if result.variance_passed
                                        else "worse than REINFORCE's (one-sided paired test, Holm across MDPs)"))
    m = result.minimal
    if m is not None:
        S, A, H = m.size
        lines.append(f"  smallest MDP where the bias shows: S={S}, A={A}, H={H}, γ={m.gamma:g} (p {_eq(m.p_value)})")
        if m.mdp is not None:
            lines.extend(mdp_table_lines(m.mdp.to_dict(), S, A))
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


def mdp_table_lines(d: dict, S: int, A: int) -> list[str]:
    """An MDP's tables (an MDP file's dict: exact strings) as report lines: μ, then P(·|s,a) and r(s,a,·)."""
    terminal = f", terminal = {d['terminal']}" if d.get("terminal") else ""
    lines = [f"    μ = [{', '.join(d['initial'])}]{terminal}"]
    for s in range(S):
        for a in range(A):
            lines.append(f"    s={s}, a={a}: P(·|s,a) = [{', '.join(d['transitions'][s][a])}], "
                         f"r(s,a,·) = [{', '.join(d['rewards'][s][a])}]")
    return lines


class _CallableModule(types.ModuleType):
    """This module, callable as :func:`gradcheck` so that ``derive.gradcheck(estimator)`` keeps working."""

    def __call__(self, *args, **kwargs):
        return gradcheck(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
