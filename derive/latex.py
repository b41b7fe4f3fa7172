"""The seeds' notation in LaTeX: expressions, derivations, standalone documents and Markdown.

Displayed lines are the derivation's expressions exactly as written (P(τ;θ)/P(τ;θ) and
∇_θP/P stay visible); verdicts come from a :class:`~derive.report.ProofReport` when one is
given. Products SymPy has already put in canonical order are shown in the seeds' order
(μ, P(τ;θ), dynamics, policy, gradients, R last); products built unevaluated keep their order.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy import Add, Derivative, Mul, Pow, Product, Sum, log
from sympy.printing.latex import LatexPrinter

from .derivation import UNBIASED, Derivation, Proof
from .notation import (
    InitialDistribution, Policy, Return, TrajectoryProbability, TrajectorySum, Transition, theta,
)
from .report import FAILED, PROVED, UNDECIDED, DerivationReport, ProofReport, StepReport, instances_phrase

__all__ = [
    "SeedLatexPrinter", "to_latex", "relation_latex", "text_to_latex", "derivation_rows",
    "derivation_to_latex", "proof_to_tex", "proof_to_markdown", "report_to_markdown",
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
            return str(expr.p)
        sign = "-" if expr.p < 0 else ""
        return r"%s\frac{%d}{%d}" % (sign, abs(expr.p), expr.q)


def _leading_denominator(expr):
    """m when a product is (1/m)·rest, printed \\frac{1}{m} rest: as written, or 1/symbol first."""
    den = _denominator(_display_args(expr)[0])
    if den is not None and len(expr.args) > 1 and (den.is_Symbol or not _is_canonical(expr)):
        return den
    return None


def _captures(f, following) -> bool:
    """A Σ/Π factor would seem to reach over later factors that depend on its index."""
    if isinstance(f, (Sum, Product)):
        index = {lim[0] for lim in f.limits}
        return any(index & g.free_symbols for g in following)
    if isinstance(f, TrajectorySum):
        return any(f.variable in g.free_symbols for g in following)
    return False


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
    "…": r"\dots{}", "–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''",
    "✓": r"$\checkmark$", "✗": r"$\times$", "é": r"\'e", "ü": r'\"u', "ö": r'\"o', "ä": r'\"a',
}
_TEXT_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "{": r"\{", "}": r"\}",
                 "\\": r"\textbackslash{}", "<": r"$<$", ">": r"$>$", "|": r"$|$"}
# s_t, s_{t+1}, a_0, ∇_θ, τ^(i): scripts written in plain text become math; a longer
# word after _ (policy_probabilities) is an identifier and keeps its underscore.
# A sub/superscript needs a one-character base (s_t, π_θ, τ^(i)): "reward_to_go.py" is plain text.
_SCRIPT = re.compile(
    r"(?<=\S)(?<!\w\w)(_\{[^{}]*\}|_[^\W_]{1,2}(?!\w)|\^\{[^{}]*\}|\^\([^()]*\)|\^[^\W_]{1,2}(?!\w))")


def text_to_latex(text: str) -> str:
    """Plain text (Unicode math letters, s_t, τ^(i)) as ASCII LaTeX that pdflatex accepts."""
    out, pos = [], 0
    for match in _SCRIPT.finditer(text):
        out.append(_text_chars(text[pos:match.start()]))
        script = match.group(0)
        body = script[2:-1] if script[1] in "{(" else script[1:]
        body = "(%s)" % body if script[1] == "(" else body
        out.append("$%s{%s}$" % (script[0], _math_chars(body)))
        pos = match.end()
    out.append(_text_chars(text[pos:]))
    return re.sub(r"\$\$", "", "".join(out))


def _math_chars(text: str) -> str:
    out = []
    for ch in text:
        if ch in _UNICODE_MATH:
            out.append(_UNICODE_MATH[ch] + " ")
        elif ch in "{}":
            out.append("\\" + ch)
        elif ch == "|":
            out.append(r"\mid ")
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append(r"\text{?}")
    return "".join(out)


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


def _justification(k: int, step, rep: StepReport | None, failed_no: int | None) -> str:
    """The sentence printed after line k (plain text, Unicode)."""
    parts = [f"({k}) {step.rule[:1].upper() + step.rule[1:]}. {step.why.strip()}"]
    if not parts[0].rstrip().endswith((".", ":", "!", "?")):
        parts[0] += "."
    if step.relation == UNBIASED:
        parts.append("Unbiased: over samples τ^(1), …, τ^(m) ∼ P(·;θ) the expectation of this line is "
                      "the line above.")
    if step.conditions:
        parts.append("Needs: " + "; ".join(c.text for c in step.conditions) + ".")
    if rep is not None:
        broken = [c for c in rep.conditions if not c.status.startswith("holds")]
        parts.extend(f"Side condition '{c.text}': {c.status}." for c in broken)
        if rep.detail:
            parts.append(rep.detail.strip())
        if failed_no is not None:
            parts.append(f"Counterexample {failed_no} in the appendix.")
    return " ".join(parts)


# -- LaTeX documents -----------------------------------------------------------------------

def derivation_rows(derivation: Derivation, *, budget: float = LINE_WIDTH) -> list[tuple[str, list[str]]]:
    """Per step: (relation, display rows of its expression), rows within the width left by the start."""
    # align* sets the start in its own column beside every row, so every row has the same room.
    room = budget - _width(to_latex(derivation.start)) - 2.5
    return [(relation_latex(step.relation), break_line(step.expr, budget=room)) for step in derivation.steps]


def _align_rows(derivation: Derivation, reports: list, failures: dict[int, int]) -> list[tuple[str, str]]:
    """Per step: (its display rows joined for align*, its justification as plain LaTeX text)."""
    start = to_latex(derivation.start)
    out = []
    for k, (step, rep, (rel, rows)) in enumerate(zip(derivation.steps, reports, derivation_rows(derivation)), 1):
        lead = start + " " if k == 1 else ""
        lines = [f"{lead}&{rel} {rows[0]}"] + [rf"&\quad {r}" for r in rows[1:]]
        out.append((" \\\\\n".join(lines), _justification_tex(k, step, rep, failures.get(k))))
    return out


def _justification_tex(k: int, step, rep, failed_no) -> str:
    mark, words = _mark(rep)
    text = text_to_latex(_justification(k, step, rep, failed_no))
    verdict = r" \verdict{%s %s}" % (text_to_latex(mark), text_to_latex(words)) if rep else ""
    return r"{\small %s%s\endgraf}" % (text, verdict)  # \par may not appear inside align*


def derivation_to_latex(derivation: Derivation, report: DerivationReport | None = None) -> str:
    """The derivation as an ``align*`` chain, each line followed by its justification and verdict."""
    # No appendix here, so no references to one: the verdict marks say which steps failed.
    return _derivation_block(derivation, _step_reports(derivation, report), {})


def _derivation_block(derivation: Derivation, reports: list, failures: dict[int, int]) -> str:
    if not derivation.steps:
        return "\\[\n%s\n\\]" % to_latex(derivation.start)
    parts = _align_rows(derivation, reports, failures)
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
\newcommand{\verdict}[1]{{\unskip\nobreak\hfil\penalty50\hskip1em\hbox{}\nobreak\hfil
  \mbox{[\textsf{#1}]}\parfillskip=0pt\finalhyphendemerits=0\par}}
"""


