"""Whole-proof verification: the seed proof holds, and a wrong step is failed with a counterexample."""

import runpy
from pathlib import Path

import pytest
import sympy as sp

from derive.battery import default_battery, scope_of
from derive.check import check_step, verify_derivation, verify_proof
from derive.derivation import UNBIASED, Derivation, Goal
from derive.notation import J, P, R, Sample, grad, i, sample_mean, sum_tau, unevaluated_mul
from derive.rules import definition_of_objective, swap_gradient_and_sum

ROOT = Path(__file__).resolve().parent.parent
BATTERY = default_battery(n_random=6)
BATTERY_SCOPE = scope_of(BATTERY).text


@pytest.fixture(scope="module")
def seed_report():
    proof = runpy.run_path(str(ROOT / "proofs" / "policy_gradient.py"))["PROOF"]
    return verify_proof(proof, battery=BATTERY)


def test_seed_000_is_verified_step_by_step(seed_report):
    assert seed_report.verified
    steps = [s for d in seed_report.derivations for s in d.steps]
    assert len(steps) == 15
    # Lines that list every trajectory leave out the battery's large MDPs, and say so in the verdict.
    large = sum(inst.mdp.n_trajectories > 5_000_000 for inst in BATTERY)
    assert all(s.verdict == "proved symbolically"
               or s.verdict.startswith(f"checked on {len(BATTERY)} MDPs (default: ")
               or (s.verdict.startswith(f"checked on {len(BATTERY) - large} MDPs (default: ")
                   and "excluded: too large to enumerate" in s.verdict)
               for s in steps), [s.verdict for s in steps]
    # The support restriction depends on the model, so it must not be claimed proved by algebra.
    support = [s for s in steps if s.rule == "restrict to the support"][0]
    assert support.verdict == f"checked on {len(BATTERY)} MDPs ({BATTERY_SCOPE})"
    assert f"seed {BATTERY.seed}" in support.verdict


def test_a_wrong_claim_fails_with_exact_counterexample():
    d = (Derivation.begin("wrong", grad(J()), goal=Goal(grad(J()), sum_tau(grad(P())), "="))
         .by(definition_of_objective).by(swap_gradient_and_sum)
         .claim(sum_tau(grad(P())), why="R(τ) is 1, surely"))
    report = verify_derivation(d, battery=BATTERY)
    assert not report.verified
    bad = report.steps[2]
    assert bad.verdict == "failed" and bad.rule == "claim"
    ce = bad.counterexample
    assert ce.lhs and ce.rhs and ce.lhs != ce.rhs and ce.theta


def test_biased_estimator_is_rejected_as_unbiased_step():
    ti = Sample(i)
    line = sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True)
    biased = sample_mean(unevaluated_mul(grad(sp.log(P(ti))), R(ti), 2))
    report = check_step(line, biased, relation=UNBIASED, battery=BATTERY)
    assert report.verdict == "failed"
    assert "expectation" in report.counterexample.reason


def test_chain_must_end_at_the_stated_result():
    d = (Derivation.begin("short", grad(J()), goal=Goal(grad(J()), sum_tau(grad(P() * R())), "="))
         .by(definition_of_objective))
    report = verify_derivation(d, battery=BATTERY)
    assert not report.verified and any("ends at" in p for p in report.structure)


def test_relation_of_chain_must_match_the_result():
    d = (Derivation.begin("rel", grad(J()), goal=Goal(grad(J()), grad(sum_tau(P() * R())), UNBIASED))
         .by(definition_of_objective))
    report = verify_derivation(d, battery=BATTERY)
    assert any("relation" in p for p in report.structure)


def test_report_json_has_the_documented_keys(seed_report):
    data = seed_report.to_dict()
    assert {"name", "verified", "steps", "derivations"} <= set(data)
    assert {"rule", "verdict", "counterexample"} <= set(data["steps"][0])


# -- the search for a shorter failing horizon on a large MDP ------------------------------------

def _long_thin():
    from derive.battery import random_mdp
    from derive.policies import TabularSoftmax
    from derive.semantics import Instance
    import random as _random

    mdp = random_mdp(_random.Random(3), shape=(2, 2, 60), name="long")
    return Instance(mdp, TabularSoftmax(2, 2), (1, 2, 3, 1), name="long")


