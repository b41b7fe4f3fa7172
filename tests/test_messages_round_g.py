"""Red-team round G, finding 6: messages that said something other than what happened."""

import sympy as sp

from derive.notation import J, P, grad, i, m, r, sum_tau, t, u, unevaluated_mul
from derive.symbolic import prove
from soundness_helpers import battery, verdict


def test_a_sum_over_a_symbol_not_declared_integer_says_so_plainly():
    k = sp.Symbol("k")
    report = verdict(J(), J() + sp.Sum(1, (k, 1, 3)), bat=battery(1, seed=3))
    reason = report.counterexample.reason
    assert "integer integer" not in reason and "declared an integer" in reason, reason


def test_a_free_bound_names_the_free_symbol_not_a_run_on_phrase():
    start = sum_tau(unevaluated_mul(P(), sp.Add(sp.Integer(1), sp.Sum(r(u), (u, 13, t)), evaluate=False)))
    report = verdict(start, sp.Integer(1), bat=battery(1, seed=4))
    assert not report.ok
    assert "upper limit of u t" not in report.detail
    assert "the upper limit of u is t, which has no integer value here (t free" in report.detail, report.detail


def test_a_line_in_m_without_samples_is_not_called_a_sample_mean():
    rhs = sp.Add(grad(J()), sp.Sum(grad(J()), (i, 10, m)), evaluate=False)
    result = prove(grad(J()), rhs, timeout=20)
    assert not result.proved and "sample mean" not in result.detail, result.detail
    assert "sample count m" in result.detail
