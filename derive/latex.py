"""The seeds' notation in LaTeX: expressions, derivations, standalone documents and Markdown.

Displayed lines are the derivation's expressions exactly as written (P(τ;θ)/P(τ;θ) and
∇_θP/P stay visible); verdicts come from a :class:`~derive.report.ProofReport` when one is
given. Products SymPy has already put in canonical order are shown in the seeds' order
(μ, P(τ;θ), dynamics, policy, gradients, R last); products built unevaluated keep their order.
"""

from __future__ import annotations

import json
import re

import sympy as sp
from sympy import Add, Derivative, Mul, Pow, Product, Sum, log
from sympy.printing.latex import LatexPrinter

from .derivation import UNBIASED, Derivation, Proof
from .latex_prose import math_to_latex, prose_to_latex, prose_to_markdown
from .notation import (
    InitialDistribution, Policy, Return, TrajectoryProbability, TrajectorySum, Transition, theta,
)
from .report import FAILED, PROVED, UNDECIDED, DerivationReport, ProofReport, StepReport, instances_phrase, plural

__all__ = ["integer_latex", 
    "SeedLatexPrinter", "to_latex", "relation_latex", "text_to_latex", "derivation_rows",
    "derivation_to_latex", "proof_to_tex", "proof_to_markdown", "proofs_to_tex", "proofs_to_markdown", "report_to_markdown",
    "report_to_latex", "derivation_to_markdown", "derivation_to_mathjax", "proof_to_mathjax",
    "break_line", "LINE_WIDTH",
]

# Width budget of one displayed line in the units of _width (about one math glyph): the
# text width of the document below (11pt, 2.5 cm margins) is about 88; the rest is margin
# for the estimate's error.
LINE_WIDTH = 70.0


# -- expressions -------------------------------------------------------------------------

_FACTOR_ORDER = {InitialDistribution: 1, TrajectoryProbability: 2, Product: 3, Transition: 4,
                 Policy: 5, Derivative: 6, log: 6, Sum: 7, TrajectorySum: 7, Return: 9}
_TERM_ORDER = ((InitialDistribution, 0), (Transition, 1), (Policy, 2))


def _factor_key(f) -> int:
    if f.is_Number or (isinstance(f, Pow) and f.exp.is_negative and f.base.is_Symbol):
        return 0
    return _FACTOR_ORDER.get(type(f), 8)


def _term_key(term) -> int:
    return min((rank for cls, rank in _TERM_ORDER if term.has(cls)), default=3)


def _is_canonical(expr) -> bool:
    # SymPy sorted these arguments itself (or they were written in that order): no
    # order of the author's to keep, so the seeds' order is shown instead.
    if any(p.base.is_Number and p.exp.is_Integer and abs(p.exp) > 4096 for p in expr.atoms(Pow)):
        return False  # rebuilding would evaluate a huge power (3^(10^9)): keep the order as written
    return type(expr)(*expr.args).args == expr.args


_AS_WRITTEN = [False]   # set while to_latex(..., as_written=True) prints: a reading re-printed in source order


def _display_args(expr) -> list:
    """Arguments of an Add/Mul in display order."""
    args = list(expr.args)
    if _AS_WRITTEN[0] or not _is_canonical(expr):
        return args
    key = _term_key if isinstance(expr, Add) else _factor_key
    return sorted(args, key=key)


def _is_theta_gradient(expr) -> bool:
    return isinstance(expr, Derivative) and expr.variable_count == ((theta, 1),)


def _needs_brackets(arg) -> bool:
    return isinstance(arg, (Add, Mul, Sum, Product, TrajectorySum))


def _denominator(f):
    """The denominator of a factor x**-k, else None."""
    if isinstance(f, Pow) and f.exp.is_Number and f.exp.is_negative:
        return f.base if f.exp == -1 else Pow(f.base, -f.exp, evaluate=False)
    return None


class SeedLatexPrinter(LatexPrinter):
    """LaTeX in the seeds' notation: ∇_θ, \\log, products as written, no d/dθ."""

    printmethod = "_latex"

    def __init__(self, settings=None):
        super().__init__({"order": "none", **(settings or {})})

    def bracket(self, expr) -> str:
        return r"\left[%s\right]" % self._print(expr)

    def _print_Sum(self, expr):
        # SymPy merges Σ_i Σ_t into one Sum with two limits; the seeds write the nest.
        if len(expr.limits) > 1:
            *inner, outer = expr.limits
            return "%s %s" % (self._sum_head(outer), self._print(Sum(expr.function, *inner)))
        body = self._print(expr.function)
        if isinstance(expr.function, Add):
            body = r"\left(%s\right)" % body
        return "%s %s" % (self._sum_head(expr.limits[0]), body)

    def _sum_head(self, limit) -> str:
        var, lo, hi = limit
        return r"\sum_{%s=%s}^{%s}" % (self._print(var), self._print(lo), self._print(hi))

    def _print_Derivative(self, expr):
        if not _is_theta_gradient(expr):
            return super()._print_Derivative(expr)
        inner = expr.expr
        body = self.bracket(inner) if isinstance(inner, (Add, Mul)) else self._print(inner)
        return r"\nabla_\theta %s" % body

    def _print_log(self, expr, exp=None):
        arg = expr.args[0]
        body = self.bracket(arg) if _needs_brackets(arg) or isinstance(arg, Pow) else self._print(arg)
        text = r"\log %s" % body
        return r"\left(%s\right)^{%s}" % (text, exp) if exp else text

    def _print_Add(self, expr, order=None):
        if not any(expr.has(cls) for cls, _ in _TERM_ORDER):
            if _AS_WRITTEN[0] and not expr.is_number and not all(a_.is_Atom for a_ in expr.args):
                return super()._print_Add(expr, order="none")
            return super()._print_Add(expr, order="lex")  # t + 1, not 1 + t
        out = []
        for k, term in enumerate(_display_args(expr)):
            text = self._print(term)
            if k and not text.startswith("-"):
                out.append("+ " + text)
            elif k:
                out.append("- " + text[1:].lstrip())
            else:
                out.append(text)
        return " ".join(out)

    def _print_Mul(self, expr):
        factors = _display_args(expr)
        if factors and factors[0] == -1:
            rest = factors[1:]
            return "-" + (self._print(rest[0]) if len(rest) == 1 else self._print_Mul(Mul(*rest, evaluate=False)))
        dens = [_denominator(f) for f in factors]
        if _leading_denominator(expr) is not None:
            head = r"\frac{1}{%s}" % self._print(dens[0])
            rest = factors[1:]
            if not rest:
                return head
            return head + " " + self._factors(rest)
        if any(d is not None for d in dens):
            num = [f for f, d in zip(factors, dens) if d is None]
            den = [d for d in dens if d is not None]
            return r"\frac{%s}{%s}" % (self._factors(num), self._factors(den))
        return self._factors(factors)

    def _factors(self, factors) -> str:
        if len(factors) == 1:
            return self._print(factors[0])
        out = []
        for k, f in enumerate(factors):
            text = self._print(f)
            if isinstance(f, Add) or (f.is_Number and k) or _captures(f, factors[k + 1:]):
                text = r"\left(%s\right)" % text
            out.append(text)
        return " ".join(out)

    def _print_Pow(self, expr, **kwargs):
        den = _denominator(expr)
        if den is not None:
            return r"\frac{1}{%s}" % self._print(den)
        if hasattr(expr.base, "_latex"):  # the notation's own printers take no exponent
            return r"%s^{%s}" % (self._print(expr.base), self._print(expr.exp))
        return super()._print_Pow(expr, **kwargs)

    def _print_Rational(self, expr):
        if expr.q == 1:
            return integer_latex(expr.p)
        sign = "-" if expr.p < 0 else ""
        return r"%s\frac{%s}{%s}" % (sign, integer_latex(abs(expr.p)), integer_latex(expr.q))


