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


# -- a citation or substitution step licenses exactly one line ----------------------

def forged(lemma, start, expr, rule="by lemma"):
    """A step carrying a proved lemma but an unrelated line, put in place as dataclasses.replace would."""
    from dataclasses import replace

    from derive.derivation import Step

    step = Step(expr, rule, "The result of lemma.", "=", (), "", lemma)
    return replace(Derivation.begin("forged", start, goal=Goal(start, expr)), steps=(step,))


def test_a_forged_citation_of_a_proved_lemma_is_not_proved():
    from derive.notation import gamma, pi

    true, _ = lemma_pair()
    chains: dict = {}
    assert check(true, chains).steps[0].symbolic.startswith("proved")
    for start, expr in ((pi(), 2 * gamma), (J(), 2 * gamma), (pi(), TRUE_RHS)):
        report = check(forged(true, start, expr), chains)
        assert report.steps[0].symbolic.startswith("not proved"), (start, expr, report.steps[0].symbolic)
        assert report.result.symbolic.startswith("not proved")


def test_a_forged_substitution_of_a_proved_lemma_is_not_proved():
    from derive.notation import grad

    true, _ = lemma_pair()
    chains: dict = {}
    check(true, chains)
    # the true substitution of J by its definition is proved; a line that claims to rely on the lemma but is
    # not its substitution is not, whether SymPy would equate it to the line above or not
    honest = Derivation.begin("substituted", grad(J()), goal=Goal(grad(J()), grad(TRUE_RHS))).substitute(true)
    assert check(honest, chains).steps[0].symbolic.startswith("proved")
    for expr in (sum_tau(grad(P() * R())), grad(FALSE_RHS)):
        report = check(forged(true, grad(J()), expr, rule="substitute lemma"), chains)
        assert report.steps[0].symbolic.startswith("not proved"), report.steps[0].symbolic


def test_an_honest_citation_is_still_proved():
    true, _ = lemma_pair()
    chains: dict = {}
    check(true, chains)
    report = check(citing(true, TRUE_RHS), chains)
    assert report.steps[0].symbolic.startswith("proved"), report.steps[0].symbolic


# -- the stated result is proved only by a chain that reaches it --------------------

def test_a_chain_that_starts_elsewhere_does_not_prove_the_stated_result():
    from derive.notation import gamma, pi

    d = Derivation.begin("mismatch", gamma, goal=Goal(pi(), gamma)).claim(gamma + 0, why="nothing")
    report = check(d, {})
    assert report.steps[0].symbolic.startswith("proved")  # γ = γ is true
    assert report.result.symbolic.startswith("not proved"), report.result.symbolic
    assert report.structure


def test_a_chain_that_ends_elsewhere_does_not_prove_the_stated_result():
    from derive.notation import gamma

    d = Derivation.begin("ends early", gamma, goal=Goal(gamma, 2 * gamma)).claim(gamma + 0, why="nothing")
    assert check(d, {}).result.symbolic.startswith("not proved")


def test_a_chain_that_reaches_the_stated_result_proves_it():
    d = Derivation.begin("reaches", J(), goal=Goal(J(), TRUE_RHS)).by(definition_of_objective)
    report = check(d, {})
    assert report.result.symbolic.startswith("proved") and not report.structure


def test_same_form_of_a_huge_unevaluated_power_is_time_limited():
    import time

    import sympy as sp

    from derive.notation import pi
    from derive.symbolic import same_form

    big = sp.Mul(sp.Pow(3, 10 ** 9, evaluate=False), sp.pi, evaluate=False)
    start = time.monotonic()
    assert not same_form(big, pi(), timeout=1)
    assert time.monotonic() - start < 10
    assert same_form(big, big, timeout=1)  # equal trees: no evaluation needed
    assert same_form(pi() + J(), J() + pi(), timeout=1)
