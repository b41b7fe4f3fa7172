"""Where a formula as written is defined, and whether a reading of it keeps that.

A line written with (m − 7)/(m − 7), 1^{1/(m−7)} or 0·log(m − 7) is undefined at m = 7 (or m ≤ 7),
but SymPy evaluates each to a number the moment it is built, and no check after the reader can
then see the divisor or the log. So the reader asks, wherever it evaluates (an index read by value,
a power of a number, a defined name written out), whether every condition of the formula as
written survives in what it built, and refuses the line where one does not: a refusal is never a
pass, a hidden domain would be.

The conditions are a divisor's factors (≠ 0), a log's argument (> 0) and the exponent of a power of 0
(≥ 0: 0^{m−7} is 1/0⁶ at m = 1). A probability (P(τ;θ),
π, μ, P(s′|s, a)) is left out: its P > 0 is the support's side condition, checked on every
instance, and the reader rewrites its logs (\\dots patterns) by design. So is what SymPy knows is
positive (m, γ).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..symbolic import _probability as _probability_only   # a product or real power of probabilities

__all__ = ["Condition", "conditions", "lost_condition", "numbers_shown_defined", "undefined_number"]


@dataclass(frozen=True)
class Condition:
    """One condition for a formula to be defined: ``expr`` ≠ 0 (a divisor), > 0 (a log's argument) or ≥ 0 (0^expr)."""

    kind: str    # "divisor" | "log" | "power of 0"
    expr: sp.Expr

    def __str__(self) -> str:
        return self.needed()

    def needed(self, shown: str | None = None) -> str:
        """The condition, 'm - 7 ≠ 0' (``shown``: the expression as the message prints it)."""
        return f"{sp.sstr(self.expr) if shown is None else shown} {_NEEDED[self.kind]}"

    def broken(self, shown: str | None = None) -> str:
        """Where it fails, 'm - 7 = 0'."""
        return f"{sp.sstr(self.expr) if shown is None else shown} {_BROKEN[self.kind]}"


_NEEDED = {"divisor": "≠ 0", "log": "> 0", "power of 0": "≥ 0"}
_BROKEN = {"divisor": "= 0", "log": "≤ 0", "power of 0": "< 0"}


def _rebuilt(e):
    """e with every node built again, as SymPy evaluates it: the form the two sides compare in."""
    return e if not isinstance(e, sp.Basic) or e.is_Atom else e.func(*[_rebuilt(x) for x in e.args])


def _kept_factors(e) -> list:
    """The factors of e that may be 0 (or not positive): not numbers, probabilities or what SymPy knows is positive."""
    out = []
    for f in sp.Mul.make_args(_rebuilt(e)):
        base = f.base if isinstance(f, sp.Pow) and f.exp.is_Integer else f
        if not base.free_symbols or base.is_positive or _probability_only(base):
            continue
        out.append(base)
    return out


def conditions(e) -> list[Condition]:
    """Every condition e as written needs: each divisor factor ≠ 0, each log argument > 0 (see the module doc)."""
    if not isinstance(e, sp.Basic):
        return []
    out: list[Condition] = []
    for x in sp.preorder_traversal(e):
        if isinstance(x, sp.Pow) and x.exp.is_number and x.exp.is_negative:
            out += [Condition("divisor", f) for f in _kept_factors(x.base)]
        elif isinstance(x, sp.Pow) and not x.exp.is_number and x.base.is_number and x.base.is_zero:
            # 0^e: 0⁰ = 1 by the conventions, a negative e divides by 0 (0^{m−7} at m = 1 is 1/0⁶)
            if not _rebuilt(x.exp).is_nonnegative:
                out.append(Condition("power of 0", x.exp))
        elif isinstance(x, sp.log) and x.args[0].free_symbols and not _probability_only(x.args[0]) \
                and not _rebuilt(x.args[0]).is_positive:
            out.append(Condition("log", x.args[0]))
    seen, unique = set(), []
    for c in out:
        key = (c.kind, sp.srepr(_rebuilt(c.expr)))
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


def _divisors(e) -> list:
    return [_rebuilt(x.base) for x in sp.preorder_traversal(e)
            if isinstance(x, sp.Pow) and x.exp.is_number and x.exp.is_negative]


def _divides(f, d) -> bool:
    """Whether the factor f divides d (so d ≠ 0 still asks f ≠ 0)."""
    if sp.expand(d - f) == 0:
        return True
    gens = sorted(d.free_symbols | f.free_symbols, key=str)
    if not gens:
        return False
    try:
        return sp.rem(sp.expand(d), sp.expand(f), *gens) == 0
    except (sp.PolynomialError, sp.GeneratorsNeeded, TypeError, ValueError, ZeroDivisionError):
        return any(sp.expand(g - f) == 0 for g in sp.Mul.make_args(d))


def _kept(c: Condition, out) -> bool:
    f = _rebuilt(c.expr)
    if c.kind == "divisor":
        if any(_divides(f, d) for d in _divisors(out)):
            return True
        # log f also asks f ≠ 0 (f > 0)
        return any(isinstance(x, sp.log) and _divides(f, _rebuilt(x.args[0])) for x in sp.preorder_traversal(out))
    if c.kind == "power of 0":
        return any(isinstance(x, sp.Pow) and x.base.is_number and x.base.is_zero and sp.expand(_rebuilt(x.exp) - f) == 0
                   for x in sp.preorder_traversal(out))
    return any(isinstance(x, sp.log) and sp.expand(_rebuilt(x.args[0]) - f) == 0 for x in sp.preorder_traversal(out))


def lost_condition(raw, *out) -> Condition | None:
    """A condition of raw as written that none of ``out`` (what was read from it) keeps, or None."""
    for c in conditions(raw):
        if not any(_kept(c, o) for o in out if isinstance(o, sp.Basic)):
            return c
    return None


def undefined_number(e) -> str:
    """Why e as written is undefined wherever it is ('' if it is not): a division by 0 (or by 0·t), or the log of a
    number ≤ 0."""
    if not isinstance(e, sp.Basic):
        return ""
    if e.has(sp.zoo, sp.nan):
        return "it divides by 0"
    for x in sp.preorder_traversal(e):
        # 0·t is 0 for every t: a divisor or log argument that is 0 rebuilt is undefined everywhere, no condition
        if isinstance(x, sp.Pow) and x.exp.is_number and x.exp.is_negative and _rebuilt(x.base).is_zero:
            return "it divides by 0"
        if isinstance(x, sp.log):
            arg = _rebuilt(x.args[0])
            if arg.is_number and arg.is_extended_real and arg.is_nonpositive:
                return f"it takes the log of {sp.sstr(x.args[0])}"
    return ""


def _shown(x, kind: str) -> bool:
    """Whether the number x (a Σ or Π with numeric limits done exactly) is shown ≠ 0, > 0 or ≥ 0."""
    v = _rebuilt(x)
    if v.has(sp.Sum, sp.Product):
        try:
            v = v.doit()
        except (ArithmeticError, ValueError, TypeError, NotImplementedError, RecursionError):
            return False
    if kind == "divisor":
        return v.is_zero is False and not v.has(sp.nan, sp.zoo)
    return bool(v.is_extended_real and (v.is_positive if kind == "log" else v.is_nonnegative))


def numbers_shown_defined(e) -> bool:
    """Whether every divisor, log argument and exponent of 0 in e that is a number is shown ≠ 0, > 0, ≥ 0 exactly.

    A Σ_{k=0}^{3} (k − 3) is a number SymPy's assumptions cannot place (is_zero is None), yet SymPy
    cancels X/X, log X − log X and 0^X − 0^X: only a number whose value is shown may be cancelled.
    """
    if not isinstance(e, sp.Basic):
        return True
    for x in sp.preorder_traversal(e):
        if isinstance(x, sp.Pow) and x.exp.is_number and x.exp.is_negative and x.base.is_number:
            if not _shown(x.base, "divisor"):
                return False
        elif isinstance(x, sp.Pow) and x.base.is_number and x.base.is_zero and x.exp.is_number:
            if not _shown(x.exp, "power of 0"):
                return False
        elif isinstance(x, sp.log) and x.args[0].is_number and not _shown(x.args[0], "log"):
            return False
    return True
