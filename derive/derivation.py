"""Derivations as data: a start, named steps with justifications, and the result they prove.

A step either applies a :class:`Rule` (a function Expr -> Expr with a statement, a
justification and side conditions) or claims a user-written next expression with its
justification. The relation between consecutive lines is ``"="`` or ``"unbiased"``
(the new line is an estimator whose expectation over i.i.d. samples τ^(1..m) ∼ P(·;θ)
is the previous line).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import sympy as sp
from sympy import Expr

from .errors import UserError

__all__ = [
    "Condition", "Rule", "Step", "Goal", "Derivation", "Proof", "RuleDoesNotApply", "MalformedProof",
    "rule", "validate_proof", "check_arguments", "EQUAL", "UNBIASED", "RELATIONS",
]

EQUAL = "="
UNBIASED = "unbiased"
RELATIONS = (EQUAL, UNBIASED)


class RuleDoesNotApply(ValueError):
    """A rule left the expression unchanged: the step would claim nothing."""


class MalformedProof(UserError, TypeError, ValueError):
    """A proof, derivation, goal or step built from the wrong kind of value; the message names the field."""


def _expression(value, field: str) -> Expr:
    """value as a SymPy expression; text is refused, never parsed (sympify would eval it)."""
    if isinstance(value, str):
        raise MalformedProof(f"{field}: expected a SymPy expression, got the string {value!r} "
                             "(derive never parses text: build it from derive.notation)")
    try:
        return sp.sympify(value, strict=True)
    except sp.SympifyError:
        raise MalformedProof(f"{field}: expected a SymPy expression, got {type(value).__name__}") from None


def _text(value, field: str) -> str:
    if type(value) is not str:  # a str subclass could answer startswith("by ") or == as it likes
        raise MalformedProof(f"{field}: expected a string, got {type(value).__name__}")
    return value


def _relation(value, field: str) -> str:
    if type(value) is not str or value not in RELATIONS:
        raise MalformedProof(f"{field}: expected one of {', '.join(map(repr, RELATIONS))}, got {value!r}")
    return value


def _set(obj, name: str, value) -> None:
    object.__setattr__(obj, name, value)  # normalising a field of a frozen dataclass


@dataclass(frozen=True)
class Condition:
    """A side condition a step needs; ``code`` says how the instance check tests it."""

    code: str   # "finite-sum", "positive-probability", "theta-free-environment", "positive-policy", …
    text: str   # the sentence printed in reports


FINITE_SUM = Condition("finite-sum", "the sum over trajectories is finite (finite S, A and H)")
POSITIVE_PROBABILITY = Condition("positive-probability", "P(τ;θ) > 0 on every trajectory summed")
THETA_FREE_ENVIRONMENT = Condition(
    "theta-free-environment", "μ and the dynamics P(s'|s,a) do not depend on θ"
)
POSITIVE_POLICY = Condition("positive-policy", "π_θ(a|s) > 0 for every state and action")
DISCOUNT_BELOW_ONE = Condition("discount-below-one", "γ < 1, so the infinite-horizon return converges")
DOMINATED_CONVERGENCE = Condition(
    "dominated-convergence", "the integrand's θ-derivative is dominated by an integrable function")
CONDITIONS = {c.code: c for c in (FINITE_SUM, POSITIVE_PROBABILITY, THETA_FREE_ENVIRONMENT, POSITIVE_POLICY,
                                  DISCOUNT_BELOW_ONE, DOMINATED_CONVERGENCE)}


@dataclass(frozen=True)
class Rule:
    """A named rewrite: ``statement`` is its one-line form, ``why`` the sentence beside it."""

    name: str
    statement: str
    why: str
    rewrite: Callable[[Expr], Expr]
    conditions: tuple[Condition, ...] = ()
    relation: str = EQUAL

    def __call__(self, expr: Expr) -> Expr:
        return self.rewrite(expr)


def rule(*, name: str, why: str, conditions: tuple[Condition, ...] = (), relation: str = EQUAL):
    """Decorator: turn ``f(expr) -> expr`` (docstring = the rewrite) into a :class:`Rule`."""

    def wrap(fn: Callable[[Expr], Expr]) -> Rule:
        statement = (fn.__doc__ or "").strip().splitlines()[0]
        return Rule(name=name, statement=statement, why=why, rewrite=fn, conditions=conditions, relation=relation)

    return wrap


@dataclass(frozen=True)
class Step:
    """One line of a derivation: the new expression, how it was obtained and why it holds."""

    expr: Expr
    rule: str
    why: str
    relation: str = EQUAL
    conditions: tuple[Condition, ...] = ()
    statement: str = ""
    lemma: "Derivation | None" = None  # the derivation a substitution or citation step relies on

    def __post_init__(self):
        _set(self, "expr", _expression(self.expr, f"step {self.rule!r}: expression"))
        _text(self.rule, "Step.rule")
        _text(self.why, f"step {self.rule!r}: why")
        _text(self.statement, f"step {self.rule!r}: statement")
        _relation(self.relation, f"step {self.rule!r}: relation")
        _set(self, "conditions", tuple(self.conditions))
        for k, c in enumerate(self.conditions):
            if not isinstance(c, Condition):
                raise MalformedProof(f"step {self.rule!r}: conditions[{k}]: expected a derive Condition, "
                                     f"got {type(c).__name__}")
            _text(c.code, f"step {self.rule!r}: conditions[{k}].code")
            _text(c.text, f"step {self.rule!r}: conditions[{k}].text")
        if self.lemma is not None and not isinstance(self.lemma, Derivation):
            raise MalformedProof(f"step {self.rule!r}: lemma: expected a Derivation, got {type(self.lemma).__name__}")


@dataclass(frozen=True)
class Goal:
    """The result a derivation sets out to prove: lhs (relation) rhs."""

    lhs: Expr
    rhs: Expr
    relation: str = EQUAL

    def __post_init__(self):
        _set(self, "lhs", _expression(self.lhs, "Goal.lhs"))
        _set(self, "rhs", _expression(self.rhs, "Goal.rhs"))
        _relation(self.relation, "Goal.relation")


@dataclass(frozen=True)
class Derivation:
    """A chain start = e_1 (rel) e_2 … that must end exactly at ``goal.rhs``."""

    name: str
    start: Expr
    goal: Goal
    steps: tuple[Step, ...] = ()
    description: str = ""

    def __post_init__(self):
        _text(self.name, "Derivation.name")
        where = f"derivation {self.name!r}"
        _set(self, "start", _expression(self.start, f"{where}: start"))
        if not isinstance(self.goal, Goal):
            raise MalformedProof(f"{where}: goal: expected a derive Goal, got {type(self.goal).__name__}")
        if not isinstance(self.steps, (tuple, list)):
            raise MalformedProof(f"{where}: steps: expected a tuple of Steps, got {type(self.steps).__name__}")
        _set(self, "steps", tuple(self.steps))
        for k, st in enumerate(self.steps, start=1):
            if not isinstance(st, Step):
                raise MalformedProof(f"{where}: step {k}: expected a derive Step, got {type(st).__name__}")
        _text(self.description, f"{where}: description")

    @classmethod
    def begin(cls, name: str, start: Expr, *, goal: Goal, description: str = "") -> "Derivation":
        return cls(name=name, start=start, goal=goal, description=description)

    @property
    def last(self) -> Expr:
        return self.steps[-1].expr if self.steps else self.start

    def by(self, r: Rule) -> "Derivation":
        """Apply a rule to the last line."""
        new = r(self.last)
        if new == self.last:
            raise RuleDoesNotApply(f"{self.name}: rule '{r.name}' does not apply to {_shown(self.last)}")
        step = Step(new, r.name, r.why, r.relation, r.conditions, r.statement)
        return replace(self, steps=self.steps + (step,))

    def claim(self, expr: Expr, *, why: str, rule: str = "claim", relation: str = EQUAL,
              conditions: tuple[Condition, ...] = ()) -> "Derivation":
        """Claim the next line; the checker decides whether it follows."""
        where = f"derivation {self.name!r}, step {len(self.steps) + 1} ({rule})"
        step = Step(_expression(expr, f"{where}: claim"), rule, why, _relation(relation, f"{where}: relation"),
                    tuple(conditions))
        return replace(self, steps=self.steps + (step,))

    def substitute(self, lemma: "Derivation", *, why: str | None = None) -> "Derivation":
        """Replace the lemma's left side by its right side wherever it occurs in the last line."""
        if lemma.goal.relation != EQUAL:
            raise ValueError(f"lemma {lemma.name!r} is not an equality")
        new = _replace_instances(self.last, lemma.goal.lhs, lemma.goal.rhs)
        if new == self.last:
            raise RuleDoesNotApply(f"{self.name}: the lemma {lemma.name!r} does not occur in the last line")
        step = Step(new, f"substitute {lemma.name}", why or f"Substitute the result of {lemma.name}.",
                    EQUAL, (), f"{_shown(lemma.goal.lhs)} -> {_shown(lemma.goal.rhs)}", lemma)
        return replace(self, steps=self.steps + (step,))

    def cite(self, result: "Derivation", *, why: str | None = None) -> "Derivation":
        """Continue with an earlier derivation's result: its goal's right side becomes the next line."""
        if result.goal.lhs != self.last:
            raise RuleDoesNotApply(
                f"{self.name}: {result.name!r} starts from {_shown(result.goal.lhs)}, not from the last line"
            )
        step = Step(result.goal.rhs, f"by {result.name}", why or f"The result of {result.name}.",
                    result.goal.relation, (), "", result)
        return replace(self, steps=self.steps + (step,))

    @property
    def relation(self) -> str:
        """The relation of the whole chain: unbiased as soon as one step is."""
        return UNBIASED if any(s.relation == UNBIASED for s in self.steps) else EQUAL

    def _repr_latex_(self) -> str:
        from .latex import derivation_to_mathjax

        return derivation_to_mathjax(self)

    def _repr_markdown_(self) -> str:
        from .latex import derivation_to_markdown

        return derivation_to_markdown(self)