def test_the_shorter_horizon_found_does_not_depend_on_the_clock(monkeypatch):
    # A slow machine (every clock read 100 s later) finds the same shortest failing horizon.
    import derive.check as check

    clock = iter(range(0, 10**9, 100))
    monkeypatch.setattr(check.time, "perf_counter", lambda: float(next(clock)))
    tried = []
    found = check._shorter(_long_thin(), lambda c: tried.append(c.mdp.horizon) or c.mdp.horizon >= 10)
    assert found is not None and found.mdp.horizon == 10 and tried == list(range(1, 11))


def test_the_shorter_horizon_search_stops_at_its_work_budget(monkeypatch):
    # Past the budget the search ends (no cut reported) instead of enumerating on; under it, the same cut is found.
    import derive.check as check

    inst = _long_thin()
    cost = sum(check._shorter_cost(cut) for cut in
               [type(inst.mdp).from_tables(inst.mdp.initial, inst.mdp.transitions, inst.mdp.rewards, horizon=h,
                                           discount=inst.mdp.discount) for h in range(1, 11)])
    monkeypatch.setattr(check, "SHORTER_WORK", cost - 1)
    assert check._shorter(inst, lambda c: c.mdp.horizon >= 10) is None
    monkeypatch.setattr(check, "SHORTER_WORK", cost)
    assert check._shorter(inst, lambda c: c.mdp.horizon >= 10).mdp.horizon == 10
    tried = []
    monkeypatch.setattr(check, "SHORTER_HORIZONS", 12)
    monkeypatch.setattr(check, "SHORTER_WORK", 10**12)
    assert check._shorter(inst, lambda c: tried.append(c.mdp.horizon) or False) is None and tried == list(range(1, 13))


def test_the_gradient_of_a_mean_of_samples_splits_into_one_term_per_sample():
    # Counted, not timed: with m = 6 written out, ∇ (1/6) Σ_i f(τ^(i)) is 6 terms of one sample each
    # (listed whole, the one term would couple 6 samples: 7^6 tuples on a 7-trajectory MDP).
    import sympy as sp

    from derive.check import _free_keys, _split_terms
    from derive.notation import Return, Sample, TrajectoryProbability, theta

    mean = sp.Mul(sp.Rational(1, 6), sp.Add(*[sp.log(TrajectoryProbability(Sample(k), theta)) * Return(Sample(k))
                                               for k in range(1, 7)]), evaluate=False)
    terms = _split_terms(sp.Derivative(mean, theta))
    assert len(terms) == 6 and all(len(_free_keys(t_)) == 1 for t_ in terms)


def test_an_instance_past_its_time_limit_is_undecided_at_once(monkeypatch):
    # A hanging evaluation is stopped by the limit (INSTANCE_TIME_FACTOR × timeout per instance) and the step is never a pass.
    import time

    import derive.check as check_mod
    from derive.battery import BATTERIES
    from derive.notation import Objective, theta

    calls = []

    def hang(*args, **kw):
        calls.append(1)
        time.sleep(30)

    monkeypatch.setattr(check_mod, "check_instance", hang)
    battery = BATTERIES["default"](seed=1, n_random=0)[:2]
    start = time.monotonic()
    rep = check_mod.check_step(Objective(theta), Objective(theta) + 1, timeout=0.05, battery=battery, seed=1,
                               minimize=False)
    assert time.monotonic() - start < 20 and len(calls) == 2
    assert not rep.ok and "time limit" in rep.detail + " ".join(str(n) for n in getattr(rep, "notes", ())), rep


def test_with_random_rewards_the_prover_and_the_instances_read_one_trajectory_probability():
    # τ records its rewards: P(τ;θ) has the factors P(r_t|a_t,s_t) for both checks (never "contradicts itself");
    # the probability of τ's states and actions alone is the factorisation without them, for both checks too.
    from derive.battery import BATTERIES
    from derive.check import check_step
    from derive.notation import PathProbability, TrajectoryProbability, factorisation, tau, theta

    battery = BATTERIES["rewards"](seed=3, n_random=1)
    full = check_step(TrajectoryProbability(tau, theta), factorisation(tau), battery=battery, seed=3, minimize=False)
    assert not full.ok and not full.contradiction, full
    path = check_step(PathProbability(tau, theta), factorisation(tau), battery=battery, seed=3, minimize=False)
    assert path.ok, path


