"""A line is a pass only when it holds on the whole battery, for every m and i it speaks of.

False claims that agree on every instance derive can evaluate, yet not on the whole battery
(large MDPs excluded) or not for every m (i), must not pass; true twins must.
"""

from fractions import Fraction

import sympy as sp

from derive.battery import Battery, default_battery, random_reward, random_gamma
from derive.check import check_step
from derive.derivation import EQUAL, UNBIASED
from derive.mdp import FiniteMDP
from derive.notation import (
    H, P, R, Sample, gamma, grad, i, m, pi, r, sample_mean, sum_t, sum_tau, t, u, unevaluated_mul,
)
from derive.policies import TabularSoftmax
from derive.report import PROVED, UNDECIDED, DerivationReport, ProofReport, StepReport
from derive.semantics import MAX_NESTED_TERMS, Instance
from derive.symbolic import SymbolicResult

from soundness_helpers import verdict

NO_PROOF = SymbolicResult("not attempted")


def _battery():
    return default_battery(n_random=4, seed=11)


# -- large MDPs excluded: never a pass -----------------------------------------------------

def _late(window):
    return sum_tau(unevaluated_mul(P(), sum_t(unevaluated_mul(
        grad(sp.log(pi(t))), sp.Sum(gamma**u * r(u), (u, t + window, H))))))


def test_a_13_step_window_is_not_a_pass_when_the_long_mdps_are_excluded():
    rep = verdict(_late(13), sp.Integer(0), bat=_battery())
    assert not rep.ok
    assert rep.verdict.startswith(UNDECIDED)
    assert "too large to enumerate for this line: not a pass" in rep.verdict
    assert "smaller MDPs (H ≤ " in rep.verdict


def test_a_2_step_window_fails():
    rep = verdict(_late(2), sp.Integer(0), bat=_battery())
    assert rep.verdict == "failed"


def test_the_reward_to_go_covered_by_dp_over_time_still_passes_on_the_whole_battery():
    bat = _battery()
    rtg = sum_tau(unevaluated_mul(P(), sum_t(unevaluated_mul(grad(sp.log(pi(t))), sp.Sum(gamma**u * r(u), (u, t, H))))))
    full = grad(sum_tau(unevaluated_mul(P(), sum_t(gamma**t * r(t)))))
    rep = verdict(rtg, full, bat=bat)
    assert rep.ok and not rep.weakened, rep.verdict
    assert f"checked on {len(bat)} MDPs" in rep.verdict


def _outside_dp():
    return grad(sum_tau(P() / (1 + R()**2)))


def test_a_factor_one_on_h_up_to_12_is_not_a_pass():
    X = _outside_dp()
    f = 1 + sp.Mul(*[(H - h) for h in range(13)])
    rep = verdict(X, unevaluated_mul(f, X), bat=_battery())
    assert not rep.ok and rep.verdict.startswith(UNDECIDED)


def test_a_line_outside_the_dp_plan_still_passes_when_proved_symbolically():
    X = _outside_dp()
    rep = check_step(X, grad(sum_tau(P() / (R()**2 + 1))), battery=_battery(), minimize=False, timeout=20)
    assert rep.verdict == PROVED and rep.ok


# -- m and i at a few values only: never a pass ---------------------------------------------

def _estimator():
    return sample_mean(unevaluated_mul(grad(sp.log(P(Sample(i)))), R(Sample(i))))


def test_an_equality_between_estimators_false_for_m_at_least_10_is_not_a_pass():
    est = _estimator()
    f = 1 + sp.Mul(*[(m - k) for k in range(1, 10)])
    rep = verdict(est, unevaluated_mul(f, est), bat=_battery())
    assert not rep.ok
    assert "held for m ∈ {" in rep.verdict and "only" in rep.verdict


def test_an_unbiased_line_past_the_degree_bound_is_not_a_pass():
    est = _estimator()
    f = 1 + sp.Mul(*[(m - k) for k in range(1, 42)])  # degree 41: past MAX_DEGREE
    rep = verdict(grad(sum_tau(unevaluated_mul(P(), R()))), unevaluated_mul(f, est), relation=UNBIASED, bat=_battery())
    assert not rep.ok and "held for m ∈ {" in rep.verdict


def test_the_unbiased_reinforce_estimator_still_holds_for_every_m():
    rep = verdict(grad(sum_tau(unevaluated_mul(P(), R()))), _estimator(), relation=UNBIASED, bat=_battery())
    assert rep.ok and "for every m" in rep.scope, rep.verdict