SHORT_DIGITS = 100   # an integer of more digits is printed by its size (or as b^{k}), never digit by digit


def integer_latex(n: int) -> str:
    """An integer as LaTeX; past SHORT_DIGITS digits 10^{k}, 2^{k} when it is one, else its number of digits.

    (Printing every digit would fill a report, and past 4,300 digits CPython refuses to.)
    """
    n = int(n)
    if n.bit_length() < 330:   # fewer than 100 digits
        return str(n)
    sign, a = ("-" if n < 0 else ""), abs(n)
    k2 = a.bit_length() - 1
    if a == 1 << k2:
        return r"%s2^{%d}" % (sign, k2)
    k = int(k2 * 0.30102999566398120)        # 10^k ≤ a < 10^(k+2): the exact count by comparison
    while 10 ** (k + 1) <= a:
        k += 1
    while 10 ** k > a:
        k -= 1
    if a == 10 ** k:
        return r"%s10^{%d}" % (sign, k)
    return r"%s(\text{an integer of %s digits})" % (sign, f"{k + 1:,}")


def _leading_denominator(expr):
    """m when a product is (1/m)·rest, printed \\frac{1}{m} rest: as written, or 1/symbol first."""
    den = _denominator(_display_args(expr)[0])
    if den is not None and len(expr.args) > 1 and (den.is_Symbol or not _is_canonical(expr)):
        return den
    return None


def _captures(f, following) -> bool:
    """A Σ/Π factor followed by others would seem to reach over them: bracketed, as the text form does."""
    return isinstance(f, (Sum, Product, TrajectorySum)) and bool(following)


_PRINTER = SeedLatexPrinter()


def to_latex(expr, *, as_written: bool = False) -> str:
    """One expression in the seeds' notation, on one line (as_written: products and sums in their stored order)."""
    if not as_written:
        return _PRINTER.doprint(sp.sympify(expr))
    _AS_WRITTEN[0] = True
    try:
        return _PRINTER.doprint(sp.sympify(expr))
    finally:
        _AS_WRITTEN[0] = False


def relation_latex(relation: str) -> str:
    """``=``, or for an unbiased step the sign 'equal in expectation'."""
    return r"\overset{\mathbb{E}}{=}" if relation == UNBIASED else "="


# -- line breaking ---------------------------------------------------------------------------

_ZERO = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr", "displaystyle"}
_WIDE = {"quad": 2.0, "qquad": 4.0, ",": 0.3, ";": 0.5, "mid": 1.6, "log": 2.2, "sim": 1.8}


def _group(tex: str, k: int) -> tuple[str, int]:
    """The brace group (or single token) starting at k, and the index after it."""
    while k < len(tex) and tex[k] == " ":
        k += 1
    if k >= len(tex):
        return "", k
    if tex[k] != "{":
        if tex[k] == "\\":
            end = k + 1
            while end < len(tex) and tex[end].isalpha():
                end += 1
            return tex[k:max(end, k + 2)], max(end, k + 2)
        return tex[k], k + 1
    depth, end = 0, k
    while end < len(tex):
        depth += {"{": 1, "}": -1}.get(tex[end], 0)
        if depth == 0:
            return tex[k + 1:end], end + 1
        end += 1
    return tex[k + 1:], len(tex)


def _width(tex: str) -> float:
    """A rough width of displayed math in em-like units (limits stacked, scripts small)."""
    w, k = 0.0, 0
    while k < len(tex):
        ch = tex[k]
        if ch == "\\":
            end = k + 1
            while end < len(tex) and tex[end].isalpha():
                end += 1
            name = tex[k + 1:max(end, k + 2)]
            k = max(end, k + 2)
            if name in ("frac", "overset"):
                a, k = _group(tex, k)
                b, k = _group(tex, k)
                w += max(_width(a), _width(b)) + 0.4
            elif name in ("sum", "prod"):
                limits = []
                while k < len(tex) and tex[k] in "_^":
                    g, k = _group(tex, k + 1)
                    limits.append(_width(g))
                w += max(2.0, 0.7 * max(limits, default=0)) + 0.4
            elif name in _ZERO:
                pass
            else:
                w += _WIDE.get(name, 1.0)
        elif ch in "_^":
            g, k = _group(tex, k + 1)
            w += 0.7 * _width(g)
            continue
        elif ch in "{} ":
            pass
        elif ch in "+=<>-":
            w += 1.8
        elif ch in "(),;[]|:":
            w += 0.55
        else:
            w += 1.0
        k += 1
    return w


def _big(piece: str, side: str, delim: str) -> str:
    size = r"\Bigg" if any(k in piece for k in (r"\sum", r"\prod", r"\frac")) else r"\big"
    return f"{size}{side}{delim}"


def _wrap(pieces: list[str], open_: str, close: str) -> list[str]:
    joined = " ".join(pieces)
    if len(pieces) == 1:
        return [r"\left%s%s\right%s" % (open_, pieces[0], close)]
    pieces = list(pieces)
    pieces[0] = _big(joined, "l", open_) + pieces[0]
    pieces[-1] = pieces[-1] + _big(joined, "r", close)
    return pieces