def proof_to_tex(proof: Proof, report: ProofReport | None = None) -> str:
    """A standalone LaTeX document: title, one ``align*`` chain per derivation, counterexamples appendix."""
    out = [_PREAMBLE, "\\title{%s}" % text_to_latex(proof.title), "\\date{}", "\\begin{document}",
           "\\maketitle"]
    out.append(text_to_latex(_summary(proof, report)) + "\n")
    out.extend(text_to_latex(note) + "\n" for note in proof.notes)
    appendix = []
    for d in proof.derivations:
        drep = _find(report, d.name)
        reports = _step_reports(d, drep)
        failures = _collect_failures(d, drep, appendix)
        out.append("\\section{%s}" % text_to_latex(d.name[:1].upper() + d.name[1:]))
        if d.description:
            out.append(text_to_latex(d.description) + "\n")
        out.append(_derivation_block(d, reports, failures))
        out.append(_result_tex(d, drep.result if drep else None, drep.structure if drep else (),
                               failures.get(0)))
    if appendix:
        out.append("\\appendix\n\\section{Counterexamples}")
        out.extend(_counterexample_tex(n, name, k, r) for n, (name, k, r) in enumerate(appendix, 1))
    out.append("\\end{document}\n")
    return "\n".join(out)


def _collect_failures(d: Derivation, drep: DerivationReport | None, appendix: list) -> dict[int, int]:
    """Append d's failed lines that have a counterexample to the appendix; line -> its number there."""
    lines = list(enumerate(_step_reports(d, drep), 1))
    if drep is not None:
        lines.append((0, drep.result))  # 0: the stated result
    failures = {}
    for k, r in lines:
        if r is not None and r.verdict == FAILED and r.counterexample is not None:
            appendix.append((d.name, k, r))
            failures[k] = len(appendix)
    return failures


