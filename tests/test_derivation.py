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