def _pieces(expr) -> list[str]:
    """The LaTeX of expr cut where a long line may break (delimiters sized by hand there)."""
    if isinstance(expr, Add):
        out = []
        for k, term in enumerate(_display_args(expr)):
            sub = _pieces(term)
            if k:
                sub[0] = ("- " + sub[0][1:].lstrip()) if sub[0].startswith("-") else "+ " + sub[0]
            out.extend(sub)
        return out
    if _is_theta_gradient(expr):
        inner = _pieces(expr.expr)
        if isinstance(expr.expr, (Add, Mul)):
            inner = _wrap(inner, "[", "]")
        return [r"\nabla_\theta " + inner[0], *inner[1:]]
    if isinstance(expr, log) and _needs_brackets(expr.args[0]):
        inner = _wrap(_pieces(expr.args[0]), "[", "]")
        return [r"\log " + inner[0], *inner[1:]]
    if isinstance(expr, Sum) and len(expr.limits) > 1:
        *inner, outer = expr.limits
        nested = _pieces(Sum(expr.function, *inner))
        return [_PRINTER._sum_head(outer) + " " + nested[0], *nested[1:]]
    if isinstance(expr, (Sum, Product, TrajectorySum)):
        body = expr.body if isinstance(expr, TrajectorySum) else expr.function
        head = to_latex(expr.func(sp.Symbol("BODY"), *expr.args[1:]))
        head = head[: head.rindex("BODY")].rstrip()
        inner = _pieces(body)
        if isinstance(body, Add):
            inner = _wrap(inner, "(", ")")
        return [head + " " + inner[0], *inner[1:]]
    if isinstance(expr, Mul) and all(_denominator(f) is None for f in expr.args):
        factors = _display_args(expr)
        if any(isinstance(f, Add) or _captures(f, factors[k + 1:]) for k, f in enumerate(factors)):
            return [to_latex(expr)]
        out = [to_latex(f) for f in factors[:-1]]
        return out + _pieces(factors[-1])
    if isinstance(expr, Mul) and _leading_denominator(expr) is not None:
        factors = _display_args(expr)
        head = r"\frac{1}{%s}" % to_latex(_leading_denominator(expr))
        rest = _pieces(Mul(*factors[1:], evaluate=False)) if len(factors) > 2 else _pieces(factors[1])
        return [head + " " + rest[0], *rest[1:]]
    return [to_latex(expr)]


def break_line(expr, *, budget: float = LINE_WIDTH) -> list[str]:
    """expr as one or more display rows, each within the width budget where a cut allows."""
    whole = to_latex(expr)
    if _width(whole) <= budget:
        return [whole]
    pieces = _pieces(expr)
    # Cut between terms (before + or -) where every term fits; inside products only if not.
    terms: list[str] = []
    for piece in pieces:
        if terms and not piece.startswith(("+ ", "- ")):
            terms[-1] += " " + piece
        else:
            terms.append(piece)
    if all(_width(x) <= budget - 2 for x in terms):
        pieces = terms
    rows, current = [], ""
    for piece in pieces:
        trial = f"{current} {piece}".strip()
        if current and _width(trial) > budget - (2 if rows else 0):  # later rows start with \quad
            rows.append(current)
            current = piece
        else:
            current = trial
    rows.append(current)
    return rows


# -- text ----------------------------------------------------------------------------------

_UNICODE_MATH = {
    "θ": r"\theta", "τ": r"\tau", "μ": r"\mu", "π": r"\pi", "∇": r"\nabla", "Σ": r"\Sigma",
    "Π": r"\Pi", "α": r"\alpha", "γ": r"\gamma", "σ": r"\sigma", "ε": r"\varepsilon",
    "δ": r"\delta", "λ": r"\lambda", "ρ": r"\rho", "∼": r"\sim", "~": r"\sim", "≠": r"\neq",
    "≤": r"\leq", "≥": r"\geq", "→": r"\to", "∈": r"\in", "·": r"\cdot", "×": r"\times",
    "∞": r"\infty", "≈": r"\approx", "∂": r"\partial", "ĝ": r"\hat{g}", "∑": r"\Sigma", "∫": r"\int", "φ": r"\phi",
    "∏": r"\Pi", "√": r"\surd", "±": r"\pm", "−": "-", "⁻": "^{-}", "¹": "^{1}", "²": "^{2}",
}
_UNICODE_TEXT = {
    "…": r"\dots{}", "–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''", "§": r"\S{}",
    "✓": r"$\checkmark$", "✗": r"$\times$", "é": r"\'e", "ü": r'\"u', "ö": r'\"o', "ä": r'\"a',
}
_TEXT_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "{": r"\{", "}": r"\}",
                 "\\": r"\textbackslash{}", "<": r"$<$", ">": r"$>$", "|": r"$|$"}


def text_to_latex(text: str) -> str:
    """Plain-Unicode prose as ASCII LaTeX: words as text, each run of math as one ``$…$``."""
    return prose_to_latex(text, text_chars=_text_chars)


def _text_chars(text: str) -> str:
    out = []
    # A combining macron (r̄) puts a bar on the letter before it.
    text = re.sub("(.)\u0304", lambda mt: "\x00" + mt.group(1), text)
    bar = False
    for ch in text:
        if ch == "\x00":
            bar = True
            continue
        if bar:
            bar = False
            out.append(r"$\bar{%s}$" % _UNICODE_MATH.get(ch, ch))
            continue
        if ch in _TEXT_SPECIAL:
            out.append(_TEXT_SPECIAL[ch])
        elif ch in _UNICODE_MATH:
            out.append("$%s$" % _UNICODE_MATH[ch])
        elif ch in _UNICODE_TEXT:
            out.append(_UNICODE_TEXT[ch])
        elif ch in "^_":
            out.append("\\%s{}" % ch if ch == "_" else r"\^{}")
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append(r"\texttt{U+%04X}" % ord(ch))
    return "".join(out)


def _sentence(text: str) -> str:
    """A generated clause as a sentence: a capital first word (not a formula) and a final stop."""
    text = text.strip()
    first = re.match(r"[a-z]+(?=[\s,])", text)
    if first and (len(first.group(0)) > 1 or first.group(0) == "a") and first.group(0) not in ("log", "exp"):
        text = text[0].upper() + text[1:]
    if text and not text.endswith((".", ":", "!", "?")):
        text += "."
    return text


def _capital(text: str) -> str:
    """A phrase with a capital first letter; a one-word name (an identifier such as 'lr') kept as written."""
    return text[:1].upper() + text[1:] if " " in text.strip() else text


# -- verdicts ------------------------------------------------------------------------------

def _mark(step: StepReport | None) -> tuple[str, str]:
    """(symbol, words) of a step's verdict; ('', '') without a report."""
    if step is None:
        return "", ""
    if step.verdict == PROVED:
        words = PROVED + (", " + instances_phrase(step.instances, getattr(step, "unit", "MDPs"))
                          if step.instances else "")
        return "✓", words
    if step.ok:
        return "✓", step.verdict
    if step.verdict == FAILED:
        return "✗", FAILED
    return "?", step.verdict or UNDECIDED


