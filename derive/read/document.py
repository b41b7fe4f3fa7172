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

import time
from dataclasses import dataclass, field, replace

import sympy as sp
from lark import Token, Tree
from sympy import Derivative, Expr, Function, Product, Sum

from ..battery import BATTERIES
from ..check import check_step
from ..derivation import EQUAL, POSITIVE_PROBABILITY, UNBIASED
from ..latex import to_latex
from ..notation import gamma, H, Reward, RewardProbability, Sample, State, Action, TrajectorySum, i, m, t, tau
from ..report import FAILED, UNDECIDED, StepReport
from ..symbolic import same_form
from .extract import Row, def_macros, extract_rows, macros, macros_at
from .parse import NotUnderstood, parse_tree, read_row
from .transform import LEMMA_VAR, N_LETTER, UNMARKED, HatName, Reading, SetLiteral, rebuild, shift_time

__all__ = [
    "HOLDS", "IN_EXPECTATION", "FAILS", "NOT_UNDERSTOOD", "UNDECIDED_LINE", "UPDATE_RULE", "DEFINITION",
    "NO_CLAIM", "AMBIGUOUS", "LineReport", "DocumentReport", "check_text", "document_time",
]

HOLDS = "holds"
IN_EXPECTATION = "holds in expectation, written as an equality"
FAILS = "fails"
NOT_UNDERSTOOD = "not understood"
UNDECIDED_LINE = "undecided"
UPDATE_RULE = "update rule (an algorithm step, not an equation: nothing to check)"
DEFINITION = "definition"
NO_CLAIM = "no claim (an expression on its own)"
AMBIGUOUS = "ambiguous: one reading holds and the other fails"
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

    @property
    def ok(self) -> bool:
        return self.verdict == HOLDS or self.verdict in _NEUTRAL

    def to_dict(self) -> dict:
        return {
            "line": self.line, "column": self.column, "latex": self.latex, "reading": self.reading,
            "verdict": self.verdict, "ok": self.ok, "kind": self.kind, "justification": self.justification,
            "notes": list(self.notes), "detail": self.detail, "steps": [s.to_dict() for s in self.steps],
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
        return all(r.ok for r in self.lines)

    def to_dict(self) -> dict:
        return {"path": self.path, "verified": self.verified, "battery": self.battery, "instances": self.instances,
                "time_base": self.base, "seconds": round(self.seconds, 3), "notes": list(self.notes),
                "seed": self.seed,
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


# -- printing in the document's own time ---------------------------------------------------

def document_time(expr, base: int):
    """An expression of derive's 0-based time printed back in the document's time (n = H + 1)."""
    if base == 0 or not isinstance(expr, sp.Basic):
        return expr
    steps = (State, Action, Reward, RewardProbability)

    def back(e, var):  # inside a sum over var: var -> var - 1 in indices and in γ's exponent
        if isinstance(e, steps):
            return type(e)(e.args[0], e.args[1].xreplace({var: var - 1}))
        if isinstance(e, sp.Pow) and e.base == gamma:
            return sp.Pow(gamma, e.exp.xreplace({var: var - 1}), evaluate=False)
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
        return r"\{" + ", ".join(r"\dots" if not isinstance(x, sp.Basic) else to_latex(document_time(x, base), as_written=True)
                                   for x in expr.items) + r"\}"
    return to_latex(document_time(expr, base), as_written=True)


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
    return isinstance(e, sp.Basic) and m in e.free_symbols


def _has_sample(expr) -> bool:
    return isinstance(expr, sp.Basic) and expr.has(Sample)


def _resolve_trajectory(rd: Reading) -> Reading:
    """An s_t written without ^{(i)} in a line about τ^{(i)} is s_t^{(i)}; otherwise it is τ's."""
    sides = [s_ for s_ in rd.sides if isinstance(s_, sp.Basic)] + [
        x for s_ in rd.sides if isinstance(s_, SetLiteral) for x in s_.items if isinstance(x, sp.Basic)]
    unmarked = any(s_.has(UNMARKED) for s_ in sides)
    if not unmarked:
        return rd
    marked = any(_has_sample(s_) for s_ in sides)
    target = Sample(i) if marked else tau
    if marked:
        rd.notes.append("s, a without ^{(i)} read as those of τ^{(i)}: the line speaks of the i-th sample")

    def swap(e):
        return target if e == UNMARKED else e

    def fix(s_):
        return rebuild(s_, swap) if isinstance(s_, sp.Basic) else (
            SetLiteral(tuple(rebuild(x, swap) if isinstance(x, sp.Basic) else x for x in s_.items))
            if isinstance(s_, SetLiteral) else s_)

    rd.sides = [fix(s_) for s_ in rd.sides]
    rd.patterns = [(fix(a_), fix(b_)) for a_, b_ in rd.patterns]
    rd.readings = [(fix(a_), fix(b_)) for a_, b_ in rd.readings]   # both readings speak of the same trajectory
    return rd


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
        for node in tree.find_data("sub_from"):
            var = [tok.value for tok in node.children[0].scan_values(lambda v: isinstance(v, Token))]
            low = list(node.children[-1].scan_values(lambda v: isinstance(v, Token)))
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
    """A lemma in x and a positive function f: proved symbolically, or refuted at a point."""
    diff = sp.cancel(sp.together((lhs - rhs).doit()))
    if diff == 0:
        return HOLDS, "general lemma: proved symbolically for every positive differentiable f"
    fs = {a_.func for a_ in (lhs - rhs).atoms(sp.core.function.AppliedUndef)}
    concrete = {fn: sp.Lambda(LEMMA_VAR, LEMMA_VAR ** 2 + 1) for fn in fs}
    for x0 in (sp.Rational(1, 2), sp.Integer(2), sp.Integer(3)):
        lv = sp.nsimplify(lhs.subs(concrete).doit().subs(LEMMA_VAR, x0))
        rv = sp.nsimplify(rhs.subs(concrete).doit().subs(LEMMA_VAR, x0))
        if sp.simplify(lv - rv) != 0:
            return FAILS, f"counterexample: f(x) = x^2 + 1 at x = {x0}: left side {lv}, right side {rv}"
    return UNDECIDED_LINE, "SymPy could not show the two sides equal, and f(x) = x^2 + 1 does not refute it"


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
        return type(expr)(*args)   # index arithmetic such as 0 + 1 is a number again
    return _rebuild(type(expr), *args)


def _check_for_every_t(lhs, rhs, *, battery, **options) -> StepReport:
    """check_step; with the time index t free ("for every step t"), at t = 0, 1, 2 on the MDPs that have it."""
    if t not in (lhs.free_symbols | rhs.free_symbols):
        return check_step(lhs, rhs, battery=battery, **options)
    worst = None
    for t0 in (0, 1, 2):
        use = tuple(inst for inst in battery if inst.mdp.horizon >= t0)
        one = check_step(substitute_free(lhs, t, sp.Integer(t0)), substitute_free(rhs, t, sp.Integer(t0)), battery=use, **options)
        if worst is None or (worst.ok and not one.ok):
            worst = one
    return worst


def check_text(text: str, *, path: str = "", seed: int | None = None, n_random: int = 12, timeout: float = 2.0,
               minimize: bool = True) -> DocumentReport:
    """Check every display row and inline claim of a document (``seed``: replays a run; fresh when None)."""
    start_time = time.perf_counter()
    if seed is None:
        # A fixed seed would let a document be fitted to its battery, primes and directions.
        from ..battery import fresh_seed

        seed = fresh_seed()
    defined = tuple(macros(text))
    tex = True if path.endswith(".tex") else None
    rows = extract_rows(text, tex=tex)
    redefined = def_macros(text)
    trees = [parse_tree(r, macros_at(defined, r.offset), tuple(n_ for n_, at in redefined if at < r.offset))
             for r in rows]
    base, base_note = time_base_evidence(trees)
    readings = [read_row(r, tr, base=base) if not isinstance(tr, NotUnderstood) else tr for r, tr in zip(rows, trees)]
    readings = [_resolve_trajectory(rd) if isinstance(rd, Reading) else rd for rd in readings]

    def uses_rewards(rd):
        return isinstance(rd, Reading) and any(
            isinstance(s_, sp.Basic) and s_.has(Reward, RewardProbability) or
            isinstance(s_, SetLiteral) and any(isinstance(x, Reward) for x in s_.items) for s_ in rd.sides)

    battery_name = "rewards" if any(uses_rewards(rd) for rd in readings) else "default"
    battery = BATTERIES[battery_name](seed=seed, n_random=n_random)
    chains: list[_Chain] = []
    current: _Chain | None = None
    out: list[LineReport] = []
    breaks: dict = {}   # expected factor -> (line, column, written factor) of the first line that broke the pattern
    def add(row, report):
        out.append(replace(report, end=row.offset + len(row.text), block=row.block, start=row.offset,
                           unknown=row.kind == "unknown",
                           display_end=row.display_end if row.kind == "display" else -1, own_tags=row.own_tags))

    hats: dict = {}      # a name defined in the document (ĝ) -> (its meaning, the line defining it)
    previous = None      # the display row just above: what a row starting with '=' continues
    for k, (row, rd) in enumerate(zip(rows, readings)):
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
        # A set literal: τ = {s_0, a_0, …} describes a trajectory (a definition); a set anywhere else is no value.
        while len(sides) > 1 and isinstance(sides[-1], SetLiteral) and _is_trajectory(sides[-2]):
            notes.append("τ is a sequence of states, actions and rewards")
            sides, relations = sides[:-1], relations[:-1]
        while len(sides) > 1 and isinstance(sides[0], SetLiteral) and _is_trajectory(sides[1]):
            notes.append("τ is a sequence of states, actions and rewards")
            sides, relations = sides[1:], relations[1:]
        if any(isinstance(s_, SetLiteral) for s_ in sides):
            refuse("a set {…} is compared with something that is not a trajectory")
            continue
        if len(sides) == 1 and lead is None and len(sides) < len(rd.sides):
            add(row, LineReport(row.line, row.column, row.source, reading, DEFINITION, "definition",
                                  row.justification, tuple(notes)))
            continue
        if not relations and lead is None:
            add(row, LineReport(row.line, row.column, row.source, reading, NO_CLAIM, "expression",
                                  row.justification, tuple(notes)))
            if row.kind == "display" and not row.mention and isinstance(sides[0], sp.Basic):
                previous = ("expression", sides[0], row.line)
            continue
        # ĝ = …: a name defined in the line stands for its right side from there on.
        problem, defines = "", []
        for j in range(len(sides)):
            e = sides[j]
            if not isinstance(e, sp.Basic):
                continue
            if isinstance(e, HatName) and e.name not in hats and j + 1 < len(sides) and relations[j] == "=" \
                    and not (isinstance(sides[j + 1], sp.Basic) and sides[j + 1].has(HatName)):
                hats[e.name] = (sides[j + 1], row.line)
                defines.append(j)
                notes.append(f"{e.name} defined as {_show(sides[j + 1], base)}")
                continue
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
            if names:
                sides[j] = e.xreplace({h: hats[h.name][0] for h in names})
                notes.append(f"{', '.join(sorted({h.name for h in names}))} read as defined on line "
                             f"{hats[names[0].name][1]}")
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
            if previous is not None and previous[0] == "expression":
                # The display above is an expression on its own: this row continues from it.
                chain = _Chain(previous[1], previous[1], previous[2], good_line=previous[2])
                chains.append(chain)
                current = chain
            elif previous is not None and previous[0] == "none":
                refuse(f"a row starting with '=' continues line {previous[1]}, {previous[2]}", "step")
                continue
            if current is None:
                refuse("a row starting with '=' needs a line above", "step")
                continue
            chain, prev, rest = current, current.last, sides
        else:
            chain = next((c for c in chains if same_form(c.start, sides[0])), None)
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
        for written, expected in rd.patterns:
            detail.append(f"the product written with \\dots breaks its pattern at {_show(written, base)}: "
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
            notes.append(f"checked on the {len(inst)} MDPs with H ≥ {need}: the product as written needs "
                         f"{need + 1} steps or more")
        reports, in_expectation = [], False
        for b_ in sides_after:
            a_ = prev
            relation = UNBIASED if _samples(b_) and not _samples(a_) else EQUAL
            conditions = (POSITIVE_PROBABILITY,) if any(
                isinstance(e, TrajectorySum) and e.support for s_ in (a_, b_) for e in sp.preorder_traversal(s_)) else ()
            free_t = t in (a_.free_symbols | b_.free_symbols)
            rep = _check_for_every_t(a_, b_, relation=relation, rule=f"line {row.line}", why=row.justification,
                                     index=len(reports) + 1, conditions=conditions, battery=inst, timeout=timeout,
                                     seed=seed + k, minimize=minimize)
            if free_t:
                notes.append("t is free (a statement for every step): checked at t = 0, 1, 2, each on the MDPs "
                             "with H ≥ t")
            reports.append(rep)
            pairs.append((a_, b_))
            if relation == UNBIASED and rep.ok and "~" not in relations:
                in_expectation = True
            if rep.ok:
                prev = b_
                chain.good_line = row.line
            else:  # a wrong side is no premise: the next side is checked against the last one that held
                notes.append(f"the next side is checked against the last one that held (line {chain.good_line})")
        chain.last = prev
        chain.steps += len(pairs)
        chain.rows.append(row.line)
        chain.approx = chain.approx or "~" in relations
        if row.kind == "display":  # a row starting with '=' continues the display above, not a claim in prose
            current = chain
            previous = ("chain",)
        if reports and reports[-1].ok and _samples(prev) and not _samples(chain.start) and "~" not in relations:
            in_expectation = True
        if rd.readings:
            # Two readings of one product: check the other one too, and say whether they agree. The
            # steps of the line as written and the sides of the row itself (a side may start an older
            # chain) are checked in the other reading wherever it changes them.
            swap = dict(rd.readings)
            alt_reports, seen = [], set()
            for a_, b_ in list(pairs) + list(zip(sides, sides[1:])):
                a2, b2 = (rebuild(e, lambda z: swap.get(z, z)) for e in (a_, b_))
                if (a2 == a_ and b2 == b_) or (a2, b2) in seen:
                    continue
                seen.add((a2, b2))
                relation = UNBIASED if _samples(b2) and not _samples(a2) else EQUAL
                alt_reports.append(_check_for_every_t(a2, b2, relation=relation, rule=f"line {row.line}, other reading",
                                                      why=row.justification, index=len(reports) + len(alt_reports) + 1,
                                                      conditions=(), battery=inst, timeout=timeout, seed=seed + k,
                                                      minimize=minimize))
            for narrow, wide in rd.readings:
                other = ("holds" if all(r_.ok for r_ in alt_reports) else "fails") if alt_reports else \
                    "could not be checked (it changes no step derive checks)"
                notes.append(f"two readings: {_show(narrow, base)} (∇ of the first factor, as read above) or "
                             f"{_show(wide, base)} (∇ of the whole product); the other reading {other}")
            if not alt_reports:
                add(row, LineReport(row.line, row.column, row.source, reading, UNDECIDED_LINE, "step",
                                    row.justification, tuple(notes),
                                    "; ".join(detail + ["the line has two readings and only one was checked"]),
                                    tuple(reports)))
                continue
            if all(r_.ok for r_ in reports) != all(r_.ok for r_ in alt_reports):
                reports = reports + alt_reports
                verdict = AMBIGUOUS
                add(row, LineReport(row.line, row.column, row.source, reading, verdict, "step", row.justification,
                                    tuple(notes), "; ".join(detail), tuple(reports)))
                continue
            reports = reports + alt_reports
        if any(r_.verdict == FAILED for r_ in reports):
            verdict = FAILS
        elif any(not r_.ok for r_ in reports):
            verdict = UNDECIDED_LINE
        elif in_expectation:
            verdict = IN_EXPECTATION
        else:
            verdict = HOLDS
        add(row, LineReport(row.line, row.column, row.source, reading, verdict,
                              "step" if chain.steps > len(pairs) or len(pairs) > 1 else "claim",
                              row.justification, tuple(notes), "; ".join(detail), tuple(reports)))
    # The result of every chain of several steps: its first left side against its last right side.
    for chain in chains:
        if chain.steps < 2 or same_form(chain.start, chain.last):
            continue
        relation = UNBIASED if _samples(chain.last) and not _samples(chain.start) else EQUAL
        rep = _check_for_every_t(chain.start, chain.last, relation=relation, rule="result", why="", index=0,
                                 conditions=(), battery=battery, timeout=timeout, seed=seed, minimize=minimize)
        verdict = FAILS if rep.verdict == FAILED else (UNDECIDED_LINE if not rep.ok else
                                                        IN_EXPECTATION if relation == UNBIASED and not chain.approx
                                                        else HOLDS)
        reading = f"{_show(chain.start, base)} = {_show(chain.last, base)}"
        out.append(LineReport(chain.rows[-1], 0, f"(lines {chain.line}–{chain.rows[-1]}: first left side = last right side)",
                              reading, verdict, "result", "", (), "", (rep,)))
    inst_count = len(battery)
    return DocumentReport(path, tuple(out), battery_name, inst_count, base, time.perf_counter() - start_time,
                          (base_note,) if base_note else (), seed)
