"""Readings -> steps -> checks: a whole document checked line by line with derive's engine.

Consecutive sides joined by ``=`` are steps; a row that starts with ``=`` continues the chain
above; a row whose left side starts an earlier chain continues that chain. A step from a
number to a sample mean over τ^(1..m) is checked as an estimator (derive's ``unbiased``
relation): when written with ``=`` it "holds in expectation, written as an equality". Every
step is checked by :func:`derive.check.check_step` on the battery that fits the document
(random rewards when rewards appear). General calculus lemmas in x and a function f are
proved symbolically for a positive f; update rules (``\\leftarrow``) are recognised, not checked.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field, replace

import sympy as sp
from lark import Token, Tree
from sympy import Derivative, Expr, Function, Product, Sum

from ..battery import BATTERIES
from ..check import check_step
from ..derivation import EQUAL, POSITIVE_PROBABILITY, UNBIASED
from ..latex import to_latex
from ..notation import (gamma, H, Reward, RewardProbability, Sample, SampleExpectation, State, Action, TrajectorySum,
                        i, m, t, tau)
from ..report import FAILED, PROVED, UNDECIDED, StepReport, m_domain
from ..symbolic import same_form
from .extract import Row, def_macros, extract_rows, macros, macros_at, mask
from .rows import equations
from .parse import NotUnderstood, parse_tree, read_row
from .transform import (LEMMA_VAR, N_LETTER, UNMARKED, HatName, IndexedHat, ReadError, Reading, SetLiteral,
                        log_over_big, rebuild, shift_time, substituted)

__all__ = [
    "HOLDS", "IN_EXPECTATION", "FAILS", "NOT_UNDERSTOOD", "UNDECIDED_LINE", "UPDATE_RULE", "DEFINITION",
    "NO_CLAIM", "AMBIGUOUS", "AMBIGUOUS_UNDECIDED", "NOT_SHOWN", "ESTIMATE", "LONE", "LineReport", "DocumentReport", "check_text", "document_time",
]

HOLDS = "holds"
IN_EXPECTATION = "holds in expectation, written as an equality"
FAILS = "fails"
NOT_UNDERSTOOD = "not understood"
UNDECIDED_LINE = "undecided"
UPDATE_RULE = "update rule (an algorithm step, not an equation: nothing to check)"
DEFINITION = "definition"
NO_CLAIM = "no claim (an expression on its own)"
LONE = "no claim: an expression displayed on its own, which no line continues (nothing checked, no pass)"
AMBIGUOUS = "ambiguous: one reading holds and the other fails"
AMBIGUOUS_UNDECIDED = "ambiguous: one reading fails and the other is undecided"
ESTIMATE = "holds in expectation (written with ≈: the last side estimates the first)"
NOT_SHOWN = "not shown: a line of the chain does not hold"
_NEUTRAL = (UPDATE_RULE, DEFINITION, NO_CLAIM)


@dataclass(frozen=True)
class LineReport:
    """What derive found on one row of the document."""

    line: int
    column: int
    latex: str                      # the row as written
    reading: str                    # derive's reading, in the document's notation
    verdict: str
    kind: str                       # "step" | "claim" | "lemma" | "update rule" | "definition" | "expression" | "result"
    justification: str = ""
    notes: tuple[str, ...] = ()
    detail: str = ""                # why it fails or is not understood
    steps: tuple[StepReport, ...] = ()
    end: int = -1                   # source offset just after the row (-1: not a row of the source)
    block: int = -1                 # the display the row belongs to
    start: int = -1                 # source offset of the row
    unknown: bool = False           # an environment derive does not read (its mark goes before it)
    display_end: int = -1           # where one mark for the whole display goes (-1: inline)
    own_tags: bool = False          # the display takes a \tag per row (align), not one for all rows ($$)
    usual_decided: bool = False     # two readings disagree and the usual one (\log f g as (\log f) g) decided

    @property
    def ok(self) -> bool:
        return self.verdict in (HOLDS, ESTIMATE) or self.verdict in _NEUTRAL

    def to_dict(self) -> dict:
        return {
            "line": self.line, "column": self.column, "latex": self.latex, "reading": self.reading,
            "verdict": self.verdict, "ok": self.ok, "kind": self.kind, "justification": self.justification,
            "notes": list(self.notes), "detail": self.detail, "steps": [s.to_dict() for s in self.steps],
            "usual_reading_decided": self.usual_decided,
        }


@dataclass(frozen=True)
class DocumentReport:
    path: str
    lines: tuple[LineReport, ...]
    battery: str
    instances: int
    base: int
    seconds: float = 0.0
    notes: tuple[str, ...] = ()     # about the whole document (an ambiguous time base)
    seed: int | None = None         # the run's seed: battery, primes, directions and sample counts

    @property
    def verified(self) -> bool:
        """Every row held or was neutral, and at least one claim was shown to hold (nothing shown is no pass)."""
        return all(r.ok for r in self.lines) and any(r.verdict == HOLDS and r.kind != "result" for r in self.lines)

    @property
    def usual_decided(self) -> tuple[int, ...]:
        """The lines whose two readings disagree and whose verdict the usual reading decided."""
        return tuple(r.line for r in self.lines if r.usual_decided)

    def to_dict(self) -> dict:
        return {"path": self.path, "verified": self.verified, "battery": self.battery, "instances": self.instances,
                "time_base": self.base, "seconds": round(self.seconds, 3), "notes": list(self.notes),
                "seed": self.seed, "usual_reading_decided_lines": list(self.usual_decided),
                # The first sample count every line that held is a claim for (2 when one divides by m − 1).
                "m_from": m_domain([st for r in self.lines for st in r.steps]),
                "lines": [r.to_dict() for r in self.lines]}


@dataclass
class _Chain:
    start: Expr
    last: Expr
    line: int
    steps: int = 0
    min_horizon: int = 0
    good_line: int = 0
    approx: bool = False   # an estimator step was written with ≈
    rows: list = field(default_factory=list)
    verdicts: list = field(default_factory=list)   # (line, column, verdict, step reports) of each row of the chain
    written_last: Expr | None = None               # the last right side as written (held or not)


# -- printing in the document's own time ---------------------------------------------------

def document_time(expr, base: int):
    """An expression of derive's 0-based time printed back in the document's time (n = H + 1)."""
    if base == 0 or not isinstance(expr, sp.Basic):
        return expr
    from .transform import TimeHat

    steps = (State, Action, Reward, RewardProbability, TimeHat)

    def back(e, var):  # inside a sum over var: var -> var - 1 everywhere (indices, γ's exponent, a bare t)
        if e == var:
            return var - 1
        if isinstance(e, sp.Add) and var in e.free_symbols:
            return sp.Add(*e.args)   # (t - 1) + 1 printed as t
        return e

    def sums(e):
        if isinstance(e, (Sum, Product)) and len(e.limits) == 1 and e.limits[0][0] != i:
            var, lo, hi = e.limits[0]
            return type(e)(rebuild(e.function, lambda f: back(f, var)), (var, lo + 1, hi + 1))
        return e

    def shift(e):
        if isinstance(e, steps):
            return type(e)(e.args[0], (e.args[1] + 1).xreplace({H: N_LETTER - 1}))
        if isinstance(e, (Sum, Product)):
            return type(e)(e.function, *[(v, lo.xreplace({H: N_LETTER - 1}), hi.xreplace({H: N_LETTER - 1}))
                                         for v, lo, hi in e.limits])
        return e

    return rebuild(rebuild(expr, sums), shift)


def _show(expr, base: int) -> str:
    if isinstance(expr, SetLiteral):
        opening, closing = ("(", ")") if expr.tuple_form else (r"\{", r"\}")
        return opening + ", ".join(r"\dots" if not isinstance(x, sp.Basic) else to_latex(document_time(x, base), as_written=True)
                                   for x in expr.items) + closing
    return to_latex(document_time(expr, base), as_written=True)


def _factor_text(expr, base: int) -> str:
    """expr printed as one factor of a product: a sum (or a negated term) in brackets, as it was written."""
    text = _show(expr, base)
    if isinstance(expr, sp.Add) or isinstance(expr, sp.Basic) and expr.could_extract_minus_sign():
        return r"\left(%s\right)" % text
    return text


def _hat_parameter(e):
    """The index a defining side Â_t or R̂^{(i)} binds: (kind, variable, offset), or None for ĝ; and a problem."""
    if not isinstance(e, IndexedHat):
        return None, ""
    k = sp.sympify(e.index)
    syms = k.free_symbols
    if len(syms) == 1:
        v = next(iter(syms))
        c = sp.expand(k - v)
        if c.is_Integer and (e.kind == "time" or c == 0):
            return (e.kind, v, c), ""
    shown = "_{%s}" % sp.sstr(k) if e.kind == "time" else "^{(%s)}" % sp.sstr(k)
    return None, (f"{e.hat.name}{shown} defined at an index that is not one variable: the subscript has no "
                  f"reading (define it at t, or at the sample i)")


def _indexed_hats(e, hats):
    """e with every Â_k replaced by the definition of Â at index k (and a problem, '' when none)."""
    found = [h for h in sp.preorder_traversal(e) if isinstance(h, IndexedHat)]
    if not found:
        return e, ""
    repl = {}
    for h in found:
        name = h.hat.name
        written = "%s_{%s}" % (name, sp.sstr(h.index)) if h.kind == "time" else "%s^{(%s)}" % (name, sp.sstr(h.index))
        if name not in hats:
            return e, f"{written} is used before a line defines {name}"
        body, line, param = hats[name]
        if param is None or param[0] != h.kind:
            how = "without an index" if param is None else ("with a time index" if param[0] == "time" else
                                                             "with a sample index")
            return e, f"the index of {written} has no reading: line {line} defines {name} {how}"
        _, v, c = param
        bound = {lim[0] for x_ in sp.preorder_traversal(body) if isinstance(x_, (Sum, Product)) for lim in x_.limits}
        bound |= {x_.variable for x_ in sp.preorder_traversal(body) if hasattr(x_, "variable")
                  and isinstance(getattr(x_, "variable"), sp.Symbol)}
        if sp.sympify(h.index).free_symbols & (bound - {v}):
            return e, f"{written}: its index is a variable the definition on line {line} sums over"
        try:
            repl[h] = substituted(body, {v: _evaluated_index(h.index - c)})
        except ReadError as exc:   # the body written out at this index drops a condition (see derive.read.defined)
            return e, f"{written} written out as defined on line {line}: {exc}"
    try:
        return substituted(e, repl), ""
    except ReadError as exc:
        return e, f"{', '.join(sorted({h.hat.name for h in found}))} written out as defined: {exc}"


def _evaluated_index(k):
    k = sp.expand(sp.sympify(k))
    return k


def _writes_dynamics_only(rd) -> bool:
    """The line writes the dynamics P(s'|s,a) and no reward factor P(r|s,a)."""
    from ..notation import Transition

    basics = [s_ for s_ in rd.sides if isinstance(s_, sp.Basic)] if isinstance(rd, Reading) else []
    return any(s_.has(Transition) for s_ in basics) and not any(s_.has(RewardProbability) for s_ in basics)


def _writes_reward_factors(rd) -> bool:
    return isinstance(rd, Reading) and any(isinstance(s_, sp.Basic) and s_.has(RewardProbability) for s_ in rd.sides)


def trajectory_reading(readings, rows) -> tuple[bool, str]:
    """The one reading of P(τ;θ) and Σ_τ in a document with random rewards: (over paths, the note saying so).

    A written symbol has one meaning in a document. A document that writes a reward factor
    P(r_t|s_t,a_t) anywhere speaks of trajectories with their rewards on every line (a product
    that then omits the factor is checked as written); one that writes the dynamics but never a
    reward factor speaks of the path of states and actions, its rewards marginalised, on every line.
    """
    with_rewards = [r.line for r, rd in zip(rows, readings) if _writes_reward_factors(rd)]
    if with_rewards:
        return False, ("P(τ;θ) and Σ_τ read over whole trajectories, rewards included, on every line: line %s "
                       "writes the reward factor P(r_t|s_t,a_t)" % with_rewards[0])
    paths = [r.line for r, rd in zip(rows, readings) if _writes_dynamics_only(rd)]
    if paths:
        return True, ("P(τ;θ) and Σ_τ read over τ's states and actions (random rewards marginalised) on every line: "
                      "line %s writes the dynamics and no line writes a reward factor P(r_t|s_t,a_t)" % paths[0])
    return False, ""


def _missing_reward_factor(rd: Reading, first_line: int) -> Reading:
    """A line whose product omits the reward factors the document writes elsewhere: read as written, said so."""
    from ..notation import TrajectoryProbability

    basics = [s_ for s_ in rd.sides if isinstance(s_, sp.Basic)]
    if not (_writes_dynamics_only(rd) and any(s_.has(TrajectoryProbability, TrajectorySum) for s_ in basics)):
        return rd
    note = ("read as written, over whole trajectories: this line's product has no reward factor P(r_t|s_t,a_t), "
            "which line %s writes" % first_line)
    return replace(rd, notes=list(rd.notes) + [note])


def _path_probability(rd: Reading, *, document: bool = False) -> Reading:
    """With random rewards, a line that writes the dynamics but no P(r|s,a) speaks of τ's states and actions.

    τ records its rewards, so P(τ;θ) has the factors P(r_t|s_t,a_t); a line factorising it without
    them (μ Π π_θ P(s'|s,a), as every course writes it) means the probability of the path of states
    and actions, the rewards marginalised, and its Σ_τ sums over those paths, each term averaged
    over the rewards given its path (Σ_τ μ Π π_θ P R(τ) is then J(θ), as the line means). Every
    route reads it so: P(τ;θ) becomes :class:`PathProbability`, Σ_τ a :class:`PathSum`, which the
    prover, enumeration and the DP all expand into the same sum over whole trajectories.
    """
    from ..notation import PathProbability, PathSum, TrajectoryProbability, Transition

    basics = [s_ for s_ in rd.sides if isinstance(s_, sp.Basic)]
    if any(s_.has(RewardProbability) for s_ in basics) or not (document or any(s_.has(Transition) for s_ in basics)):
        return rd
    probs = {p_ for s_ in basics for p_ in s_.atoms(TrajectoryProbability) if type(p_) is TrajectoryProbability}
    sums = [x_ for s_ in basics for x_ in sp.preorder_traversal(s_) if type(x_) is TrajectorySum]
    if not probs and not sums:
        return rd

    def marginal(e):
        if not isinstance(e, sp.Basic):
            return e
        e = substituted(e, {p_: PathProbability(*p_.args) for p_ in probs})
        return rebuild(e, lambda x: PathSum(x.body, x.variable, x.support) if type(x) is TrajectorySum else x)

    what = (["P(τ;θ) read as the probability of τ's states and actions"] if probs else []) + (
        ["Σ_τ read as a sum over τ's states and actions, each term averaged over the rewards given them"]
        if sums else [])
    note = "; ".join(what) + (" (random rewards marginalised): the document writes the dynamics and no reward factor "
                              "P(r_t|s_t,a_t)" if document else
                              " (random rewards marginalised): the line writes the dynamics without the reward factors P(r_t|s_t,a_t)")
    # The other reading of a product is read the same way, or it would no longer be found in the line.
    readings = [(marginal(a_), marginal(b_), tuple(marginal(w_) if isinstance(w_, sp.Basic) else
                                                  tuple(marginal(v_) for v_ in w_) if isinstance(w_, tuple) else w_
                                                  for w_ in why)) for a_, b_, why in rd.readings]
    # The document's note says it for every line; a line that writes the dynamics repeats it beside itself.
    said = [note] if any(s_.has(Transition) for s_ in basics) else []
    return replace(rd, sides=[marginal(s_) if isinstance(s_, sp.Basic) else s_ for s_ in rd.sides],
                   notes=list(rd.notes) + said, readings=readings)


def _reading_text(rd: Reading, base: int) -> str:
    rel = {"=": "=", "~": r"\approx", "<-": r"\leftarrow"}
    out = (f"{rel.get(rd.lead, rd.lead)} " if rd.lead else "") + _show(rd.sides[0], base)
    for r_, s_ in zip(rd.relations, rd.sides[1:]):
        out += f" {rel.get(r_, r_)} " + _show(s_, base)
    return out


# -- the document -------------------------------------------------------------------------

def pairs_flat(pairs):
    return [x_ for pair in pairs for x_ in pair]


def _samples(e) -> bool:
    from .transform import sample_mean

    return sample_mean(e)


def _has_sample(expr) -> bool:
    return isinstance(expr, sp.Basic) and expr.has(Sample)


def _binds_tau(e) -> bool:
    from ..notation import Expectation

    return isinstance(e, (TrajectorySum, Expectation))


def _sample_sum(e):
    """The index of a Σ over samples (its body speaks of τ^(index), whatever the index is called), else None."""
    if isinstance(e, Sum) and len(e.limits) >= 1:
        for var, _, _ in e.limits:
            if any(var in smp.args[0].free_symbols for smp in e.function.atoms(Sample)):
                return var
    return None


def _top_trajectories(e, found: set, bound: frozenset = frozenset()) -> None:
    """The trajectories a side speaks of outside any binder: τ, or τ^(k) not bound by a Σ over k."""
    if not isinstance(e, sp.Basic):
        return
    if e == tau:
        found.add(tau)
        return
    if isinstance(e, Sample):
        if not (e.args[0].free_symbols & bound):
            found.add(e)
        return
    if _binds_tau(e):
        return
    if _sample_sum(e) is not None:
        bound = bound | {_sample_sum(e)}
    for a_ in e.args:
        _top_trajectories(a_, found, bound)


def _summed_samples(e, found: set) -> None:
    """The samples τ^(i) a Σ_i in e sums over outside any E or Σ_τ (the Σ's own sample family, as τ^(i))."""
    if not isinstance(e, sp.Basic) or e.is_Atom or _binds_tau(e):
        return
    var = _sample_sum(e)
    if var is not None:
        found.add(Sample(var))
    for a_ in e.args:
        _summed_samples(a_, found)


def _unmarked_steps(e) -> list:
    """The s_k, a_k, r_k written without ^{(i)} in e outside any Σ_τ, E or Σ_i that binds them itself."""
    out: list = []

    def walk(e):
        if not isinstance(e, sp.Basic) or e.is_Atom or not e.has(UNMARKED):
            return
        if isinstance(e, (State, Action, Reward)) and e.args[0] == UNMARKED:
            if e not in out:
                out.append(e)
            return
        if _binds_tau(e) or _sample_sum(e) is not None:
            return
        for a_ in e.args:
            walk(a_)

    walk(e)
    return out


def _bare_expectation_message(steps, samples, summed=()) -> str:
    """Why E[…] around a sample and an unmarked step is refused, and how to write each reading."""
    written = ", ".join(to_latex(st_.func(tau, st_.args[1])) for st_ in steps)
    if not samples:
        # The samples are those of a Σ_i inside the E, and the unmarked steps stand outside that Σ.
        smp = summed[0]
        k = sp.sstr(smp.args[0])
        marked = ", ".join(to_latex(st_.func(smp, st_.args[1])) for st_ in steps)
        first = ", ".join(to_latex(st_.func(Sample(1), st_.args[1])) for st_ in steps)
        return (f"{written} written without a trajectory inside \\mathbb{{E}}[…] (no subscript), outside the "
                f"\\sum_{{{k}}} over the samples τ^({k}) beside them: are they the steps of a sample or of a fresh "
                f"τ ∼ π_θ, independent of the samples? Either reading would be a guess. For each sample's steps move "
                f"the factor inside the \\sum_{{{k}}} and write {marked} (the superscript ^{{({k})}}), or {first} for "
                f"the first sample's; for a fresh τ's, take the expectation apart: \\mathbb{{E}}[…] of the factors "
                f"that speak of τ times \\mathbb{{E}}[…] of the sum over the samples (independent), or "
                f"\\sum_\\tau P(\\tau;\\theta) … around the τ factors")
    smp = samples[0]
    k = sp.sstr(smp.args[0])
    marked = ", ".join(to_latex(st_.func(smp, st_.args[1])) for st_ in steps)
    names = " and ".join(f"τ^({sp.sstr(s_.args[0])})" for s_ in samples)
    return (f"{written} written without a trajectory inside \\mathbb{{E}}[…] (no subscript) that also speaks of "
            f"{names}: are they the steps of {'that sample' if len(samples) == 1 else 'a sample'} or of a fresh "
            f"τ ∼ π_θ, independent of it? Either reading would be a guess. For the sample's steps write {marked} "
            f"(the superscript ^{{({k})}}); for a fresh τ's, take the expectation apart: \\mathbb{{E}}[…] of the "
            f"factors that speak of τ times \\mathbb{{E}}[…] of those that speak of {names} (independent), or "
            f"\\sum_\\tau P(\\tau;\\theta) … around the τ factors")


def _resolve_trajectory(rd: Reading, row=None):
    """Whose s_t is an s_t written without ^{(i)}: the nearest trajectory that encloses it.

    Inside Σ_τ or E_τ it is τ's; inside a Σ_i whose body speaks of τ^{(i)} it is τ^{(i)}'s;
    elsewhere it is that of the one trajectory the line speaks of outside any sum (τ, or a
    sample τ^{(k)}). A line that speaks of both τ and a sample there is not understood: either
    reading would be a guess; so is an unmarked step inside E[…] without a subscript whose
    argument speaks of a sample τ^{(k)} (the expectation's own τ, or the sample's step?).
    """
    rd.written = list(rd.sides)
    sides = [s_ for s_ in rd.sides if isinstance(s_, sp.Basic)] + [
        x for s_ in rd.sides if isinstance(s_, SetLiteral) for x in s_.items if isinstance(x, sp.Basic)]
    if not any(s_.has(UNMARKED) for s_ in sides) and not rd.readings:
        rd.resolved = list(rd.sides)
        return rd
    top: set = set()
    for s_ in sides:
        _top_trajectories(s_, top)
    marks = sorted((e for e in top if isinstance(e, Sample)), key=sp.default_sort_key)
    summed: set = set()   # the samples of a Σ_i outside any E or Σ_τ: a step outside that Σ may be theirs
    for s_ in sides:
        _summed_samples(s_, summed)
    used = {"sample": False, "ambiguous": False, "free": False}
    from .transform import _canon

    # Keyed by SymPy's own form: a product rebuilt on the way (an index shift) is still found.
    narrow = {_canon(a_): (b_, why) for a_, b_, why in rd.readings}
    found: list = []

    def default():
        if tau in top and marks or len(marks) > 1 or summed:
            used["ambiguous"] = True
            return tau
        if marks:
            used["sample"] = True
            return marks[0]
        used["free"] = used["free"] or tau not in top   # no trajectory in the line: τ by default only
        return tau

    def walk(e, ctx):
        if not isinstance(e, sp.Basic):
            return e
        key = _canon(e) if isinstance(e, (sp.Mul, Derivative, sp.log, Product)) else None
        if key is not None and key in narrow and not any(f[3] == key for f in found):
            wide, why = narrow[key]
            if why[0] == "log":   # what the note prints is resolved where the line is written, too
                why = ("log", walk_plain(why[1], ctx), tuple(walk_plain(r_, ctx) for r_ in why[2]))
            elif why[0] == "prod":
                why = ("prod", tuple(walk_plain(r_, ctx) for r_ in why[1]))
            found.append((walk_plain(e, ctx), walk_plain(wide, ctx), why, key))
        return walk_plain(e, ctx)

    def walk_plain(e, ctx):
        if not isinstance(e, sp.Basic):
            return e
        if e == UNMARKED:
            got = ctx() if callable(ctx) else ctx
            used["sample"] = used["sample"] or isinstance(got, Sample)
            return got
        if e.is_Atom or not e.has(UNMARKED) and not narrow:
            return e
        if isinstance(e, SampleExpectation) and not bare:
            # E[…] without a subscript around a sample τ^(k) and an unmarked step: the step may be the
            # expectation's own τ (independent of the sample) or the sample's. Either would be a guess.
            steps, inside, summed = _unmarked_steps(e.inner.body), set(), set()
            _top_trajectories(e.inner.body, inside)
            _summed_samples(e.inner.body, summed)   # a Σ_i's samples beside the steps are samples too
            named = sorted((x for x in inside if isinstance(x, Sample)), key=sp.default_sort_key)
            if steps and (named or summed):
                bare.append((steps, named, sorted(summed, key=sp.default_sort_key)))
        inner = ctx
        if _binds_tau(e):
            inner = tau
        elif _sample_sum(e) is not None:
            inner = Sample(_sample_sum(e))
        from ..notation import _rebuild

        return _rebuild(type(e), *[walk(a_, inner) for a_ in e.args])

    def fix(s_):
        if isinstance(s_, SetLiteral):
            return SetLiteral(tuple(walk(x, default) if isinstance(x, sp.Basic) else x for x in s_.items), s_.tuple_form)
        return walk(s_, default) if isinstance(s_, sp.Basic) else s_

    bare: list = []   # (unmarked steps, samples) of the first E[…] that makes an unmarked step ambiguous
    sides_out = [fix(s_) for s_ in rd.sides]
    if bare:
        return NotUnderstood(row.line if row else 1, row.column if row else 1, _bare_expectation_message(*bare[0]))
    if used["ambiguous"] and summed:
        k = sp.sstr(sorted(summed, key=sp.default_sort_key)[0].args[0])
        what = "".join(f"{x_}, " for x_ in ["τ"] * (tau in top) + ["τ^(%s)" % sp.sstr(mk.args[0]) for mk in marks])
        message = (f"s, a or r written without a trajectory in a line that speaks of {what}the samples τ^({k}) of a "
                   f"\\sum_{{{k}}}, outside that sum: whose step is it, a sample's or a fresh τ's? Either reading "
                   f"would be a guess. Write s_t^{{({k})}}, a_t^{{({k})}} inside the \\sum_{{{k}}} for each sample's, "
                   f"s_t^{{(1)}} for the first sample's, or keep the line to one trajectory")
        return NotUnderstood(row.line if row else 1, row.column if row else 1, message)
    if used["ambiguous"]:
        what = " and ".join(["τ"] * (tau in top) + ["τ^(%s)" % sp.sstr(mk.args[0]) for mk in marks])
        message = (f"s, a or r written without a trajectory in a line that speaks of {what}: whose step is it? "
                   f"write s_t^{{(i)}} or keep the line to one trajectory")
        return NotUnderstood(row.line if row else 1, row.column if row else 1, message)
    rd.sides = sides_out
    rd.resolved = list(sides_out)
    rd.free_steps = used["free"]
    rd.patterns = [(fix(a_), fix(b_)) for a_, b_ in rd.patterns]
    rd.readings = [(a_, b_, why) for a_, b_, why, _ in found]   # each reading resolved where it is written
    for key, (_, why) in narrow.items():
        if not any(f[3] == key for f in found):
            # Not found in the line as read: the other reading cannot be checked, and the line says so.
            plain = rebuild(key, lambda e: tau if e == UNMARKED else e)
            if why[0] == "log":
                why = ("log", rebuild(why[1], lambda e: tau if e == UNMARKED else e),
                       tuple(rebuild(r_, lambda e: tau if e == UNMARKED else e) for r_ in why[2]))
            elif why[0] == "prod":
                why = ("prod", tuple(rebuild(r_, lambda e: tau if e == UNMARKED else e) for r_ in why[1]))
            rd.readings.append((plain, plain, why))
    if used["sample"]:
        rd.notes.append("s, a without ^{(i)} read as those of τ^{(i)}: the line speaks of the i-th sample")
    return rd


def _hat_names(e) -> list:
    """The defined names (ĝ, Â_t) e uses."""
    if not isinstance(e, sp.Basic):
        return []
    return [h.hat if isinstance(h, IndexedHat) else h for h in sp.preorder_traversal(e)
            if isinstance(h, (HatName, IndexedHat))]


def _written_out(e, table):
    """e with every defined name replaced by the meaning table gives it."""
    if not isinstance(e, sp.Basic):
        return e
    e, _ = _indexed_hats(e, table)
    return substituted(e, {h: table[h.name][0] for h in sp.preorder_traversal(e) if isinstance(h, HatName) and h.name in table})


def _written_out_problem(rd: Reading, first: int, defines, hats, as_written, row, base: int) -> str:
    """Why a line that uses a name is read otherwise once the name is written out ('' when it is not).

    A definition ĝ := ∇log π(a_0|s_0) speaks of no trajectory: its a_0 is τ's by default only. Where
    the line using ĝ speaks of a sample, the steps written out would be the sample's, or ambiguous
    (E[ĝ R(τ^(1))] is E[∇log π(a_0|s_0) R(τ^(1))]): the name must not decide silently what the
    written-out line leaves open. So the line is read twice from its sides as written: with each
    such name's right side as written, and as its own line read it; the two must agree.
    """
    at = [first + j for j in range(len(rd.sides) - first) if j not in defines]
    at = [k for k in at if k < len(rd.written)]
    used = {h.name for k in at for h in _hat_names(rd.written[k])}
    free = sorted(n for n in used if n in as_written and as_written[n][2])
    if not free:
        return ""
    fixed = {n: (as_written[n][1], hats[n][1], hats[n][2]) for n in used if n in as_written}
    loose = dict(fixed, **{n: (as_written[n][0], hats[n][1], hats[n][2]) for n in free})

    def read(table):
        try:
            return _resolve_trajectory(Reading(None, [_written_out(rd.written[k], table) for k in at], []), row)
        except ReadError as exc:   # a defined name written out drops a condition (see derive.read.defined)
            return NotUnderstood(row.line, row.column, str(exc))

    name = ", ".join(free)
    defs = "; ".join(f"{n} stands for {_show(as_written[n][0].xreplace({UNMARKED: tau}), base)} (line {hats[n][1]})"
                     for n in free)
    lines = ", ".join(sorted({str(hats[n][1]) for n in free}))
    said = f"{defs}, whose s, a or r name no trajectory there (read as τ's by default); written out in this line"
    out = read(loose)
    if isinstance(out, NotUnderstood):
        return f"{said}: {out.message} (in the definition on line {lines}, or in this line with {name} written out)"
    ours = read(fixed)
    if isinstance(ours, NotUnderstood) or list(out.sides) != list(ours.sides):
        return (f"{said} they would be read otherwise (as the line's own steps would be): is {name} a fresh τ's or "
                f"this line's? Either reading would be a guess. Write the trajectory in the definition "
                f"(s_t^{{(i)}}, a_t^{{(i)}} for a sample's, or inside \\mathbb{{E}}_{{\\tau \\sim \\pi_\\theta}}[…] "
                f"for a fresh τ's), or write the right side out in this line")
    return ""


def _time_base(trees) -> int:
    """1 when the document counts time from 1 (s_1, a_1, r_1 and no step 0), else 0: read off the parse trees."""
    ks = []
    for tree in trees:
        if isinstance(tree, NotUnderstood):
            continue
        for node in tree.find_data("var"):
            name = node.children[0]
            letters = [tok for tok in name.scan_values(lambda v: isinstance(v, Token))]
            if [tok.value for tok in letters] not in (["s"], ["a"], ["r"]):
                continue
            for sub in node.children[1:]:
                if isinstance(sub, Tree) and sub.data in ("sub_single", "sub_group"):
                    values = list(sub.scan_values(lambda v: isinstance(v, Token)))
                    if len(values) == 1 and values[0].type in ("NUMBER", "DIGIT"):
                        ks.append(int(values[0].value))
    return 1 if ks and min(ks) == 1 else 0


def _sum_starts(trees) -> list[int]:
    """The numeric lower limits of the sums and products over a time index (t, k, j) in the parse trees."""
    lows = []
    for tree in trees:
        if isinstance(tree, NotUnderstood):
            continue
        samples = set()   # Σ_{j=1}^{m}, or a Σ whose body writes τ^{(j)}: over samples, no sign of the time base
        for big in tree.find_data("bigop"):
            limits, body = big.children[1], big.children[2]
            tokens = [tok.value for tok in limits.scan_values(lambda v: isinstance(v, Token))]
            marks = {tok.value for smp in body.find_data("sample") for tok in smp.scan_values(lambda v: isinstance(v, Token))}
            for node in limits.find_data("sub_from"):
                var = [tok.value for tok in node.children[0].scan_values(lambda v: isinstance(v, Token))]
                if tokens and tokens[-1] in ("m", "N") or (len(var) == 1 and var[0] in marks):
                    samples.add(id(node))
        for node in tree.find_data("sub_from"):
            var = [tok.value for tok in node.children[0].scan_values(lambda v: isinstance(v, Token))]
            low = list(node.children[-1].scan_values(lambda v: isinstance(v, Token)))
            if id(node) in samples:
                continue
            if var in (["t"], ["k"], ["j"]) and len(low) == 1 and low[0].type in ("NUMBER", "DIGIT"):
                lows.append(int(low[0].value))
    return lows


def time_base_evidence(trees) -> tuple[int, str]:
    """The document's first time step and, when its signs disagree, a sentence saying so.

    The signs are the step indices written on s, a, r (s_0 or s_1) and the lower limits of the
    sums over time (Σ_{t=0} or Σ_{t=1}). Step indices decide; sums decide when there are none.
    """
    base = _time_base(trees)
    lows = _sum_starts(trees)
    ks_present = base == 1 or any(True for tree in trees if not isinstance(tree, NotUnderstood)
                                  for node in tree.find_data("var") if _step_index(node) is not None)
    if not ks_present and lows and min(lows) == 1:
        base = 1
    starts = sorted(set(lows) & {0, 1})
    indices = sorted({k_ for tree in trees if not isinstance(tree, NotUnderstood)
                      for node in tree.find_data("var") for k_ in [_step_index(node)] if k_ in (0, 1)})
    if len(starts) == 2 or (starts and indices and min(indices) != starts[0] and base != starts[0]):
        return base, (f"the time base is ambiguous: sums over time start at {' and at '.join(map(str, starts))}"
                      f"{', step indices start at ' + str(min(indices)) if indices else ''}; read with time from {base}")
    return base, ""


def _step_index(node):
    """The numeric step index of an s, a or r written with one (s_0, a_1), else None."""
    name = node.children[0]
    letters = [tok.value for tok in name.scan_values(lambda v: isinstance(v, Token))]
    if letters not in (["s"], ["a"], ["r"]):
        return None
    for sub in node.children[1:]:
        if isinstance(sub, Tree) and sub.data in ("sub_single", "sub_group"):
            values = list(sub.scan_values(lambda v: isinstance(v, Token)))
            if len(values) == 1 and values[0].type in ("NUMBER", "DIGIT"):
                return int(values[0].value)
    return None


_ORDER = {(State, Action): 0, (Action, Reward): 0, (Reward, State): 1, (Action, State): 1}


def _sequence_problem(seq, base: int) -> str:
    """Why a trajectory written out (s_0, a_0, r_0, s_1, …) is not derive's: its items or their steps ('' when it is).

    Its items are states, actions and rewards (and \\dots); a_k follows s_k, r_k follows a_k, and
    s_{k+1} follows a_k or r_k. A reward indexed one step later than its action (s_0, a_0, r_1, s_1:
    Sutton and Barto's convention) would make every r_t of the document the reward of another step.
    """
    items = [x for x in seq.items if isinstance(x, sp.Basic)]
    odd = [x for x in items if not isinstance(x, (State, Action, Reward))]
    if odd:
        return (f"the trajectory written out holds {_show(odd[0], base)}, which is not a state, an action or a reward; "
                f"write τ = (s_0, a_0, r_0, s_1, a_1, r_1, \\dots)")
    for x, y in zip(seq.items, seq.items[1:]):
        if not (isinstance(x, sp.Basic) and isinstance(y, sp.Basic)):
            continue   # \dots between them: the steps skipped are not written
        gap = _ORDER.get((type(x), type(y)))
        if gap is None or x.args[0] != y.args[0]:
            return (f"the trajectory written out has {_show(y, base)} right after {_show(x, base)}: derive reads "
                    f"a trajectory as s_k, a_k, r_k, s_{{k+1}}, … of one trajectory")
        if sp.simplify(y.args[1] - x.args[1]) != gap:
            convention = (" (the reward of step k written r_{k+1}, as in Sutton and Barto: derive's r_t is the reward "
                          "of s_t, a_t, so every r_t of the document would be read one step off)"
                          if isinstance(x, Action) and isinstance(y, Reward) else "")
            return (f"the trajectory written out has {_show(y, base)} right after {_show(x, base)}{convention}; "
                    f"write τ = (s_0, a_0, r_0, s_1, a_1, r_1, \\dots), each step's reward with its step's index")
    return ""


def _is_trajectory(e) -> bool:
    return isinstance(e, sp.Basic) and (e == tau or isinstance(e, Sample))


def _is_lemma(sides) -> bool:
    """A general calculus lemma: ∇_x or d/dx of functions of x on some side, and no quantity of the MDP."""
    exprs = [s_ for s_ in sides if isinstance(s_, sp.Basic)]
    if len(exprs) != len(sides) or len(exprs) < 2:
        return False
    differentiates = any(isinstance(d_, Derivative) and LEMMA_VAR in d_.variables
                         for e in exprs for d_ in sp.preorder_traversal(e))
    from ..notation import Expectation, Objective, Policy, Return, TrajectoryProbability

    mdp = any(e.free_symbols - {LEMMA_VAR} or e.has(State, Action, Reward, RewardProbability, TrajectorySum, Sample,
                                                    TrajectoryProbability, Policy, Objective, Return, Expectation)
              for e in exprs)
    return differentiates and not mdp


def _lemma_check(lhs, rhs) -> tuple[str, str]:
    """A lemma in x and a positive function f: proved symbolically, or refuted at a point or by its domain."""
    # cancel(together(·)) reads (x − 1)/(x − 1) as 1: equal by value, the right side must also be defined as widely
    gap = _domain_gap(lhs, rhs)
    diff = sp.cancel(sp.together((lhs - rhs).doit()))
    if diff == 0 and gap:
        return FAILS, gap
    if diff == 0:
        from .defined import conditions

        own = [c for c in conditions(lhs) if not c.expr.has(sp.core.function.AppliedUndef)]
        where = f", where the left side is defined ({', '.join(map(str, own))})" if own else ""
        return HOLDS, f"general lemma: proved symbolically for every positive differentiable f{where}"
    fs = {a_.func for a_ in (lhs - rhs).atoms(sp.core.function.AppliedUndef)}
    concrete = {fn: sp.Lambda(LEMMA_VAR, LEMMA_VAR ** 2 + 1) for fn in fs}
    for x0 in (sp.Rational(1, 2), sp.Integer(2), sp.Integer(3)):
        lv = sp.nsimplify(lhs.subs(concrete).doit().subs(LEMMA_VAR, x0))
        rv = sp.nsimplify(rhs.subs(concrete).doit().subs(LEMMA_VAR, x0))
        if sp.simplify(lv - rv) != 0:
            return FAILS, f"counterexample: f(x) = x^2 + 1 at x = {x0}: left side {lv}, right side {rv}"
    if gap:
        return FAILS, gap
    return UNDECIDED_LINE, "SymPy could not show the two sides equal, and f(x) = x^2 + 1 does not refute it"


def _domain_gap(lhs, rhs) -> str:
    """Why the right side of a lemma is undefined somewhere the left side is defined ('' if it is not): a condition
    it needs as written (a divisor ≠ 0, a log's argument > 0, 0^e's e ≥ 0) that no condition of the left implies.

    The sides are compared after cancel(together(·)), which reads (x − 1)/(x − 1) as 1: without this, ∇ log f =
    (x − 1)/(x − 1) ∇f/f would be "proved for every f" though its right side is undefined at x = 1. f > 0 is the
    lemma's own, so a factor f(x) of a condition is no condition (x f(x) − f(x) ≠ 0 asks x ≠ 1); f(x) − 1 is one.
    A left side that needs more (∇ log x = 1/x: x > 0 against x ≠ 0) is the identity where the left is defined.
    """
    from .defined import Condition, _kept, conditions, undefined_number

    def positive(g):   # f(x) and its powers: the lemma's f > 0
        return isinstance(g, sp.core.function.AppliedUndef) or (
            isinstance(g, sp.Pow) and isinstance(g.base, sp.core.function.AppliedUndef))

    def without_f(c):
        """c with its positive factors f(x) left out: None when nothing is left to ask, "never" when it holds nowhere."""
        sign, rest = sp.Integer(1), []
        for g in sp.Mul.make_args(sp.factor(c.expr)):
            if g.is_number:
                sign *= sp.sign(g)
            elif not positive(g):
                rest.append(g)
        if c.kind == "divisor":   # ≠ 0: a nonzero number changes nothing
            return Condition(c.kind, sp.Mul(*rest)) if rest else None
        if not rest:              # > 0 or ≥ 0 of a number times f: −f(x) > 0 holds for no x
            return None if sign > 0 else "never"
        return Condition(c.kind, sign * sp.Mul(*rest))

    # What the left side needs holds where the lemma speaks (∇ log x: x > 0), and f > 0 always: as assumptions.
    x_positive = any(d.kind == "log" and d.expr == LEMMA_VAR for d in conditions(lhs))

    def decided(c):
        """True: c holds wherever the left side is defined; False: it holds nowhere; None: SymPy cannot tell."""
        pos = {g: sp.Dummy(positive=True) for g in c.expr.atoms(sp.core.function.AppliedUndef)}
        if x_positive:
            pos[LEMMA_VAR] = sp.Dummy(positive=True)
        e = c.expr.xreplace(pos)
        holds = {"divisor": e.is_nonzero, "log": e.is_positive}.get(c.kind, e.is_nonnegative)
        never = {"divisor": e.is_zero, "log": e.is_nonpositive}.get(c.kind, e.is_negative)
        return True if holds else (False if never else None)

    why = undefined_number(rhs)
    if why:
        return f"the right side as written is undefined for every x: {why}"
    for raw in conditions(rhs):
        known = decided(raw)
        if known is True:
            continue
        c = "never" if known is False else without_f(raw)
        if c == "never":
            return (f"the right side as written needs {raw}, which holds for no x (f > 0"
                    f"{', and x > 0 where the left side is defined' if x_positive else ''}): it is undefined there")
        if c is None or _kept(c, lhs):
            continue
        return (f"the right side as written needs {c}, which nothing on the left side needs: where {c.broken()} the "
                f"right side is undefined and the left side is not, so the two are not one function of x")
    return ""


def substitute_free(expr, var, value):
    """expr with the free occurrences of var replaced by value (a Σ_var or Π_var keeps its own var)."""
    from ..notation import _rebuild

    value = sp.sympify(value)
    if expr == var:
        return value
    if not isinstance(expr, sp.Basic) or expr.is_Atom or var not in expr.free_symbols:
        return expr
    if isinstance(expr, (Sum, Product)):
        body, limits = expr.function, list(expr.limits)
        bound = any(v == var for v, _, _ in limits)
        new_limits = [(v, substitute_free(lo, var, value), substitute_free(hi, var, value)) for v, lo, hi in limits]
        return type(expr)(body if bound else substitute_free(body, var, value), *new_limits)
    args = [substitute_free(a_, var, value) for a_ in expr.args]
    if isinstance(expr, (sp.Add, sp.Mul, sp.Pow)) and all(a_.is_number for a_ in args):
        from .defined import lost_condition, numbers_shown_defined

        written = type(expr)(*args, evaluate=False)
        value = type(expr)(*args)   # index arithmetic such as 0 + 1 is a number again
        # numbers_shown_defined also refuses what is undefined wherever it is (a divisor 0, log(−7))
        if not value.has(sp.nan, sp.zoo, sp.oo, -sp.oo) and lost_condition(written, value) is None \
                and numbers_shown_defined(written):
            return value
        # (t − 3)/(t − 3) at t = 3 is 0/0, 1 + log(−7) − log(−7) is no real number: kept as written, for the check
        # to find the division by 0 or the log (nan would crash it, 1 would hide it). So is a number whose terms
        # cancel a Σ_k log(k − 7): the Σ is a number, but SymPy's cancelling it drops its condition k − 7 > 0.
        # A number SymPy cannot place (a Σ or Π with t in its limits only, Π_{k=0}^{3} (k − 3) = 0; log 4 − 2 log 2)
        # is left to SymPy only once its value shows it defined: SymPy would still cancel X/X, log X − log X, 0^X − 0^X.
        return written
    if isinstance(expr, sp.log) and args[0].is_number and args[0].is_extended_real and args[0].is_nonpositive:
        # log(2t − 7) at t = 0 is log(−7), which SymPy makes log 7 + iπ and log(−7) − log(−7) then 0: kept as written
        return sp.log(args[0], evaluate=False)
    return _rebuild(type(expr), *args)


QUICK = 3   # instances tried first, the smallest: a wrong line usually fails on them


def _instance_size(inst) -> tuple:
    mdp = getattr(inst, "mdp", None)
    return (0, 0) if mdp is None else (mdp.n_trajectories, getattr(inst, "n_params", 0))


def _smallest_first(lhs, rhs, *, battery, quick_only: bool = False, **options) -> StepReport | None:
    """check_step on the QUICK smallest instances first; on the whole battery only when none of them fails.

    A difference found on an instance is a difference (exact arithmetic), so a failure there is
    the line's failure; and it is the failure the whole battery would show, since its smallest
    failing instance is then among those smallest instances. A pass always needs every instance.
    """
    from ..battery import Battery

    if len(battery) > QUICK:
        small = Battery(sorted(battery, key=_instance_size)[:QUICK], name=getattr(battery, "name", "given"),
                        seed=getattr(battery, "seed", None))
        quick = check_step(lhs, rhs, battery=small, **options)
        if quick.verdict == FAILED:
            return quick
        if quick_only:
            return None
    return check_step(lhs, rhs, battery=battery, **options)


def t_range(expr_sides, horizon: int) -> tuple[int, int]:
    """The steps t at which a line with t free speaks of states, actions and rewards that exist: (first, last).

    Actions and rewards exist at steps 0..H, states at 0..H+1 (the last state is the one after
    the last action); s_{t+1} needs t ≤ H, a_{t-1} needs t ≥ 1.
    """
    lo, hi = 0, horizon
    for side in expr_sides:
        for e in sp.preorder_traversal(side):
            if isinstance(e, (State, Action, Reward, RewardProbability)):
                k = sp.sympify(e.args[1])
                if t not in k.free_symbols or (k.free_symbols - {t}):
                    continue
                c = k - t
                if not c.is_Integer:
                    continue
                top = horizon + 1 if isinstance(e, State) else horizon
                lo, hi = max(lo, -int(c)), min(hi, top - int(c))
    return lo, hi


def _check_for_every_t(lhs, rhs, *, battery, timeout, refute_first: bool = False,
                       **options) -> tuple[StepReport, str]:
    """check_step, and a note; with the time index t free ("for every step t"): at every t of each MDP.

    The symbolic route is tried once with t as a symbol (a proof then covers every t); the
    instances are checked at t = first..last of each MDP's own horizon (see t_range).
    """
    from ..check import records_rewards
    from ..symbolic import SymbolicResult, prove

    rewards = records_rewards(battery)   # the prover reads P(τ;θ) and Σ_τ as the instances do
    if refute_first and t not in (lhs.free_symbols | rhs.free_symbols) and len(battery) > QUICK:
        # The other reading of a line: a failure on the smallest instances settles it without SymPy.
        quick = _smallest_first(lhs, rhs, battery=battery, timeout=timeout, quick_only=True,
                                symbolic=SymbolicResult("not attempted"), **options)
        if quick is not None:
            return quick, ""
        sym = prove(lhs, rhs, relation=options.get("relation", EQUAL), timeout=timeout, rewards=rewards)
        return check_step(lhs, rhs, battery=battery, timeout=timeout, symbolic=sym, **options), ""
    sym = prove(lhs, rhs, relation=options.get("relation", EQUAL), timeout=timeout, rewards=rewards)
    if t not in (lhs.free_symbols | rhs.free_symbols):
        return _smallest_first(lhs, rhs, battery=battery, timeout=timeout, symbolic=sym, **options), ""
    # t meets the horizon: log(70 − t) changes only at t ≥ 70, so MDPs with H past the line's constants are added
    # (or, past the sizes this check reaches, said) before the steps t are listed.
    from ..size_reach import widened

    seed = options.get("seed")
    battery, widening = widened(battery, lhs, rhs, seed if seed is not None else getattr(battery, "seed", 0) or 0)
    beyond = widening.beyond if widening is not None else ""
    ranges = {id(inst): t_range((lhs, rhs), inst.mdp.horizon) for inst in battery}
    t_values = sorted({t0 for lo, hi in ranges.values() for t0 in range(lo, hi + 1)})
    if not t_values:
        return check_step(lhs, rhs, battery=battery, timeout=timeout, symbolic=sym, **options), (
            "t is free, but no MDP of the battery has a step t at which every s, a, r of the line exists")
    worst, worst_t, pairs, checked, left_out = None, None, 0, [], []
    for t0 in t_values:
        use = tuple(inst for inst in battery if ranges[id(inst)][0] <= t0 <= ranges[id(inst)][1])
        one = _smallest_first(substitute_free(lhs, t, sp.Integer(t0)), substitute_free(rhs, t, sp.Integer(t0)),
                              battery=use, timeout=timeout, symbolic=sym, **options)
        if one.verdict != FAILED and one.instances == 0 and one.scope_data.get("excluded_too_large") == len(use):
            left_out.append(t0)   # every MDP that has this step is too large to enumerate for the line
            continue
        checked.append(t0)
        pairs += one.instances
        if worst is None or (worst.ok and not one.ok):
            worst, worst_t = one, t0
        if not one.ok:
            break
    if worst is None:
        worst = check_step(lhs, rhs, battery=battery, timeout=timeout, symbolic=sym, **options)
        return worst, "t is free, but every MDP that has the steps of the line is too large to enumerate for it"
    lows = sorted({lo for lo, _ in ranges.values()})
    first = "0" if lows == [0] else "its first step " + "/".join(map(str, lows))
    note = (f"t is free (a statement for every step): checked at every t from {first} to the last step of "
            f"each MDP (t = {_spans(checked)} over the battery, {pairs} (MDP, t) pairs)")
    if left_out:
        note += (f"; t = {_spans(left_out)} exists only on MDPs too large to enumerate for this line, "
                 f"which are left out there")
    if sym.proved:
        note += "; proved symbolically for t as a symbol"
    elif worst.ok and (left_out or beyond):
        # Steps t no instance reached are no case of "for every t": without a proof, agreement elsewhere is no pass.
        gap = "; ".join(x for x in (beyond, left_out and f"t = {_spans(left_out)} was not evaluated") if x)
        worst = replace(worst, verdict=f"{UNDECIDED}: {gap}: not a pass; {worst.verdict}")
        note += "; not a pass: " + gap
    if not worst.ok:
        note = f"t is free: the line is checked at each t, and t = {worst_t} is where it " + (
            "fails" if worst.verdict == FAILED else "is not decided") + f" (the report below is at t = {worst_t})"
    return worst, note


def _result_row(chain: _Chain, base: int) -> LineReport:
    """What a chain of steps shows: first left side = last right side when every step held, else where it breaks.

    Equality is transitive, so the result follows from the steps and is not checked again; its
    strength is that of the weakest step (a step checked on instances makes the result checked on
    them, never proved).
    """
    last = chain.written_last if chain.written_last is not None else chain.last
    rel = r"\approx" if chain.approx else "="
    reading = f"{_show(chain.start, base)} {rel} {_show(last, base)}"
    span = f"line {chain.line}" if chain.line == chain.rows[-1] else f"lines {chain.line}–{chain.rows[-1]}"
    where = f"({span}: first left side = last right side)"
    steps = [st for *_, reps in chain.verdicts for st in reps]
    broken = [(ln, col, v) for ln, col, v, _ in chain.verdicts if v not in (HOLDS, IN_EXPECTATION)]
    if broken:
        ln, col, v = broken[0]
        detail = (f"the chain of {span} holds only if every step holds; "
                  f"line {ln}, column {col} {'fails' if v == FAILS else 'is ' + v}")
        if len(broken) > 1:
            detail += f" (and {len(broken) - 1} more line{'s' if len(broken) > 2 else ''} after it)"
        if chain.written_last is not None and same_form(chain.last, chain.written_last) and not same_form(chain.start, chain.last):
            detail += ("; the steps that held, with the side that failed left out, still lead from the first "
                       "left side to the last right side")
        return LineReport(chain.rows[-1], 0, where, reading, NOT_SHOWN, "result", "", (), detail)
    proved = sum(st.verdict == PROVED for st in steps)
    strength = ("every step proved symbolically" if proved == len(steps) else
                f"{proved} of {len(steps)} steps proved symbolically, the others checked on instances: see each line")
    expectation = any(v == IN_EXPECTATION for _, _, v, _ in chain.verdicts) or (
        _samples(last) and not _samples(chain.start))
    # A chain with a step written ≈ shows an estimate of its first side, never an equality.
    verdict = ESTIMATE if chain.approx else IN_EXPECTATION if expectation else HOLDS
    detail = (f"follows from the {len(steps)} steps of {span}, each of which held "
              f"({strength})")
    return LineReport(chain.rows[-1], 0, where, reading, verdict, "result", "", (), detail)


_INLINE_MATH = re.compile(r"(?<![\\$])\$(?![$\s])(?P<body>(?:[^$\f\n]|\n(?![ \t]*\n))+?)(?<![\s\\])\$(?![\d$])"
                          r"|\\\((?P<paren>.+?)\\\)", re.S)
_RELATION_TEXT = re.compile(r"(?<![<>\\])=|[<>]|\\(leftarrow|gets|approx|neq?|leq?|geq?|lt|gt)(?![A-Za-z])")


_STATUS_WORDS = {"holds": "holds", "fails": "fails", "undecided": "undecided (not shown to hold)"}
_STATUS_VERBS = {"holds": "holds", "fails": "fails", "undecided": "is undecided (not shown to hold)"}


def _status(reports) -> str:
    """'holds' (every step held), 'fails' (a step failed) or 'undecided' (neither: never a pass)."""
    if all(r_.ok for r_ in reports):
        return "holds"
    return "fails" if any(r_.verdict == FAILED for r_ in reports) else "undecided"


def _disagreement(usual: str, other: str, *, convention: bool) -> str:
    """Two readings of one line that disagree, in plain words: which failed, and what decides the line."""
    text = (f"the two readings disagree: the reading above {_STATUS_VERBS[usual]}, the other reading "
            f"{_STATUS_VERBS[other]}")
    if convention and not (usual == "fails" and other == "holds"):
        decides = {"holds": "the usual reading decides the line's verdict",
                   "fails": "the usual reading decides: the line fails",
                   "undecided": "the usual reading decides: the line is undecided, which is never a pass"}[usual]
        return text + f"; {decides}"
    if "holds" in (usual, other) and "fails" in (usual, other):
        return text + "; the line is ambiguous: bracket it to say which reading is meant"   # (for \log: only log(f g) holds)
    if "fails" in (usual, other):
        return text + ("; one reading fails and the other is not shown to hold, so the line is ambiguous and "
                       "undecided, never a pass: bracket it to say which reading is meant")
    return text + "; the line is undecided, which is never a pass"


def _product_hint(narrow, wide, rest, alt, base: int) -> str:
    """Π_t f_t g read with g inside the product: the hint to bracket it, and how the other reading fared."""
    head = next((e for e in sp.preorder_traversal(narrow) if isinstance(e, Product)), narrow)
    prod = r"\prod_{%s}" % to_latex(head.limits[0][0]) if isinstance(head, Product) else r"\prod"
    rest_text = " ".join(_factor_text(r_, base) for r_ in rest)
    fared = {"holds": "that reading holds", "fails": "that reading fails too",
             "undecided": "that reading is undecided"}.get(alt, "that reading was not checked")
    return (f"hint: the product {prod} … extends over {rest_text} (Π takes the rest of its product, so "
            f"{rest_text} is read as a factor at every step); bracket it, {_show(wide, base)}, if you meant "
            f"{rest_text} outside the product ({fared})")


def _log_hint(why, base: int) -> str:
    """\\log f \\prod_t … read both ways: the two bracketings that each state one reading."""
    arg, rest = _show(why[1], base), " ".join(_factor_text(r_, base) for r_ in why[2])
    return (f"hint: \\log\\left({arg} {rest}\\right) states the log of the product, "
            f"\\left(\\log {arg}\\right) {rest} the log of {arg} alone")


def _squeeze(latex: str) -> str:
    return "".join(latex.split())


def _spans(values) -> str:
    """0, 1, 2, 5 -> '0…2, 5'."""
    out, run = [], []
    for v in values:
        if run and v == run[-1] + 1:
            run.append(v)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}…{run[-1]}")
        run = [v]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}…{run[-1]}")
    return ", ".join(out)