def _step_reports(derivation: Derivation, report: DerivationReport | None) -> list:
    if report is None or len(report.steps) != len(derivation.steps):
        return [None] * len(derivation.steps)
    return list(report.steps)


def _find(report: ProofReport | None, name: str) -> DerivationReport | None:
    if report is None:
        return None
    return next((d for d in report.derivations if d.name == name), None)


# -- document structure: section numbers, justifications, the appendix ----------------------

class _Layout:
    """Section numbers of a document's derivations ("2" alone, "1.2" under several proofs)."""

    def __init__(self, proofs):
        self.entries: list[tuple[Derivation, str]] = []
        nested = len(proofs) > 1
        for p, proof in enumerate(proofs, 1):
            for k, d in enumerate(proof.derivations, 1):
                self.entries.append((d, self.section(p, k, nested)))

    @staticmethod
    def section(p: int, k: int, nested: bool) -> str:
        """The number of proof p's derivation k."""
        return f"{p}.{k}" if nested else str(k)

    def number(self, derivation) -> str | None:
        for d, number in self.entries:
            if d is derivation:
                return number
        for d, number in self.entries:
            if d.name == derivation.name and d == derivation:
                return number
        return None


_NO_LAYOUT = _Layout(())


def _lemma_sentence(step, layout: _Layout) -> str | None:
    """'By the likelihood-ratio gradient (§1).' for a citation or substitution, else None."""
    lemma = step.lemma
    if lemma is None:
        return None
    name = lemma.name
    verb = {f"by {name}": "By", f"substitute {name}": "Substitute"}.get(step.rule)
    if verb is None:
        return None
    article = "" if re.match(r"(the|a|an)\s", name, re.I) else "the "
    number = layout.number(lemma)
    ref = f" (§{number})" if number else ""
    return f"{verb} {article}{name}{ref}."


def _default_why(step) -> bool:
    """The sentence derive writes for a citation or substitution when the author gave none."""
    if step.lemma is None:
        return False
    name = step.lemma.name
    return step.why.strip() in (f"The result of {name}.", f"Substitute the result of {name}.")


def _justification(k: int, step, rep: StepReport | None, failed_no: int | None,
                   layout: _Layout = _NO_LAYOUT) -> tuple[str, str, str]:
    """(number, run-in rule name or '', the sentences) printed after line k, in plain Unicode."""
    parts = []
    label = "" if step.rule == "claim" else _sentence(_capital(step.rule))
    lead = _lemma_sentence(step, layout)
    if lead is not None:
        label = ""
        parts.append(lead)
    if step.why.strip() and not _default_why(step):
        parts.append(_sentence(step.why))
    if step.relation == UNBIASED:
        parts.append("Unbiased: over samples τ^(1), …, τ^(m) ∼ P(·;θ) the expectation of this line is "
                     "the line above.")
    if step.conditions:
        parts.append("Needs: " + "; ".join(c.text for c in step.conditions) + ".")
    if rep is not None:
        broken = [c for c in rep.conditions if not c.status.startswith("holds")]
        parts.extend(f"Side condition '{c.text}': {c.status}." for c in broken)
        if rep.detail:
            parts.append(_sentence(rep.detail))
        if failed_no is not None:
            parts.append(f"Counterexample {failed_no} in the appendix.")
    return f"({k})", label, " ".join(parts)


class _Appendix:
    """Distinct counterexamples in order of first use, each with the lines it refutes."""

    def __init__(self):
        self.entries: list[tuple[object, list[tuple[str, int, str]]]] = []
        self._keys: dict[str, int] = {}

    def add(self, ce, section: str, k: int) -> int:
        data = ce.to_dict()
        reason = data.pop("reason", "")
        key = json.dumps(data, sort_keys=True, default=str)
        if key not in self._keys:
            self.entries.append((ce, []))
            self._keys[key] = len(self.entries)
        n = self._keys[key]
        self.entries[n - 1][1].append((section, k, reason))
        return n

    def collect(self, d: Derivation, drep: DerivationReport | None, section: str) -> dict[int, int]:
        """d's failed lines with a counterexample; line (0: the stated result) -> its number here."""
        lines = list(enumerate(_step_reports(d, drep), 1))
        if drep is not None:
            lines.append((0, drep.result))
        return {k: self.add(r.counterexample, section, k) for k, r in lines
                if r is not None and r.verdict == FAILED and r.counterexample is not None}


def _refutes(refs: list[tuple[str, int, str]]) -> str:
    """'Refutes lines (3), (4) and (5) of §1: division by zero …; line (1) of §4: the sides differ.'"""
    groups: list[tuple[str, list[tuple[str, int]]]] = []
    for section, k, reason in refs:
        if groups and groups[-1][0] == reason:
            groups[-1][1].append((section, k))
        else:
            groups.append((reason, [(section, k)]))
    out = []
    for reason, lines in groups:
        by_section: list[tuple[str, list[int]]] = []
        for section, k in lines:
            if by_section and by_section[-1][0] == section:
                by_section[-1][1].append(k)
            else:
                by_section.append((section, [k]))
        where = ", ".join(_lines_of(section, ks) for section, ks in by_section)
        out.append(f"{where}: {reason}" if reason else where)
    return "Refutes " + "; ".join(out) + "."


def _lines_of(section: str, ks: list[int]) -> str:
    steps = [f"({k})" for k in ks if k]
    names = ([("line " if len(steps) == 1 else "lines ") + _and(steps)] if steps else [])
    names += ["the result"] if 0 in ks else []
    return f"{_and(names)} of §{section}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# -- counterexample tables ------------------------------------------------------------------

# A cell is (kind, text): "math" is plain-Unicode math (all of it a formula), "prose" is a sentence.
_MAX_COLUMNS = 10
_LINE_CHARS = 80  # characters of small table text across the page
_PAGE_ROWS = 30   # table rows that fit on a page with room to spare


def _vector(values) -> str:
    values = [str(v).replace("-", "−") for v in values]
    return values[0] if len(values) == 1 else "(" + ", ".join(values) + ")"


def _binding(value: str) -> tuple[str, str]:
    """'(s0=1, a0=0, s1=0)' -> a formula '(s_0, a_0, s_1) = (1, 0, 0)'; other values as prose."""
    pairs = re.findall(r"([A-Za-z]+)(\d+)=([^,()]+)", value)
    if pairs and re.fullmatch(r"\(\s*(?:[A-Za-z]+\d+=[^,()]+,\s*)*[A-Za-z]+\d+=[^,()]+\)", value.strip()):
        names = ", ".join(f"{n}_{k}" for n, k, _ in pairs)
        return "math", f"({names}) = ({', '.join(v.strip() for _, _, v in pairs)})"
    return "prose", value


