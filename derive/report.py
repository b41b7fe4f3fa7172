"""Verdicts and reports: what was shown about each step, and nothing more.

A step's verdict is one of
* ``proved symbolically`` — SymPy proved it in the general form (under its stated side
  conditions) and no instance contradicted it;
* ``checked on N MDPs (scope)`` — not proved symbolically, but both sides agree exactly on N
  concrete MDPs (``checked at N points`` for statements about a continuous action); the scope
  names the battery, its ranges of S, A, H and γ, and the seed that replays the run;
* ``agree to 60 digits on N MDPs (scope)`` — weaker, and not a pass: the values are not exact
  numbers derive can compare, and rigorous balls raised to 4096 bits neither separate nor
  show a difference: |lhs − rhs| ≤ 10^-60 · max(1, |lhs| + |rhs|);
* ``undecided: held on the N smaller MDPs (H ≤ h); the large MDPs … are too large to enumerate
  for this line: not a pass; checked on …`` (or ``held for m ∈ {…} only``) — not a pass: the
  line agreed wherever it was evaluated, but that is less than the whole battery, or than every m
  (i) the line speaks of;
* ``undecided on k of N MDPs; checked on …`` — not a pass: some instances could not be
  evaluated (a size limit, balls that neither separate nor tighten); an ``=`` between
  estimators checked only on random sample tuples is likewise not a pass, and says so;
* ``failed`` — some instance contradicts it (a counterexample is attached);
* ``undecided`` — neither (a time limit was reached, or the step has no meaning the
  checker can evaluate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = [
    "m_domain", "m_domain_text",
    "instance_strength",
    "PROVED", "CHECKED", "CHECKED_POINTS", "FAILED", "UNDECIDED", "NUMERIC", "instances_phrase", "agreement_phrase",
    "Counterexample", "ConditionReport", "StepReport", "DerivationReport", "ProofReport",
]

PROVED = "proved symbolically"
CHECKED = "checked on {n} MDPs"
CHECKED_POINTS = "checked at {n} points"
FAILED = "failed"
UNDECIDED = "undecided"
NUMERIC = "agree to 60 digits"
# Words that mark a verdict weaker than a check on every instance: numeric agreement, an '=' checked on a
# random subset of sample tuples, sample counts not checked.
WEAK_WORDS = (NUMERIC, "random sample tuples", "not checked")


def instances_phrase(n: int, unit: str = "MDPs") -> str:
    """'checked on 20 MDPs' or 'checked at 6 points'."""
    return (CHECKED_POINTS if unit == "points" else CHECKED).format(n=n)[:-1 if n == 1 else None]


def plural(n: int, unit: str) -> str:
    """'MDPs' or, for one, 'MDP' ('points' / 'point')."""
    return unit[:-1] if n == 1 and unit.endswith("s") else unit


def agreement_phrase(exact: int, numeric: int, unit: str, scope: str, *, total: int | None = None) -> str:
    """'checked on 24 MDPs (scope)', 'agree to 60 digits on 3 MDPs (scope)', or both; 'K of N' when some were not evaluated."""
    at = "at" if unit == "points" else "on"
    of = f" of {total}" if total is not None and exact + numeric < total else ""
    counted = total if of else (numeric if numeric and not exact else exact)
    unit = plural(counted, unit)
    if numeric and not exact:
        words = f"{NUMERIC} {at} {numeric}{of} {unit}"
    elif numeric:
        words = f"checked {at} {exact} {unit}, {NUMERIC} {at} {numeric} more{of}"
    else:
        words = f"checked {at} {exact}{of} {unit}"
    return f"{words} ({scope})" if scope else words


@dataclass(frozen=True)
class Counterexample:
    """An instance on which a step fails, with both sides' exact values."""

    instance: str                 # one-line description: MDP, policy, θ
    mdp: dict                     # the MDP's tables (exact values as strings)
    theta: tuple[str, ...]        # θ, exactly (log z for softmax policies)
    lhs: tuple[str, ...]          # left side (each component of a gradient)
    rhs: tuple[str, ...]          # right side
    reason: str                   # why the two sides differ, in one sentence
    bindings: dict = field(default_factory=dict)  # free variables: trajectory τ, sample count m, …
    probabilities: tuple = ()     # π(a|s) at θ, exactly, one row per state
    environment: dict = field(default_factory=dict)  # ∂μ/∂θ, ∂P/∂θ when the environment depends on θ

    @property
    def replayable(self) -> bool:
        """Whether ``mdp`` is an MDP file that reproduces the instance (not for points or a θ-dependent world)."""
        return bool(self.mdp) and not self.environment

    def to_dict(self) -> dict:
        d = asdict(self)
        d["replayable"] = self.replayable
        return d


