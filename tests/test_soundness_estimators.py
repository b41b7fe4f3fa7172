"""Estimators: terms that cannot be computed leave the line undecided, m is drawn wide, sampled tuples are weaker."""

import pytest
import sympy as sp

from derive.check import check_step
from derive.derivation import EQUAL, UNBIASED
from derive.notation import (
    ActionSum, H, J, P, Policy, R, Sample, grad, i, m, pi, s, sample_mean, t, theta, unevaluated_mul,
)
from derive.symbolic import SymbolicResult
from soundness_helpers import battery

SEEDS = (1, 2, 3)
REINFORCE = sample_mean(unevaluated_mul(grad(sp.log(P(Sample(i)))), R(Sample(i))))


def _check(lhs, rhs, relation, seed, n_random=3):
    return check_step(lhs, rhs, relation=relation, battery=battery(n_random=n_random, seed=seed),
                      symbolic=SymbolicResult("not attempted"), minimize=False, seed=seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_bias_coupling_many_samples_is_never_a_pass(seed):
    chain = sp.Mul(*[(R(Sample(k)) - R(Sample(k + 1))) ** 2 for k in range(1, 18)], evaluate=False)
    report = _check(grad(J()), REINFORCE + (m - 1) * chain, UNBIASED, seed)
    assert not report.ok, report.verdict
    # The true twin: the unbiased estimator itself.
    assert _check(grad(J()), REINFORCE, UNBIASED, seed).ok


def test_a_zero_factor_at_m_equal_1_is_zero_before_enumeration():
    from derive.check import _zero_factor, _subst

    chain = sp.Mul(*[(R(Sample(k)) - R(Sample(k + 1))) ** 2 for k in range(1, 18)], evaluate=False)
    term = _subst((m - 1) * chain, {m: sp.Integer(1)})
    assert _zero_factor(term)
    assert not _zero_factor(_subst((m - 1) * chain, {m: sp.Integer(2)}))


@pytest.mark.parametrize("seed", SEEDS)
def test_bias_only_for_large_m_is_found(seed):
    biased = REINFORCE + sp.prod([m - k for k in range(1, 10)]) * R(Sample(1))
    report = _check(grad(J()), biased, UNBIASED, seed)
    assert report.verdict == "failed", report.verdict
    assert "m = 1, 2, 3" in _check(grad(J()), REINFORCE, UNBIASED, seed).verdict


@pytest.mark.parametrize("seed", SEEDS)
def test_random_sample_tuples_are_a_weaker_verdict(seed):
    A = ActionSum(sp.Integer(1))
    f = lambda tr: sp.Product(pi(t, tr) - Policy(sp.Integer(0), s(t, tr), theta), (t, 0, H))  # noqa: E731
    lhs = R(Sample(1)) * R(Sample(2))
    rhs = lhs + (A - 1) * sp.prod([H - k for k in range(8)]) * f(Sample(1)) * f(Sample(2))
    report = _check(lhs, rhs, EQUAL, seed, n_random=12)
    assert not report.ok, report.verdict
    assert "m = ?" not in report.verdict
    # The true twin on the same instances.
    twin = _check(lhs, unevaluated_mul(R(Sample(2)), R(Sample(1))), EQUAL, seed, n_random=12)
    assert twin.verdict != "failed"