def _counterexample_tables(ce) -> list[tuple[list, list[list]]]:
    """The counterexample as small tables: (header cells or [], rows of cells)."""
    mdp = dict(ce.mdp)
    facts: list[list] = []
    states = len(mdp["initial"]) if isinstance(mdp.get("initial"), list) else None
    transitions = mdp.get("transitions")
    actions = len(transitions[0]) if isinstance(transitions, list) and transitions else None
    if mdp:
        facts.append([("prose", "instance"), ("prose", str(mdp.get("name") or "—"))])
        size = [(k, v) for k, v in (("S", states), ("A", actions), ("H", mdp.get("horizon")),
                                    ("γ", mdp.get("discount"))) if v is not None]
        if size:
            facts.append([("math", ", ".join(k for k, _ in size)), ("math", ", ".join(str(v) for _, v in size))])
        if mdp.get("policy"):
            policy = mdp["policy"]
            if isinstance(policy, dict):  # an MDP file's policy table: its kind and θ's size
                policy = f"{policy.get('kind', '').replace('-', ' ')} ({len(ce.theta)} parameters)"
            facts.append([("prose", "policy"), ("prose", str(policy))])
        if ce.theta:
            facts.append([("math", "θ"), ("math", _vector(ce.theta))])
    else:
        facts.append([("prose", "instance"), ("prose", ce.instance)])
        if ce.theta:
            facts.append([("prose", "point"), ("math", ", ".join(ce.theta))])
    for key, value in ce.bindings.items():
        value = str(value)
        facts.append([("math", key), ("math", value) if re.fullmatch(r"-?\d+(/\d+)?", value) else _binding(value)])
    if ce.lhs:
        facts.append([("prose", "left side"), ("math", _vector(ce.lhs))])
        facts.append([("prose", "right side"), ("math", _vector(ce.rhs))])
    tables = []
    shown = {"name", "horizon", "discount", "policy", "theta"}
    policy = [list(row) for row in getattr(ce, "probabilities", ())] or mdp.get("policy_probabilities")
    if states:
        header = [("math", "s"), ("math", "μ(s)")]
        rows = [[("math", str(s)), ("math", _num(mdp["initial"][s]))] for s in range(states)]
        if isinstance(policy, list) and actions and len(policy) == states:
            # One column per action while they fit, else each state's distribution as one vector.
            each = _fits(2 + actions)
            header += ([("math", f"π_θ({a}|s)") for a in range(actions)] if each else [("math", "π_θ(·|s)")])
            for s in range(states):
                rows[s] += [("math", _num(p)) for p in policy[s]] if each else [("math", _vector(policy[s]))]
            shown.add("policy_probabilities")
        tables.append((header, rows))
        shown.add("initial")
    rewards = mdp.get("rewards")
    if states and actions and isinstance(transitions, list) and isinstance(rewards, list):
        each = _fits(2 + 2 * states)
        header = [("math", "s"), ("math", "a")]
        header += ([("math", f"P({t}|s,a)") for t in range(states)] + [("math", f"r(s,a,{t})") for t in range(states)]
                   if each else [("math", "P(·|s,a)"), ("math", "r(s,a,·)")])
        rows = []
        for s in range(states):
            for a in range(actions):
                cells = ([("math", _num(x)) for x in transitions[s][a]] + [("math", _num(x)) for x in rewards[s][a]]
                         if each else [("math", _vector(transitions[s][a])), ("math", _vector(rewards[s][a]))])
                rows.append([("math", str(s)), ("math", str(a)), *cells])
        tables.append((header, rows))
        shown |= {"transitions", "rewards"}
    for key, value in mdp.items():
        if key not in shown:
            facts.append([("prose", key.replace("_", " ")), ("prose", _compact(value))])
    return [([], facts)] + tables


def _fits(columns: int) -> bool:
    return columns <= _MAX_COLUMNS


def _num(x) -> str:
    return str(x).replace("-", "−")