BUDGET = 300.0   # seconds for a whole document by default: past it, the lines left are undecided, never hung on


def check_text(text: str, *, path: str = "", seed: int | None = None, n_random: int = 12, timeout: float = 2.0,
               minimize: bool = True, budget: float | None = BUDGET, announce=None) -> DocumentReport:
    """Check every display row and inline claim of a document (``seed``: replays a run; fresh when None).

    ``budget``: the seconds the whole document may take (None: no limit). Once it is spent, every
    instance still to evaluate is undecided and every line still to check is "undecided: not
    checked", with a note at the top of the report; undecided is never a pass. ``announce``: called
    once with a sentence the moment the budget is found spent (the command line prints it at once).
    """
    from ..check import time_budget

    with time_budget(budget) if budget is not None else _no_budget():
        return _check_text(text, path=path, seed=seed, n_random=n_random, timeout=timeout, minimize=minimize,
                           budget=budget, announce=announce)


@contextlib.contextmanager
def _no_budget():
    yield


def _budget_step(a_, b_, *, relation, rule, why, index, spent) -> StepReport:
    """A step not checked: the document's time budget was spent before it."""
    from ..check import budget_text
    from ..text import to_text

    return StepReport(index, rule, why, relation, f"{UNDECIDED}: not checked, {budget_text(spent)}",
                      "not attempted", 0, lhs=to_text(a_), rhs=to_text(b_))


