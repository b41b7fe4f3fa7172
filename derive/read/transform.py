"""From a parse tree of derive/read/latex.lark to derive's notation (SymPy objects).

Readings decided on purpose (each one that is not the only possible reading leaves a note):
* ``P(τ;θ)``, ``P(τ|θ)``, ``π(τ|θ)``, ``p_θ(τ)`` are the trajectory probability P(τ;θ);
  ``P(s'|s,a)`` in either order after the bar is the dynamics; ``P(r_t|a_t,s_t)`` the reward
  probability; ``P(s_0)``, ``μ(s_0)``, ``ρ_0(s_0)`` the initial distribution.
* ``∇`` and ``log`` take one factor (``\\log P(τ;θ) R(τ)`` is (log P)·R); Σ, Π and ∫ take the
  rest of their product.
* ``x^{(i)}`` on τ, s, a, r is the i-th sample, not a power.
* 1-based time (s_1, a_1, r_1, horizon n or T) is shifted to derive's 0-based time: step k is
  k − 1, and the last step written n, T or H is derive's H + 1 (the number of steps).
* Σ_τ whose body divides by P(τ;θ) or takes its log is read over the trajectories with
  P(τ;θ) > 0 (its terms at P(τ;θ) = 0 count as 0, as in an expectation); so is Σ_τ P(τ;θ) …
  whose body divides by or takes the log of a factor of P(τ;θ) (π_θ(a_t|s_t), μ(s_0), …).
  Of a body that is a sum, only the terms that do so: Σ_τ (R + P log P) is Σ_τ R + Σ_{τ: P>0} P log P.
"""

from __future__ import annotations

import math
from fractions import Fraction

from dataclasses import dataclass, field

import sympy as sp
from lark import Token, Transformer, v_args
from sympy import Derivative, Expr, Function, Integer, Product, Sum, Symbol

from ..notation import (
    H, Action, ActionSum, Baseline, Expectation, InitialDistribution, Objective, Policy, QValue, Return, Reward,
    RewardProbability, Sample, SampleExpectation, State, TrajectoryProbability, TrajectorySum, Transition, b, fraction, gamma, i,
    m, t, tau, theta, u, x,
)
from .defined import _rebuilt, lost_condition, undefined_number

__all__ = ["Reading", "ReadError", "RowTransformer", "UNMARKED", "LEMMA_VAR", "HatName", "SetLiteral",
           "shift_time", "time_indices", "sample_mean", "random_side", "expectation_problem", "number_bits", "MAX_DIGITS", "MAX_SAMPLE_COUNT",
           "IndexedHat", "TimeHat", "SampleHat", "log_over_big", "substituted"]

UNMARKED = Symbol("tau_unmarked")      # the trajectory of an s_t written without ^{(i)}: decided per line
LEMMA_VAR = Symbol("x", real=True)      # the variable of a general calculus lemma (∇_x, d/dx)
ALPHA = Symbol("alpha", positive=True)  # a step size (update rules only)
PI_THETA = Symbol("pi_theta")      # π_θ as a distribution (E_{τ∼π_θ}, J(π_θ))
MAX_POWER = 10_000   # |k| in a written power x^k of an expression (γ^k, (…)^k): past it the evaluation swells
MAX_DIGITS = 100_000  # digits of a number the row builds (10^{10000} has 10,001): past it SymPy would not finish
_MAX_BITS = int(MAX_DIGITS * 3.3219280948873626)
MAX_SAMPLE_COUNT = 100   # n in a sum written over samples i = 1..n (each sample is a term of the expectation)
# Nonnegative, not positive: with time from 0 they are H, and H = 0 is a horizon (0^T is 1 there, not 0).
T_LETTER = Symbol("T", integer=True, nonnegative=True)
N_LETTER = Symbol("n", integer=True, nonnegative=True)


class ReadError(ValueError):
    """The row parsed, but some part has no meaning in derive's notation."""


class HatName(Symbol):
    """A name being defined in the line, such as ĝ."""


class IndexedHat(Expr):
    """A defined name with an index, such as Â_t or R̂^{(i)}: its definition at that index."""

    kind = ""

    def __new__(cls, hat, index):
        return Expr.__new__(cls, hat, sp.sympify(index))

    @property
    def hat(self):
        return self.args[0]

    @property
    def index(self):
        return self.args[1]

    def _sympystr(self, printer):
        return "%s_%s" % (self.hat.name, printer._print(self.index))


class TimeHat(IndexedHat):
    """Â_k: a name defined with a time index, at step k (k in derive's 0-based steps)."""

    kind = "time"

    def _latex(self, printer):
        return r"%s_{%s}" % (self.hat.name, printer._print(self.index))


class SampleHat(IndexedHat):
    """R̂^{(k)}: a name defined with a sample index, for the sample k."""

    kind = "sample"

    def _latex(self, printer):
        return r"%s^{(%s)}" % (self.hat.name, printer._print(self.index))


@dataclass(frozen=True)
class SetLiteral:
    """{ s_1, a_1, r_1, … } or ( s_0, a_0, r_0, … ): the description of a trajectory."""

    items: tuple
    tuple_form: bool = False   # written in parentheses (a sequence), not in braces


@dataclass
class Reading:
    """One row: an optional leading relation, the sides, the relations between them, notes."""

    lead: str | None
    sides: list
    relations: list
    notes: list = field(default_factory=list)
    patterns: list = field(default_factory=list)   # (written factor, expected factor) where a … pattern breaks
    min_horizon: int = 0                            # the smallest H the line as written needs
    readings: list = field(default_factory=list)    # (as read, other reading, why) of a product with two readings
    pattern_kinds: list = field(default_factory=list)   # "sum" or "product": what each entry of patterns is written in
    written: list = field(default_factory=list)     # the sides before s_t, a_t, r_t without ^{(i)} were given a trajectory
    resolved: list = field(default_factory=list)    # the sides just after (before any later reading of the document)
    free_steps: bool = False    # an s_t, a_t or r_t without ^{(i)} in a line that speaks of no trajectory: τ's by default


def _subscript_message(sub) -> str:
    """Why E_{sub}[…] is refused: what derive reads a subscript as, and how to write the expectation meant."""
    from ..latex import to_latex

    def shown(x):
        return to_latex(x) if isinstance(x, sp.Basic) else "…"

    samples = any(isinstance(x, sp.Basic) and x.has(Sample) for x in (sub.a, sub.b))
    # Printed back only when it is a sample's: other symbols print in derive's own names (a as b).
    written = shown(sub.a) + ("" if sub.b is None else (r" \sim " if sub.kind == "sim" else r" \in ") + shown(sub.b))
    written = written if samples else "…"
    hint = (r"for the expectation over the samples write \mathbb{E}[…] without a subscript: it averages τ and "
            r"every sample τ^{(i)} (i.i.d. ∼ P(τ;θ), independent of τ)" if samples else
            r"for one action's expectation write \sum_a \pi_\theta(a|s) …; for every sample's, \mathbb{E}[…] "
            r"without a subscript")
    return (f"\\mathbb{{E}}_{{{written}}}[…]: derive reads an expectation's subscript only as the trajectory τ "
            f"(\\mathbb{{E}}_{{\\tau}}, \\mathbb{{E}}_{{\\tau \\sim \\pi_\\theta}}, "
            f"\\mathbb{{E}}_{{\\tau \\sim P(\\tau;\\theta)}}); {hint}")


class _Dots:
    """\\dots inside a product or a sum."""


DOTS = _Dots()


@dataclass(frozen=True)
class _Trailing:
    """A product whose last factor is \\dots (a sum's last term written 'X \\dots')."""

    expr: Expr
    factors: tuple = ()


@dataclass(frozen=True)
class _Factors:
    """Factors to be spliced into the surrounding product (\\underbrace)."""

    items: tuple


@dataclass(frozen=True)
class _Sub:
    kind: str        # "expr" | "from" | "sim"
    a: object
    b: object = None


_GREEK = {r"\theta": theta, r"\gamma": gamma, r"\alpha": ALPHA}
_TIME_NAMES = {"t": t, "k": Symbol("k", integer=True, nonnegative=True), "j": Symbol("j", integer=True, nonnegative=True)}


def time_indices(expr) -> list:
    """The time indices of every s, a, r in expr."""
    return [e.args[1] for e in sp.preorder_traversal(expr) if isinstance(e, (State, Action, Reward, RewardProbability))]


def shift_time(expr, d):
    """Every time index k in expr becomes k + d (products keep their written order)."""
    return rebuild(expr, lambda e: type(e)(e.args[0], e.args[1] + d)
                   if isinstance(e, (State, Action, Reward, RewardProbability)) else e)


def _show_step(e) -> str:
    return f"{'s' if isinstance(e, State) else 'a'}_{{{sp.sstr(e.args[1])}}}"


def rebuild(expr, fn):
    """Apply fn bottom-up without letting SymPy re-sort or simplify products and sums."""
    from sympy.strategies.traverse import bottom_up

    from ..notation import STRUCTURE

    return bottom_up(fn, STRUCTURE)(expr)


def substituted(e, mapping: dict):
    """e with each key of mapping replaced by its value; indices read by value again (s_{t+1−1} is s_t),
    nothing else (x/x stays x/x)."""
    if not isinstance(e, sp.Basic) or not mapping:
        return e
    return rebuild(e, lambda n: _indices_by_value(mapping.get(n, n)))