def _compact(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return str(value)


def _cell_tex(cell) -> str:
    kind, text = cell
    if kind != "math":
        return text_to_latex(text)
    tex = _breakable_numbers(math_to_latex(text))
    # A long vector may break after its commas (inline math breaks only after relations otherwise).
    return "$%s$" % (tex.replace(", ", r",\allowbreak ") if len(tex) > 40 else tex)


_LONG_NUMBER = re.compile(r"\\text\{(\d+(?:/\d+)?)\}")
_DIGITS_PER_PIECE = 10


def _breakable_numbers(tex: str) -> str:
    """Long exact numbers may break after the slash and every ten digits (one would overrun the line)."""
    def split(m: re.Match) -> str:
        number = m[1]
        if len(number) <= _DIGITS_PER_PIECE:
            return m[0]
        pieces = []
        for part in number.split("/"):
            pieces.append(r"}\allowbreak\text{".join(
                part[k:k + _DIGITS_PER_PIECE] for k in range(0, len(part), _DIGITS_PER_PIECE)))
        return r"\text{%s}" % r"/}\allowbreak\text{".join(pieces)
    return _LONG_NUMBER.sub(split, tex)


def _table_tex(header: list, rows: list[list]) -> str:
    width = max(len(r) for r in [header, *rows])
    if not header:  # facts: names on the left, values on the right
        body = " \\\\\n".join(f"{_cell_tex(a)} & {_cell_tex(b)}" for a, b in rows)
        return "\\begin{tabular}[t]{@{}l@{\\quad}p{0.75\\linewidth}@{}}\n%s\n\\end{tabular}" % body
    spec = "@{}" + "c" * width + "@{}"
    if _table_width(header, rows) > _LINE_CHARS:
        # Too wide for the line: the long columns (vectors) wrap, sharing the width.
        long = [k for k in range(width) if max(len(r[k][1]) for r in [header, *rows] if k < len(r)) > 12]
        share = 0.8 / max(len(long), 1)
        spec = "@{}" + "".join(r"p{%.2f\linewidth}" % share if k in long else "c" for k in range(width)) + "@{}"
    lines = [" & ".join(_cell_tex(c) for c in header) + r" \\ \hline"]
    lines += [" & ".join(_cell_tex(c) for c in r) + r" \\" for r in rows]
    return "\\begin{tabular}[t]{%s}\n%s\n\\end{tabular}" % (spec, "\n".join(lines))


def _table_width(header: list, rows: list[list]) -> int:
    """A rough width in characters: the widest cell of each column, plus the gaps."""
    return sum(max(len(r[k][1]) if k < len(r) else 0 for r in [header, *rows]) + 2 for k in range(len(header)))


def _rows_per_page(header: list, rows: list[list]) -> int:
    """How many rows of this table fit on a page, its wrapped cells taking several lines."""
    if _table_width(header, rows) <= _LINE_CHARS:
        return _PAGE_ROWS
    widths = [max(len(r[k][1]) for r in [header, *rows] if k < len(r)) for k in range(len(header))]
    long = [w for w in widths if w > 12]
    room = 0.8 / max(len(long), 1) * _LINE_CHARS
    lines = max(-(-w // int(room)) for w in long) if long else 1
    return max(1, _PAGE_ROWS // lines)


def _counterexample_tex(n: int, ce, refs) -> str:
    facts, *tables = _counterexample_tables(ce)
    body = [_table_tex(*facts)]
    if tables:
        # The MDP's tables side by side when they fit the line, else one under the other.
        wide = sum(_table_width(h, r) for h, r in tables) > _LINE_CHARS or any(len(r) > _PAGE_ROWS for _, r in tables)
        # A table longer than a page goes in pieces, each with its header (a tabular cannot break).
        pieces = [(h, r[k:k + n]) for h, r in tables for n in [_rows_per_page(h, r)] for k in range(0, len(r), n)]
        body.append(("\n\n\\smallskip\n" if wide else "\n\\qquad\n").join(_table_tex(h, r) for h, r in pieces))
    text = "\n\n\\medskip\n".join(body)
    # Kept on one page unless it is longer than a page can hold.
    if sum(len(r) for _, r in [facts, *tables]) <= _PAGE_ROWS:
        text = "\\noindent\\begin{minipage}{\\linewidth}\\small\n%s\n\\end{minipage}" % text
    else:
        text = "{\\small\n%s\n\\par}" % text
    # No page break between the heading's sentence and its tables (a break at the skip would split them).
    return ("\\subsection*{Counterexample %d}\n\\noindent %s\n\n\\nopagebreak\\smallskip\\nopagebreak\n%s\n"
            % (n, text_to_latex(_refutes(refs)), text))


# -- LaTeX documents -----------------------------------------------------------------------

def derivation_rows(derivation: Derivation, *, budget: float = LINE_WIDTH) -> list[tuple[str, list[str]]]:
    """Per step: (relation, display rows of its expression), rows within the width left by the start."""
    # align* sets the start in its own column beside every row, so every row has the same room.
    room = budget - _width(to_latex(derivation.start)) - 2.5
    return [(relation_latex(step.relation), break_line(step.expr, budget=room)) for step in derivation.steps]


def _align_rows(derivation: Derivation, reports: list, failures: dict[int, int],
                layout: _Layout) -> list[tuple[str, str]]:
    """Per step: (its display rows joined for align*, its justification as plain LaTeX text)."""
    start = to_latex(derivation.start)
    out = []
    for k, (step, rep, (rel, rows)) in enumerate(zip(derivation.steps, reports, derivation_rows(derivation)), 1):
        lead = start + " " if k == 1 else ""
        lines = [f"{lead}&{rel} {rows[0]}"] + [rf"&\quad {r}" for r in rows[1:]]
        out.append((" \\\\\n".join(lines), _justification_tex(k, step, rep, failures.get(k), layout)))
    return out


def _justification_tex(k: int, step, rep, failed_no, layout: _Layout = _NO_LAYOUT) -> str:
    mark, words = _mark(rep)
    number, label, body = _justification(k, step, rep, failed_no, layout)
    head = number + (r" \emph{%s}" % text_to_latex(label) if label else "")
    text = f"{head} {text_to_latex(body)}".rstrip()
    verdict = r" \verdict{%s %s}" % (text_to_latex(mark), text_to_latex(words)) if rep else ""
    return r"{\small %s%s\endgraf}" % (text, verdict)  # \par may not appear inside align*


def derivation_to_latex(derivation: Derivation, report: DerivationReport | None = None) -> str:
    """The derivation as an ``align*`` chain, each line followed by its justification and verdict."""
    # No appendix here, so no references to one: the verdict marks say which steps failed.
    return _derivation_block(derivation, _step_reports(derivation, report), {}, _NO_LAYOUT)


def _derivation_block(derivation: Derivation, reports: list, failures: dict[int, int], layout: _Layout) -> str:
    if not derivation.steps:
        return "\\[\n%s\n\\]" % to_latex(derivation.start)
    parts = _align_rows(derivation, reports, failures, layout)
    body = "".join(f"{rows} \\\\\n\\intertext{{{text}}}\n" for rows, text in parts[:-1])
    rows, text = parts[-1]
    # The last justification follows the display as a paragraph: intertext cannot end align*.
    return "\\begin{align*}\n%s%s\n\\end{align*}\n\\noindent%s" % (body, rows, text)


def _result_tex(derivation: Derivation, rep: StepReport | None, structure: tuple = (),
                failed_no: int | None = None) -> str:
    goal = derivation.goal
    mark, words = _mark(rep)
    rows = break_line(goal.rhs, budget=LINE_WIDTH - _width(to_latex(goal.lhs)) - 2)
    lines = [f"{to_latex(goal.lhs)} &{relation_latex(goal.relation)} {rows[0]}"]
    lines += [rf"&\quad {r}" for r in rows[1:]]
    out = ["\\medskip\\paragraph{Result.}"]
    if failed_no is not None:
        out.append(f"Counterexample {failed_no} in the appendix.")
    if rep is not None:
        out.append(r"\verdict{%s %s}" % (text_to_latex(mark), text_to_latex(words)))
    out.append("\\begin{align*}\n%s\n\\end{align*}" % " \\\\\n".join(lines))
    out.extend(r"\noindent$\times$ %s\par" % text_to_latex(p) for p in structure)
    return "\n".join(out)


_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage{amsmath,amssymb}
\usepackage[margin=2.5cm]{geometry}
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}
\makeatletter
\g@addto@macro\normalsize{\setlength{\abovedisplayskip}{6pt}\setlength{\belowdisplayskip}{6pt}}
\makeatother
% The verdict goes flush right at the end of the justification, on a new line if it must.
% A verdict too long for one box (a battery's ranges) goes flush right on lines of its own.
\newcommand{\verdict}[1]{\sbox0{[\textsf{#1}]}\ifdim\wd0>.7\linewidth
  {\unskip\par\raggedleft[\textsf{#1}]\par}\else
  {\unskip\nobreak\hfil\penalty50\hskip1em\hbox{}\nobreak\hfil
  \usebox0\parfillskip=0pt\finalhyphendemerits=0\par}\fi}
"""


def _pairs(proofs, reports) -> list[tuple[Proof, ProofReport | None]]:
    proofs = list(proofs)
    reports = list(reports) if reports is not None else [None] * len(proofs)
    if len(reports) != len(proofs):
        raise ValueError(f"{len(proofs)} proofs but {len(reports)} reports")
    return list(zip(proofs, reports))


def _document_title(proofs) -> str:
    """One proof's title, or several joined: 'The softmax score and the softmax bandit gradient'."""
    titles = [p.title for p in proofs]
    rest = [re.sub(r"^(The|A|An)\b", lambda m: m.group(1).lower(), t) for t in titles[1:]]
    return _and([titles[0], *rest])


def proof_to_tex(proof: Proof, report: ProofReport | None = None) -> str:
    """A standalone LaTeX document: title, one ``align*`` chain per derivation, counterexamples appendix."""
    return proofs_to_tex([proof], [report])


def proofs_to_tex(proofs, reports=None, *, title: str | None = None) -> str:
    """One document for one or more proofs: under several, each proof is a section with its own
    verdict line and its derivations are subsections; the appendix lists each counterexample once."""
    pairs = _pairs(proofs, reports)
    layout = _Layout([p for p, _ in pairs])
    nested = len(pairs) > 1
    heading = "\\subsection{%s}" if nested else "\\section{%s}"
    out = [_PREAMBLE, "\\title{%s}" % text_to_latex(title or _document_title([p for p, _ in pairs])),
           "\\date{}", "\\begin{document}", "\\maketitle"]
    if nested:
        out.append(text_to_latex(_legend([r for _, r in pairs])) + "\n")
    appendix = _Appendix()
    for p, (proof, report) in enumerate(pairs, 1):
        if nested:
            out.append("\\section{%s}" % text_to_latex(proof.title))
        out.append(text_to_latex(_summary(report, legend=not nested)) + "\n")
        out.extend(text_to_latex(note) + "\n" for note in proof.notes)
        for k, d in enumerate(proof.derivations, 1):
            drep = _find(report, d.name)
            failures = appendix.collect(d, drep, layout.section(p, k, nested))
            out.append(heading % text_to_latex(_capital(d.name)))
            if d.description:
                out.append(text_to_latex(d.description) + "\n")
            out.append(_derivation_block(d, _step_reports(d, drep), failures, layout))
            out.append(_result_tex(d, drep.result if drep else None, drep.structure if drep else (),
                                   failures.get(0)))
    if appendix.entries:
        out.append("\\appendix\n\\section{Counterexamples}")
        out.extend(_counterexample_tex(n, ce, refs) for n, (ce, refs) in enumerate(appendix.entries, 1))
    out.append("\\end{document}\n")
    return "\n".join(out)


def _units(reports) -> set[str]:
    return {getattr(s, "unit", "MDPs") for r in reports if r is not None
            for d in r.derivations for s in (*d.steps, d.result)}


def _legend(reports) -> str:
    units = _units(reports) or {"MDPs"}
    where = " or ".join(w for u, w in (("MDPs", "on N finite MDPs"), ("points", "at N exact points")) if u in units)
    return ("Each line is followed by its justification and its verdict: proved symbolically (in the general "
            f"form), checked {where}, or failed (with a counterexample in the appendix).")


def _summary(report: ProofReport | None, *, legend: bool = True) -> str:
    """A proof's verdict line ('Verified on a battery of 20 MDPs: 18 of 18 lines hold.'), and the legend."""
    if report is None:
        return "No verdicts: rendered without a verification report (derive verify checks every line)."
    lines = [s for d in report.derivations for s in (*d.steps, d.result)]
    good = sum(s.ok for s in lines)
    state = "Verified" if report.verified else "Not verified"
    unit = "points" if lines and getattr(lines[0], "unit", "MDPs") == "points" else "MDPs"
    battery = f" on a battery of {len(report.instances)} {plural(len(report.instances), unit)}" if report.instances else ""
    head = f"{state}{battery}: {good} of {len(lines)} lines hold."
    return f"{head} {_legend([report])}" if legend else head


# -- Markdown ------------------------------------------------------------------------------

def _md_chars(text: str) -> str:
    """Text for Markdown: _, *, $ and | stay literal (Σ\\_τ is not emphasis, $ not math)."""
    return re.sub(r"([_*$|\\])", r"\\\1", text)


def _md_text(text: str) -> str:
    """Plain-Unicode prose for Markdown, its math as ``$…$`` (KaTeX and GitHub inline math)."""
    return prose_to_markdown(text, text_chars=_md_chars)


def _md_display(tex: str) -> str:
    return f"$$\n{tex}\n$$"


def _md_derivation(d: Derivation, drep: DerivationReport | None, failures: dict[int, int],
                   level: str = "##", layout: _Layout = _NO_LAYOUT, number: str | None = None) -> list[str]:
    reports = _step_reports(d, drep)
    out = [f"{level} {number + '. ' if number else ''}{_md_text(_capital(d.name))}", ""]
    if d.description:
        out += [_md_text(d.description), ""]
    start = to_latex(d.start)
    for k, (step, rep) in enumerate(zip(d.steps, reports), 1):
        lead = start + " " if k == 1 else ""
        out += [_md_display(f"{lead}{relation_latex(step.relation)} {to_latex(step.expr)}"), ""]
        mark, words = _mark(rep)
        verdict = f" — {mark} *{_md_text(words)}*" if rep else ""
        num, label, body = _justification(k, step, rep, failures.get(k), layout)
        head = f"{num} *{_md_text(label)}*" if label else num
        out += [f"> {head} {_md_text(body)}".rstrip() + verdict, ""]
    if not d.steps:
        out += [_md_display(start), ""]
    res = drep.result if drep else None
    mark, words = _mark(res)
    verdict = f" — {mark} *{_md_text(words)}*" if res else ""
    see = f" Counterexample {failures[0]} in the appendix." if 0 in failures else ""
    out += [f"**Result.**{see}{verdict}", "",
            _md_display(f"{to_latex(d.goal.lhs)} {relation_latex(d.goal.relation)} {to_latex(d.goal.rhs)}"), ""]
    for problem in (drep.structure if drep else ()):
        out += [f"✗ {_md_text(problem)}", ""]
    return out


def _cell_md(cell) -> str:
    kind, text = cell
    return "$%s$" % math_to_latex(text) if kind == "math" else _md_text(text)


def _table_md(header: list, rows: list[list]) -> list[str]:
    width = max(len(r) for r in [header, *rows])
    head = [_cell_md(c) for c in header] if header else [" "] * width
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * width]
    out += ["| " + " | ".join(_cell_md(c) for c in r) + " |" for r in rows]
    return out + [""]


def proof_to_markdown(proof: Proof, report: ProofReport | None = None) -> str:
    """Markdown with ``$$ … $$`` displays (GitHub, KaTeX), one per line of each derivation."""
    return proofs_to_markdown([proof], [report])


def proofs_to_markdown(proofs, reports=None, *, title: str | None = None) -> str:
    """One or more proofs as Markdown, laid out as :func:`proofs_to_tex` lays them out."""
    pairs = _pairs(proofs, reports)
    layout = _Layout([p for p, _ in pairs])
    nested = len(pairs) > 1
    out = [f"# {_md_text(title or _document_title([p for p, _ in pairs]))}", ""]
    if nested:
        out += [_md_text(_legend([r for _, r in pairs])), ""]
    appendix = _Appendix()
    for p, (proof, report) in enumerate(pairs, 1):
        if nested:
            out += [f"## {p}. {_md_text(proof.title)}", ""]
        out += [_md_text(_summary(report, legend=not nested)), ""]
        out += [_md_text(note) + "\n" for note in proof.notes]
        for k, d in enumerate(proof.derivations, 1):
            drep = _find(report, d.name)
            number = layout.section(p, k, nested)
            failures = appendix.collect(d, drep, number)
            out += _md_derivation(d, drep, failures, "###" if nested else "##", layout, number)
    if appendix.entries:
        out += ["## Appendix: counterexamples", ""]
        for n, (ce, refs) in enumerate(appendix.entries, 1):
            out += [f"### Counterexample {n}", "", _md_text(_refutes(refs)), ""]
            for header, rows in _counterexample_tables(ce):
                out += _table_md(header, rows)
    return "\n".join(out).rstrip() + "\n"


def derivation_to_markdown(derivation: Derivation, report: DerivationReport | None = None) -> str:
    """One derivation as Markdown (the notebook view)."""
    return "\n".join(_md_derivation(derivation, report, {}, level="###")).rstrip() + "\n"


def derivation_to_mathjax(derivation: Derivation) -> str:
    """One derivation as a single ``aligned`` display with rule names (the notebook's text/latex)."""
    start = to_latex(derivation.start)
    rows = [f"{start if k == 0 else ''} &{relation_latex(s.relation)} {to_latex(s.expr)} "
            rf"&& {_mathjax_prose(s.rule)}" for k, s in enumerate(derivation.steps)]
    if not rows:
        rows = [start]
    return "$$\n\\begin{aligned}\n%s\n\\end{aligned}\n$$" % " \\\\\n".join(rows)


def proof_to_mathjax(proof: Proof) -> str:
    """Every derivation of a proof as ``aligned`` displays (the notebook's text/latex)."""
    return "\n".join(derivation_to_mathjax(d) for d in proof.derivations)


def _mathjax_prose(text: str) -> str:
    """Prose inside a display: words in \\text{…}, its math as math ('drop θ-free terms')."""
    from .latex_prose import segments

    parts = [r"\text{%s}" % _mathjax_text(seg.text) if seg.kind == "text" else "{%s}" % seg.text
             for seg in segments(text)]
    return "".join(parts) or r"\text{}"


def _mathjax_text(text: str) -> str:
    return re.sub(r"[{}\\$&%#^_]", lambda m: "\\" + m[0] if m[0] not in "\\^" else " ", text)


# -- reports alone (notebook) --------------------------------------------------------------

def _report_lines(report) -> list[tuple[str, StepReport]]:
    if isinstance(report, StepReport):
        return [("", report)]
    if isinstance(report, DerivationReport):
        return [(report.name, s) for s in (*report.steps, report.result)]
    return [(d.name, s) for d in report.derivations for s in (*d.steps, d.result)]


def report_to_markdown(report) -> str:
    """A verification report (proof, derivation or step) as a Markdown table of verdicts, failures explained below."""
    head = []
    if isinstance(report, ProofReport):
        state = "verified" if report.verified else "NOT verified"
        head = [f"**{report.title}** — {state}", ""]
        if report.scope:
            head = [head[0], "", _md(report.scope_line), ""]
    elif isinstance(report, DerivationReport):
        head = [f"**{report.name}** — {'verified' if report.verified else 'NOT verified'}", ""]
    lone = isinstance(report, StepReport)  # a lone step has no derivation to name
    rows = (["| line | rule | verdict |", "|---|---|---|"] if lone else
            ["| derivation | line | rule | verdict |", "|---|---|---|---|"])
    why = []
    for name, s in _report_lines(report):
        mark, words = _mark(s)
        line = "result" if s.index == 0 else str(s.index)
        rule = _md(s.rule)
        rows.append(f"| {line} | {rule} | {mark} {_md(words)} |" if lone else
                    f"| {_md(name)} | {line} | {rule} | {mark} {_md(words)} |")
        if not s.ok:
            where = ("" if lone else f"{name}, ") + ("stated result" if s.index == 0 else f"line {s.index}")
            why.append(f"- **{_md(where)}** ({_md(s.rule)}): {_md(_failure_words(s))}")
    return "\n".join(head + rows + ([""] + why if why else [])) + "\n"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|")


def _failure_words(s) -> str:
    """Why a line failed, with its counterexample, in one sentence."""
    ce = s.counterexample
    if ce is None:
        return s.detail or s.symbolic or s.verdict
    side = lambda xs: xs[0] if len(xs) == 1 else "[" + ", ".join(xs) + "]"  # noqa: E731 - a vector in brackets
    values = f": left side {side(ce.lhs)}, right side {side(ce.rhs)}" if ce.lhs else ""
    bound = "".join(f"; {k} = {v}" for k, v in ce.bindings.items())
    return f"{ce.reason}{values} — on {ce.instance}{bound}"


def report_to_latex(report) -> str:
    """A verification report as a MathJax ``array`` of verdicts (the notebook's text/latex)."""
    lone = isinstance(report, StepReport)
    rows, why = [], []
    for name, s in _report_lines(report):
        mark, words = _mark(s)
        sym = {"✓": r"\checkmark", "✗": r"\times"}.get(mark, "?")
        line = "result" if s.index == 0 else str(s.index)
        cells = [] if lone else [_mathjax_prose(name)]
        cells += [rf"\text{{{line}}}", _mathjax_prose(s.rule), rf"{sym}\ {_mathjax_prose(words)}"]
        rows.append(" & ".join(cells))
        if not s.ok:
            where = ("" if lone else f"{name}, ") + ("stated result" if s.index == 0 else f"line {s.index}")
            why.append(r"%s\text{: }%s" % (_mathjax_prose(where), _mathjax_prose(_failure_words(s))))
    cols = "lll" if lone else "llll"
    table = "\\begin{array}{%s}\n%s\n\\end{array}" % (cols, " \\\\\n".join(rows))
    if why:
        table += "\\\\\n\\begin{array}{l}\n%s\n\\end{array}" % " \\\\\n".join(why)
        table = "\\begin{array}{l}\n%s\n\\end{array}" % table
    return "$$\n%s\n$$" % table