def test_a_free_index_used_as_a_number_is_not_a_pass():
    X = grad(sp.log(P(Sample(i))))
    f = 1 + sp.Mul(*[(i - k) for k in range(1, 10)])
    rep = verdict(X, unevaluated_mul(f, X), bat=_battery())
    assert not rep.ok and "held for i ∈ {" in rep.verdict


def test_a_free_index_that_only_names_a_sample_holds_for_every_i():
    X = grad(sp.log(P(Sample(i))))
    rhs = sp.Sum(grad(sp.log(pi(t, Sample(i)))), (t, 0, H))
    rep = verdict(X, rhs, bat=_battery())
    assert rep.ok, rep.verdict


def test_a_free_index_beside_a_numbered_sample_is_checked_where_they_coincide_and_where_not():
    # R(τ^(1)) R(τ^(i)) = R(τ^(i))² holds at i = 1 only.
    rep = verdict(unevaluated_mul(R(Sample(1)), R(Sample(i))), R(Sample(i))**2, bat=_battery())
    assert rep.verdict == "failed"


# -- nested Σ/Π: the total number of terms is limited ----------------------------------------

def _one_state():
    mdp = FiniteMDP.from_tables([1], [[[1], [1]]], [[Fraction(1), Fraction(-2)]], horizon=1,
                                discount=Fraction(1, 1001), name="one state")
    pol = TabularSoftmax(1, 2)
    return Battery([Instance(mdp, pol, (Fraction(1), Fraction(2)), name=mdp.name)], name="given", seed=None)


def test_nested_products_past_the_total_limit_are_refused_at_once():
    p, q = sp.symbols("p q", integer=True, positive=True)
    f = 1 + (gamma - 1) * sp.Product(q * gamma - p, (p, 1, q - 1), (q, 2, 1000))  # ~500,000 terms in all
    J = sum_tau(unevaluated_mul(P(), R()))
    rep = verdict(J, unevaluated_mul(f, J), bat=_one_state())
    assert not rep.ok
    assert f"past the limit of {MAX_NESTED_TERMS:,} terms" in rep.detail


def test_nested_sums_under_the_total_limit_are_evaluated():
    p, q = sp.symbols("p q", integer=True, positive=True)
    inner = sp.Sum(sp.Sum(p * q, (p, 1, 100)), (q, 1, 100))  # 10,000 terms
    J = sum_tau(unevaluated_mul(P(), R()))
    rep = verdict(unevaluated_mul(inner, J), unevaluated_mul(sp.Integer(5050**2), J), bat=_one_state())
    assert rep.ok, rep.verdict
    bad = verdict(unevaluated_mul(inner, J), unevaluated_mul(sp.Integer(5050**2 + 1), J), bat=_one_state())
    assert bad.verdict == "failed"


# -- the headline states its strength ---------------------------------------------------------

def _step(verdict_, *, index=1, scope_data=None):
    return StepReport(index=index, rule="claim", why="", relation=EQUAL, verdict=verdict_, symbolic="",
                      instances=3, scope_data=scope_data or {})


def test_the_headline_says_how_many_lines_were_checked_on_instances_only():
    data = {"S": ["1", "5"], "A": ["1", "4"], "H": ["0", "137"]}
    d = DerivationReport("d", steps=(_step(PROVED), _step("checked on 22 MDPs (x)", index=2, scope_data=data)),
                         result=_step(PROVED, index=0))
    rep = ProofReport("p", "t", "", (d,))
    assert rep.verified
    assert rep.verdict_words == ("VERIFIED — 2 proved symbolically, 1 checked on instances only "
                                 "(shapes up to S = 5, A = 4, H = 137)")
    js = rep.to_dict()
    assert js["strength"] == {"lines": 3, "proved": 2, "instances_only": 1, "largest": {"S": 5, "A": 4, "H": 137}}


def test_a_headline_with_every_line_proved_is_plain():
    d = DerivationReport("d", steps=(_step(PROVED),), result=_step(PROVED, index=0))
    assert ProofReport("p", "t", "", (d,)).verdict_words == "VERIFIED"


def test_an_undecided_line_is_never_verified():
    d = DerivationReport("d", steps=(_step(f"{UNDECIDED}: held for m ∈ {{1, 2}} only: not a pass; checked on 3 MDPs (x)"),),
                         result=_step(PROVED, index=0))
    rep = ProofReport("p", "t", "", (d,))
    assert not rep.verified and rep.verdict_words == "NOT VERIFIED"