def test_a_spent_time_budget_leaves_every_instance_undecided_never_a_pass():
    from derive.check import budget_spent, time_budget
    from derive.symbolic import SymbolicResult

    true_lhs, true_rhs = grad(sum_tau(unevaluated_mul(P(), R()))), sum_tau(unevaluated_mul(grad(P()), R()))
    quiet = SymbolicResult("not attempted")   # instances only: what the budget governs
    assert check_step(true_lhs, true_rhs, battery=BATTERY, symbolic=quiet, seed=1).ok
    with time_budget(1e-9):
        assert budget_spent() == 1e-9
        rep = check_step(true_lhs, true_rhs, battery=BATTERY, symbolic=quiet, seed=1)
    assert not rep.ok and rep.verdict == "undecided" and rep.instances == 0
    assert "the document's time budget of 1e-09 s was spent" in rep.detail
    assert budget_spent() is None   # the budget ends with its block


def test_the_instance_time_limit_rings_again_when_its_first_alarm_is_swallowed():
    # Seen in a run: the alarm fired inside Hypothesis's gc callback, where Python prints "Exception
    # ignored" and carries on; a one-shot timer then left the instance without any limit.
    import time

    from derive.check import _OutOfTime, _time_limit

    start = time.monotonic()
    with pytest.raises(_OutOfTime):
        with _time_limit(0.05):
            try:
                time.sleep(0.5)        # the first alarm, swallowed as a gc callback would
            except _OutOfTime:
                pass
            time.sleep(5)              # a second alarm must end this
    assert time.monotonic() - start < 2


def test_the_estimator_hint_needs_a_sample():
    # ∇J = ∇J + Σ_{i=10}^{m} ∇J depends on m but has no sample: no advice to write it as an estimate.
    from derive.battery import BATTERIES
    from derive.notation import J, grad, i, m, R, Sample

    bat = BATTERIES["default"](seed=2, n_random=0)
    no_sample = check_step(grad(J()), sp.Add(grad(J()), sp.Sum(grad(J()), (i, 10, m)), evaluate=False),
                           battery=bat, seed=2, minimize=False)
    assert not no_sample.ok and "only in expectation" not in no_sample.detail, no_sample.detail
    mean = sp.Mul(sp.Pow(m, -1), sp.Sum(R(Sample(i)), (i, 1, m)), evaluate=False)
    estimate = check_step(J(), mean, battery=bat, seed=2, minimize=False)
    assert not estimate.ok and "only in expectation" in estimate.detail, estimate.detail
    # An expectation of a sample mean is a number: a wrong value of it gets no advice to write ≈.
    from derive.notation import Expectation, SampleExpectation, tau

    numbers = check_step(J(), unevaluated_mul(2, SampleExpectation(Expectation(mean, tau))), battery=bat, seed=2,
                         minimize=False)
    assert not numbers.ok and "only in expectation" not in numbers.detail, numbers.detail


def test_an_estimand_that_varies_with_tau_is_not_averaged_over_tau():
    # R(τ) "estimated by" the sample mean of R: E[mean] = J, not R(τ); averaging τ too checked E_τ R(τ) = J and passed.
    from derive.battery import BATTERIES

    bat = BATTERIES["default"](seed=3, n_random=1)
    mean = sample_mean(R(Sample(i)))
    wrong = check_step(R(), mean, relation=UNBIASED, battery=bat, seed=3, minimize=False)
    assert not wrong.ok and "varies with τ" in wrong.detail + wrong.symbolic, wrong
    right = check_step(J(), mean, relation=UNBIASED, battery=bat, seed=3, minimize=False)
    assert right.ok, right


# -- a counterexample's exact expectations: by DP over time, the same numbers as over the listed support --

def _estimators():
    t1, t2 = Sample(sp.Integer(1)), Sample(sp.Integer(2))
    biased = sample_mean(unevaluated_mul(grad(sp.log(P(Sample(i)))), R(Sample(i)), 2))
    coupled = sample_mean(unevaluated_mul(grad(sp.log(P(Sample(i)))), R(Sample(i)))) + unevaluated_mul(R(t1), R(t2))
    return biased, coupled


