"""One constant on every MDP: is E[−∇loss] = k·ρ·∇J for one plain-scale rule ρ and one k?

A loss that is correct up to a factor of its own (0.5·REINFORCE, a sum divided by N − 1, a
learning rate folded in) has c_i = k·ρ_i on every MDP i, with ρ_i the plain scale a sum or
mean gives there (1, N, 1/T, ...; see ``derive.losscheck.plain_scales``). A biased loss whose
bias lies along ∇J has a c_i that moves with the MDP (a return cut short, a mean over T − 1
slots, 1/std of the batch). With z_i = c_i / ρ_i and its standard error s_i, under
H0: z_i = k for one unknown k, the weighted least-squares fit is k̂ = Σ w_i z_i / Σ w_i,
w_i = 1 / s_i², and Q = Σ w_i (z_i − k̂)² is χ² with M − 1 degrees of freedom (M MDPs; one
parameter fitted). That is the homogeneity test. Its p-value for the loss is the largest over
the rules: the composite H0 "some rule, some k" is rejected only when every rule is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from .stats import chi2_sf

__all__ = ["ScaleFit", "scale_fit", "factor_p", "leave_one_out", "farthest_pair", "rule_text", "RULE_ORDER"]

RULE_ORDER = ("1", "N", "1/T", "K", "N·K", "K/T")  # simplest first: the order in which a rule is preferred

_TEXT = {
    "episodes": {"1": "the mean over the batch's episodes", "N": "the sum over the batch's N episodes",
                 "1/T": "the mean over the batch's N·T slots"},
    "vector": {"1": "the mean over the envs' first episodes", "N": "the sum over the envs' first episodes",
               "1/T": "the mean over the N·T slots of the envs' first episodes",
               "K": "the mean over the envs of the episodes that begin by slot T − (H+1)",
               "N·K": "the sum over the envs of the episodes that begin by slot T − (H+1)",
               "K/T": "the mean over the N·T slots of the episodes that begin by slot T − (H+1)"},
}


def rule_text(rule: str, layout: str) -> str:
    """What a plain-scale rule is, in words, without one MDP's numbers."""
    return _TEXT.get(layout, _TEXT["episodes"]).get(rule, rule)


@dataclass(frozen=True)
class ScaleFit:
    """c_i = k·ρ_i for the rule ρ named, fitted over the MDPs with ∇J ≠ 0 and a noisy c, and its tests."""

    rule: str           # the rule named: k = 1 preferred when a rule fits so, else the simplest that fits
    k: float            # pooled c / ρ (weighted least squares)
    k_stderr: float
    chi2: float         # Q = Σ w_i (z_i − k̂)² for this rule
    df: int             # M − 1
    p_rule: float       # χ²_{M−1} p of Q for this rule
    p_same: float       # the largest p_rule over the rules: H0 "some rule, one k" (the test in the Holm family)
    p_one: float        # H0: k = 1 for this rule (χ²_1 of the pooled k̂)
    p_minus_one: float  # H0: k = −1
    detectable: float   # a change of c/ρ on one MDP, relative to k, that the spread test catches with 80% power
    n_mdps: int         # M
    names: tuple        # the MDPs fitted
    ratios: tuple       # z_i = c_i / ρ_i, in the order of names
    ratio_se: tuple     # s_i
    same_fit: tuple = ()  # other rules proportional to this one on these MDPs: (rule, k) — the same fit, another k
    also_fit: tuple = ()  # other rules that fit too (p_rule > α), not proportional: (rule, k)

    alpha: float = 0.01   # the level the rule was chosen at

    @property
    def plain(self) -> bool:
        """k = ±1 is not rejected (at ``alpha``): c is the plain scale itself, or its negative."""
        return max(self.p_one, self.p_minus_one) > self.alpha

    def to_dict(self) -> dict:
        def num(v):
            return v if math.isfinite(v) else None

        return {"rule": self.rule, "k": num(self.k), "k_stderr": num(self.k_stderr), "chi2": num(self.chi2),
                "df": self.df, "p_rule": self.p_rule, "p_same": self.p_same, "p_one": self.p_one,
                "p_minus_one": self.p_minus_one, "detectable": num(self.detectable), "n_mdps": self.n_mdps,
                "mdps": list(self.names), "ratios": [num(z) for z in self.ratios],
                "ratio_se": [num(s) for s in self.ratio_se],
                "same_fit": [list(x) for x in self.same_fit], "also_fit": [list(x) for x in self.also_fit]}


