"""The general-form prover proves true steps and refuses false ones."""

import sympy as sp

from derive.derivation import UNBIASED
from derive.notation import J, P, R, Sample, grad, i, pi, sample_mean, sum_t, sum_tau, t, unevaluated_mul
from derive.symbolic import expectation_of_sample_mean, prove, same_form


def test_log_derivative_trick_is_proved():
    lhs = sum_tau(unevaluated_mul(grad(P()), R()), support=True)
    rhs = sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True)
    assert prove(lhs, rhs).proved


def test_dropping_the_weight_is_not_proved():
    lhs = sum_tau(unevaluated_mul(grad(P()), R()), support=True)
    rhs = sum_tau(unevaluated_mul(grad(sp.log(P())), R()), support=True)
    assert not prove(lhs, rhs, timeout=1).proved


def test_objective_definition_is_unfolded():
    assert prove(grad(J()), sum_tau(grad(P() * R()))).proved
    assert not prove(grad(J()), sum_tau(grad(P())), timeout=1).proved


def test_score_of_a_trajectory_after_unfolding():
    ti = Sample(i)
    assert prove(grad(sp.log(P(ti))), sum_t(grad(sp.log(pi(t, ti))))).proved
    assert not prove(grad(sp.log(P(ti))), 2 * sum_t(grad(sp.log(pi(t, ti)))), timeout=1).proved


def test_estimator_relation_uses_the_iid_law():
    ti = Sample(i)
    lhs = sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True)
    est = sample_mean(unevaluated_mul(grad(sp.log(P(ti))), R(ti)))
    assert expectation_of_sample_mean(est) is not None
    assert prove(lhs, est, relation=UNBIASED).proved
    biased = sample_mean(unevaluated_mul(P(ti), grad(sp.log(P(ti))), R(ti)))
    assert not prove(lhs, biased, relation=UNBIASED, timeout=1).proved


def test_an_estimator_must_be_a_sample_mean():
    result = prove(grad(J()), grad(J()), relation=UNBIASED)
    assert result.status == "not proved" and "form" in result.detail


def test_different_trajectory_sets_are_not_claimed_equal():
    result = prove(sum_tau(R()), sum_tau(R(), support=True))
    assert result.status == "not proved"


def test_same_form_ignores_factor_order_only():
    assert same_form(unevaluated_mul(R(), P()), unevaluated_mul(P(), R()))
    assert not same_form(unevaluated_mul(R(), P()), P())
