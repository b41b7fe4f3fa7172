"""When a line's check in the sample count m decides it for every m: a degree bound in m.

The expectation of a line over i.i.d. samples τ^(1), τ^(2), … (or the value of a line with no
samples) is, where the line has the shapes below, a rational function N(m)/D(m) of m; a bound d
on the degree of N is read off the expression. Then agreement at d + 1 distinct values of m (at
which both sides are defined, so D ≠ 0) shows N ≡ 0: the line holds for every m.

Why the expectation is such a function: by linearity and because the samples are i.i.d., the
expectation of a product of sample quantities depends on the sample indices only through which
of them are equal; a sum Σ_{i=lo}^{hi} over an index with constant lo and hi = m + c, of a
polynomial of degree q in the indices and m, is then a polynomial of degree ≤ q + 1 in m (on
each pattern of equal indices, a sum of a polynomial over distinct values) — but only past a
threshold: Σ_{i=lo}^{m+c} is the empty sum 0 for every m < lo − c − 1, where the polynomial is
not 0 (Σ_{i=33}^{m} 1 = max(0, m − 32)), and how often τ^(i) meets a sample numbered k
(τ^(40)) changes when m + c reaches k. So an index counts as degree 1, a Σ over it adds 1,
products add degrees, sums take the maximum, and a quotient is tracked as (numerator,
denominator) degrees; and :func:`m_threshold` gives the m from which on one rational function
describes the line: agreement at d + 1 values of m at or past it (never below) decides every
m past it, and the values below it are checked one by one.

Shapes refused (None: the check keeps its cap and says which m were checked): m or an index
anywhere but in arithmetic, in Σ bounds of the form above, or as the label of a sample τ^(i)
— inside a log, as a time index (r_i), as an exponent (x^m), in a product Π over an index, or
in a sum with other bounds.
"""

from __future__ import annotations

import sympy as sp
from sympy import Derivative, Expr

from .notation import Sample, i, m, theta

__all__ = ["degree_in_m", "difference_degree", "m_threshold", "MAX_DEGREE"]

MAX_DEGREE = 40  # past it the check keeps its sample-count cap (each m costs O(m) terms)


def degree_in_m(e: Expr) -> tuple[int, int] | None:
    """(numerator, denominator) degree bounds of E[e] as a rational function of m, or None (not shown)."""
    return _deg(e, frozenset({m, i}))


def difference_degree(lhs: Expr, rhs: Expr) -> int | None:
    """A bound on the numerator degree in m of E[lhs] − E[rhs], or None."""
    a, b_ = degree_in_m(lhs), degree_in_m(rhs)
    if a is None or b_ is None:
        return None
    return max(a[0] + b_[1], b_[0] + a[1])


def m_threshold(*sides: Expr) -> int | None:
    """The least m ≥ 1 from which on E[side] is one rational function of m (every Σ range over m non-empty or just empty), or None.

    A Σ_{k=lo}^{m+c} with an integer lo is F(m + c) − F(lo − 1) for a polynomial F when
    m + c ≥ lo − 1, and 0 below (derive counts an empty range as 0): a breakpoint at lo − c − 1.
    A sample numbered k (τ^(k)) coincides with an index of such a range only once m + c ≥ k: a
    breakpoint at k − c. None when a bound of such a Σ is not of that form.
    """
    shifts, out = [], 1
    for side in sides:
        for e in sp.preorder_traversal(side):
            if isinstance(e, sp.Sum):
                for _, lo, hi in e.args[1:]:
                    if m not in hi.free_symbols:
                        continue
                    c, lo = sp.expand(hi - m), sp.sympify(lo)
                    if not (c.is_Integer and lo.is_Integer):
                        return None
                    shifts.append(int(c))
                    out = max(out, int(lo) - int(c) - 1)
    labels = [int(x.args[0]) for side in sides for x in sp.preorder_traversal(side)
              if isinstance(x, Sample) and x.args[0].is_Integer]
    if shifts and labels:
        out = max(out, max(labels) - min(shifts))
    return out


def _free(e, idx) -> bool:
    """Whether e mentions none of the index symbols outside the labels of samples."""
    stripped = e.replace(lambda n: isinstance(n, Sample), lambda n: sp.Integer(1))
    return not (stripped.free_symbols & idx)


def _deg(e, idx):
    if e in idx:
        return (1, 0)
    if not isinstance(e, sp.Basic) or not e.args or _free(e, idx):
        return (0, 0)
    if isinstance(e, sp.Add):
        out = (0, 0)
        for a in e.args:
            d = _deg(a, idx)
            if d is None:
                return None
            out = (max(out[0] + d[1], d[0] + out[1]), out[1] + d[1])
        return out
    if isinstance(e, sp.Mul):
        n = dd = 0
        for a in e.args:
            d = _deg(a, idx)
            if d is None:
                return None
            n, dd = n + d[0], dd + d[1]
        return (n, dd)
    if isinstance(e, sp.Pow):
        base, ex = e.args
        if not (ex.is_Integer and _free(ex, idx)):
            return None
        d = _deg(base, idx)
        if d is None:
            return None
        k = int(ex)
        if k < 0 and base.has(Sample):  # E[1/Σ_i R(τ^(i))] is no rational function of m, though 1/m is
            return None
        return (k * d[0], k * d[1]) if k >= 0 else (-k * d[1], -k * d[0])
    if isinstance(e, Derivative):  # ∇_θ is linear and m, i do not depend on θ
        if not all(v == theta for v, _ in e.variable_count):
            return None
        return _deg(e.expr, idx)
    if isinstance(e, sp.Sum):
        body, *limits = e.args
        out_idx, extra = set(idx), 0
        for var, lo, hi in limits:
            if lo.free_symbols & out_idx or hi.free_symbols & out_idx - {m} or (
                    m in hi.free_symbols and not sp.expand(hi - m).is_Integer):
                return None
            if not (lo.free_symbols | hi.free_symbols) & out_idx:
                continue  # a range fixed by the instance (Σ_{t=0}^{H}): a sum of terms of the body's degree
            if lo.free_symbols or hi.free_symbols:  # a bound that is not m + c: not shown
                if lo.free_symbols or hi.free_symbols != {m} or not sp.sympify(lo).is_Integer:
                    return None
                out_idx.add(var)  # an index running up to m counts as degree 1
                extra += 1
        d = _deg(body, frozenset(out_idx))
        if d is None or d[1]:
            return None  # a quotient in the index: Σ 1/i is not rational in m
        return (d[0] + extra, 0)
    return None
