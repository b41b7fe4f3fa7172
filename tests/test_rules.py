"""Each rule's step holds on random finite MDPs, and a plausible wrong version of it is rejected."""

import random

import pytest
import sympy as sp
from hypothesis import given, strategies as st

from derive import rules as R_
from derive.battery import default_battery, random_instance
from derive.check import check_instance, check_step
from derive.derivation import EQUAL, UNBIASED
from derive.notation import (
    H, Sample, baseline, dynamics, fraction, gamma, grad, i, J, mu, P, pi, prod_t, R, r, ratio, reward_to_go,
    sample_mean, sum_t, sum_tau, t, u, unevaluated_mul,
)

TI = Sample(i)
LOG_SUM = sp.Add(sp.log(mu(TI)), sum_t(sp.log(dynamics(t, TI))), sum_t(sp.log(pi(t, TI))), evaluate=False)

SCORE = sum_t(grad(sp.log(pi())))
RTG_LINE = sum_tau(unevaluated_mul(P(), sum_t(unevaluated_mul(grad(sp.log(pi())), reward_to_go()))), support=True)

# rule -> (a line it applies to, a plausible wrong next line)
CASES = {
    "definition of R": (R_.expand_return, sum_tau(unevaluated_mul(P(), R())),
                        sum_tau(unevaluated_mul(P(), sp.Sum(r(u), (u, 0, H))))),
    "distribute over Σ_t": (R_.distribute_over_time_sum,
                            sum_tau(unevaluated_mul(P(), SCORE, R()), support=True),
                            sum_tau(unevaluated_mul(P(), SCORE), support=True)),
    "causality": (R_.causality,
                  sum_tau(unevaluated_mul(P(), sum_t(unevaluated_mul(grad(sp.log(pi())), reward_to_go(0)))),
                          support=True),
                  sum_tau(unevaluated_mul(P(), sum_t(unevaluated_mul(grad(sp.log(pi())), reward_to_go(t + 1)))),
                          support=True)),
    "baseline": (R_.subtract_baseline, RTG_LINE,
                 sum_tau(unevaluated_mul(P(), sum_t(unevaluated_mul(grad(sp.log(pi())),
                                                                    reward_to_go() - baseline(t + 1)))), support=True)),
    "definition of J": (R_.definition_of_objective, grad(J()), grad(sum_tau(R()))),
    "gradient–sum swap": (R_.swap_gradient_and_sum, grad(sum_tau(P() * R())), sum_tau(grad(P()))),
    "constant factor": (R_.pull_out_theta_free_factor, sum_tau(grad(P() * R())),
                        sum_tau(unevaluated_mul(grad(R()), P()))),
    "restrict to the support": (R_.restrict_to_support, sum_tau(unevaluated_mul(grad(P()), R())),
                                sum_tau(R(), support=True)),
    "multiply by P/P": (R_.multiply_by_ratio, sum_tau(unevaluated_mul(grad(P()), R()), support=True),
                        sum_tau(unevaluated_mul(P(), grad(P()), R()), support=True)),
    "regroup": (R_.regroup, sum_tau(unevaluated_mul(ratio(P()), grad(P()), R()), support=True),
                sum_tau(unevaluated_mul(P(), fraction(grad(P()), P())), support=True)),
    "log-derivative trick": (R_.log_derivative_trick,
                             sum_tau(unevaluated_mul(P(), fraction(grad(P()), P()), R()), support=True),
                             sum_tau(unevaluated_mul(grad(sp.log(P())), R()), support=True)),
    "sample estimator": (R_.sample_estimator,
                         sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True),
                         sample_mean(unevaluated_mul(P(TI), grad(sp.log(P(TI))), R(TI)))),
    "trajectory probability": (R_.factorise_trajectory_probability, grad(sp.log(P(TI))),
                               grad(sp.log(mu(TI) * prod_t(dynamics(t, TI) * pi(t, TI), upper=H - 1)))),
    "log of a product": (R_.log_of_product, grad(sp.log(mu(TI) * prod_t(dynamics(t, TI) * pi(t, TI)))),
                         grad(sp.log(mu(TI)) + sum_t(sp.log(dynamics(t, TI))) + sum_t(sp.log(pi(t, TI)), upper=H - 1))),
    "linearity of ∇": (R_.gradient_of_sum, grad(LOG_SUM),
                       grad(sp.log(mu(TI))) + grad(sum_t(sp.log(dynamics(t, TI)))) - grad(sum_t(sp.log(pi(t, TI))))),
    "drop θ-free terms": (R_.drop_theta_free_terms,
                          sp.Add(grad(sp.log(mu(TI))), grad(sum_t(sp.log(dynamics(t, TI)))),
                                 grad(sum_t(sp.log(pi(t, TI)))), evaluate=False),
                          sp.Add(grad(sp.log(mu(TI))), grad(sum_t(sp.log(dynamics(t, TI)))), evaluate=False)),
}


def test_causality_is_not_a_pointwise_identity():
    # Without the expectation over τ the two lines differ: the rule holds only under Σ_τ P.
    pointwise = sum_t(unevaluated_mul(grad(sp.log(pi())), reward_to_go(0)))
    report = check_step(pointwise, R_.causality(pointwise), battery=default_battery(n_random=4))
    assert report.verdict == "failed"


def test_every_rule_has_a_case():
    assert {r.name for r in R_.ALL_RULES} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_applies_and_changes_the_line(name):
    rule, before, _ = CASES[name]
    assert rule(before) != before


@pytest.mark.parametrize("name", sorted(CASES))
@given(seed=st.integers(0, 10**9))
def test_rule_step_holds_on_random_mdps(name, seed):
    rule, before, _ = CASES[name]
    rng = random.Random(seed)
    inst = random_instance(rng, 0)
    out = check_instance(before, rule(before), rule.relation, inst, rng)
    assert out.status == "agree", (out, inst.describe())


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_rejects_its_wrong_variant(name):
    rule, before, wrong = CASES[name]
    report = check_step(before, wrong, relation=rule.relation, rule=name, battery=default_battery(n_random=6))
    assert report.verdict == "failed", report
    assert report.counterexample is not None and report.counterexample.instance


def test_rules_leave_unrelated_lines_unchanged():
    line = sum_tau(R())
    for r in (R_.log_derivative_trick, R_.regroup, R_.sample_estimator, R_.drop_theta_free_terms):
        assert r(line) == line


def test_multiply_by_ratio_keeps_the_factor_visible():
    out = R_.multiply_by_ratio(sum_tau(R(), support=True))
    assert out != sum_tau(R(), support=True)
    assert out.body.args[0] == ratio(P())  # P/P is still there, not cancelled to 1


def test_sample_estimator_is_an_unbiased_relation_not_an_equality():
    assert R_.sample_estimator.relation == UNBIASED
    assert all(r.relation == EQUAL for r in R_.ALL_RULES if r is not R_.sample_estimator)


def test_every_rule_states_its_rewrite_and_why():
    for r in R_.ALL_RULES:
        assert "->" in r.statement and r.why.endswith(".")


def test_log_of_a_product_splits_only_nonnegative_factors():
    # log(R²) and log(R·R') need not split (R may be ≤ 0); a product of probabilities does.
    assert R_.log_of_product(sp.log(R() * R(TI))) == sp.log(R() * R(TI))
    assert R_.log_of_product(sp.log(mu(TI) * pi(0, TI))) == sp.log(mu(TI)) + sp.log(pi(0, TI))
