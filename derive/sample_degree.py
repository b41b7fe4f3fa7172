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
in a sum with other bounds — and, for the threshold, a sample label that is not a number, m + c,
or the index of a Σ with integer bounds or bounds m + c (τ^(k) in Σ_{k=1}^{H}, τ^(100 − m)).
"""

from __future__ import annotations

import sympy as sp
from sympy import Derivative, Expr

from .notation import Sample, i, m, theta

__all__ = ["degree_in_m", "difference_degree", "m_threshold", "threshold_and_reason", "m_poles", "positive_integer_roots", "MAX_DEGREE"]

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
    """The least m ≥ 1 from which on E[side] is one rational function of m (every Σ range over m non-empty or just empty), or None."""
    return threshold_and_reason(*sides)[0]


def threshold_and_reason(*sides: Expr) -> tuple[int | None, str]:
    """m_threshold, and when it is None why, in words (the shape of a bound or of a sample label not handled).

    A Σ_{k=lo}^{m+c} with an integer lo is F(m + c) − F(lo − 1) for a polynomial F when
    m + c ≥ lo − 1, and 0 below (derive counts an empty range as 0): a breakpoint at lo − c − 1.
    A sample whose label takes values up to K — a number (τ^(40)), or the index of a Σ over a
    range fixed by the line (τ^(k) in Σ_{k=1}^{40}) — coincides with an index of such a range
    only once m + c ≥ K: a breakpoint at K − c. A label m + c' meets a numbered sample until
    m + c' > K, and an index of a range from lo on once m + c' ≥ lo. Any other label (k in
    Σ_{k=1}^{H}, 100 − m, k + 1) or bound: None, since which samples coincide is not read off.
    """
    ranges, fixed, shifted = [], [], []   # (lo, c) of Σ_{i=lo}^{m+c}; largest label values K; c' of labels m + c'
    reason = []

    def label(lbl, bound):
        lbl = sp.sympify(lbl)
        if lbl.is_Integer:
            fixed.append(int(lbl))
        elif lbl in bound:
            kind, value = bound[lbl]
            if kind == "fixed":
                fixed.append(value)
            elif kind == "refused":
                reason.append(value)
        elif lbl == i:  # a free i: the sample τ^(i) with i = 1..m
            ranges.append((1, 0))
        elif m in lbl.free_symbols and sp.expand(lbl - m).is_Integer:
            shifted.append(int(sp.expand(lbl - m)))
        else:
            reason.append(f"the sample label {lbl} is not a number, m + c or an index of a Σ "
                          "(which samples coincide is not read off)")

    def walk(e, bound):
        if isinstance(e, Sample):
            label(e.args[0], bound)
            return
        if not isinstance(e, sp.Basic) or not e.args:
            return
        if isinstance(e, sp.Sum):
            inner = dict(bound)
            for var, lo, hi in e.args[1:]:
                lo, hi = sp.sympify(lo), sp.sympify(hi)
                walk(lo, inner), walk(hi, inner)
                if m in lo.free_symbols:
                    reason.append(f"the lower limit {lo} of {var} depends on m")
                    return
                if m in hi.free_symbols:
                    c = sp.expand(hi - m)
                    if not (c.is_Integer and lo.is_Integer):
                        reason.append(f"the range of {var} ({lo}..{hi}) is not an integer to m + c")
                        return
                    ranges.append((int(lo), int(c)))
                    inner[var] = ("running", None)
                elif lo.is_Integer and hi.is_Integer:
                    inner[var] = ("fixed", max(int(lo), int(hi)))
                else:  # Σ_{k=1}^{H}: which labels it gives is set by the instance
                    inner[var] = ("refused", f"a sample τ^({var}) is numbered by a Σ over {var} = {lo}..{hi}, "
                                             "a range not fixed by the line")
            walk(e.args[0], inner)
            return
        for a in e.args:
            walk(a, bound)

    for side in sides:
        walk(sp.sympify(side), {})
    if reason:
        return None, reason[0]
    out = 1
    for lo, c in ranges:
        out = max(out, lo - c - 1)
    if fixed and ranges:
        out = max(out, max(fixed) - min(c for _, c in ranges))
    for c in shifted:
        out = max(out, 1 - c)                       # the label m + c is a sample from m = 1 − c on
        if fixed:
            out = max(out, max(fixed) - c + 1)      # past every numbered sample
        if ranges:
            out = max(out, max(lo for lo, _ in ranges) - c)
    return out, ""


def m_poles(*sides: Expr, upto: int | None = None) -> tuple[tuple[int, ...], str]:
    """The m ≥ 1 where a divisor that depends on m alone is 0 (1/(m − 1) at m = 1), and those divisors in words.

    There the line is not defined for any samples, so such an m is no case of the line: the m below
    the first defined one are a domain (m ≥ 2, said in the verdict), a later one is a failure.
    Exact and complete: a polynomial's integer roots are those of its linear factors over ℚ, however
    large (1/(m − 1000) at m = 1000); ``upto`` lists only those up to it. A divisor in m and other
    symbols (1/(m − i)) is not read here (see :func:`derive.symbolic.possible_pole`).
    """
    poles: set = set()
    words: list = []
    for side in sides:
        for e in sp.preorder_traversal(sp.sympify(side)):
            if not (isinstance(e, sp.Pow) and e.exp.is_negative and e.base.free_symbols == {m}):
                continue
            here = sorted(k for k in _divisor_roots(e.base) if upto is None or k <= upto)
            if here:
                poles.update(here)
                words.append(f"1/({sp.sstr(e.base)}) at m = {', '.join(map(str, here))}")
    return tuple(sorted(poles)), "; ".join(dict.fromkeys(words))


def _divisor_roots(base: Expr) -> set:
    """The k ≥ 1 where a divisor in m alone is 0 or undefined: a polynomial factor's roots, and for log(p(m)) where p(m) = 1 or 0."""
    out: set = set(positive_integer_roots(base))
    for f in sp.Mul.make_args(base):
        if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp > 0:
            f = f.base
        if isinstance(f, sp.log):
            out.update(positive_integer_roots(f.args[0] - 1) + positive_integer_roots(f.args[0]))  # log 1 = 0; log 0 undefined
        elif f is not base:
            out.update(positive_integer_roots(f))
    return out


