"""derive's verdict on each slip of the seeds, transcribed literally in proofs/errata/."""

import runpy
from pathlib import Path

import pytest

from derive.battery import default_battery, reward_battery, stress_battery
from derive.check import verify_proof

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def seed000():
    proof = runpy.run_path(str(ROOT / "proofs" / "errata" / "seed000_literal.py"))["PROOF"]
    report = verify_proof(proof, battery=default_battery(n_random=4))
    return {d.name: d for d in report.derivations}


def test_p_over_p_on_zero_probability_trajectories_is_rejected(seed000):
    steps = seed000["likelihood-ratio gradient, as written"].steps
    ratio_step = steps[2]
    assert "P(τ;θ)/P(τ;θ)" in ratio_step.why
    assert ratio_step.verdict == "failed"
    assert "division by zero" in ratio_step.counterexample.reason
    assert "restrict to the support" in ratio_step.detail  # how to restore the condition


def test_estimate_written_as_equality_is_rejected(seed000):
    d = seed000["final formula, as written"]
    assert d.steps[0].verdict == "failed"
    assert "unbiased" in d.steps[0].detail
    assert d.steps[0].counterexample.bindings["m"] == "1"


def test_the_same_line_as_an_estimator_is_accepted(seed000):
    assert seed000["final formula, read as an estimator"].verified


def test_grad_mu_lemma_is_accepted_and_the_drop_holds(seed000):
    lemma = seed000["the seed's reason: ∇_θ μ(s_0) = 0"]
    assert lemma.verified and lemma.steps[0].verdict == "proved symbolically"
    assert seed000["score of a trajectory, as written"].verified


def test_correct_proof_fails_only_where_the_stress_battery_breaks_a_condition():
    proof = runpy.run_path(str(ROOT / "proofs" / "policy_gradient.py"))["PROOF"]
    report = verify_proof(proof, battery=stress_battery(n_random=2))
    failed = {(d.name, s.rule) for d in report.derivations for s in d.steps if s.verdict == "failed"}
    # The two steps that need the broken conditions, and the lines of the final chain built on them.
    assert failed == {("likelihood-ratio gradient", "restrict to the support"),
                      ("score of a trajectory", "drop θ-free terms"),
                      ("REINFORCE estimator", "by likelihood-ratio gradient"),
                      ("REINFORCE estimator", "substitute score of a trajectory")}
    by_rule = {s.rule: s for d in report.derivations for s in d.steps}
    assert "π_θ(a|s) > 0" in by_rule["restrict to the support"].counterexample.reason
    assert "do not depend on θ" in by_rule["drop θ-free terms"].counterexample.reason


@pytest.fixture(scope="module")
def seed004():
    proof = runpy.run_path(str(ROOT / "proofs" / "errata" / "seed004_literal.py"))["PROOF"]
    report = verify_proof(proof, battery=reward_battery(n_random=4))
    return {d.name: d for d in report.derivations}


def test_seed_004_factorisation_as_written_is_rejected(seed004):
    step = seed004["trajectory probability, as written"].steps[0]
    assert step.verdict == "failed"
    ce = step.counterexample
    assert ce.lhs != ce.rhs and ce.bindings["τ"]


def test_seed_004_chain_on_the_wrong_factor_is_undefined_somewhere(seed004):
    steps = seed004["score from the factorisation as written"].steps
    assert steps[0].verdict == "failed" and "log" in steps[0].counterexample.reason
    assert "not defined for every trajectory" in steps[0].detail


def test_seed_004_correct_proof_holds_with_random_rewards():
    proof = runpy.run_path(str(ROOT / "proofs" / "seed004.py"))["PROOF"]
    assert proof.battery == "rewards"
    report = verify_proof(proof, battery=reward_battery(n_random=4))
    assert report.verified


def test_errata_never_show_derive_contradicting_itself(seed000):
    assert not any(s.contradiction for d in seed000.values() for s in (*d.steps, d.result))