def _live(results) -> list:
    return [r for r in results if not r.zero_gradient and 0 < r.c_stderr < math.inf]


def _widen(r) -> float:
    """se(ĉ) comes from an estimated covariance S of rank p = df + 1: its square is widened by (B − 1)(B − 2)/((B − p − 1)(B − p)).

    Two effects of estimating Σ by S (Wishart, B − 1 degrees of freedom), each about (B − 1)/(B − p)
    for Gaussian rows: GLS in S's metric instead of Σ's is less efficient, and 1/∇Jᵀ S⁻¹ ∇J
    underestimates that variance. The first alone, (B − 1)/(B − p − 1), left E[z²] ≈ 1.39 for
    Gaussian rows at p = 30, B = 100 (tests/test_losscheck_battery_gaps.py measures it).
    """
    B, p = r.batches, r.df + 1
    return math.sqrt((B - 1) * (B - 2) / max(1, (B - p - 1) * (B - p)))


@lru_cache(maxsize=64)
def _lambda80(df: int, level: float) -> float:
    from .losscheck import _lambda80 as lam

    return lam(df, level)


def _fit_rule(live, rule: str) -> dict:
    v = np.array([dict(r.scales)[rule] for r in live])
    c = np.array([r.c for r in live])
    se = np.array([r.c_stderr * _widen(r) for r in live])
    z, zse = c / v, se / np.abs(v)
    unit = float(zse.min())  # work in units of the smallest se: no overflow or underflow at c = 1e160
    w = (unit / zse) ** 2
    W = float(w.sum())
    k = float(w @ (z / unit) / W)  # in units
    q = float(w @ (z / unit - k) ** 2)
    df = len(live) - 1
    return dict(rule=rule, v=v, z=z, zse=zse, w=w, unit=unit, k=k * unit, k_se=unit / math.sqrt(W), chi2=q, df=df,
                p=chi2_sf(q, df) if df > 0 else 1.0,
                p_one=chi2_sf(W * (k - 1 / unit) ** 2, 1), p_minus=chi2_sf(W * (k + 1 / unit) ** 2, 1))


def _proportional(a: np.ndarray, b: np.ndarray) -> bool:
    """ρ_a / ρ_b is one number on every MDP (1 and N with N fixed): the two rules give the same fit."""
    r = a / b
    return bool(np.all(np.abs(r - r[0]) <= 1e-12 * abs(r[0])))


def scale_fit(results: Sequence, *, alpha: float) -> ScaleFit | None:
    """Fit c_i = k·ρ_i over the MDPs with ∇J ≠ 0, for each plain-scale rule ρ they all have; name one rule.

    Preference, among the rules that fit (p_rule > α): one where k = ±1 is not rejected (the
    plain scale itself), else the simplest (``RULE_ORDER``); when none fits, the one that fits
    best (smallest Q). Rules proportional on these MDPs give one fit (``same_fit``); others that fit too are
    listed in ``also_fit``. None when no MDP has a noisy c to fit.
    """
    live = _live(results)
    if not live:
        return None
    have = set.intersection(*({rule for rule, v in r.scales if v > 0} for r in live))
    rules = [x for x in RULE_ORDER if x in have] + sorted(have - set(RULE_ORDER))
    if not rules:
        return None
    fits = [_fit_rule(live, rule) for rule in rules]
    p_same = max(f["p"] for f in fits)
    fitting = [f for f in fits if f["p"] > alpha]
    if fitting:
        plain = [f for f in fitting if max(f["p_one"], f["p_minus"]) > alpha]
        best = (plain or fitting)[0]
    else:
        best = min(fits, key=lambda f: f["chi2"])  # the closest (one df for all rules; p may underflow to 0)
    same = tuple((f["rule"], f["k"]) for f in fits if f is not best and _proportional(f["v"], best["v"]))
    also = tuple((f["rule"], f["k"]) for f in fitting if f is not best and not _proportional(f["v"], best["v"]))
    # Power: z_a shifted by d, the others at k, gives Q the noncentrality w_a·d²·(1 − w_a/W) (in units).
    w, W = best["w"], float(best["w"].sum())
    lam = _lambda80(best["df"], alpha) if best["df"] > 0 else math.inf
    room = w * (1 - w / W)
    if math.isfinite(lam) and best["k"] != 0 and np.any(room > 0):
        d = math.sqrt(lam / float(room.max())) * best["unit"]
        detectable = d / abs(best["k"])
    else:
        detectable = math.inf
    return ScaleFit(best["rule"], best["k"], best["k_se"], best["chi2"], best["df"], float(best["p"]), float(p_same),
                    float(best["p_one"]), float(best["p_minus"]), detectable, len(live), tuple(r.name for r in live),
                    tuple(float(x) for x in best["z"]), tuple(float(x) for x in best["zse"]), same, also, alpha)


