"""Undefined values fail the line that introduces them; a zero seen only mod p is rechecked; bad indices are ill-formed."""

import random

import pytest
import sympy as sp

import derive.check as check_module
from derive.check import check_instance
from derive.notation import (
    Action, ActionSum, J, P, Policy, R, State, Transition, b, fraction, grad, pi, sum_tau, theta, unevaluated_mul, x,
)
from soundness_helpers import battery, enumerable, holds, verdict

BIG = sp.Integer(10) ** 9


def _log(e):
    return sp.log(e, evaluate=False)


def test_log_of_a_square_is_not_twice_the_log_of_a_negative():
    # log((R−10^9)²) = 2 log(R−10^9): R − 10^9 < 0 on every trajectory.
    lhs = _log(sp.Pow(R() - BIG, 2, evaluate=False))
    report = verdict(lhs, unevaluated_mul(2, _log(R() - BIG)))
    assert report.verdict == "failed"
    assert "log of a negative number" in report.counterexample.reason and report.counterexample.bindings.get("τ")
    # The twin 2 log(10^9 − R) holds on every MDP whose returns stay below 10^9, and is undefined on the others:
    # agreement on the battery is no pass (no instance need have a return that large), and no failure either.
    twin = verdict(lhs, unevaluated_mul(2, _log(BIG - R())), bat=enumerable(battery()))
    assert twin.verdict.startswith("undecided") and "takes the log of" in twin.verdict, twin.verdict
    assert "no instance need meet it" in twin.verdict


def test_log_of_a_square_under_the_expectation_fails():
    # Σ_τ P log((R+c)²) = Σ_τ P 2 log(R+c), with c below the smallest return on some instance.
    c = sp.Integer(3)
    lhs = sum_tau(unevaluated_mul(P(), _log(sp.Pow(R() + c, 2, evaluate=False))), support=True)
    rhs = sum_tau(unevaluated_mul(P(), 2, _log(R() + c)), support=True)
    bat = battery(n_random=6, seed=11)
    assert any(inst.mdp.rewards and min(r for s_ in inst.mdp.rewards for a in s_ for r in a) < -3 for inst in bat)
    report = verdict(lhs, rhs, bat=bat)
    assert report.verdict == "failed"


def test_undefined_times_zero_is_still_undefined():
    assert not holds(J(), sp.Add(J(), unevaluated_mul(0, _log(-1 - R())), evaluate=False))


def test_dividing_by_probability_over_all_trajectories_fails():
    ratio_all = sum_tau(unevaluated_mul(P(), fraction(grad(P()), P()), R()))
    before = sum_tau(unevaluated_mul(grad(P()), R()))
    assert not holds(before, ratio_all)
    assert holds(before, sum_tau(unevaluated_mul(P(), fraction(grad(P()), P()), R()), support=True))


def test_a_line_whose_predecessor_is_undefined_is_not_blamed():
    bad = _log(R() - BIG)
    report = verdict(bad, bad, lhs_is_start=False)
    assert report.verdict == "undecided" and "line above is undefined" in report.detail
    # As the first line of a derivation, the undefined line is itself the fault.
    assert verdict(bad, bad).verdict == "failed"


def test_zero_seen_only_mod_p_is_rechecked_exactly(monkeypatch):
    p = 1_000_003
    monkeypatch.setattr(check_module, "random_prime", lambda rng: p)
    inst = battery(n_random=0, seed=3)[0]
    rng = random.Random(0)
    one = fraction(sp.Integer(p), sp.Integer(p))  # p/p: a division by zero mod p, and 1 in the rationals
    assert check_instance(sp.Add(J(), one, evaluate=False), J() + 1, "=", inst, rng).status == "agree"
    assert check_instance(sp.Add(J(), one, evaluate=False), J() + 2, "=", inst, rng).status == "differ"
    assert check_instance(J(), unevaluated_mul(one, 2, J()), "=", inst, rng).status == "differ"


@pytest.mark.parametrize("wrong", [
    ActionSum(Policy(b, b, theta), b),                                    # π(b|b): an action used as a state
    Policy(State(sp.Symbol("tau"), 0), Action(sp.Symbol("tau"), 0), theta),  # π(s_0|a_0): swapped
    Transition(State(sp.Symbol("tau"), 1), Action(sp.Symbol("tau"), 0), State(sp.Symbol("tau"), 0)),
    Policy(sp.Integer(7), x, theta),                                      # action 7 on MDPs with fewer actions
])
def test_out_of_range_or_swapped_indices_are_ill_formed(wrong):
    report = verdict(sp.Integer(1), wrong)
    assert report.verdict == "failed", report.verdict
    assert report.counterexample.reason and "Error" not in report.counterexample.reason


def test_well_formed_twins_pass():
    assert holds(sp.Integer(1), ActionSum(Policy(b, x, theta), b))
    t = sp.Symbol("tau")
    assert holds(pi(0), Policy(Action(t, 0), State(t, 0), theta))