def _where(name: str, k: int, rep: StepReport) -> str:
    return f"{name}, the stated result" if k == 0 else f"{name}, line ({k}): {rep.rule}"


def _summary(proof: Proof, report: ProofReport | None) -> str:
    if report is None:
        return "No verdicts: rendered without a verification report (derive verify checks every line)."
    lines = [s for d in report.derivations for s in (*d.steps, d.result)]
    good = sum(s.ok for s in lines)
    state = "Verified" if report.verified else "Not verified"
    unit = "points" if lines and getattr(lines[0], "unit", "MDPs") == "points" else "MDPs"
    battery = f" on a battery of {len(report.instances)} {unit}" if report.instances else ""
    where = "at N exact points" if unit == "points" else "on N finite MDPs"
    return (f"{state}{battery}: {good} of {len(lines)} lines hold. Each line is followed by its "
            f"justification and its verdict: proved symbolically (in the general form), checked {where}, "
            "or failed (with a counterexample in the appendix).")


def _counterexample_lines(ce) -> list[str]:
    out = [f"Instance: {ce.instance}.", f"Why: {ce.reason}"]
    out += [f"{key} = {value}" for key, value in ce.bindings.items()]
    if ce.lhs:
        out.append("left side = [" + ", ".join(ce.lhs) + "]")
        out.append("right side = [" + ", ".join(ce.rhs) + "]")
    if ce.theta:
        out.append("θ = (" + ", ".join(ce.theta) + ")")
    for key in ("initial", "transitions", "rewards", "policy_probabilities"):
        if key in ce.mdp:
            out.append(f"{key.replace('_', ' ')}: {_compact(ce.mdp[key])}")
    return out