@dataclass(frozen=True)
class Proof:
    """A proof script's content: named derivations checked in order."""

    name: str
    title: str
    derivations: tuple[Derivation, ...]
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    battery: str = "default"  # the instances that fit the proof's model: "default" or "rewards" (random rewards)

    def __post_init__(self):
        _text(self.name, "Proof.name")
        _text(self.title, "Proof.title")
        _text(self.source, "Proof.source")
        _text(self.battery, "Proof.battery")
        from .battery import BATTERIES  # an unknown name is refused when the proof is built, not when it is checked

        if self.battery not in BATTERIES:
            raise MalformedProof(f"Proof.battery: expected one of {', '.join(map(repr, BATTERIES))}, got {self.battery!r}")
        ds = self.derivations
        if isinstance(ds, Derivation):
            raise MalformedProof(f"Proof.derivations: expected a tuple of Derivations, got a single Derivation "
                                 f"{ds.name!r} (write derivations=(d,))")
        if not isinstance(ds, (tuple, list)):
            raise MalformedProof(f"Proof.derivations: expected a tuple of Derivations, got {type(ds).__name__}")
        _set(self, "derivations", tuple(ds))
        if not self.derivations:
            raise MalformedProof(f"Proof.derivations: proof {self.name!r} has no derivations: nothing to verify")
        seen: dict = {}
        for k, d in enumerate(self.derivations):
            if not isinstance(d, Derivation):
                got = f"the string {d!r}" if isinstance(d, str) else type(d).__name__
                raise MalformedProof(f"Proof.derivations[{k}]: expected a Derivation, got {got}")
            if d.name in seen:
                raise MalformedProof(f"Proof.derivations[{seen[d.name]}] and Proof.derivations[{k}] are both named "
                                     f"{d.name!r}: a citation must name one derivation")
            seen[d.name] = k
        if isinstance(self.notes, str) or not isinstance(self.notes, (tuple, list)):
            raise MalformedProof(f"Proof.notes: expected a tuple of strings, got {type(self.notes).__name__}")
        _set(self, "notes", tuple(_text(n, f"Proof.notes[{k}]") for k, n in enumerate(self.notes)))

    def _repr_markdown_(self) -> str:
        from .latex import proof_to_markdown

        return proof_to_markdown(self)

    def _repr_latex_(self) -> str:
        from .latex import proof_to_mathjax

        return proof_to_mathjax(self)


