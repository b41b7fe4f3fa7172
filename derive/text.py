"""Plain text in derive's notation: ∇_θ P(τ;θ), π_θ(a_t|s_t), Σ_τ, Π_{t=0}^{H} — what reports print."""

from __future__ import annotations

import re

import sympy as sp
from sympy import Add, Derivative, Mul, Pow, Product, Sum
from sympy.printing.str import StrPrinter

from . import notation as n

__all__ = ["NotationTextPrinter", "to_text"]

# The ASCII spellings of the notation's own _sympystr forms, in Unicode.
_WORDS = {"pi_theta": "π_θ", "theta": "θ", "tau": "τ", "gamma": "γ", "mu": "μ", "phi": "φ", "rbar": "r̄", "sigma": "σ"}
_WORD = re.compile(r"(?<![A-Za-z])(" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")(?![A-Za-z])")


def _unicode(text: str) -> str:
    text = _WORD.sub(lambda mt: _WORDS[mt.group(1)], text)
    return text.replace(" | ", "|").replace("; θ)", ";θ)").replace("~", "∼")


class NotationTextPrinter(StrPrinter):
    """SymPy's StrPrinter with derive's notation: ∇_θ for ∂/∂θ, Σ and Π with their limits, Greek letters."""

    printmethod = "_sympystr"

    def __init__(self, settings=None):
        super().__init__({"order": "none", **(settings or {})})

    def _print(self, expr, **kwargs):
        for cls in type(expr).__mro__:  # derive's own forms here win over the classes' ASCII _sympystr
            own = _OWN.get(cls.__name__)
            if own is not None:
                return getattr(self, own)(expr)
        text = super()._print(expr, **kwargs)
        # The notation classes print their own ASCII forms; their letters are put in Unicode here.
        if isinstance(expr, sp.Basic) and hasattr(type(expr), "_sympystr") and type(expr).__module__ == n.__name__:
            text = _unicode(text)
        return text

    def _print_StepOf(self, expr):
        traj, k = expr.args
        step = self._print(k)
        if isinstance(k, Add):
            step = "{%s}" % " + ".join(self._print(a) for a in sorted(k.args, key=lambda a: a.is_Number))
        return "%s_%s%s" % (expr.letter, step, _unicode(n._plain_superscript(traj, self)))

    def _print_Symbol(self, expr):
        return _WORDS.get(expr.name, expr.name) if expr.name != "pi_theta" else expr.name

    def _print_Derivative(self, expr):
        inner = expr.expr
        body = self._print(inner)
        if isinstance(inner, (Add, Mul, Sum, Product, n.TrajectorySum)):
            body = "[%s]" % body
        if expr.variable_count == ((n.theta, 1),):
            return "∇_θ " + body
        if expr.variable_count == ((n.theta, expr.variable_count[0][1]),):
            return "∇_θ^%s %s" % (self._print(expr.variable_count[0][1]), body)
        head = "".join("∂%s/∂%s%s" % ("" if k == 1 else "^%s" % k, self._print(v), "" if k == 1 else "^%s" % k)
                       for v, k in expr.variable_count)
        return "%s %s" % (head, body)

    def _print_Add(self, expr, order=None):
        # Numbers last, as the seeds write them: t + 1, H - 1 (SymPy would print 1 + t, -1 + H).
        terms = sorted(expr.args, key=lambda a: bool(a.is_Number))
        text = self._print(terms[0])
        for term in terms[1:]:
            piece = self._print(term)
            text += " - " + piece[1:] if piece.startswith("-") else " + " + piece
        return text

    def _print_Pow(self, expr, rational=False):
        # x^2, not x**2; products in the fallback below are juxtaposed, not starred.
        return super()._print_Pow(expr, rational=rational).replace("**", "^")

    def _print_Abs(self, expr):
        return "|%s|" % self._print(expr.args[0])

    def _print_Max(self, expr):
        return "max(%s)" % ", ".join(self._print(a) for a in expr.args)

    def _print_Min(self, expr):
        return "min(%s)" % ", ".join(self._print(a) for a in expr.args)

    def _print_Integral(self, expr):
        body = self._print(expr.function)
        if isinstance(expr.function, Add):
            body = "(%s)" % body
        heads = ""
        for lim in expr.limits:
            var = self._print(lim[0])
            if len(lim) == 3:
                lo, hi = (("-∞" if x == -sp.oo else "∞" if x == sp.oo else self._print(x)) for x in lim[1:])
                heads += "∫_{%s}^{%s} " % (lo, hi)
            else:
                heads += "∫ "
            body += " d%s" % var
        return heads + body

    def _limits_body(self, expr, sign: str) -> str:
        body = expr.function
        text = self._print(body)
        if isinstance(body, Add):
            text = "(%s)" % text
        heads = " ".join("%s_{%s=%s}^{%s}" % (sign, self._print(v), self._print(lo), self._print(hi))
                         for v, lo, hi in reversed(expr.limits))
        return "%s %s" % (heads, text)

    def _print_Sum(self, expr):
        return self._limits_body(expr, "Σ")

    def _print_Product(self, expr):
        return self._limits_body(expr, "Π")

    def _print_TrajectorySum(self, expr):
        var = self._print(expr.variable)
        sub = "Σ_{%s: P(%s;θ) > 0}" % (var, var) if expr.support else "Σ_%s" % var
        body = expr.body
        text = self._print(body)
        if isinstance(body, Add):
            text = "(%s)" % text
        return "%s %s" % (sub, text)

    def _print_ActionSum(self, expr):
        text = self._print(expr.body)
        if isinstance(expr.body, Add):
            text = "(%s)" % text
        return "Σ_%s %s" % (self._print(expr.variable), text)

    _print_StateSum = _print_ActionSum

    def _print_log(self, expr):
        arg = expr.args[0]
        text = self._print(arg)
        if isinstance(arg, (Add, Mul, Pow, Sum, Product, n.TrajectorySum)):
            text = "[%s]" % text
        return "log " + text

    def _print_Mul(self, expr):
        from .latex import _display_args

        if not any(isinstance(a, sp.Function) or isinstance(a, (Derivative, Sum, Product)) for a in expr.args):
            return super()._print_Mul(expr).replace("**", "^").replace("*", " ")
        num, den = [], []
        for f in _display_args(expr):
            if isinstance(f, Pow) and f.exp == -1 and not f.base.is_Number:
                den.append(f.base)
            else:
                num.append(f)
        if num and num[0] == -1:
            sign, num = "-", num[1:]
        else:
            sign = ""

        def factor(f, last):
            text = self._print(f)
            # Σ_t x y would read as a sum of x y: a sum that is not the last factor is bracketed.
            bracket = isinstance(f, Add) or (not last and isinstance(f, (Sum, Product, n.TrajectorySum)))
            return "(%s)" % text if bracket else text

        top = " ".join(factor(f, k == len(num) - 1) for k, f in enumerate(num)) or "1"
        if not den:
            return sign + top
        bottom = " ".join(factor(f, True) for f in den)
        if all(d.is_Symbol for d in den) and any(isinstance(f, (Sum, Product, n.TrajectorySum)) for f in num):
            return "%s(1/%s) %s" % (sign, bottom, top)  # a sample mean: (1/m) Σ_{i=1}^{m} …
        if len(den) > 1:
            bottom = "(%s)" % bottom
        if len(num) > 1 or isinstance(num[0] if num else None, (Sum, Product, n.TrajectorySum)):
            top = "(%s)" % top
        return "%s%s / %s" % (sign, top, bottom)


_OWN = {"TrajectorySum": "_print_TrajectorySum", "ActionSum": "_print_ActionSum", "_StepOf": "_print_StepOf"}


def to_text(expr) -> str:
    """An expression as plain text in derive's notation (∇_θ, P(τ;θ), π_θ(a_t|s_t), Σ_τ)."""
    try:
        return NotationTextPrinter().doprint(expr)
    except ValueError:  # an integer past Python's digit limit for str()
        return "(an expression with an integer of more than 4,300 digits)"