def _index_like(k) -> bool:
    """Arithmetic on integer symbols and numbers only: a time, a step or a limit, read by value."""
    return isinstance(k, (sp.Add, sp.Mul, sp.Pow)) and all(
        isinstance(x, (sp.Symbol, sp.Number)) or isinstance(x, (sp.Add, sp.Mul, sp.Pow))
        for x in sp.preorder_traversal(k)) and all(v.is_integer for v in k.free_symbols)


def _indices_by_value(n):
    """n with the indices it holds (the step of s_k, the exponent of γ^k, a sum's limits) evaluated."""
    from .. import notation

    if isinstance(n, sp.Pow) and n.base == gamma and _index_like(n.exp):
        return sp.Pow(gamma, _evaluated(n.exp), evaluate=False)
    if isinstance(n, (Sum, Product)):
        limits = [(v, *[_evaluated(x_) if _index_like(x_) else x_ for x_ in bounds]) for v, *bounds in n.limits]
        return type(n)(n.function, *limits)
    if isinstance(n, sp.Function) and type(n).__module__ == notation.__name__ and any(map(_index_like, n.args)):
        return type(n)(*[_evaluated(a_) if _index_like(a_) else a_ for a_ in n.args])
    return n


def _evaluated(e):
    """Index arithmetic as SymPy writes it (t + 1, not an unevaluated Add): indices compare by value.

    Refused when the evaluation drops a condition the index as written needs ((m − 7)/(m − 7) -> 1,
    0·log(m − 7) -> 0 in an exponent, a limit or an index): the line as written is undefined where it
    fails, which the value read would hide from every check after the reader.
    """
    raw = sp.sympify(e)
    return _kept_or_refused(raw, _rebuilt(raw), "index, exponent or limit")


def _kept_or_refused(raw, out, what: str):
    """out (what derive reads raw as), or a ReadError naming the condition of raw that out drops."""
    why = undefined_number(raw)
    if why:
        raise ReadError(f"{_said(raw)} is undefined: {why}")
    dropped = sorted(h.name for h in raw.atoms(HatName) - out.atoms(HatName)) if isinstance(out, sp.Basic) else []
    if dropped:
        # ĉ − ĉ is 0 before ĉ is written out, and ĉ := 0^{H−3} is undefined for H < 3: its conditions are unknown here.
        raise ReadError(f"{_said(raw)}: derive's reading of this {what} by value ({_said(out)}) would drop "
                        f"{', '.join(dropped)}, whose definition may be undefined somewhere; write it out")
    lost = lost_condition(raw, out)
    if lost is not None:
        c = _said(lost.expr)
        why = {"log": " (a log of it)", "power of 0": " (0 to that power divides by 0)"}.get(lost.kind, "")
        need, where = lost.needed(c), lost.broken(c) + why
        raise ReadError(f"{_said(raw)} needs {need}, which derive's reading of this {what} by value "
                        f"({_said(out)}) would drop: the line is undefined where {where}, so it is not "
                        f"read; write it without that term")
    return out


def _said(e) -> str:
    """e in LaTeX, as a message shows it: as written, not evaluated."""
    from ..latex import to_latex

    if not isinstance(e, sp.Basic):
        return str(e)
    if not e.atoms(sp.Function) - e.atoms(sp.log, sp.exp):   # arithmetic reads best as SymPy writes it: 1 - γ
        return sp.sstr(e)
    try:
        # τ for the trajectory the line leaves unnamed; rebuilt unevaluated (xreplace would make (m − 7)/(m − 7) 1)
        return to_latex(rebuild(e, lambda n: tau if n == UNMARKED else n))
    except Exception:   # a message must not fail on a form the printer lacks
        return sp.sstr(e)


def _is_traj(e) -> bool:
    return e == tau or e == UNMARKED or isinstance(e, Sample)


