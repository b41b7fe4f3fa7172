"""docs/writing.md lists every notation constructor and every rule, with the LaTeX derive prints today.

Run with DERIVE_REGENERATE=1 to rewrite the generated tables after a change to the notation or the rules.
"""

import inspect
import os
from pathlib import Path

import derive.notation as notation
import derive.rules as rules
from derive.derivation import Rule
from derive.latex import to_latex

DOC = Path(__file__).resolve().parents[1] / "docs" / "writing.md"
BEGIN, END = "<!-- generated: {} -->", "<!-- end generated: {} -->"

# Constructors a derivation is written with, each shown on its default arguments.
CONSTRUCTORS = {
    "s": lambda: notation.s(notation.t), "a": lambda: notation.a(notation.t), "mu": notation.mu,
    "dynamics": notation.dynamics, "pi": notation.pi, "P": notation.P, "R": notation.R, "J": notation.J,
    "grad": lambda: notation.grad(notation.J()), "sum_tau": lambda: notation.sum_tau(notation.R()),
    "sum_t": lambda: notation.sum_t(notation.r()), "prod_t": lambda: notation.prod_t(notation.pi()),
    "r": notation.r, "reward_probability": notation.reward_probability,
    "sum_states": lambda: notation.sum_states(notation.d()), "d": notation.d, "Q": notation.Q,
    "expectation": lambda: notation.expectation(notation.R()), "factorisation": notation.factorisation,
    "factorisation_with_rewards": notation.factorisation_with_rewards, "baseline": notation.baseline,
    "sum_actions": lambda: notation.sum_actions(notation.Q()), "discounted_return": notation.discounted_return,
    "reward_to_go": notation.reward_to_go,
    "sample_mean": lambda: notation.sample_mean(notation.R(notation.Sample(notation.i))),
    "ratio": lambda: notation.ratio(notation.P()),
    "fraction": lambda: notation.fraction(notation.grad(notation.P()), notation.P()),
    "unevaluated_mul": lambda: notation.unevaluated_mul(notation.P(), notation.R()),
}
NOT_CONSTRUCTORS = {"nonnegative", "marginal_sums"}  # predicates and rewrites the checks use, not notation a derivation is written in
EXAMPLE_ARGS = {"grad": "J()", "sum_tau": "R()", "sum_t": "r()", "prod_t": "pi()", "sum_states": "d()",
                "expectation": "R()", "sum_actions": "Q()", "sample_mean": "R(Sample(i))", "ratio": "P()",
                "fraction": "grad(P()), P()", "unevaluated_mul": "P(), R()", "s": "t", "a": "t"}


def notation_table() -> str:
    rows = ["| constructor | example | prints as | meaning |", "|---|---|---|---|"]
    for name, make in CONSTRUCTORS.items():
        doc = (getattr(notation, name).__doc__ or "").strip().splitlines()[0].replace("|", "\\|")
        tex = to_latex(make()).replace("|", "\\|")
        rows.append(f"| `{name}` | `{name}({EXAMPLE_ARGS.get(name, '')})` | ${tex}$ | {doc} |")
    return "\n".join(rows)


def rules_table() -> str:
    rows = ["| rule (`derive.rules`) | name in reports | rewrite | side conditions |", "|---|---|---|---|"]
    for attr, value in vars(rules).items():
        if isinstance(value, Rule):
            conds = "; ".join(c.text for c in value.conditions) or "—"
            rel = " (relation: unbiased)" if value.relation != "=" else ""
            rows.append(f"| `{attr}` | {value.name} | {value.statement.replace('|', chr(92) + '|')}{rel} | "
                        f"{conds.replace('|', chr(92) + '|')} |")
    return "\n".join(rows)


def _section(text: str, key: str) -> str:
    start, end = text.index(BEGIN.format(key)) + len(BEGIN.format(key)), text.index(END.format(key))
    return text[start:end].strip()


def _regenerate(text: str) -> str:
    for key, table in (("notation", notation_table()), ("rules", rules_table())):
        start, end = text.index(BEGIN.format(key)) + len(BEGIN.format(key)), text.index(END.format(key))
        text = text[:start] + "\n" + table + "\n" + text[end:]
    return text


def test_every_constructor_in_the_notation_is_documented():
    public = {n for n in notation.__all__ if inspect.isfunction(getattr(notation, n))} - NOT_CONSTRUCTORS
    assert public == set(CONSTRUCTORS), sorted(public ^ set(CONSTRUCTORS))


def test_the_tables_match_the_code():
    text = DOC.read_text(encoding="utf-8")
    if os.environ.get("DERIVE_REGENERATE"):
        DOC.write_text(_regenerate(text), encoding="utf-8")
        text = DOC.read_text(encoding="utf-8")
    assert _section(text, "notation") == notation_table()
    assert _section(text, "rules") == rules_table()


def test_a_rule_added_to_the_code_would_be_caught():
    text = DOC.read_text(encoding="utf-8")
    assert "| `causality` |" in _section(text, "rules")
    # The twin that must fail: a table missing one rule differs from the code's.
    assert _section(text, "rules").replace("| `causality` |", "| `causality_` |") != rules_table()