def test_an_arbitrary_baseline_vanishes_at_one_state_of_every_mdp_with_two_states():
    # 'Any baseline' includes one that is 0 somewhere; a draw of 0 alone happens once in 41.
    from derive.check import _baseline

    for inst in battery(n_random=4, seed=5):
        values = _baseline(inst, random.Random(3))
        assert len(values) == inst.mdp.n_states
        if inst.mdp.n_states >= 2:
            assert values.count(0) >= 1


@pytest.mark.parametrize("seed", range(4))
def test_log_of_a_product_with_the_baseline_is_undefined_where_it_vanishes(seed):
    # Σ_τ P ∇ log(π_θ(a_0|s_0) b(s_0)) = Σ_τ P ∇ log π_θ(a_0|s_0) holds wherever b(s_0) ≠ 0, not for any b.
    from derive.notation import baseline

    score = lambda e: grad(_log(e))
    lhs = sum_tau(unevaluated_mul(P(), score(unevaluated_mul(pi(0), baseline(0)))), support=True)
    rhs = sum_tau(unevaluated_mul(P(), score(pi(0))), support=True)
    report = verdict(lhs, rhs, bat=battery(n_random=4, seed=seed))
    # b(s_0) = 0 makes it log 0, and b(s_0) < 0 the log of a negative number: either is the smallest failure
    reason = report.counterexample.reason
    assert report.verdict == "failed" and ("log of zero" in reason or "log of a negative number" in reason), reason
    # The true twin, the usual reading: (∇ log π_θ(a_0|s_0)) b(s_0) has expectation 0 for any b.
    true = sum_tau(unevaluated_mul(P(), score(pi(0)), baseline(0)), support=True)
    assert holds(true, sp.Integer(0), bat=battery(n_random=4, seed=seed))


_RATIO_LINE = (r"$$\sum_{\tau} P(\tau;\theta) \sum_{t=0}^{H} \frac{%s}{%s} r_t = "
               r"\sum_{\tau} P(\tau;\theta) \sum_{t=0}^{H} r_t$$")


def test_a_ratio_undefined_at_a_late_step_is_never_verified():
    # (t − 100)/(t − 100) is undefined at t = 100: only H ≥ 100 has that step, and neither SymPy's
    # cancelling nor the DP over time (which renamed t, and read the factor as time-free) may hide it.
    from derive.read.document import check_text

    report = check_text(_RATIO_LINE % ("t-100", "t-100"), path="ratio.md", seed=1)
    assert not report.verified
    # Where the DP reached t = 100 on an MDP too large to list, the instance is undecided and says why.
    said = " ".join(st.verdict + " " + st.detail for ln in report.lines for st in ln.steps)
    assert "division by zero on a step (division by zero in" in said and "too many to list to find one" in said, said
    # The true twin: t + 1 ≥ 1 on every step.
    assert check_text(_RATIO_LINE % ("t+1", "t+1"), path="ratio.md", seed=1).verified


def test_the_dp_reads_a_cancelling_ratio_of_time_as_depending_on_time():
    from derive.notation import Reward, t, tau
    from derive.trajectory_dp import _depends_on_time

    w = sp.Dummy("w", integer=True)
    ratio = sp.Mul(w - 100, sp.Pow(w - 100, -1, evaluate=False), Reward(tau, w), evaluate=False)
    assert _depends_on_time(ratio, w)
    assert not _depends_on_time(sp.Mul(2, Reward(tau, w), evaluate=False), w)


def test_a_line_undefined_at_a_zero_reward_is_no_breach_of_the_support_condition():
    # 1/r_0 is undefined where a reward is 0: the hint must not send the author to 'restrict to the support'.
    from derive.derivation import POSITIVE_PROBABILITY
    from derive.notation import P, R, grad, r, sum_tau, unevaluated_mul
    from soundness_helpers import battery, verdict

    bat = battery(2, seed=41)
    ratio = sp.Mul(r(0), sp.Pow(r(0), -1, evaluate=False), evaluate=False)
    report = verdict(sum_tau(unevaluated_mul(grad(P()), R())), sum_tau(unevaluated_mul(grad(P()), R(), ratio)),
                     bat=bat, conditions=(POSITIVE_PROBABILITY,))
    assert report.verdict == "failed", report.verdict
    assert "restrict to the support" not in report.detail and "a quantity of the model" in report.detail
    assert report.conditions[0].status.startswith("holds on all") and "not by a probability" in report.conditions[0].status
    # Its twin, a ratio of probabilities summed over every τ, is the support's hint.
    ratio_p = sp.Mul(P(), sp.Pow(P(), -1, evaluate=False), evaluate=False)
    twin = verdict(sum_tau(unevaluated_mul(grad(P()), R())), sum_tau(unevaluated_mul(grad(P()), R(), ratio_p)),
                   bat=bat, conditions=(POSITIVE_PROBABILITY,))
    # The battery's zero-probability-transition MDP has trajectories with P(τ;θ) = 0.
    assert twin.verdict == "failed", twin.verdict
    assert "restrict to the support" in twin.detail and twin.conditions[0].status.startswith("violated")