@v_args(inline=True)
class RowTransformer(Transformer):
    """Builds a :class:`Reading` of one row; ``base`` is the document's first time step (0 or 1)."""

    def __init__(self, *, base: int = 0):
        super().__init__()
        self.base = base
        self.notes: list[str] = []
        self.patterns: list = []
        self.pattern_kinds: list = []
        self.min_horizon = 0
        self._literal_need = 0       # the smallest H on which every step written as a number exists
        self._dotted = False         # a \dots pattern was read (its written steps bound H themselves)
        self.ambiguous: list = []
        self._narrow: set = set()    # ids of ∇_θ f built from an unbracketed factor f
        self._grouped: set = set()   # ids of expressions written in brackets
        self._open_log: dict = {}    # ids of \log f (f unbracketed) -> the log reaching over further factors
        # Every object whose id is kept above, kept alive for the row: a freed object's id is reused by
        # the next one built (an E_τ[…] once took the id of a ∇_θ f and was read as one: AttributeError).
        self._alive: list = []
        self._traj_forms: set = set()   # (letter, without θ) of every trajectory probability written in the row
        self._counts: set = set()       # the names written for the number of samples (m, N)

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- rows ---------------------------------------------------------------------------
    def start(self, *items):
        items = [it for it in items if not (isinstance(it, Token) and it.type in ("THEREFORE", "PUNCT", "COMMA", "SEMI"))]
        lead = None
        if items and isinstance(items[0], tuple) and items[0][0] == "lead":
            lead = items[0][1]
            items = items[1:]
        sides, rels = [items[0]], []
        for k in range(1, len(items), 2):
            rels.append(items[k])
            sides.append(items[k + 1])
        for s_ in sides:
            if isinstance(s_, (_Dots, _Trailing, _Factors)):
                raise ReadError("\\dots outside a product or a sum")
            if isinstance(s_, sp.Basic):   # products and sums of huge numbers grow too
                _refuse_big_side(s_)
        if not self._dotted:
            self.min_horizon = max(self.min_horizon, self._literal_need)
        return Reading(lead, sides, rels, self.notes, self.patterns, self.min_horizon, self.ambiguous,
                       self.pattern_kinds)

    def lead(self, rel):
        return ("lead", rel)

    def rel(self, tok):
        if tok.type == "DEFEQ":
            self._note(f"{tok.value} read as =: a definition of a name derive knows is checked against its meaning")
            return "="
        return {"EQ": "=", "LEFTARROW": "<-", "APPROX": "~"}.get(tok.type, tok.value)

    # -- sums and products -------------------------------------------------------------------
    def sign(self, tok):
        return tok.value

    def addop(self, tok):
        return tok.value

    def sum(self, *items):
        items = list(items)
        terms, signs = [], []
        sign = "+"
        if isinstance(items[0], str):
            sign = items.pop(0)
        terms.append(items[0])
        signs.append(sign)
        for k in range(1, len(items), 2):
            signs.append(items[k])
            terms.append(items[k + 1])
        flat, trailing = [], False
        for k, (sg, term) in enumerate(zip(signs, terms)):
            if isinstance(term, _Trailing):
                if k != len(terms) - 1:
                    raise ReadError("\\dots inside a term that is not the last of its sum")
                flat.append((sg, term.expr))
                trailing = True
            else:
                flat.append((sg, term))
        if len(flat) == 1 and flat[0][1] is DOTS:
            return DOTS
        if trailing and len(flat) == 1 and flat[0][0] == "+" and len(terms[0].factors) > 1:
            # 'X Y Z \dots' on its own is a product written out, not a sum of one term.
            return self._pattern(list(terms[0].factors) + [DOTS], kind="product")
        if trailing or any(term is DOTS for _, term in flat):
            if any(sg == "-" for sg, _ in flat):
                raise ReadError("a sum written with \\dots and minus signs: the pattern is not recognised")
            return self._pattern([term for _, term in flat] + ([DOTS] if trailing else []), kind="sum")
        out = [term if sg == "+" else -term for sg, term in flat]
        return out[0] if len(out) == 1 else sp.Add(*out, evaluate=False)

    def mulop(self, tok):
        return None

    def term(self, *items):
        factors = []
        explicit = set()   # indices of factors written after \cdot, \times or *
        for it in items:
            if it is None:
                explicit.add(len(factors))
                continue
            if isinstance(it, _Factors):
                factors.extend(it.items)
            else:
                factors.append(it)
        if any(isinstance(f, (_Trailing, SetLiteral)) for f in factors):
            raise ReadError("\\dots or a set inside a product")
        if len(factors) > 1 and factors[-1] is DOTS and DOTS not in factors[:-1]:
            rest = factors[:-1]
            return _Trailing(rest[0] if len(rest) == 1 else sp.Mul(*rest, evaluate=False), tuple(rest))
        if DOTS in factors:
            if len(factors) == 1:
                return DOTS
            return self._pattern(factors, kind="product")
        out = factors[0] if len(factors) == 1 else sp.Mul(*factors, evaluate=False)
        if (over_big := self._log_over_big(factors, explicit, out)) is not None:
            return over_big
        for j, f in enumerate(factors[:-1]):
            # ∇_θ f g with g depending on θ: ∇ of f alone, or of the product f g? Both are checked.
            # (∇_θ f) g in brackets has one reading only.
            if id(f) in self._narrow and id(f) not in self._grouped and (
                    _constant(f.expr) or any(_depends_on_theta(g) for g in factors[j + 1:])):
                wide = Derivative(sp.Mul(f.expr, *factors[j + 1:], evaluate=False), theta)
                other = wide if j == 0 else sp.Mul(*factors[:j], wide, evaluate=False)
                if _constant(f.expr):
                    # ∇_θ 2 J, ∇_θ \frac{1}{m} Σ …: nobody differentiates the number; ∇ takes the product.
                    self._note("∇_θ before a constant factor read as ∇_θ of the whole product")
                    return other
                self.ambiguous.append((out, other, ("nabla",)))
                return out
        for j, f in enumerate(factors[:-1]):
            # \log f g: the log of f times g (as read), or the log of the product f g? Both are
            # checked. \log(f) g, \log[f] g and \log f \cdot g have one reading; so has \log f
            # before an operator (∇, \log, Σ, E), which starts a factor of its own.
            if id(f) not in self._open_log or (j + 1) in explicit:
                continue
            taken = []
            for k_ in range(j + 1, len(factors)):
                if k_ in explicit and taken or _is_operator(factors[k_]):
                    break
                taken.append(factors[k_])
            if not taken:
                continue
            arg, build = self._open_log[id(f)]
            wide = build(taken)
            other_parts = factors[:j] + [wide] + factors[j + 1 + len(taken):]
            other = other_parts[0] if len(other_parts) == 1 else sp.Mul(*other_parts, evaluate=False)
            self.ambiguous.append((out, other, ("log", arg, tuple(taken))))
            return out
        return out

    def _log_over_big(self, factors, explicit, out):
        """\\log f \\prod_t …: the log of f times the product, or the log of f Π (log P(τ;θ) written out)?

        Neither reading is the usual one: both are checked, and where they disagree the line is
        ambiguous. (∇_θ \\log f \\prod_t … asks the same question: the log's scope is checked, not ∇'s.)
        """
        for j, f in enumerate(factors[:-1]):
            if id(f) not in self._open_log or (j + 1) in explicit:
                continue
            taken = []
            for k_ in range(j + 1, len(factors)):
                if k_ in explicit and taken:
                    break
                taken.append(factors[k_])
                if _is_operator(factors[k_]):
                    break
            if not isinstance(taken[-1], Product):
                continue
            arg, build = self._open_log[id(f)]
            other_parts = factors[:j] + [build(taken)] + factors[j + 1 + len(taken):]
            other = other_parts[0] if len(other_parts) == 1 else sp.Mul(*other_parts, evaluate=False)
            self.ambiguous.append((out, other, ("log", arg, tuple(taken))))
            return out
        return None

    def bigop(self, op, limits, body):
        if isinstance(body, (_Trailing, _Dots)):
            raise ReadError("\\dots inside a Σ or Π")
        is_sum = op.value.endswith("sum")
        lo_part, hi = limits
        if lo_part is None:
            raise ReadError(f"{op.value} without a subscript: what does it run over?")
        if lo_part.kind == "expr":
            var = lo_part.a
            if hi is not None:   # Σ_t^{3}, Σ_τ^{5}: an upper limit without a lower one is never dropped
                raise ReadError(f"{op.value}_{{{sp.sstr(var)}}}^{{{sp.sstr(hi)}}}: an upper limit without a lower "
                                f"one has no reading; write _{{{sp.sstr(var)}=…}}^{{…}}")
            if _is_traj(var) and var != UNMARKED or var == tau:
                if not is_sum:
                    raise ReadError("a product over trajectories")
                if isinstance(var, Sample):
                    body = self._rebind_sample(var, body)
                return self._trajectory_sum(body)
            if var in (t, u) or var in _TIME_NAMES.values():   # Σ_t: over every step of the trajectory
                self._note(f"Σ_{sp.sstr(var)} read as the sum over every step, "
                           f"{sp.sstr(var)} = {'1…n' if self.base == 1 else '0…H'}")
                if self.base == 1:   # the written t runs over 1…n: t -> t + 1 puts it on derive's steps 0…H
                    self._remap(body, lambda e: substituted(e, {var: var + 1}), notes_too=False)
                    body = substituted(body, {var: var + 1})
                return Sum(body, (var, 0, H)) if is_sum else self._product(body, (var, 0, H))
            if var == x or var == b:  # Σ_s, Σ_a: over every state or action
                if not is_sum:
                    raise ReadError("a product over states or actions")
                from ..notation import StateSum
                return StateSum(body) if var == x else ActionSum(body)
            raise ReadError(f"{op.value}_{{{sp.sstr(var)}}}: a sum needs a trajectory τ or limits like t=0")
        if lo_part.kind != "from" or hi is None:
            raise ReadError(f"{op.value} needs limits _{{t=…}}^{{…}}")
        var, lo = lo_part.a, self._bound(lo_part.b)
        hi = self._bound(hi)
        if var != i and var in _TIME_NAMES.values() and (hi == m or _speaks_of_sample(body, var)):
            # Σ_{j=1}^{m} … τ^{(j)}: j (or k) counts samples here, not steps; read with derive's sample index i.
            # i free in the body, or bound by a Σ_i inside it: renaming the index to i would capture it.
            if isinstance(body, sp.Basic) and body.has(i):
                raise ReadError(f"a sum over the samples with index {sp.sstr(var)} around one with index i: "
                                f"two sample indices, which derive does not read (it has one sample index)")
            self._note(f"Σ_{{{sp.sstr(var)}={lo}}}^{{{sp.sstr(hi)}}} runs over the samples: "
                       f"{sp.sstr(var)} is read as the sample index i")
            self._remap(body, lambda e: substituted(e, {var: i}))
            body = substituted(body, {var: i})
            var = i
        if var == i:
            if is_sum and _speaks_of_sample_i(body) and lo.is_Integer and hi.is_Integer:
                # A written number of samples: the sample mean with m = n, checked as an estimator
                # (its expectation by linearity, one term per sample), so n is bounded.
                n_ = int(hi) - int(lo) + 1
                if n_ > MAX_SAMPLE_COUNT:
                    raise ReadError(f"a sum over {n_:,} samples τ^(i), past the limit of {MAX_SAMPLE_COUNT:,} "
                                    f"samples derive checks term by term: write m for the number of samples "
                                    f"(checked for every m)")
                self._note(f"Σ_{{i={lo}}}^{{{hi}}} over the samples τ^(i): a sample mean over {n_} samples")
            return (Sum if is_sum else Product)(body, (i, lo, hi))
        if var not in (t, u) and var not in _TIME_NAMES.values():
            raise ReadError(f"{op.value}_{{{sp.sstr(var)}=…}}: a time index (t, t', k) or the sample index i")
        if self.base == 1:
            # Change of variable t -> t + 1 so the sum runs over derive's 0-based steps.
            self._remap(body, lambda e: substituted(e, {var: var + 1}), notes_too=False)
            body = substituted(body, {var: var + 1})
            lo, hi = lo - 1, hi - 1
        return Sum(body, (var, lo, hi)) if is_sum else self._product(body, (var, lo, hi))

    def _product(self, body, limit):
        """Π_t f_t g: Π takes the rest of its product, so g is a factor at every step (as read);
        a last factor g that does not involve t may also be meant outside (Π_t f_t) · g. Both are checked."""
        out = Product(body, limit)
        if not isinstance(body, sp.Mul):
            return out
        factors = list(body.args)
        k = len(factors)
        while k > 0 and limit[0] not in getattr(factors[k - 1], "free_symbols", {limit[0]}):
            k -= 1
        if 0 < k < len(factors):
            inner = factors[0] if k == 1 else sp.Mul(*factors[:k], evaluate=False)
            wide = sp.Mul(Product(inner, limit), *factors[k:], evaluate=False)
            self.ambiguous.append((out, wide, ("prod", tuple(factors[k:]))))
        return out

    def _rebind_sample(self, var, body):
        """Σ_{τ^{(k)}} body: τ^{(k)} is the sum's own variable, so the body is read with τ in its place."""
        if isinstance(body, sp.Basic) and body.has(tau):
            raise ReadError(f"Σ over {_sample_text(var)} whose body also speaks of τ: two trajectories, one sum")
        self._note(f"Σ over {_sample_text(var)} read as Σ_τ: the sum binds {_sample_text(var)} (its own variable)")
        def bind(e_):   # s_t written without a mark inside this sum belongs to the summed trajectory too
            return rebuild(e_, lambda e: tau if e == var or e == UNMARKED else e)

        self._remap(body, bind)
        return bind(body)

    def _remap(self, body, fn, *, notes_too: bool = True):
        """Apply to the two readings of every product inside body what is applied to body itself.

        A change of summation variable (time from 1) leaves the factors a note prints as written.
        """
        out = []
        for narrow, wide, why in self.ambiguous:
            if isinstance(body, sp.Basic) and body.has(narrow):
                if notes_too and why[0] == "log":
                    why = ("log", fn(why[1]), tuple(fn(r_) for r_ in why[2]))
                narrow, wide = fn(narrow), fn(wide)
            out.append((narrow, wide, why))
        self.ambiguous[:] = out

    def _trajectory_sum(self, body):
        # Σ_τ (R(τ) + P log P): only the terms that take the log of (or divide by) P(τ;θ) are read over
        # P(τ;θ) > 0. Restricting R(τ) too dropped its values at P(τ;θ) = 0, so Σ_τ (R + P log P) =
        # Σ_τ R + Σ_τ P log P failed, and the same line with Σ_{τ: P > 0} R on the right (false) held.
        if isinstance(body, sp.Add):
            need = [_needs_support(a) for a in body.args]
            if any(need) and not all(need):
                kept = [a for a, n_ in zip(body.args, need) if n_]
                rest = [a for a, n_ in zip(body.args, need) if not n_]
                self._note("Σ_τ of a sum: its terms with log P(τ;θ) or 1/P(τ;θ) read over the trajectories with "
                           "P(τ;θ) > 0 (there they count as 0, as in an expectation; side condition P(τ;θ) > 0), "
                           "the other terms over every τ")
                one = lambda xs: xs[0] if len(xs) == 1 else sp.Add(*xs, evaluate=False)  # noqa: E731
                parts = [TrajectorySum(one(kept), tau, True), TrajectorySum(one(rest), tau, False)]
                return sp.Add(*(parts if need[0] else parts[::-1]), evaluate=False)  # in the order written
        weighted = _needs_support(body)
        if weighted:
            self._note("Σ_τ read over the trajectories with P(τ;θ) > 0: its terms at P(τ;θ) = 0 count as 0, "
                       "as in an expectation (side condition P(τ;θ) > 0)")
        return TrajectorySum(body, tau, weighted)

    def nabla_big(self, tok, *rest):
        sub, body = self._nabla_sub(rest)
        return self._gradient(sub, body)

    def _nabla_sub(self, rest):
        if len(rest) == 2:
            return rest
        self._note("∇ without a subscript read as ∇_θ")
        return _Sub("expr", theta), rest[0]

    def frac_token(self, tok):
        return self._token_value(tok)

    def log_big(self, tok, body):
        return sp.log(body, evaluate=False)

    def limits(self, *parts):
        lo = hi = None
        for p_ in parts:
            if isinstance(p_, _Sub):
                lo = p_
            else:
                hi = p_[1]
        return (lo, hi)

    def sup_single(self, tok):
        return ("sup", self._token_value(tok))

    def sup_group(self, e):
        return ("sup", e)

    # -- atoms ---------------------------------------------------------------------------
    def number(self, tok):
        return Integer(_int_of(tok.value))

    def number_power(self, tok, sup):
        return self.power(Integer(_int_of(tok.value)), sup[1])

    def decimal(self, tok):
        """0.1 is exactly 1/10 (never a float)."""
        whole, _, frac_ = tok.value.partition(".")
        return sp.Rational(_int_of(whole + frac_), 10 ** len(frac_))

    def name(self, tok):
        if isinstance(tok, HatName):
            return tok
        return tok.value

    def hat(self, tok, letter):
        return HatName(r"\hat{%s}" % letter.value)

    def sub_single(self, tok):
        return _Sub("expr", self._token_value(tok))

    def sub_group(self, e):
        return e if isinstance(e, _Sub) else _Sub("expr", e)

    def sub_sim(self, a_, tok, b_):
        return _Sub("sim", a_, b_)

    def sub_from(self, a_, tok, b_):
        return _Sub("from", a_, b_)

    def sub_pair(self, a_, tok, b_):
        return _Sub("pair", a_, b_)

    def sample(self, e):
        return ("sample", e)

    def _token_value(self, tok):
        if tok.type in ("NUMBER", "DIGIT"):
            return Integer(_int_of(tok.value))
        return self._symbol(tok.value, None, None)

    def var(self, name, *rest):
        sub = sample = power = None
        for r_ in rest:
            if isinstance(r_, tuple) and r_[0] == "sup":
                power = r_[1]
                continue
            if isinstance(r_, Token) and r_.type == "PRIME":
                if name != "t" or sub is not None:
                    raise ReadError(f"{name}': only t' (a second time index) takes a prime")
                return u
            if isinstance(r_, _Sub):
                sub = r_
            elif isinstance(r_, tuple) and r_[0] == "sample":
                sample = r_[1]
        if name == r"\gamma" and sub is None and (sample is not None or power is not None):
            if sample is not None and sample == i:
                raise ReadError("γ^{(i)}: a sample index belongs on τ, s, a or r")
            exp = sample if sample is not None else power   # γ^{(t-1)} is a power: γ is no trajectory
            return sp.Pow(gamma, self._bound(exp), evaluate=False)
        if power is not None:
            raise ReadError(f"{name}^{{…}}: only γ takes a power (a sample index is written ^{{(i)}})")
        return self._symbol(name, sub, sample)

    def _symbol(self, name, sub, sample):
        if isinstance(name, HatName):
            # An index on a defined name is read with its meaning (the definition at that index),
            # never dropped: the document substitutes it where the name is defined with one.
            if sub is not None and sample is not None:
                raise ReadError(f"{name} with both a subscript and a sample index: no reading")
            if sub is not None:
                if sub.kind != "expr":
                    raise ReadError(f"the subscript of {name} has no reading")
                return TimeHat(name, self._time(sub.a))
            if sample is not None:
                return SampleHat(name, _evaluated(sample))
            return name
        if sub is not None and sub.kind == "pair":
            # s_{i,t}, a_{i,t}, r_{i,t} (sample i, step t) are s_t^{(i)}, a_t^{(i)}, r_t^{(i)}.
            if name not in ("s", "a", "r") or sample is not None or _evaluated(sub.a) != i:
                raise ReadError(f"{name}_{{{sp.sstr(sub.a)},{sp.sstr(sub.b)}}}: only s, a and r take two indices, "
                                f"the sample index i and the step (s_{{i,t}})")
            self._note("s_{i,t}, a_{i,t}, r_{i,t} read as s_t^{(i)}, a_t^{(i)}, r_t^{(i)} (sample i, step t)")
            sub, sample = _Sub("expr", sub.b), i
        if sub is not None and sub.kind != "expr":   # s_{t=0}, π_{a∼b}: a relation in a subscript has no reading
            raise ReadError(f"the subscript of {name} holds a relation: it has no reading")
        traj = UNMARKED if sample is None else Sample(_evaluated(sample))
        if name == r"\pi" and sub is not None and sub.a == theta and sample is None:
            return PI_THETA
        if name == r"\tau":
            if sub is not None:
                raise ReadError("τ with a subscript")
            return tau if sample is None else Sample(sample)
        if sample is not None and name not in ("s", "a", "r"):
            raise ReadError(f"{name}^{{(…)}}: a sample index belongs on τ, s, a or r")
        if name in ("s", "a", "r"):
            if sub is None:
                if name == "r":
                    raise ReadError("r without a time index")
                return x if name == "s" else b
            k = self._time(sub.a)
            if k.is_Integer:
                # A written step exists only on trajectories that long: the line is checked where it does.
                if k < 0:
                    raise ReadError(f"{name}_{{{int(k) + self.base}}}: there is no step before "
                                    f"{name}_{{{self.base}}} (time starts at {self.base} in this document)")
                self._literal_need = max(self._literal_need, int(k) - (1 if name == "s" else 0))
            return {"s": State, "a": Action, "r": Reward}[name](traj, k)
        if sub is not None:
            raise ReadError(f"{name}_{{{sp.sstr(sub.a)}}}: unknown subscripted symbol")
        if name in _GREEK:
            return _GREEK[name]
        if name in _TIME_NAMES:
            return _TIME_NAMES[name]
        if name == "i":
            return i
        if name in ("m", "N"):
            # N for the number of samples (as in (1/N) Σ_{i=1}^{N}) is derive's m; a line with both has two counts.
            self._counts.add(name)
            if len(self._counts) > 1:
                raise ReadError("both m and N in one line: two numbers of samples; derive reads one (m)")
            if name == "N":
                self._note("N read as m, the number of samples")
            return m
        if name == "H":
            # The last step: with time from 1 it counts the steps, as n and T do (derive's H + 1).
            return H + 1 if self.base == 1 else H
        if name == "T":
            return T_LETTER
        if name == "n":
            return N_LETTER
        if name == "x":
            return LEMMA_VAR
        raise ReadError(f"unknown symbol {name}")

    def _steps(self, e):
        """e with T and n written as derive's H (H + 1 with time from 1), then read by value.

        In that order: T is declared positive, so T/T read by value first is 1, though T is H here and H = 0
        is a horizon (0/0); written as H first, the division is seen and kept or refused.
        """
        size = H + 1 if self.base == 1 else H
        if isinstance(e, sp.Basic) and e.has(T_LETTER, N_LETTER):
            e = substituted(e, {T_LETTER: size, N_LETTER: size})
        return _evaluated(e)

    def _time(self, k):
        """A written time index in derive's 0-based steps."""
        k = self._steps(k)
        return k - 1 if self.base == 1 else k

    def _bound(self, e):
        return self._steps(e)

    # -- functions ------------------------------------------------------------------------
    def args(self, *items):
        values, seps = [items[0]], []
        for k in range(1, len(items), 2):
            seps.append(items[k])
            values.append(items[k + 1])
        return values, seps

    def argsep(self, tok):
        return {"COMMA": ",", "SEMI": ";", "BAR": "|", "MID": "|"}[tok.type]

    def app(self, name, *rest):
        sub, prime, args = None, False, None
        for r_ in rest:
            if isinstance(r_, _Sub):
                sub = r_
            elif isinstance(r_, Token) and r_.type == "PRIME":
                prime = True
            else:
                args = r_
        values, seps = args
        sub_v = None if sub is None else sub.a
        if isinstance(name, HatName):
            raise ReadError(f"{name} applied to arguments")
        if sub is not None and sub.kind != "expr":
            raise _no_reading(sub_v, name)
        if name in ("f", "g") and sub is None:
            if len(values) != 1:
                raise ReadError(f"{name}(…) takes one argument")
            fx = Function(name, positive=True)(values[0])
            return Derivative(fx, values[0]) if prime else fx
        if prime:
            raise ReadError(f"{name}' is not understood (only f'(x) in a lemma)")
        if name == r"\tau" and sub is None and len(values) == 1 and values[0] == i:
            self._note("τ(i) read as τ^{(i)}, the i-th sampled trajectory")
            return Sample(i)
        if name == "P" or name == "p":
            return self._probability(values, seps, sub_v, name=name)
        if name == r"\pi":
            return self._policy(values, seps, sub_v)
        if name in (r"\mu", r"\rho"):
            if name == r"\rho" and sub_v != 0:
                raise ReadError("ρ without the subscript 0 (ρ_0(s_0) is the start distribution)")
            if name == r"\mu" and sub is not None:
                raise _no_reading(sub_v, name)
            if len(values) == 1 and isinstance(values[0], State) and values[0].args[1] == 0:
                return InitialDistribution(values[0])
            raise ReadError(f"{name}(…) is the start distribution: it takes s_0 (s_1 in 1-based time)")
        if name in ("R", "J", "b") and sub is not None:
            raise _no_reading(sub_v, name)
        if name == "R":
            if len(values) == 1 and _is_traj(values[0]):
                return Return(values[0])
            raise ReadError("R(…) takes a trajectory")
        if name == "J":
            if len(values) == 1 and (values[0] == theta or values[0] == PI_THETA):
                return Objective(theta)
            raise ReadError("J(…) takes θ or π_θ")
        if name == "b":
            if len(values) == 1 and isinstance(values[0], State):
                return Baseline(values[0])
            raise ReadError("b(…) is a baseline: it takes a state s_t")
        raise ReadError(f"unknown function {name}(…)")

    def qfun(self, _q, greek, *rest):
        """Q^π(s_t, a_t), Q^{π_θ}(s_t, a_t): Q_t(s_t, a_t), the expected (discounted) return from step t on."""
        sub = next((r_ for r_ in rest if isinstance(r_, _Sub)), None)
        values, seps = next(r_ for r_ in rest if isinstance(r_, tuple))
        if greek.value != r"\pi" or (sub is not None and (sub.kind != "expr" or sub.a != theta)):
            raise ReadError("Q^{…}(…): the action value is read for the policy π or π_θ only (Q^{\\pi_\\theta}(s_t, a_t))")
        if len(values) != 2 or seps != [","] or not isinstance(values[0], State) or not isinstance(values[1], Action):
            raise ReadError("Q^π(…) takes a state and an action at one step: Q^π(s_t, a_t)")
        st, ac = values
        if st.args != ac.args:
            raise ReadError(f"Q^π({_show_step(st)}, {_show_step(ac)}): the state and the action are of different steps "
                            f"or trajectories")
        self._note("Q^π(s_t, a_t) read as Q_t(s_t, a_t) = E[Σ_{u≥t} γ^{u−t} r_u | s_t, a_t] under π_θ "
                   "(the action value at step t: in a finite horizon it depends on t)")
        return QValue(st.args[1], st, ac)

    def _probability(self, values, seps, sub_v, *, name="P"):
        head = values[0]
        if _is_traj(head):
            rest = values[1:]
            if rest and not (len(rest) == 1 and rest[0] == theta):
                raise ReadError("P(τ …): only θ may follow the bar or ;")
            if sub_v not in (None, theta):
                raise ReadError("P_…(τ): only θ as a subscript")
            bare = not rest and sub_v is None
            self._traj_forms.add((name, bare))
            if len(self._traj_forms) > 1 and any(bare_ for _, bare_ in self._traj_forms):
                # p(τ) beside p_θ(τ) (or P(τ;θ)): the line distinguishes two distributions on purpose.
                raise ReadError(f"{name}(τ) without θ in a line that also writes a trajectory probability with θ "
                                f"(or another letter): two distributions, or one? derive reads {name}(τ) as P(τ;θ) "
                                f"only where no other form is written")
            if bare:
                self._note("P(τ) read as P(τ;θ), the probability of τ under π_θ")
            return TrajectoryProbability(head, theta)
        if sub_v is not None:
            raise ReadError("P with a subscript")
        if isinstance(head, State) and len(values) == 1:
            if head.args[1] == 0:
                return InitialDistribution(head)
            raise ReadError("P(s_k) for a later step k: the marginal distribution of s_k is not in derive's notation")
        if seps and seps[0] != "|":
            raise ReadError("P(… | …): the conditioning needs a bar")
        given = values[1:]
        if isinstance(head, State) and len(given) == 2:
            states = [g for g in given if isinstance(g, State)]
            actions = [g for g in given if isinstance(g, Action)]
            if len(states) == 1 and len(actions) == 1:
                return Transition(head, states[0], actions[0])
            raise ReadError("P(s' | …): the dynamics condition on one state and one action")
        if isinstance(head, Reward) and len(given) == 2:
            states = [g for g in given if isinstance(g, State)]
            actions = [g for g in given if isinstance(g, Action)]
            if len(states) == 1 and len(actions) == 1:
                traj, k = head.args
                if states[0].args == (traj, k) and actions[0].args == (traj, k):
                    return RewardProbability(traj, k)
                raise ReadError("P(r_k | a_j, s_l) with j or l ≠ k: derive's reward model is P(r_k | a_k, s_k)")
        raise ReadError("P(…): not a trajectory probability, a transition, a reward probability or μ")

    def _policy(self, values, seps, sub_v):
        head = values[0]
        if sub_v not in (None, theta):   # π_H, π_0, π_{old}: another policy, never π_θ
            raise _no_reading(sub_v, r"\pi")
        if _is_traj(head):
            if any(v_ != theta for v_ in values[1:]):
                raise ReadError("π(τ …): only θ may follow the bar")
            if sub_v == theta or (len(values) == 2 and values[1] == theta):
                self._traj_forms.add((r"\pi", False))
                if any(bare_ for _, bare_ in self._traj_forms):
                    raise ReadError("P(τ) without θ in a line that also writes π(τ|θ): two distributions, or one?")
                self._note("π(τ|θ) read as the trajectory's probability P(τ;θ)")
                return TrajectoryProbability(head, theta)
            raise ReadError("π(τ …) needs θ")
        if not seps or seps[0] != "|":
            raise ReadError("π(a | s): the policy needs a bar")
        given = values[1:]
        extra = [g for g in given if g == theta]
        rest = [g for g in given if g != theta]
        if sub_v != theta and not extra:
            raise ReadError("π(a | s) without θ: write π_θ(a|s) or π(a|s,θ)")
        if len(rest) != 1:
            raise ReadError("π_θ(a | s): one state after the bar")
        a_, s_ = head, rest[0]
        if not (isinstance(a_, Action) or a_ == b) or not (isinstance(s_, State) or s_ == x):
            raise ReadError("π_θ(a | s): an action before the bar and a state after it")
        return Policy(a_, s_, theta)

    def _gradient(self, sub, body):
        if sub.kind != "expr":   # ∇_{θ=θ_0}: an evaluation point is no part of derive's ∇_θ
            raise ReadError("∇ with a subscript that is not one variable has no reading")
        var = sub.a
        if var == theta:
            return Derivative(body, theta)
        if var == LEMMA_VAR:
            return Derivative(body, LEMMA_VAR)
        raise ReadError(f"∇_{sp.sstr(var)}: only ∇_θ (or ∇_x in a lemma)")

    def nabla(self, tok, *rest):
        sub, body = self._nabla_sub(rest)
        out = self._gradient(sub, body)
        self._alive.append(out)
        if sub.a == theta and id(body) not in self._grouped:
            self._narrow.add(id(out))
        if id(body) in self._open_log and id(body) not in self._grouped:   # ∇ \log f g: the log's scope question is this factor's too
            arg, inner = self._open_log[id(body)]
            self._open_log[id(out)] = (arg, lambda extra: self._gradient(sub, inner(extra)))
        return out

    def log(self, tok, body):
        if tok.value == "log":
            self._note("'log' without a backslash read as \\log")
        value = _rebuilt(body) if isinstance(body, Expr) else body
        if isinstance(value, Expr) and value.is_number and value.is_extended_real and value.is_nonpositive:
            # log(0·t) too: 0 for every t, so undefined everywhere, not a condition on t
            raise ReadError(f"\\log {sp.sstr(body)}: the log of a number ≤ 0 is undefined")
        out = sp.log(body, evaluate=False)
        self._alive.append(out)
        if id(body) not in self._grouped and not isinstance(body, (_Dots, _Trailing, _Factors, SetLiteral)):
            self._open_log[id(out)] = (body, lambda extra: sp.log(sp.Mul(body, *extra, evaluate=False), evaluate=False))
        return out

    def frac(self, tok, num, den):
        if isinstance(den, Expr) and _rebuilt(den).is_zero:   # 0 or 0·t: 0 whatever t is
            raise ReadError(f"\\frac{{{sp.sstr(num)}}}{{{sp.sstr(den)}}} divides by 0")
        return fraction(num, den)

    def dfrac_applied(self, tok, d1, d2, var, body):
        v = self._token_value(var)
        if v != LEMMA_VAR and v != theta:
            raise ReadError("d/d… only in θ or x")
        return Derivative(body, v)

    def group(self, e):
        self._alive.append(e)
        self._grouped.add(id(e))
        self._open_log.pop(id(e), None)   # [\log f] g: the bracket closes the log's scope
        return e

    def power(self, base, exp):
        if isinstance(exp, Token):
            exp = self._token_value(exp)
        if isinstance(base, Expr) and base.is_number and isinstance(exp, Expr) and exp.is_number:
            value = _rebuilt(exp)
            if value.is_Rational and not value.is_Integer and not (base.is_extended_real and base.is_nonnegative):
                # Every quantity of a derivation is real: SymPy's (−1)^{1/2} is i, and its square −1.
                raise ReadError(f"({sp.sstr(base)})^{{{sp.sstr(value)}}}: a fractional power of a negative number "
                                f"(SymPy's (−1)^{{1/2}} is i, its square −1); derive reads x^{{p/q}} for x ≥ 0 only")
        if isinstance(base, Expr) and base.is_number and isinstance(exp, Expr) and exp.is_Rational:
            # The size of the result, not of the written exponent: (10^{9999})^{9999} is a number of
            # 10^8 digits although each exponent is small. Bounded before SymPy builds it.
            digits = None
            if base.is_Rational and base != 0:   # the size itself: |k| · log10 of the base's numerator or denominator
                digits = int(_ceil_abs(exp) * math.log10(max(abs(int(base.p)), int(base.q)))) + 1
            _refuse_big(number_bits(base) * _ceil_abs(exp), "a power", digits)
            if base.is_zero and exp.is_negative:
                raise ReadError(f"0^{{{sp.sstr(exp)}}} divides by 0")
            return sp.Pow(base, exp)
        if isinstance(exp, Expr) and exp.is_Integer and abs(exp) > MAX_POWER:
            # Refused before SymPy builds the number (10^{10^9} would not finish).
            raise ReadError(f"the exponent {exp} is past the limit of {MAX_POWER:,}")
        if isinstance(base, Expr) and base.is_number and isinstance(exp, Expr):
            # 1^{1/(m−7)} is 1 to SymPy, but undefined at m = 7 as written.
            # Rebuilt whole: a later rebuild would make 2^{0^{H−3} − 0^{H−3}} 2⁰ all the same, dropping H ≥ 3.
            return _kept_or_refused(sp.Pow(base, exp, evaluate=False), _rebuilt(sp.Pow(base, exp)), "power")
        if isinstance(base, Expr) and isinstance(exp, Expr) and exp.is_Integer and exp >= 0:
            return sp.Pow(base, exp, evaluate=False)   # (…)^2 as written: a product of equal factors
        raise ReadError(f"a power of {sp.sstr(base)}: only γ^k, numbers and whole powers k ≥ 0 of an expression")

    def app_power(self, app, exp):
        return self.power(app, exp)

    def placeholder_app(self, name, *rest):
        raise ReadError(f"{name}(\\cdot|…): a distribution over actions, as in E_{{a∼π(·|s)}}[…], is not in derive's "
                        "notation (its E is over τ ∼ π_θ); write the expectation over one action as "
                        "\\sum_a \\pi_\\theta(a|s) …")

    def expect(self, tok, *rest):
        sub, body = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
        if sub is not None:
            ok = sub.kind == "sim" and sub.a == tau and (sub.b in (PI_THETA,) or
                                                          sub.b == TrajectoryProbability(tau, theta))
            if not ok and not (sub.kind == "expr" and sub.a == tau):
                raise ReadError(_subscript_message(sub))
            return Expectation(body, tau)
        # No subscript: the expectation over all the randomness of its argument, τ and the samples τ^(k).
        return SampleExpectation(Expectation(body, tau))

    def integral(self, tok, limits, body, d, var):
        lo, hi = limits
        v = self._token_value(var)
        if v != tau or hi is not None or (lo is not None and (lo.kind != "expr" or lo.a != tau)):
            raise ReadError("∫ … d…: only an integral over trajectories, ∫_τ … dτ")
        self._note("∫_τ … dτ read as Σ_τ: the trajectories of a finite MDP are a finite set")
        return self._trajectory_sum(body)

    def cancel(self, tok, e):
        self._note("\\cancel{…} read as written: the term stays in this line")
        return e

    def underbrace(self, tok, e, text):
        if isinstance(e, sp.Mul):
            return _Factors(tuple(e.args))
        return e

    def dots(self, tok):
        return DOTS

    def set_literal(self, *items):
        vals = [it for it in items if not (isinstance(it, Token) and it.type in ("LSET", "RSET", "COMMA"))]
        if any(isinstance(v, (_Trailing, _Factors)) for v in vals):
            raise ReadError("a set of products")
        return SetLiteral(tuple(vals))

    def tuple_literal(self, *items):
        vals = [it for it in items if not (isinstance(it, Token) and it.type == "COMMA")]
        if any(isinstance(v, (_Trailing, _Factors)) for v in vals):
            raise ReadError("a tuple of products")
        return SetLiteral(tuple(vals), tuple_form=True)

    # -- \dots patterns -------------------------------------------------------------------
    def _broken(self, pairs, kind: str) -> None:
        """(written, expected) where a \\dots pattern breaks, with what it is written in (a sum or a product)."""
        self.patterns.extend(pairs)
        self.pattern_kinds.extend(["sum" if kind == "sum" else "product"] * len(pairs))

    def _pattern(self, items, *, kind: str):
        """A product or sum written term by term with \\dots: the repeated block and its end.

        The block's length comes from the kinds of the factors (π, P(s'|s,a), P(r|s,a), …); each
        place in the block takes the form most written factors agree with, so a factor that breaks
        the pattern is named wherever it is written, in the first terms or the last.
        """
        self._dotted = True
        k = items.index(DOTS)
        head, tail = items[:k], items[k + 1:]
        if DOTS in tail:
            raise ReadError("more than one \\dots in a product or sum")
        prefix = []
        while head and (not time_indices(head[0]) or _initial_only(head[0])):
            prefix.append(head.pop(0))
        if not head:
            raise ReadError("\\dots after no repeated factor")
        k0 = _first_step(head)
        p = _period(head)
        op = sp.Add if kind == "sum" else sp.Mul
        big = Sum if kind == "sum" else Product
        K = _last_step(tail) if tail else None
        if tail and K is None:
            raise ReadError("the factors after \\dots name no step")

        def combine(parts):
            parts = [f for f in parts if f != (0 if kind == "sum" else 1)]
            return parts[0] if len(parts) == 1 else op(*parts, evaluate=False)

        def tail_fit(block):
            """The best alignment of the tail on the block: (hits, c, expected factors)."""
            best_ = None
            for c_ in range(p):
                expected_ = []
                for back in range(len(tail)):
                    pos = back + c_
                    expected_.append(block[p - 1 - pos % p].xreplace({t: K - pos // p}))
                expected_.reverse()
                hits_ = sum(_same(a_, e_) for a_, e_ in zip(tail, expected_))
                if best_ is None or hits_ > best_[0]:
                    best_ = (hits_, c_, expected_)
            return best_

        # Candidate forms of each place of the block, from the written head (first written first).
        cands = [[] for _ in range(p)]
        # With γ in the terms, a power of γ may count the steps (r_0 + γ r_1 + γ^2 r_2 + …) or be
        # a constant factor (γ r_0 + γ r_1 + …): both forms are candidates, the written terms decide.
        discounted = any(isinstance(f, sp.Basic) and f.has(gamma) for f in head + tail)
        shifts = (shift_time, _shift_discount) if discounted else (shift_time,)

        def add(j, f, d):
            for shift in shifts:
                form = shift(f, d)
                if not any(_same(form, g) for g in cands[j]):
                    cands[j].append(form)

        for idx, f in enumerate(head):
            add(idx % p, f, t - (k0 + idx // p))
        for c_ in range(p if tail else 0):   # and the forms the last terms give, in each alignment
            for back in range(len(tail)):
                pos = back + c_
                add(p - 1 - pos % p, tail[len(tail) - 1 - back], t - (K - pos // p))
        # Each place of the block takes the form most written factors agree with (head and tail,
        # the tail in each of its p alignments); on a tie, the model's own form (π(a_t|s_t),
        # P(s_{t+1}|s_t,a_t), P(r_t|a_t,s_t)), then the first written.
        best = None
        for c_ in range(p if tail else 1):
            occ = [[] for _ in range(p)]
            for idx, f in enumerate(head):
                occ[idx % p].append((f, k0 + idx // p))
            for back in range(len(tail)):
                pos = back + c_
                occ[p - 1 - pos % p].append((tail[len(tail) - 1 - back], K - pos // p))
            block_, total, tied = [], 0, False
            for j in range(p):
                ranked = sorted(((sum(_same(f, form.xreplace({t: k_})) for f, k_ in occ[j]), _coherent(form), -n_)
                                 for n_, form in enumerate(cands[j])), reverse=True)
                top_ = ranked[0]
                tied = tied or (len(ranked) > 1 and ranked[1][:2] == top_[:2])
                block_.append(cands[j][-top_[2]])
                total += top_[0]
            if best is None or total > best[0]:
                best = (total, c_, block_, tied)
        _, c, block, tied = best
        head_expected = [block[idx % p].xreplace({t: k0 + idx // p}) for idx in range(len(head))]
        hits, c, expected = tail_fit(block) if tail else (0, 0, [])
        if tied:
            self._note(f"the {'sum' if kind == 'sum' else 'product'} written with \\dots fits more than one "
                       f"pattern equally well: read with the pattern of its first terms")

        def at(j):  # block factor j at step tt
            return lambda tt: block[j].xreplace({t: tt})

        head_breaks = [(a_, e_) for a_, e_ in zip(head, head_expected) if not _same(a_, e_)]
        what = "sum" if kind == "sum" else "product"
        if not tail:  # a trailing \dots: the pattern runs to the last step
            self._note(f"the {what} ending in \\dots read as its pattern continued to the last step")
            if not head_breaks:
                return combine(prefix + [big(combine([at(j)(t) for j in range(p)]), (t, k0, H))])
            self._broken(head_breaks, kind)
            return combine(prefix + list(head) + self._middle(head, k0, p, at, H + 1, 0, big, combine))
        back_blocks = (len(tail) - 1 + c) // p
        full = big(combine([at(j)(t) for j in range(p)]), (t, k0, K - back_blocks - 1))
        n_before = p * (back_blocks + 1) - c - len(tail)
        lead_part = [at(j)(K - back_blocks) for j in range(n_before)]
        dropped = [at(j)(K) for j in range(p - c, p)]
        closing = bool(dropped) and kind == "product" and all(isinstance(f, Transition) for f in dropped) and K == H
        if hits == len(tail) and not head_breaks:
            # The pattern holds: the whole product, each step k0..K once.
            if dropped:
                if closing:
                    self._note("the written trajectory ends before the transition out of its last state; derive's "
                               "trajectories carry that state, so its θ-free factor P(s_{n+1}|s_n,a_n) is included")
                else:
                    return combine(prefix + [full] + lead_part + list(tail))
            return combine(prefix + [big(combine([at(j)(t) for j in range(p)]), (t, k0, K))])
        self._broken(head_breaks, kind)
        self._broken([(a_, e_) for a_, e_ in zip(tail, expected) if not _same(a_, e_)], kind)
        if head_breaks:
            # The written first terms stay as written; the pattern fills the steps up to the last terms.
            st = K - back_blocks
            jt = n_before
            middle = self._middle(head, k0, p, at, st, jt, big, combine)
            parts = prefix + list(head) + middle + list(tail)
        else:
            self.min_horizon = max(self.min_horizon, int(back_blocks + k0) if K == H else 0)
            parts = prefix + [full] + lead_part + list(tail)
        if closing:
            parts += dropped
        return combine(parts)

    def _middle(self, head, k0, p, at, st, jt, big, combine):
        """The factors between the written first terms and place jt of step st (the pattern's own)."""
        sh, jh = k0 + len(head) // p, len(head) % p
        first = sh + (1 if jh else 0)    # the first step the pattern writes whole
        need = st - first                # ≥ 0 when the first and the last terms do not overlap
        need = sp.sympify(need)
        if need.free_symbols - {H}:
            raise ReadError("the steps of the terms written before and after \\dots cannot be compared")
        if need.has(H):
            h0 = next((h_ for h_ in range(0, 200) if need.subs(H, h_) >= 0), None)
            if h0 is None:
                raise ReadError("the terms written before and after \\dots overlap for every horizon")
            self.min_horizon = max(self.min_horizon, h0)
        elif need < 0:
            raise ReadError("the terms written before and after \\dots overlap")
        parts = [at(j)(sh) for j in range(jh, p)] if jh else []
        parts.append(big(combine([at(j)(t) for j in range(p)]), (t, first, st - 1)))
        parts += [at(j)(st) for j in range(jt)]
        return parts


def _constant(e) -> bool:
    """A factor no reader differentiates: a number, γ, 1/m, … (θ-free, no MDP quantity)."""
    return isinstance(e, Expr) and not _depends_on_theta(e) and e.free_symbols <= {gamma, m, H, T_LETTER, N_LETTER} \
        and not e.has(State, Action, Reward, Return, Baseline, Sample, TrajectorySum, Expectation)


def _no_reading(sub_v, name) -> ReadError:
    """The refusal of a subscript derive has no reading for (never dropped)."""
    from ..latex import to_latex

    shown = "{…}" if sub_v is None else "{%s}" % (to_latex(sub_v) if isinstance(sub_v, sp.Basic) else sub_v)
    return ReadError(f"the subscript _{shown} on {name} has no reading in derive's notation")


def _speaks_of_sample(body, var) -> bool:
    return isinstance(body, sp.Basic) and any(var in smp.args[0].free_symbols for smp in body.atoms(Sample))


def _speaks_of_sample_i(body) -> bool:
    return isinstance(body, sp.Basic) and any(i in smp.args[0].free_symbols for smp in body.atoms(Sample))


def sample_mean(e) -> bool:
    """Whether e is a random quantity of the samples: a mean over τ^(1..m) (m free), or a Σ over
    samples i with written limits (the same mean with m = n), outside any E[…] that averages the
    samples. Such a side equals a number only in expectation, so a step between it and a number is
    checked as an estimator."""
    if not isinstance(e, sp.Basic):
        return False
    averaged = {a_: sp.Dummy() for a_ in sp.preorder_traversal(e) if isinstance(a_, SampleExpectation)}
    if averaged:
        e = e.xreplace(averaged)
    if m in e.free_symbols:
        return True
    return any(isinstance(s_, Sum) and any(v == i and lo.is_Integer and hi.is_Integer for v, lo, hi in s_.limits)
               and _speaks_of_sample_i(s_.function) for s_ in sp.preorder_traversal(e))


def random_side(e) -> bool:
    """Whether e depends on the samples: a sample mean, or a sample τ^(k) outside any E[…] that averages it."""
    if not isinstance(e, sp.Basic):
        return False
    averaged = {a_: sp.Dummy() for a_ in sp.preorder_traversal(e) if isinstance(a_, SampleExpectation)}
    return sample_mean(e) or e.xreplace(averaged).has(Sample)


def _own_factor(e) -> bool:
    """A factor of P(τ;θ) at τ's own steps: π_θ(a_t|s_t), μ(s_0), P(s_{t+1}|s_t,a_t), P(r_t|s_t,a_t) of the summed τ."""
    if not isinstance(e, (Policy, InitialDistribution, Transition, RewardProbability)):
        return False
    args = [a_ for a_ in e.args if a_ != theta]
    return bool(args) and all(isinstance(a_, (State, Action, Reward)) and a_.args[0] in (tau, UNMARKED) for a_ in args)


def _has_own_factor(e) -> bool:
    return isinstance(e, sp.Basic) and any(_own_factor(f) for f in sp.preorder_traversal(e))


def _needs_support(body) -> bool:
    """Whether a Σ_τ body is read over P(τ;θ) > 0: it divides by or takes the log of P(τ;θ), or of a factor of it while weighted by it."""
    if any(isinstance(e, sp.Pow) and e.exp.is_negative and e.base.has(TrajectoryProbability)
           or isinstance(e, sp.log) and e.args[0].has(TrajectoryProbability) for e in sp.preorder_traversal(body)):
        return True
    # Σ_τ P(τ;θ) Σ_t log π_θ(a_t|s_t) …: a log of a factor of P(τ;θ) is log 0 exactly where P(τ;θ) = 0,
    # so the sum weighted by P(τ;θ) is the expectation, over the trajectories with P(τ;θ) > 0 (and the
    # strict sum over all τ would be undefined on a boundary policy while the DP route gives the expectation).
    return _weighted_by_probability(body) and any(
        isinstance(e, sp.Pow) and e.exp.is_negative and _has_own_factor(e.base)
        or isinstance(e, sp.log) and _has_own_factor(e.args[0]) for e in sp.preorder_traversal(body))


def _weighted_by_probability(body) -> bool:
    """Whether body is P(τ;θ) times something: a factor of its product (nested products flattened)."""
    todo, seen = [body], []
    while todo:
        e = todo.pop()
        if isinstance(e, sp.Mul):
            todo.extend(e.args)
        else:
            seen.append(e)
    return any(isinstance(f, TrajectoryProbability) and f.args[0] in (tau, UNMARKED) for f in seen)


def expectation_problem(sides) -> str:
    """Why a line cannot be read as written: an E_{τ∼π_θ}[…] around samples τ^(k) ('' when none).

    The subscript names τ alone, so whether the samples are averaged too is ambiguous: E[…]
    without a subscript averages every sample, and a sample kept outside the brackets stays random.
    """
    for side in sides:
        if not isinstance(side, sp.Basic):
            continue
        inner = {id(a_.inner) for a_ in sp.preorder_traversal(side) if isinstance(a_, SampleExpectation)}
        for e in sp.preorder_traversal(side):
            if isinstance(e, Expectation) and id(e) not in inner and e.body.has(Sample):
                smp = sorted(e.body.atoms(Sample), key=sp.default_sort_key)[0]
                return (f"E_{{τ∼π_θ}}[…] around the sample {_sample_text(smp)}: the subscript names τ alone, so "
                        f"whether the samples are averaged too is ambiguous; write \\mathbb{{E}}[…] without a "
                        f"subscript for the expectation over every sample")
    return ""


def number_bits(e) -> int:
    """An upper bound on the bits of the numbers e builds when evaluated (numerator and denominator).

    Integers count their bits; a power b^k counts |k| times the bits of b; a product, a sum, a
    quotient count the bits of their parts added (a sum of fractions multiplies denominators);
    a Σ or Π with numeric limits counts its body once per term. Symbols count 0.
    """
    if not isinstance(e, sp.Basic):
        return 0
    if e.is_Rational:
        return max(abs(int(e.p)).bit_length(), int(e.q).bit_length())
    if e.is_Atom:
        return 0
    if isinstance(e, sp.Pow) and e.exp.is_Rational:
        return number_bits(e.base) * _ceil_abs(e.exp) + number_bits(e.exp)
    if isinstance(e, (Sum, Product)):
        count = 1
        for _, lo, hi in e.limits:
            lo_, hi_ = sp.sympify(lo), sp.sympify(hi)
            if lo_.is_Integer and hi_.is_Integer:
                count *= max(int(hi_) - int(lo_) + 1, 1)
        return number_bits(e.function) * count + sum(number_bits(lim) for lim in e.limits)
    return sum(number_bits(a_) for a_ in e.args) + len(e.args)


def _int_of(digits: str) -> int:
    """A written integer (any length up to the limit: CPython's int() refuses past 4,300 digits)."""
    if len(digits) > MAX_DIGITS:
        raise ReadError(f"a number written with {len(digits):,} digits, past the limit of {MAX_DIGITS:,} digits")
    out = 0
    for k in range(0, len(digits), 4000):
        chunk = digits[k:k + 4000]
        out = out * 10 ** len(chunk) + int(chunk)
    return out


def _ceil_abs(q) -> int:
    q = Fraction(int(q.p), int(q.q))
    return -((-abs(q.numerator)) // q.denominator)


def _refuse_big(bits: int, what: str, digits: int | None = None) -> None:
    if bits > _MAX_BITS:
        digits = bits * 30103 // 100000 if digits is None else digits
        size = f"about {digits:,}" if digits < 10**15 else "more than 10^15"
        raise ReadError(f"{what} that would build a number of {size} digits, past the limit of {MAX_DIGITS:,} "
                        f"digits: refused before it is built (the check stays exact below the limit)")


def _refuse_big_side(side) -> None:
    """_refuse_big for a side; where a Σ or Π counted term by term makes the bound, the message names it."""
    if number_bits(side) <= _MAX_BITS:
        return
    from ..latex import integer_latex

    for e in sp.preorder_traversal(side):
        if not isinstance(e, (Sum, Product)):
            continue
        count = 1
        for _, lo, hi in e.limits:
            lo_, hi_ = sp.sympify(lo), sp.sympify(hi)
            if lo_.is_Integer and hi_.is_Integer:
                count *= max(int(hi_) - int(lo_) + 1, 1)
        if count > 1 and number_bits(e.function) * count > _MAX_BITS:
            what, name = (r"\sum", "sum") if isinstance(e, Sum) else (r"\prod", "product")

            def short(n: int) -> str:
                text = integer_latex(n)
                return text if not text.startswith("(") else f"about 10^{{{len(str(n)) - 1}}}"

            var, lo, hi = e.limits[0]
            upper = short(int(hi)) if sp.sympify(hi).is_Integer else sp.sstr(hi)
            raise ReadError(f"{what}_{{{sp.sstr(var)}={sp.sstr(lo)}}}^{{{upper}}} has {short(count)} terms: derive "
                            f"bounds the numbers a side builds term by term, and this bound is past the limit of "
                            f"{MAX_DIGITS:,} digits; refused before it is built (write the {name}'s value, or fewer "
                            f"terms)")
    _refuse_big(number_bits(side), "a side")


def _depends_on_theta(e) -> bool:
    from ..notation import Expectation as _E, Objective as _J

    return isinstance(e, sp.Basic) and (theta in e.free_symbols or e.has(TrajectoryProbability, Policy, _J, _E))


def _initial_only(f) -> bool:
    return f.has(InitialDistribution) and not f.has(Action, Reward, RewardProbability, Transition, Policy)


def _first_step(factors):
    acts = [e.args[1] for f in factors for e in sp.preorder_traversal(f) if isinstance(e, Action)]
    if acts:
        return min(acts, key=lambda k: (sp.sympify(k).subs(H, 10**6)))
    return min(time_indices(factors[0]))


def _last_step(factors):
    acts = [e.args[1] for f in factors for e in sp.preorder_traversal(f) if isinstance(e, Action)]
    if acts:
        return max(acts, key=lambda k: (sp.sympify(k).subs(H, 10**6)))
    rewards = [e.args[1] for f in factors for e in sp.preorder_traversal(f) if isinstance(e, (Reward, RewardProbability))]
    if rewards:   # r_k is at step k
        return max(rewards, key=lambda k: (sp.sympify(k).subs(H, 10**6)))
    states = [k for f in factors for k in time_indices(f)]   # s_{k+1} ends step k
    return max(states, key=lambda k: sp.sympify(k).subs(H, 10**6)) - 1 if states else None


def _sample_text(e) -> str:
    return "τ^(%s)" % sp.sstr(e.args[0]) if isinstance(e, Sample) else sp.sstr(e)


def _skeleton(f):
    """A factor with its time indices and powers of γ erased: the kind of factor it is, whatever its step."""
    out = rebuild(f, lambda e: type(e)(e.args[0], 0) if isinstance(e, (State, Action, Reward, RewardProbability)) else e)
    return _canon(out.xreplace({gamma: sp.Integer(1)})) if isinstance(out, sp.Basic) else out


def _shift_discount(f, d):
    """f at a step d later, with its power of γ counting the steps too: γ^k r_k -> γ^{k+d} r_{k+d}."""
    shifted = shift_time(f, d)
    if not isinstance(shifted, sp.Basic):
        return shifted
    factors = list(shifted.args) if isinstance(shifted, sp.Mul) else [shifted]
    powers = [g for g in factors if g == gamma or isinstance(g, sp.Pow) and g.base == gamma]
    if len(powers) > 1:
        return shifted
    rest = [g for g in factors if g not in powers]
    exp = (powers[0].exp if isinstance(powers[0], sp.Pow) else sp.Integer(1)) if powers else sp.Integer(0)
    return sp.Mul(sp.Pow(gamma, _evaluated(exp + d), evaluate=False), *rest, evaluate=False)


def _period(head) -> int:
    """The length of the repeated block: the shortest period of the kinds of the written factors."""
    kinds = [_skeleton(f) for f in head]
    for q in range(1, len(kinds)):
        if all(kinds[j + q] == kinds[j] for j in range(len(kinds) - q)):
            return q
    return len(kinds)



def _canon(e):
    """e rebuilt with SymPy's own evaluation: two spellings of one product compare equal."""
    if not isinstance(e, sp.Basic) or e.is_Atom:
        return e
    return e.func(*[_canon(a_) for a_ in e.args])


def _same(a_, b_) -> bool:
    """Whether two terms of a \\dots pattern are one: equal as written, or by value with no condition lost.

    γ^H (m − 7)/(m − 7) r_H is γ^H r_H by value, but undefined at m = 7: the pattern in its place would drop that,
    so the line is refused (a ReadError), never read as the pattern.
    """
    if a_ == b_:
        return True
    if _canon(a_) != _canon(b_):
        return False
    for x, y in ((a_, b_), (b_, a_)):
        _kept_or_refused(x, y, "term of a sum or product written with \\dots")
    return True


def _coherent(form) -> bool:
    """Whether every factor of a block form is the model's own: π(a_k|s_k), P(s_{k+1}|s_k,a_k), P(r_k|a_k,s_k)."""
    for e in sp.preorder_traversal(form):
        if isinstance(e, Policy) and isinstance(e.args[0], Action) and isinstance(e.args[1], State):
            if sp.expand(e.args[0].args[1] - e.args[1].args[1]) != 0:
                return False
        if isinstance(e, Transition):
            nxt, cur, act = e.args[:3]
            if sp.expand(nxt.args[1] - cur.args[1] - 1) != 0 or sp.expand(act.args[1] - cur.args[1]) != 0:
                return False
    return True


def log_over_big(why) -> bool:
    """A \\log reading whose argument runs into a \\prod: neither reading is the usual one."""
    return why[0] == "log" and any(isinstance(r_, Product) for r_ in why[2])


def _is_operator(e) -> bool:
    """A factor that starts with an operator (∇, log, Σ, Π, E, ∫): no log before it reaches into it."""
    from ..notation import Expectation as _E

    return isinstance(e, (Derivative, sp.log, Sum, Product, TrajectorySum, _E, ActionSum))