def _compact(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return str(value)


def _counterexample_tex(n: int, name: str, k: int, rep: StepReport) -> str:
    items = "\n".join(r"\item %s" % text_to_latex(line) for line in _counterexample_lines(rep.counterexample))
    title = text_to_latex(f"{n}. {_where(name, k, rep)}")
    return "\\subsection*{%s}\n{\\small\\begin{itemize}\n%s\n\\end{itemize}}" % (title, items)


# -- Markdown ------------------------------------------------------------------------------

def _md_text(text: str) -> str:
    """Plain text for Markdown: _ and * stay literal (Σ_τ is not emphasis)."""
    return re.sub(r"([_*])", r"\\\1", text)


def _md_display(tex: str) -> str:
    return f"$$\n{tex}\n$$"


def _md_derivation(d: Derivation, drep: DerivationReport | None, failures: dict[int, int],
                   level: str = "##") -> list[str]:
    reports = _step_reports(d, drep)
    out = [f"{level} {_md_text(d.name[:1].upper() + d.name[1:])}", ""]
    if d.description:
        out += [_md_text(d.description), ""]
    start = to_latex(d.start)
    for k, (step, rep) in enumerate(zip(d.steps, reports), 1):
        lead = start + " " if k == 1 else ""
        out += [_md_display(f"{lead}{relation_latex(step.relation)} {to_latex(step.expr)}"), ""]
        mark, words = _mark(rep)
        verdict = f" — {mark} *{words}*" if rep else ""
        out += [f"> {_md_text(_justification(k, step, rep, failures.get(k)))}{verdict}", ""]
    if not d.steps:
        out += [_md_display(start), ""]
    res = drep.result if drep else None
    mark, words = _mark(res)
    verdict = f" — {mark} *{words}*" if res else ""
    see = f" Counterexample {failures[0]} in the appendix." if 0 in failures else ""
    out += [f"**Result.**{see}{verdict}", "",
            _md_display(f"{to_latex(d.goal.lhs)} {relation_latex(d.goal.relation)} {to_latex(d.goal.rhs)}"), ""]
    for problem in (drep.structure if drep else ()):
        out += [f"✗ {_md_text(problem)}", ""]
    return out


def proof_to_markdown(proof: Proof, report: ProofReport | None = None) -> str:
    """Markdown with ``$$ … $$`` displays (GitHub, KaTeX), one per line of each derivation."""
    out = [f"# {_md_text(proof.title)}", "", _summary(proof, report), ""]
    out += [_md_text(note) + "\n" for note in proof.notes]
    appendix = []
    for d in proof.derivations:
        drep = _find(report, d.name)
        out += _md_derivation(d, drep, _collect_failures(d, drep, appendix))
    if appendix:
        out += ["## Appendix: counterexamples", ""]
        for n, (name, k, r) in enumerate(appendix, 1):
            out += [f"### {n}. " + _md_text(_where(name, k, r)), ""]
            out += [f"- {_md_text(line)}" for line in _counterexample_lines(r.counterexample)] + [""]
    return "\n".join(out).rstrip() + "\n"


def derivation_to_markdown(derivation: Derivation, report: DerivationReport | None = None) -> str:
    """One derivation as Markdown (the notebook view)."""
    return "\n".join(_md_derivation(derivation, report, {}, level="###")).rstrip() + "\n"


def derivation_to_mathjax(derivation: Derivation) -> str:
    """One derivation as a single ``aligned`` display with rule names (the notebook's text/latex)."""
    start = to_latex(derivation.start)
    rows = [f"{start if k == 0 else ''} &{relation_latex(s.relation)} {to_latex(s.expr)} "
            rf"&& \text{{{_mathjax_text(s.rule)}}}" for k, s in enumerate(derivation.steps)]
    if not rows:
        rows = [start]
    return "$$\n\\begin{aligned}\n%s\n\\end{aligned}\n$$" % " \\\\\n".join(rows)


def proof_to_mathjax(proof: Proof) -> str:
    """Every derivation of a proof as ``aligned`` displays (the notebook's text/latex)."""
    return "\n".join(derivation_to_mathjax(d) for d in proof.derivations)


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
    """A verification report (proof, derivation or step) as a Markdown table of verdicts."""
    head = []
    if isinstance(report, ProofReport):
        state = "verified" if report.verified else "NOT verified"
        head = [f"**{report.title}** — {state}", ""]
    elif isinstance(report, DerivationReport):
        head = [f"**{report.name}** — {'verified' if report.verified else 'NOT verified'}", ""]
    rows = ["| derivation | line | rule | verdict |", "|---|---|---|---|"]
    for name, s in _report_lines(report):
        mark, words = _mark(s)
        line = "result" if s.index == 0 else str(s.index)
        rule = s.rule.replace("|", "\\|")
        rows.append(f"| {name} | {line} | {rule} | {mark} {words} |")
    return "\n".join(head + rows) + "\n"


def report_to_latex(report) -> str:
    """A verification report as a MathJax ``array`` of verdicts (the notebook's text/latex)."""
    rows = []
    for name, s in _report_lines(report):
        mark, words = _mark(s)
        sym = {"✓": r"\checkmark", "✗": r"\times"}.get(mark, "?")
        line = "result" if s.index == 0 else str(s.index)
        rows.append(rf"\text{{{_mathjax_text(name)}}} & \text{{{line}}} & \text{{{_mathjax_text(s.rule)}}} "
                    rf"& {sym}\ \text{{{_mathjax_text(words)}}}")
    return "$$\n\\begin{array}{llll}\n%s\n\\end{array}\n$$" % " \\\\\n".join(rows)