def positive_integer_roots(base: Expr, *, symbol=m, least: int = 1) -> tuple[int, ...]:
    """The integers k ≥ least with base(k) = 0, for a polynomial in symbol (m) alone (none when base is no polynomial)."""
    try:
        poly = sp.Poly(base, symbol)
    except sp.PolynomialError:
        return ()
    if not poly.domain.is_Numerical or poly.is_zero:
        return ()
    out = set()
    for factor, _ in poly.factor_list()[1]:
        if factor.degree() == 1:
            a, c = factor.all_coeffs()
            root = -c / a
            if root.is_Integer and root >= least:
                out.add(int(root))
    return tuple(sorted(out))


def _free(e, idx) -> bool:
    """Whether e mentions none of the index symbols outside the labels of samples."""
    # Walked, not rebuilt: a rebuild evaluates (m − i + 1)/(m − i + 1) to 1 and would hide the quotient.
    if isinstance(e, Sample) or not isinstance(e, sp.Basic):
        return True
    if e.is_Symbol:
        return e not in idx
    if isinstance(e, (sp.Sum, sp.Product, sp.Integral, Derivative)):
        return not (e.free_symbols & idx) or all(_free(a, idx) for a in e.args)
    return all(_free(a, idx) for a in e.args)


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
        # A factor free of this sum's indices is a constant of it: Σ_i c(m) f(i) = c(m) Σ_i f(i), quotient or not.
        bound_vars = {var for var, _, _ in limits}
        factors = sp.Mul.make_args(body)
        outside = [f for f in factors if not f.free_symbols & bound_vars]
        inside = sp.Mul(*[f for f in factors if f.free_symbols & bound_vars], evaluate=False) if len(outside) < len(
            factors) else sp.Integer(1)
        c = _deg(sp.Mul(*outside, evaluate=False), frozenset(idx)) if outside else (0, 0)
        d = _deg(inside, frozenset(out_idx))
        if (d is None or d[1]) and inside.has(sp.Pow):
            # (m − i + 1)/(m − i + 1) is 1 wherever it is defined; where it is not (a divisor 0 on the range), the
            # checker's own divisor question refuses the claim for every m, so the cancelled body's degree serves.
            d = _deg(_cancelled(inside), frozenset(out_idx))
        if c is None or d is None or d[1]:
            return None  # a quotient in the index: Σ 1/i is not rational in m
        return (c[0] + d[0] + extra, c[1])
    return None


def _cancelled(e: Expr) -> Expr:
    """e with common factors of its quotients cancelled (SymPy's cancel), or e when cancel cannot run on it."""
    try:
        return sp.cancel(e)
    except (sp.PolynomialError, TypeError, ValueError, NotImplementedError):
        return e