@dataclass(frozen=True)
class ConditionReport:
    """A side condition and what the instance check found."""

    text: str
    status: str   # "holds on all instances" | "violated on K of N instances" | "not tested: …"


class _NotebookView:
    """Jupyter renders a report as a table of verdicts (failed lines explained below it); str() is the short text report."""

    def __str__(self) -> str:
        from .cli import format_derivation, format_report, format_step

        if isinstance(self, ProofReport):
            return format_report(self)
        if isinstance(self, DerivationReport):
            return format_derivation(self)
        return format_step(self)

    def _repr_markdown_(self) -> str:
        from .latex import report_to_markdown

        return report_to_markdown(self)

    def _repr_latex_(self) -> str:
        from .latex import report_to_latex

        return report_to_latex(self)


@dataclass(frozen=True)
class StepReport(_NotebookView):
    """The verdict on one step (or on a derivation's stated result)."""

    index: int                    # 1-based step number; 0 for the stated result
    rule: str
    why: str
    relation: str                 # "=" or "unbiased"
    verdict: str                  # one of the four verdict strings above
    symbolic: str                 # "proved" | "not proved: …" | "undecided: time limit" | "not attempted"
    instances: int                # instances on which both sides agreed
    numeric_instances: int = 0    # of those, compared in 50-digit floats (a log value was needed)
    unit: str = "MDPs"            # what the instances are: "MDPs", or "points" for continuous statements
    conditions: tuple[ConditionReport, ...] = ()
    counterexample: Counterexample | None = None
    detail: str = ""              # extra explanation (e.g. how to restore a violated condition)
    lhs: str = ""                 # the two sides compared, as plain text
    rhs: str = ""
    scope: str = ""               # battery, ranges of S, A, H, γ, seed (and sample counts m) of the instance check
    scope_data: dict = field(default_factory=dict)
    contradiction: bool = False   # the symbolic prover said proved and an instance said differ

    @property
    def ok(self) -> bool:
        # Only a symbolic proof or exact agreement on every instance is a pass: numeric agreement
        # ("agree to 60 digits") and instances not evaluated ("undecided on k of N") are weaker verdicts.
        return self.verdict == PROVED or (self.verdict.startswith(("checked on", "checked at"))
                                          and not any(w in self.verdict for w in WEAK_WORDS))

    @property
    def numeric_only(self) -> bool:
        """Some instances agreed only to 60 digits, and no symbolic proof backs the step."""
        return self.verdict.startswith(("checked", NUMERIC)) and self.numeric_instances > 0

    @property
    def weakened(self) -> bool:
        """Holds, but less was shown than a symbolic proof or a check on the whole battery."""
        if not self.ok or self.verdict == PROVED:
            return False
        partial = " of " in self.verdict.split("(")[0] or "not evaluated on" in self.detail
        limited = "random sample tuples" in self.scope or "not checked" in self.scope or "excluded" in self.scope
        return self.numeric_only or partial or limited

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        d["weakened"] = self.weakened
        return d


@dataclass(frozen=True)
class DerivationReport(_NotebookView):
    name: str
    steps: tuple[StepReport, ...]
    result: StepReport            # the stated goal, checked like a step
    structure: tuple[str, ...] = ()  # problems with the chain itself (wrong start or end)

    @property
    def verified(self) -> bool:
        return not self.structure and self.result.ok and all(s.ok for s in self.steps)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "verified": self.verified,
            "structure": list(self.structure),
            "steps": [s.to_dict() for s in self.steps],
            "result": self.result.to_dict(),
        }



def m_domain(steps) -> int:
    """The first sample count m every line that held is a claim for: 2 when one divides by m − 1, else 1."""
    return max([1] + [int((s.scope_data or {}).get("m_from_defined", 1)) for s in steps if s.ok])