def _refuse_hidden(text: str, path: str, tex: bool) -> None:
    """Raise UserError (file:line, the construct) when the document hides math in a way derive cannot decide."""
    from ..errors import UserError
    from .extract import refusals

    found = refusals(text, tex=tex)
    if found:
        line, column, what, why = found[0]
        raise UserError(f"{path or '<text>'}:{line}:{column}: {what}: {why}; derive does not read this document")


def _check_text(text: str, *, path: str, seed: int | None, n_random: int, timeout: float, minimize: bool,
                budget: float | None, announce=None) -> DocumentReport:
    from ..check import budget_spent, budget_text

    start_time = time.perf_counter()
    if seed is None:
        # A fixed seed would let a document be fitted to its battery, primes and directions.
        from ..battery import fresh_seed

        seed = fresh_seed()
    from .extract import is_tex

    tex = is_tex(text, path)   # the extension decides; only an unknown one is sniffed, outside code
    _refuse_hidden(text, path, tex)
    defined = tuple(macros(text, tex=tex))
    rows = extract_rows(text, tex=tex)
    masked = mask(text, tex=tex)
    placed = equations(rows, text, masked)
    rows = [eq.row for eq in placed]
    redefined = def_macros(text, tex=tex)
    trees = [parse_tree(r, macros_at(defined, r.offset), tuple((n_, how) for n_, at, how in redefined if at < r.offset))
             for r in rows]
    base, base_note = time_base_evidence(trees)
    readings = [read_row(r, tr, base=base) if not isinstance(tr, NotUnderstood) else tr for r, tr in zip(rows, trees)]
    readings = [_resolve_trajectory(rd, r) if isinstance(rd, Reading) else rd for r, rd in zip(rows, readings)]

    def uses_rewards(rd):
        return isinstance(rd, Reading) and any(
            isinstance(s_, sp.Basic) and s_.has(Reward, RewardProbability) or
            isinstance(s_, SetLiteral) and any(isinstance(x, Reward) for x in s_.items) for s_ in rd.sides)

    battery_name = "rewards" if any(uses_rewards(rd) for rd in readings) else "default"
    battery = BATTERIES[battery_name](seed=seed, n_random=n_random)
    doc_notes = [base_note] if base_note else []
    if battery_name == "rewards":
        over_paths, reading_note = trajectory_reading(readings, rows)
        if over_paths:
            readings = [_path_probability(rd, document=True) if isinstance(rd, Reading) else rd for rd in readings]
        elif reading_note:
            first = next(r.line for r, rd in zip(rows, readings) if _writes_reward_factors(rd))
            readings = [_missing_reward_factor(rd, first) if isinstance(rd, Reading) else rd for rd in readings]
        if reading_note:
            doc_notes.append(reading_note)
    chains: list[_Chain] = []
    current: _Chain | None = None
    out: list[LineReport] = []
    breaks: dict = {}   # expected factor -> (line, column, written factor) of the first line that broke the pattern
    group_end: dict[int, int] = {}   # a source row split into equations takes one mark, after its last one
    for eq in placed:
        group_end[eq.group] = max(group_end.get(eq.group, -1), eq.row.offset + len(eq.row.text))
    end_of = {id(eq.row): group_end[eq.group] for eq in placed}

    def add(row, report):
        out.append(replace(report, end=end_of.get(id(row), row.offset + len(row.text)), block=row.block, start=row.offset,
                           unknown=row.kind == "unknown",
                           display_end=row.display_end if row.kind == "display" else -1, own_tags=row.own_tags))

    cache: dict = {}     # a step already checked on the same instances: identical lines are checked once
    announced: list = []  # the line at which the spent budget was announced

    def check_pair(a_, b_, *, rule, why, index, battery, seed, other=False):
        from .transform import random_side

        if _samples(a_) and not random_side(b_):
            # ≈ and = are symmetric: "estimator ≈ number" is checked as "number ≈ estimator" (E[estimator] = number).
            rep, note = check_pair(b_, a_, rule=rule, why=why, index=index, battery=battery, seed=seed, other=other)
            return replace(rep, lhs=rep.rhs, rhs=rep.lhs), note
        # An estimator against a number: E[estimator] = number; against another random side: equal on every sample.
        relation = UNBIASED if _samples(b_) and not random_side(a_) else EQUAL
        conditions = (POSITIVE_PROBABILITY,) if any(
            isinstance(e, TrajectorySum) and e.support for s_ in (a_, b_) for e in sp.preorder_traversal(s_)) else ()
        key = (a_, b_, relation, tuple(c.code for c in conditions), tuple(id(x) for x in battery), other)
        spent = budget_spent()
        if spent is not None and key not in cache:
            return _budget_step(a_, b_, relation=relation, rule=rule, why=why, index=index, spent=spent), ""
        if key not in cache:
            cache[key] = _check_for_every_t(a_, b_, relation=relation, rule=rule, why=why, index=index,
                                            conditions=conditions, battery=battery, timeout=timeout, seed=seed,
                                            minimize=minimize, refute_first=other)
        rep, note = cache[key]
        # The proof-script advice ("relation 'unbiased'") has its LaTeX spelling here.
        detail = rep.detail.replace("write the step with relation 'unbiased'", "write ≈ for an estimate")
        return replace(rep, index=index, rule=rule, why=why, detail=detail), note

    hats: dict = {}      # a name defined in the document (ĝ) -> (its meaning, the line defining it)
    as_written: dict = {}   # the same name -> (its right side as written, as first read, its steps τ's by default)
    previous = None      # the display row just above: what a row starting with '=' continues
    aside = None         # an expression displayed in a sentence since that row (row, its reading)
    lone, continued = [], set()   # displayed expressions on their own; those a row starting with '=' continues
    claim_above = None   # the display whose last row read so far states a relation
    groups: list[int] = []             # the source rows of displays, in order
    chains_of: dict[int, dict] = {}    # source row -> its column pair -> the chain of the equation there
    pieces_in: dict[int, int] = {}     # source row -> how many equations or expressions it holds
    block_of: dict[int, int] = {}      # source row -> its display
    row_leads: dict[int, bool] = {}    # source row -> whether its first piece starts with a relation
    last_display_end = -1   # where the last display row read so far ends
    for k, (row, rd) in enumerate(zip(rows, readings)):
        if k and rows[k - 1].kind == "display":
            last_display_end = rows[k - 1].offset + len(rows[k - 1].text)
        eq = placed[k]
        after_claim = row.kind == "display" and claim_above == row.block
        # "$$a = b$$ $$+ c$$": a display that starts with an operator right after an equation continues it.
        after_claim = after_claim or (row.kind == "display" and claim_above is not None and not row.mention
                                      and row.text.lstrip().startswith(("+", "-", r"\pm", r"\mp", r"\cdot", r"\times")))
        aside_before = aside
        first_of_row = True
        if row.kind == "display":
            if not groups or groups[-1] != eq.group:
                groups.append(eq.group)
            first_of_row = pieces_in.get(eq.group, 0) == 0
            pieces_in[eq.group] = pieces_in.get(eq.group, 0) + 1
            block_of[eq.group] = row.block
            if first_of_row:
                row_leads[eq.group] = isinstance(rd, Reading) and rd.lead is not None
            claim_above = row.block if isinstance(rd, Reading) and (rd.relations or rd.lead) else None
            aside = None
        above_group = groups[-2] if row.kind == "display" and len(groups) >= 2 else None
        if isinstance(rd, NotUnderstood):
            add(row, LineReport(rd.line, rd.column, row.source, "", NOT_UNDERSTOOD, "expression",
                                  row.justification, (), f"line {rd.line}, column {rd.column}: {rd.message}"))
            if row.kind == "display":
                previous = ("none", row.line, "which derive could not read")
            continue
        reading = _reading_text(rd, base)
        notes = list(rd.notes)

        def refuse(detail, kind="expression"):
            nonlocal previous
            if row.kind == "display":
                previous = ("none", row.line, "which derive could not read")
            add(row, LineReport(row.line, row.column, row.source, reading, NOT_UNDERSTOOD, kind,
                                row.justification, tuple(notes), f"line {row.line}, column {row.column}: {detail}"))

        other = [r_ for r_ in rd.relations + ([rd.lead] if rd.lead else []) if r_ not in ("=", "~", "<-")]
        if other:
            refuse(f"the relation {other[0]} is one derive cannot check (it checks =, and ≈ for estimators)")
            continue
        sides, relations, lead = list(rd.sides), list(rd.relations), rd.lead
        first = 0   # rd.sides[first] is sides[0]: where the sides as written are found
        # An update rule: only the \leftarrow itself is the algorithm step; an = after it is a claim.
        if "<-" in relations or lead == "<-":
            arrows = [j for j, r_ in enumerate(relations) if r_ == "<-"]
            if lead == "<-" or len(arrows) > 1 or any(r_ != "<-" for r_ in relations[:arrows[0]]):
                refuse("an update rule (\\leftarrow) with more than one arrow, or with a claim before its arrow")
                continue
            j = arrows[0]
            if j + 2 > len(relations):
                add(row, LineReport(row.line, row.column, row.source, reading, UPDATE_RULE, "update rule",
                                    row.justification, tuple(notes)))
                if row.kind == "display":
                    previous = ("none", row.line, "an update rule (no side to continue from)")
                continue
            notes.append(f"the update {_show(sides[j], base)} \\leftarrow {_show(sides[j + 1], base)} is an "
                         f"algorithm step; what follows it in the line is a claim, checked")
            sides, relations = sides[j + 1:], relations[j + 1:]
            first += j + 1
        # A set literal: τ = {s_0, a_0, …} describes a trajectory (a definition); a set anywhere else is no value.
        problem = next((p_ for s_ in sides if isinstance(s_, SetLiteral) for p_ in [_sequence_problem(s_, base)] if p_), "")
        if problem:
            refuse(problem)
            continue
        while len(sides) > 1 and isinstance(sides[-1], SetLiteral) and _is_trajectory(sides[-2]):
            notes.append("τ is a sequence of states, actions and rewards")
            sides, relations = sides[:-1], relations[:-1]
        while len(sides) > 1 and isinstance(sides[0], SetLiteral) and _is_trajectory(sides[1]):
            notes.append("τ is a sequence of states, actions and rewards")
            sides, relations = sides[1:], relations[1:]
            first += 1
        if any(isinstance(s_, SetLiteral) for s_ in sides):
            what = "a tuple (…)" if any(isinstance(s_, SetLiteral) and s_.tuple_form for s_ in sides) else "a set {…}"
            refuse(f"{what} is compared with something that is not a trajectory (derive reads (…) and \\{{…\\}} "
                   f"as the description of a trajectory τ = (s_0, a_0, r_0, s_1, …) only)")
            continue
        if len(sides) == 1 and lead is None and len(sides) < len(rd.sides):
            add(row, LineReport(row.line, row.column, row.source, reading, DEFINITION, "definition",
                                  row.justification, tuple(notes)))
            continue
        if not relations and lead is None:
            if after_claim:
                # An expression on a row of its own right after an equation of the same display: a
                # continuation that was not joined, or a lost line; never silently nothing.
                refuse("an expression on a row of its own after an equation of the same display: a continuation "
                       "of the row above derive could not join, or an equation without its relation")
                continue
            add(row, LineReport(row.line, row.column, row.source, reading, NO_CLAIM, "expression",
                                  row.justification, tuple(notes)))
            if row.kind == "display" and not row.mention and isinstance(sides[0], sp.Basic):
                previous = ("expression", sides[0], row.line, len(out) - 1)
                lone.append(len(out) - 1)
            elif row.kind == "display" and row.mention:
                aside = (row, sides[0])
            continue
        # ĝ = …: a name defined in the line stands for its right side from there on.
        problem, defines = "", []
        for j in range(len(sides)):
            e = sides[j]
            if not isinstance(e, sp.Basic):
                continue
            head = e.hat if isinstance(e, IndexedHat) else e
            if isinstance(head, HatName) and head.name not in hats and j + 1 < len(sides) and relations[j] == "=" \
                    and not (isinstance(sides[j + 1], sp.Basic) and sides[j + 1].has(HatName)):
                param, problem = _hat_parameter(e)
                if problem:
                    break
                hats[head.name] = (sides[j + 1], row.line, param)
                at = first + j + 1
                as_written[head.name] = (rd.written[at] if at < len(rd.written) else sides[j + 1],
                                         rd.resolved[at] if at < len(rd.resolved) else sides[j + 1], rd.free_steps)
                defines.append(j)
                notes.append(f"{_show(e, base)} defined as {_show(sides[j + 1], base)}")
                continue
            e, problem = _indexed_hats(e, hats)
            if problem:
                break
            sides[j] = e
            if isinstance(e, HatName) and e.name in hats and j + 1 < len(sides) and relations[j] == "=" \
                    and not same_form(hats[e.name][0], sides[j + 1]) and j == 0:
                problem = (f"{e.name} is defined again with a different meaning (line {hats[e.name][1]} defines it "
                           f"as {_show(hats[e.name][0], base)})")
                break
            names = [h for h in sp.preorder_traversal(e) if isinstance(h, HatName)]
            unknown = [h.name for h in names if h.name not in hats]
            if unknown:
                problem = f"{unknown[0]} is used before a line defines it"
                break
            indexed = [h.name for h in names if hats[h.name][2] is not None]
            if indexed:
                problem = (f"{indexed[0]} is written without the index its definition on line "
                           f"{hats[indexed[0]][1]} gives it: which one is meant?")
                break
            if names:
                try:
                    sides[j] = substituted(e, {h: hats[h.name][0] for h in names})
                except ReadError as exc:   # written out, the definition drops a condition (derive.read.defined)
                    problem = (f"{', '.join(sorted({h.name for h in names}))} written out as defined on line "
                               f"{hats[names[0].name][1]}: {exc}")
                    break
                notes.append(f"{', '.join(sorted({h.name for h in names}))} read as defined on line "
                             f"{hats[names[0].name][1]}")
        if not problem:
            problem = _written_out_problem(rd, first, defines, hats, as_written, row, base)
        if not problem:
            from .transform import expectation_problem

            problem = expectation_problem(sides)
        if problem:
            refuse(problem)
            continue
        for j in reversed(defines):   # X = ĝ = Y is the claim X = Y; the relation into ĝ is kept
            del sides[j]
            del relations[j]
        if len(sides) == 1 and lead is None:
            add(row, LineReport(row.line, row.column, row.source, reading, DEFINITION, "definition",
                                  row.justification, tuple(notes)))
            previous = ("expression", sides[0], row.line) if row.kind == "display" else previous
            continue
        if _is_lemma(sides):
            verdicts = [_lemma_check(a_, b_) for a_, b_ in zip(sides, sides[1:])]
            worst = next((v for v in verdicts if v[0] != HOLDS), verdicts[0] if verdicts else (HOLDS, ""))
            add(row, LineReport(row.line, row.column, row.source, reading, worst[0], "lemma", row.justification,
                                  tuple(notes), worst[1]))
            continue
        if any(isinstance(s_, sp.Basic) and s_.has(LEMMA_VAR) for s_ in sides):
            refuse("x here is neither a lemma's variable (∇_x or d/dx of a function of x, no MDP quantities) "
                   "nor a quantity of the MDP")
            continue
        # Which chain this row continues, and the steps it claims.
        pairs = []
        if lead is not None:
            if aside_before is None and row.kind == "display" and last_display_end >= 0:
                # Inline math that names an expression ("the gradient $X$ simplifies:") is an aside too.
                named = [m_ for m_ in _INLINE_MATH.finditer(masked, last_display_end, row.offset)
                         if not _RELATION_TEXT.search(m_.group("body") or m_.group("paren"))]
                if named:
                    body = named[-1].group("body") or named[-1].group("paren")
                    at = masked.count("\n", 0, named[-1].start()) + 1
                    aside_before = (replace(row, source=" ".join(body.split()), line=at), None)
            if aside_before is not None and previous is not None and previous[0] in ("chain", "expression"):
                shown, _ = aside_before
                before = current.good_line if previous[0] == "chain" else previous[2]
                if _squeeze(shown.source) not in _squeeze(row.source):
                    # "…the gradient $$X$$ and it simplifies: $$= Y$$": Y may continue X or the line before X.
                    refuse(f"a row starting with '=' after the expression displayed in a sentence on line "
                           f"{shown.line}: does it continue that expression or line {before}? Write its left side",
                           "step")
                    continue
                notes.append(f"continues line {before}; the expression displayed on line {shown.line} is used "
                             f"inside this step, not continued")
            if previous is not None and previous[0] == "expression":
                # The display above is an expression on its own: this row continues from it.
                chain = _Chain(previous[1], previous[1], previous[2], good_line=previous[2])
                continued.update(previous[3:])
                chains.append(chain)
                current = chain
            elif previous is not None and previous[0] == "none":
                refuse(f"a row starting with '=' continues line {previous[1]}, {previous[2]}", "step")
                continue
            side_by_side = chains_of.get(above_group, {}) if above_group is not None else {}
            # A piece after a space on its own row continues the piece before it ("a = b \quad = c").
            # So does '= c' in a later column pair of a row that starts with its own left side
            # ("a &= b && = c" is the chain a = b = c as typeset), whatever the row above holds.
            beside = not first_of_row and (eq.pair < 0 or not row_leads.get(eq.group, False))
            if not beside and above_group is not None and pieces_in.get(above_group, 0) >= 2 \
                    and block_of.get(above_group) != row.block:
                refuse(f"a row starting with '=' after a display whose last row holds {pieces_in[above_group]} "
                       f"equations side by side: which one does it continue? Write its left side", "step")
                continue
            if not beside and above_group is not None and pieces_in.get(above_group, 0) >= 2:
                # The row above holds several equations: '=' continues the one in its own column pair.
                if eq.pair not in side_by_side:
                    refuse(f"a row starting with '=' after a row holding {len(side_by_side)} equations side by "
                           f"side: which one does it continue? Write its left side, or put it in that "
                           f"equation's column", "step")
                    continue
                current = side_by_side[eq.pair]
            if current is None:
                refuse("a row starting with '=' needs a line above", "step")
                continue
            chain, prev, rest = current, current.last, sides
            reading = f"({_show(prev, base)}) {reading}"
            notes.insert(0, f"continues line {current.good_line}: its last side is the left side of this row")
        else:
            # Past the time budget the line is not checked, so its chain is found by equal trees only
            # (same_form costs a child process per new expression, too many for a long document).
            alike = same_form if budget_spent() is None else (lambda x, y: x == y)
            chain = next((c for c in chains if alike(c.start, sides[0])), None)
            if chain is not None:
                prev, rest = chain.last, sides[1:]
                if not same_form(chain.last, sides[0]):
                    notes.append(f"continues the chain from line {chain.line} (its left side starts that chain)")
            else:
                chain = _Chain(sides[0], sides[0], row.line, good_line=row.line)
                chains.append(chain)
                prev, rest = sides[0], sides[1:]
        sides_after = list(rest)
        # Where a \dots pattern breaks: name the factor, and notice a different reading of the same one.
        detail = []
        kinds = list(rd.pattern_kinds) + ["product"] * (len(rd.patterns) - len(rd.pattern_kinds))
        for (written, expected), kind in zip(rd.patterns, kinds):
            detail.append(f"the {kind} written with \\dots breaks its pattern at {_show(written, base)}: "
                          f"the pattern gives {_show(expected, base)}")
            key = sp.srepr(expected)
            if key in breaks and breaks[key][2] != written:
                ln, col, other = breaks[key]
                notes.append(f"the same factor is written {_show(other, base)} on line {ln}, column {col}: "
                             f"a different reading of the transition into that state")
            breaks.setdefault(key, (row.line, row.column, written))
        chain.min_horizon = max(chain.min_horizon, rd.min_horizon)
        need = chain.min_horizon
        inst = battery if need <= 0 else tuple(b_ for b_ in battery if b_.mdp.horizon >= need)
        if need > 0:
            notes.append(f"checked on the {len(inst)} MDPs with H ≥ {need}: the line as written needs "
                         f"{need + 1:,} steps or more" if inst else
                         f"no MDP of the battery has H ≥ {need:,}: the line as written needs {need + 1:,} steps "
                         f"or more, so it is not checked")
        reports, in_expectation = [], False
        # The relation each step is written with: a row starting with '≈' writes its first step with it.
        written = ([lead] if lead is not None else []) + list(relations)
        for b_ in sides_after:
            a_ = prev
            rep, t_note = check_pair(a_, b_, rule=f"line {row.line}", why=row.justification,
                                     index=len(reports) + 1, battery=inst, seed=seed + k)
            if t_note and t_note not in notes:
                notes.append(t_note)
            reports.append(rep)
            pairs.append((a_, b_))
            if rep.relation == UNBIASED and rep.ok and written[len(reports) - 1] != "~":
                in_expectation = True
            if rep.ok:
                prev = b_
                chain.good_line = row.line
            else:  # a wrong side is no premise: the next side is checked against the last one that held
                notes.append(f"the next side is checked against the last one that held (line {chain.good_line})")
        chain.last = prev
        if sides_after:
            chain.written_last = sides_after[-1]
        chain.steps += len(pairs)
        chain.rows.append(row.line)
        approx_before = chain.approx
        chain.approx = chain.approx or "~" in written
        if row.kind == "display":  # a row starting with '=' continues the display above, not a claim in prose
            current = chain
            previous = ("chain",)
            chains_of.setdefault(eq.group, {})[eq.pair] = chain
        # '=' from the exact side to an estimator holds in expectation only; after an earlier '≈' took the chain
        # to the samples, an '=' between two estimators is an identity of random variables.
        if reports and reports[-1].ok and _samples(prev) and not _samples(chain.start) and "~" not in written \
                and not approx_before:
            in_expectation = True
        verdict, usual_decided = None, False
        if rd.readings:
            # Two readings of one product: check the other one too, and say which held. The steps of the
            # line as written and the sides of the row itself (a side may start an older chain) are
            # checked in the other reading wherever it changes them.
            swap = {a_: b_ for a_, b_, _ in rd.readings}
            alt_reports, seen = [], set()
            for a_, b_ in list(pairs) + list(zip(sides, sides[1:])):
                a2, b2 = (rebuild(e, lambda z: swap.get(z, z)) for e in (a_, b_))
                if (a2 == a_ and b2 == b_) or (a2, b2) in seen:
                    continue
                seen.add((a2, b2))
                rep, t_note = check_pair(a2, b2, rule=f"line {row.line}, other reading", why=row.justification,
                                         index=len(reports) + len(alt_reports) + 1, battery=inst, seed=seed + k,
                                         other=True)
                alt_reports.append(rep)
            usual, alt = _status(reports), _status(alt_reports) if alt_reports else None
            read_w = _STATUS_WORDS[usual]
            other = _STATUS_WORDS[alt] if alt_reports else "could not be checked (it changes no step derive checks)"
            for narrow, wide, why in rd.readings:
                if why[0] == "log":
                    arg, rest = why[1], why[2]
                    rest_text = " ".join(_factor_text(r_, base) for r_ in rest)
                    usual_w = "" if log_over_big(why) else ", the usual reading"
                    notes.append(f"two readings of \\log: of {_show(arg, base)} alone, times {rest_text} (as read "
                                 f"above{usual_w}: {read_w}), or of the "
                                 f"product {_show(arg, base)} {rest_text} (the other reading: {other})")
                elif why[0] == "prod":
                    rest_text = " ".join(_factor_text(r_, base) for r_ in why[1])
                    notes.append(f"two readings of \\prod: with {rest_text} a factor at every step (Π takes the rest "
                                 f"of its product, as read above: {read_w}), or "
                                 f"{_show(wide, base)} ({rest_text} outside the product: {other})")
                else:
                    notes.append(f"two readings: {_show(narrow, base)} (∇ of the first factor, as read above: "
                                 f"{read_w}) or {_show(wide, base)} (∇ of the whole product); the other reading {other}")
            if not alt_reports:
                add(row, LineReport(row.line, row.column, row.source, reading, UNDECIDED_LINE, "step",
                                    row.justification, tuple(notes),
                                    "; ".join(detail + ["the line has two readings and only one was checked"]),
                                    tuple(reports)))
                chain.verdicts.append((row.line, row.column, UNDECIDED_LINE, tuple(reports)))
                continue
            # \log f \prod_t … has no usual reading either: log P(τ;θ) is written that way as often as (\log f) Π.
            by_convention = all(why[0] == "log" and not log_over_big(why) for _, _, why in rd.readings)
            # \log f g is (\log f) g by convention: that reading decides, the other is said beside it.
            # ∇ f g has no such convention: readings that disagree make the line ambiguous.
            if {usual, alt} == {"holds", "fails"} and not (by_convention and usual == "holds"):
                verdict = AMBIGUOUS
            elif {usual, alt} == {"undecided", "fails"} and not by_convention:
                verdict = AMBIGUOUS_UNDECIDED
            if usual != alt:   # said in plain words, never left to read off two notes
                detail.append(_disagreement(usual, alt, convention=by_convention))
                usual_decided = by_convention and verdict is None   # not where it left the line ambiguous
                for narrow, wide, why in rd.readings:
                    if log_over_big(why):
                        detail.append(_log_hint(why, base))
            if usual != "holds":
                # Π takes the rest of its product: say so where the written line does not hold as read.
                for narrow, wide, why in rd.readings:
                    if why[0] == "prod":
                        detail.append(_product_hint(narrow, wide, why[1], alt, base))
            if not by_convention or verdict == AMBIGUOUS:   # the other reading's steps, where they decide
                reports = reports + alt_reports
        if verdict is not None:
            pass
        elif any(r_.verdict == FAILED for r_ in reports):
            verdict = FAILS
        elif any(not r_.ok for r_ in reports):
            verdict = UNDECIDED_LINE
        elif in_expectation:
            verdict = IN_EXPECTATION
        else:
            verdict = HOLDS
        cut = [r_ for r_ in reports if not r_.ok and "time budget" in r_.verdict + r_.detail]
        if cut and verdict != FAILS:
            spent = budget_spent() or budget
            skipped = all("time budget" in r_.verdict for r_ in cut)
            detail.append(f"{'not checked' if skipped else 'checked in part'}, {budget_text(spent)}")
            if announce is not None and not announced:
                announced.append(row.line)
                announce(f"{budget_text(spent)} at line {row.line}: the lines left are reported undecided")
        add(row, LineReport(row.line, row.column, row.source, reading, verdict,
                              "step" if chain.steps > len(pairs) or len(pairs) > 1 else "claim",
                              row.justification, tuple(notes), "; ".join(detail), tuple(reports),
                              usual_decided=usual_decided))
        chain.verdicts.append((row.line, row.column, verdict, tuple(reports)))
    # A displayed expression no row continues states nothing: said, and no pass (a mention in prose is neutral).
    for j in lone:
        if j not in continued:
            out[j] = replace(out[j], verdict=LONE)
    # The result of every chain of several steps: what the chain shows, first left side to last right side.
    for chain in chains:
        if chain.steps < 2 or same_form(chain.start, chain.last):
            continue
        out.append(_result_row(chain, base))
    cut = [ln for ln in out if ln.kind != "result" and "time budget" in ln.detail]
    if cut:   # said first: the report is not the document's verdict, only as far as the budget went
        doc_notes.insert(0, f"{budget_text(budget_spent() or budget)}: {len(cut)} line{'s' * (len(cut) != 1)} "
                            f"not checked or checked only in part, from line {cut[0].line}, column {cut[0].column} "
                            f"on, {'are' if len(cut) != 1 else 'is'} undecided (never a pass); allow more time "
                            f"with --budget S")
    inst_count = len(battery)
    return DocumentReport(path, tuple(out), battery_name, inst_count, base, time.perf_counter() - start_time,
                          tuple(doc_notes), seed)