def test_counterexample_expectations_by_dp_equal_the_listed_ones():
    """Every gradient component of E[estimator] and of ∇J, by DP over time and over the listed support: equal exactly."""
    from fractions import Fraction

    import numpy as np

    from derive.backends import LogLinear
    from derive.check import _expectation, _expectation_by_dp, _plans
    from derive.semantics import Evaluator

    small = [x for x in BATTERY if x.mdp.n_trajectories <= 3000][:4]
    assert len(small) >= 3
    compared = differ = 0
    for inst in small:
        support = np.flatnonzero(inst.support())
        for est in _estimators():
            for plan in _plans(inst, grad(J()), est, (1, 2)):
                for k in range(inst.n_params):
                    direction = inst.policy.tangent([Fraction(int(j == k)) for j in range(inst.n_params)])
                    sides = []
                    for e in (plan.lhs, plan.rhs):
                        fast = _expectation_by_dp(Evaluator(inst, LogLinear(), direction), e, plan)[0].ravel()[0]
                        listed = _expectation(Evaluator(inst, LogLinear(), direction), e, plan, support)[0].ravel()[0]
                        assert fast == listed, (inst.name, plan.tags, k, str(fast), str(listed))
                        sides.append(fast)
                        compared += 1
                    differ += not sides[0] == sides[1]
    assert compared >= 40 and differ >= 10  # real numbers compared, and most estimators here are biased


def test_a_failed_estimator_reports_the_same_counterexample_by_either_route(monkeypatch):
    """The verdict and the printed exact values do not move when the counterexample's expectations go by DP."""
    import derive.check as check
    from derive.mdp import TooManyTrajectories

    for est in _estimators():
        new = check_step(grad(J()), est, relation=UNBIASED, battery=BATTERY, seed=11, minimize=False)
        with monkeypatch.context() as mp:
            def refuse(*args, **kwargs):
                raise TooManyTrajectories("the old route: expectations over the listed support")
            mp.setattr(check, "_expectation_by_dp", refuse)
            old = check_step(grad(J()), est, relation=UNBIASED, battery=BATTERY, seed=11, minimize=False)
        assert new.verdict == old.verdict == "failed"
        assert new.counterexample.lhs and new.counterexample.lhs != new.counterexample.rhs
        assert (new.counterexample.lhs, new.counterexample.rhs) == (old.counterexample.lhs, old.counterexample.rhs)
        assert new.counterexample.instance == old.counterexample.instance


class _NeverKept(dict):
    """A cache that keeps nothing: every look-up splits the term afresh (the route before the cache)."""

    def __setitem__(self, key, value):
        pass


def test_the_split_of_an_estimator_by_sample_is_cached_without_moving_a_verdict(monkeypatch):
    """check._factors_by_sample keeps each term's split by sample; a fresh split on every use gives the same reports."""
    import derive.check as check
    from derive.notation import m

    t1, t2, t3 = (Sample(sp.Integer(k)) for k in (1, 2, 3))
    reinforce = sample_mean(unevaluated_mul(grad(sp.log(P(Sample(i)))), R(Sample(i))))
    lines = [reinforce,                                                  # true
             reinforce + (m - 1) * unevaluated_mul(R(t1) - R(t2), R(t3)),  # true: E[R1 − R2] = 0
             reinforce + (m - 1) * unevaluated_mul(R(t1), R(t2))]         # biased from m = 2 on
    bat = default_battery(n_random=2, seed=5)
    for line in lines:
        check._BY_SAMPLE.clear()
        kept = check_step(grad(J()), line, relation=UNBIASED, battery=bat, seed=3, minimize=False)
        assert check._BY_SAMPLE  # the route under test was taken
        with monkeypatch.context() as mp:
            mp.setattr(check, "_BY_SAMPLE", _NeverKept())
            fresh = check_step(grad(J()), line, relation=UNBIASED, battery=bat, seed=3, minimize=False)
        assert (kept.verdict, kept.instances, kept.detail) == (fresh.verdict, fresh.instances, fresh.detail)
        assert (kept.counterexample is None) == (fresh.counterexample is None)
        if kept.counterexample:
            assert (kept.counterexample.lhs, kept.counterexample.rhs) == (fresh.counterexample.lhs, fresh.counterexample.rhs)
    assert [check_step(grad(J()), x, relation=UNBIASED, battery=bat, seed=3, minimize=False).verdict == "failed"
            for x in lines] == [False, False, True]