def check_arguments(where: str, *, expressions=(), relation=EQUAL, seed=None, timeout=2.0, battery=None) -> None:
    """The arguments of check_step / verify_proof, refused with a MalformedProof naming ``where`` and the argument.

    ``expressions`` are (name, value) pairs that must be SymPy expressions (a string or a number is refused).
    """
    import math

    from .battery import BATTERIES

    for name, value in expressions:
        if isinstance(value, str):
            raise MalformedProof(f"{where}: {name}: expected a SymPy expression, got the string {value!r} "
                                 "(derive never parses text: build it from derive.notation)")
        if not isinstance(value, Expr):
            raise MalformedProof(f"{where}: {name}: expected a SymPy expression built from derive.notation, "
                                 f"got {type(value).__name__}")
    _relation(relation, f"{where}: relation")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise MalformedProof(f"{where}: seed: expected an integer >= 0 or None, got {seed!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (timeout > 0 and math.isfinite(timeout)):
        raise MalformedProof(f"{where}: timeout: expected a finite number of seconds > 0, got {timeout!r}")
    if isinstance(battery, str):
        raise MalformedProof(f"{where}: battery: expected a Battery or a list of instances, got the string {battery!r}"
                             f" (for a named one call it: derive.battery.BATTERIES[name](seed=…), "
                             f"names {', '.join(BATTERIES)})")
    if battery is not None:
        from .semantics import Instance, PointInstance

        try:
            items = list(battery)
        except TypeError:
            raise MalformedProof(f"{where}: battery: expected a Battery or a list of instances, "
                                 f"got {type(battery).__name__}") from None
        for k, inst in enumerate(items):
            if not isinstance(inst, (Instance, PointInstance)):
                raise MalformedProof(f"{where}: battery[{k}]: expected an instance (derive.semantics.Instance), "
                                     f"got {type(inst).__name__}")


def validate_proof(proof: Proof) -> None:
    """Check every field of a proof again, down to each step and each lemma a step relies on.

    The dataclasses check their fields when built, but ``object.__setattr__`` and ``dataclasses.replace``
    of an inner object can change a field afterwards; the message names the field by its path.
    """
    if not isinstance(proof, Proof):
        raise MalformedProof(f"expected a derive Proof, got {type(proof).__name__}")
    Proof.__post_init__(proof)
    seen: set = set()

    def derivation(d, where: str) -> None:
        if not isinstance(d, Derivation):
            raise MalformedProof(f"{where}: expected a Derivation, got {type(d).__name__}")
        if id(d) in seen:  # a lemma cited twice (or a cycle) is checked once
            return
        seen.add(id(d))
        where = f"{where} ({d.name!r})" if type(d.name) is str else where
        _within(where, Derivation.__post_init__, d)
        _within(f"{where}.goal", Goal.__post_init__, d.goal)
        for k, st in enumerate(d.steps):
            _within(f"{where}.steps[{k}]", Step.__post_init__, st)
            if st.lemma is not None:
                derivation(st.lemma, f"{where}.steps[{k}].lemma")

    for k, d in enumerate(proof.derivations):
        derivation(d, f"Proof.derivations[{k}]")


def _within(where: str, check, obj) -> None:
    try:
        check(obj)
    except MalformedProof as exc:
        raise MalformedProof(f"{where}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a field whose own methods fail is malformed too
        raise MalformedProof(f"{where}: a field could not be checked ({type(exc).__name__})") from None


def _replace_instances(expr: Expr, old: Expr, new: Expr) -> Expr:
    """Replace old by new, keeping unevaluated products unevaluated (Basic.__new__ rebuild)."""
    from sympy.strategies.traverse import bottom_up

    from .notation import STRUCTURE

    return bottom_up(lambda e: new if e == old else e, STRUCTURE)(expr)


def _shown(e) -> str:
    from .text import to_text  # lazily: the printer imports the notation

    return to_text(e)