def factor_p(result, fit: ScaleFit) -> float:
    """p of "c/ρ on this MDP is the k of ``fit``", ρ the fit's rule: χ²_1 of (z − k̂)² / (s² + se(k̂)²).

    For an MDP outside the fit (a smaller candidate, sampled apart), z and k̂ are independent,
    so under H0 (one k on every MDP) their difference has variance s² + se(k̂)². 1 when the MDP
    has no noisy c or lacks the rule.
    """
    if fit is None or result.zero_gradient or not 0 < result.c_stderr < math.inf:
        return 1.0
    v = dict(result.scales).get(fit.rule)
    if not v:
        return 1.0
    z, s = result.c / v, result.c_stderr * _widen(result) / abs(v)
    unit = max(s, fit.k_stderr)
    return float(chi2_sf(((z - fit.k) / unit) ** 2 / ((s / unit) ** 2 + (fit.k_stderr / unit) ** 2), 1))


def leave_one_out(results: Sequence, fit: ScaleFit) -> list:
    """Per result, p of "c/ρ on this MDP is the k of the others" (the fit's rule), 1 where untested: where c moves.

    Descriptive (not a test in the family): it picks the MDP a rejection across MDPs is shown on.
    """
    live = _live(results)
    out = [1.0] * len(results)
    if fit is None or len(live) < 2:
        return out
    for i, r in enumerate(results):
        if not any(r is x for x in live):
            continue
        others = [x for x in live if x is not r]
        f = _fit_rule(others, fit.rule)
        sub = ScaleFit(fit.rule, f["k"], f["k_se"], f["chi2"], f["df"], 1.0, 1.0, 1.0, 1.0, math.inf, len(others),
                       (), (), ())
        out[i] = factor_p(r, sub)
    return out


def farthest_pair(results: Sequence, fit: ScaleFit) -> tuple | None:
    """(i, j, p): the two MDPs whose c/ρ differ most, in units of their standard errors, and χ²₁'s p of that gap.

    Descriptive (not a test in the family): when only the one-constant test rejects, no single
    MDP shows the bias (each may be a positive multiple of ∇J, even exactly right); two MDPs
    whose constants differ do, and the report shows both. None with fewer than two MDPs to fit.
    """
    live = [i for i, r in enumerate(results) if any(r is x for x in _live(results))]
    if fit is None or len(live) < 2:
        return None
    z = {i: results[i].c / dict(results[i].scales)[fit.rule] for i in live}
    s2 = {i: (results[i].c_stderr * _widen(results[i]) / abs(dict(results[i].scales)[fit.rule])) ** 2 for i in live}
    best = max(((i, j) for a, i in enumerate(live) for j in live[a + 1:]),
               key=lambda ij: (z[ij[0]] - z[ij[1]]) ** 2 / (s2[ij[0]] + s2[ij[1]]))
    i, j = best
    return i, j, chi2_sf((z[i] - z[j]) ** 2 / (s2[i] + s2[j]), 1)