def m_domain_text(steps) -> str:
    """' for m ≥ 2 only' when a line that held is not defined at m = 1 (whatever the samples), else ''."""
    k = m_domain(steps)
    return f" for m ≥ {k} only" if k > 1 else ""


def instance_strength(steps) -> dict:
    """Of the steps that hold: how many only on instances, the largest S, A, H they were checked on, and how many at points."""
    checked = [s for s in steps if s.ok and s.verdict != PROVED]
    out: dict = {"instances_only": len(checked)}
    tops = {}
    for key in ("S", "A", "H"):
        values = [int(s.scope_data[key][1]) for s in checked if key in (s.scope_data or {})]
        if values:
            tops[key] = max(values)
    if tops:
        out["largest"] = tops
    points = sum(s.unit == "points" for s in checked)
    if points:
        out["at_points"] = points
    return out

@dataclass(frozen=True)
class ProofReport(_NotebookView):
    name: str
    title: str
    path: str
    derivations: tuple[DerivationReport, ...]
    instances: tuple[str, ...] = ()  # descriptions of the battery used
    seconds: float = 0.0
    notes: tuple[str, ...] = ()      # the proof's own remarks (e.g. figures it computed)
    seed: int | None = None          # replays the run: derive verify --seed N
    scope: str = ""                  # the battery's name, ranges and seed

    @property
    def verified(self) -> bool:
        return all(d.verified for d in self.derivations)

    @property
    def narrow(self) -> str:
        """What a narrow battery confines the check to ('bandits only (S = 1, H = 0)'), or '' for a general one."""
        from .battery import NARROW_BATTERIES

        return NARROW_BATTERIES.get(self.scope.split(":", 1)[0], "")

    @property
    def strength(self) -> dict:
        """How the lines hold: how many proved symbolically, how many checked on instances only, and their largest shapes."""
        lines = [s for d in self.derivations for s in (*d.steps, d.result)]
        return {"lines": len(lines), "proved": sum(s.verdict == PROVED for s in lines), **instance_strength(lines)}

    def strength_text(self) -> str:
        """'13 proved symbolically, 5 checked on instances only (shapes up to S = 8, A = 5, H = 200)', or ''."""
        st = self.strength
        if not st["instances_only"]:
            return ""
        where = ", ".join(f"{k} = {v}" for k, v in st.get("largest", {}).items())
        scope = f" (shapes up to {where})" if where else (" (at exact points)" if st.get("at_points") else "")
        return f"{st['proved']} proved symbolically, {st['instances_only']} checked on instances only{scope}"

    @property
    def verdict_words(self) -> str:
        """'VERIFIED', 'VERIFIED on bandits only (S = 1, H = 0)' or 'NOT VERIFIED': a narrow battery is in the verdict.

        When not every line is proved symbolically, the verdict says how many were checked on instances
        only and the largest shapes they were checked on: a check on instances is weaker than a proof.
        """
        if not self.verified:
            return "NOT VERIFIED"
        strength = self.strength_text()
        lines = [s for d in self.derivations for s in (*d.steps, d.result)]
        return ("VERIFIED" + (f" on {self.narrow}" if self.narrow else "") + m_domain_text(lines)
                + (f" — {strength}" if strength else ""))

    @property
    def scope_line(self) -> str:
        """'checked on a battery of 22 MDPs (default: only the shapes (S, A, H) = (1, 1, 2), …; γ ∈ […]; seed 0)'."""
        unit = "points" if self.derivations and self.derivations[0].result.unit == "points" else "MDPs"
        return (f"checked on a battery of {len(self.instances)} {plural(len(self.instances), unit)}"
                + (f" ({self.scope})" if self.scope else ""))

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "path": self.path,
            "verified": self.verified,
            "verdict": self.verdict_words,
            "narrow": self.narrow,
            "strength": self.strength,
            "seconds": round(self.seconds, 3),
            "seed": self.seed,
            "scope": self.scope,
            "instances": list(self.instances),
            "notes": list(self.notes),
            "derivations": [d.to_dict() for d in self.derivations],
            # Flat list of every checked line, the stated results included.
            "steps": [
                {"derivation": d.name, **s.to_dict()}
                for d in self.derivations
                for s in (*d.steps, d.result)
            ],
        }
