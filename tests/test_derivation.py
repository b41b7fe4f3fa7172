"""Derivations are built step by step and refuse rules that do not apply."""

import pytest
import sympy as sp

from derive.derivation import EQUAL, UNBIASED, Derivation, Goal, RuleDoesNotApply
from derive.notation import J, P, R, grad, sum_tau
from derive.rules import definition_of_objective, log_derivative_trick


def test_by_appends_a_named_step():
    d = Derivation.begin("d", grad(J()), goal=Goal(grad(J()), grad(sum_tau(P() * R()))))
    d2 = d.by(definition_of_objective)
    assert d.steps == () and len(d2.steps) == 1
    assert d2.steps[0].rule == "definition of J" and d2.steps[0].why
    assert d2.relation == EQUAL


def test_a_rule_that_does_not_apply_is_an_error_not_a_silent_step():
    d = Derivation.begin("d", grad(J()), goal=Goal(grad(J()), grad(J())))
    with pytest.raises(RuleDoesNotApply, match="log-derivative trick"):
        d.by(log_derivative_trick)


def test_claims_carry_their_justification_and_relation():
    d = Derivation.begin("d", grad(J()), goal=Goal(grad(J()), sp.Integer(0), UNBIASED))
    d = d.claim(sp.Integer(0), why="because", relation=UNBIASED)
    assert d.steps[0].why == "because" and d.relation == UNBIASED
    with pytest.raises(ValueError):
        d.claim(sp.Integer(1), why="x", relation="approximately")


def test_cite_requires_the_same_starting_line():
    a = Derivation.begin("a", grad(J()), goal=Goal(grad(J()), grad(sum_tau(P() * R())))).by(definition_of_objective)
    b = Derivation.begin("b", grad(J()), goal=Goal(grad(J()), grad(sum_tau(P() * R())))).cite(a)
    assert b.last == a.goal.rhs
    c = Derivation.begin("c", J(), goal=Goal(J(), J()))
    with pytest.raises(RuleDoesNotApply):
        c.cite(a)


def test_fields_are_checked_when_built():
    from derive.derivation import MalformedProof, Proof

    d = Derivation.begin("d", grad(J()), goal=Goal(grad(J()), grad(sum_tau(P() * R())))).by(definition_of_objective)
    with pytest.raises(MalformedProof, match="Goal.rhs: expected a SymPy expression, got the string"):
        Goal(J(), "J(theta)")
    with pytest.raises(MalformedProof, match="claim: expected a SymPy expression, got the string"):
        d.claim("J(theta)", why="text")
    with pytest.raises(MalformedProof, match="single Derivation 'd'"):
        Proof("p", "P", d)
    with pytest.raises(MalformedProof, match=r"Proof.derivations\[1\]: expected a Derivation, got the string"):
        Proof("p", "P", (d, "d"))
    with pytest.raises(MalformedProof, match="nothing to verify"):
        Proof("p", "P", ())
    with pytest.raises(MalformedProof, match=r"derivations\[0\] and Proof.derivations\[1\] are both named 'd'"):
        Proof("p", "P", (d, d))
    with pytest.raises(MalformedProof, match="Proof.notes"):
        Proof("p", "P", (d,), notes="one note")
    assert Proof("p", "P", [d]).derivations == (d,)  # a list is accepted as a tuple
    assert Goal(J(), 0).rhs == sp.Integer(0)        # numbers become SymPy numbers


# -- the Python API checks its arguments with derive's message --------------------------------

from derive.check import check_step, verify_proof
from derive.derivation import MalformedProof, Proof

_D = Derivation.begin("x", grad(J()), goal=Goal(grad(J()), grad(sum_tau(P() * R())))).by(definition_of_objective)


@pytest.mark.parametrize("call, message", [
    (lambda: check_step("x", "x"), "check_step: lhs: expected a SymPy expression, got the string 'x'"),
    (lambda: check_step(1, 1), "check_step: lhs: expected a SymPy expression built from derive.notation, got int"),
    (lambda: check_step(None, grad(J())), "got NoneType"),
    (lambda: check_step(grad(J()), "J"), "check_step: rhs: expected a SymPy expression, got the string"),
    (lambda: check_step(grad(J()), grad(J()), relation="~"), "check_step: relation: expected one of '=', 'unbiased'"),
    (lambda: check_step(grad(J()), grad(J()), seed=-1), "check_step: seed: expected an integer >= 0"),
    (lambda: check_step(grad(J()), grad(J()), timeout=-1), "check_step: timeout: expected a finite number"),
    (lambda: check_step(grad(J()), grad(J()), battery="nope"), "check_step: battery: expected a Battery"),
    (lambda: check_step(grad(J()), grad(J()), battery=[1]), r"check_step: battery\[0\]: expected an instance"),
    (lambda: verify_proof(_D), "verify_proof: expected a derive Proof, got Derivation"),
    (lambda: verify_proof("proof.py"), "verify_proof: expected a derive Proof, got the string 'proof.py'"),
    (lambda: verify_proof(Proof("n", "t", (_D,)), battery="nope"), "verify_proof: battery: expected a Battery"),
    (lambda: verify_proof(Proof("n", "t", (_D,)), timeout=float("inf")), "verify_proof: timeout"),
    (lambda: Proof("n", "t", (_D,), battery="nope"), "Proof.battery: expected one of 'default'"),
], ids=lambda v: v if isinstance(v, str) else "call")  # stable ids: xdist workers must collect the same tests
def test_api_arguments_are_refused_with_a_message(call, message):
    with pytest.raises(MalformedProof, match=message) as info:
        call()
    assert isinstance(info.value, (TypeError, ValueError))


def test_api_accepts_the_good_twins():
    from derive.battery import default_battery

    battery = default_battery(seed=1, n_random=0)[:2]
    report = check_step(grad(J()), grad(J()), relation="=", seed=0, timeout=1, battery=battery)
    assert report.ok
    assert Proof("n", "t", (_D,), battery="rewards").battery == "rewards"
