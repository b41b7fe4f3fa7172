"""A citation relies on the very derivation it names (by identity), never on another one of the same name."""

from derive.battery import default_battery
from derive.check import verify_derivation
from derive.derivation import Derivation, Goal
from derive.notation import J, P, R, sum_tau
from derive.rules import definition_of_objective

BATTERY = default_battery(n_random=0)[:3]
TRUE_RHS = sum_tau(P() * R())
FALSE_RHS = sum_tau(2 * P() * R())


def lemma_pair():
    true = Derivation.begin("lemma", J(), goal=Goal(J(), TRUE_RHS)).by(definition_of_objective)
    false = Derivation.begin("lemma", J(), goal=Goal(J(), FALSE_RHS)).claim(FALSE_RHS, why="wrong")
    return true, false


def citing(lemma, rhs):
    return Derivation.begin("uses the lemma", J(), goal=Goal(J(), rhs)).cite(lemma)


def check(d, chains):
    return verify_derivation(d, battery=BATTERY, proved_chains=chains, timeout=3, minimize=False)


def test_a_false_lemma_does_not_borrow_the_proof_of_a_namesake():
    true, false = lemma_pair()
    chains: dict = {}
    check(true, chains)
    report = check(citing(false, FALSE_RHS), chains)
    assert not report.steps[0].symbolic.startswith("proved"), report.steps[0].symbolic
    assert "not checked earlier" in report.steps[0].symbolic


def test_a_false_lemma_checked_earlier_is_not_proved():
    true, false = lemma_pair()
    chains: dict = {}
    check(true, chains)
    check(false, chains)
    report = check(citing(false, FALSE_RHS), chains)
    assert report.steps[0].symbolic.startswith("not proved") and "relies on lemma" in report.steps[0].symbolic


def test_a_proved_lemma_is_cited_as_proved():
    true, false = lemma_pair()
    chains: dict = {}
    check(false, chains)
    check(true, chains)
    report = check(citing(true, TRUE_RHS), chains)
    assert report.steps[0].symbolic.startswith("proved"), report.steps[0].symbolic
