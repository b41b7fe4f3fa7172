"""Every bundled proof holds, and the claims specific to each are rejected when slightly wrong."""

import runpy
from pathlib import Path

import pytest
import sympy as sp

from derive.battery import default_battery
from derive.check import check_step
from derive.battery import bandit_battery, softmax_battery
from derive.loader import load_proofs, proof_files
from derive.notation import (
    H, J, Feature, MeanReward, Policy, Q, b, c, d, gamma, grad, sum_actions, sum_states, sum_t, t, theta,
    unevaluated_mul, x,
)

ROOT = Path(__file__).resolve().parent.parent
BATTERY = default_battery(n_random=4)


@pytest.mark.parametrize("script", proof_files([str(ROOT / "proofs")]), ids=lambda p: p.name)
def test_bundled_proof_is_verified(script, bundled_reports):
    proofs, reports = bundled_reports[Path(script).name]
    assert len(reports) == len(load_proofs(script)) >= 1
    for proof, report in zip(proofs, reports):
        assert report.verified, (proof.name, report.seed)
        # derive's two checks never disagree on a bundled proof.
        assert not any(s.contradiction for d in report.derivations for s in (*d.steps, d.result)), report.seed


def visitation(*, discount=gamma ** t, occupancy=None, q=None, upper=H):
    policy = Policy(b, x, theta)
    inner = sum_actions(unevaluated_mul(grad(policy), q if q is not None else Q()))
    return sum_t(unevaluated_mul(discount, sum_states(unevaluated_mul(occupancy if occupancy is not None else d(),
                                                                       inner))), upper=upper)


def test_state_visitation_form_is_checked_not_proved():
    report = check_step(grad(J()), visitation(), battery=BATTERY)
    assert report.verdict.startswith(f"checked on {len(BATTERY)} MDPs (default: ")
    assert "dynamic programming" in report.symbolic


@pytest.mark.parametrize("slip, wrong", [
    ("discount left out", visitation(discount=sp.Integer(1))),
    ("occupancy one step late", visitation(occupancy=d(t + 1))),
    ("Q one step late", visitation(q=Q(t + 1))),
    ("horizon one short", visitation(upper=H - 1)),
])
def test_state_visitation_slips_are_rejected(slip, wrong):
    report = check_step(grad(J()), wrong, battery=BATTERY)
    assert report.verdict == "failed", slip
    assert report.counterexample is not None


PI_B, PI_C = Policy(b, x, theta), Policy(c, x, theta)
MEAN_PHI = sum_actions(unevaluated_mul(PI_C, Feature(x, c)), c)
MEAN_R = sum_actions(unevaluated_mul(PI_C, MeanReward(x, c)), c)


@pytest.mark.parametrize("slip, wrong", [
    ("mean feature left out", Feature(x, b)),
    ("sign of the mean flipped", Feature(x, b) + MEAN_PHI),
    ("unweighted mean", Feature(x, b) - sum_actions(Feature(x, c), c)),
])
def test_softmax_score_slips_are_rejected(slip, wrong):
    report = check_step(grad(sp.log(PI_B)), wrong, battery=softmax_battery(n_random=3))
    assert report.verdict == "failed", slip


@pytest.mark.parametrize("slip, wrong", [
    ("no baseline term", sum_actions(unevaluated_mul(PI_B, MeanReward(x, b), Feature(x, b)))),
    ("weight π left out", sum_actions(unevaluated_mul(sp.Add(MeanReward(x, b), -MEAN_R), Feature(x, b)))),
    ("sign flipped", sum_actions(unevaluated_mul(PI_B, sp.Add(MEAN_R, -MeanReward(x, b)), Feature(x, b)))),
])
def test_softmax_bandit_slips_are_rejected(slip, wrong):
    report = check_step(grad(J()), wrong, battery=bandit_battery(n_random=4))
    assert report.verdict == "failed", slip


def test_features_need_a_softmax_policy():
    direct = [i for i in default_battery(n_random=0) if "direct" in i.name]
    report = check_step(grad(sp.log(PI_B)), Feature(x, b) - MEAN_PHI, battery=tuple(direct))
    assert report.verdict == "undecided" and "softmax" in report.detail


def test_baseline_note_reports_falling_variance():
    proof = runpy.run_path(str(ROOT / "proofs" / "baseline.py"))["PROOF"]
    (note,) = proof.notes
    figures = [float(v) for v in __import__("re").findall(r"is ([\d.]+) for REINFORCE, ([\d.]+) with reward-to-go "
                                                            r"and ([\d.]+)", note)[0]]
    assert figures[0] > figures[1] > figures[2] > 0  # REINFORCE > reward-to-go > with baseline


from derive.battery import gaussian_battery  # noqa: E402
from derive.notation import Normal, action, k1, k2, sigma, w  # noqa: E402

DENSITY = Normal(action, theta, sigma)
REWARD = sp.Symbol("k0", real=True) + k1 * action + k2 * action ** 2


@pytest.mark.parametrize("slip, lhs, wrong", [
    ("σ instead of σ² in the mean score", grad(sp.log(DENSITY)), (action - theta) / sigma),
    ("sign of the mean score", grad(sp.log(DENSITY)), (theta - action) / sigma ** 2),
    ("log σ used as log variance", sp.Derivative(sp.log(Normal(action, theta, sp.exp(w))), w),
     (action - theta) ** 2 / sp.exp(w) - 1),
    ("the −1 of the log-σ score dropped", sp.Derivative(sp.log(Normal(action, theta, sp.exp(w))), w),
     (action - theta) ** 2 / sp.exp(2 * w)),
    ("moment of a² forgotten", grad(sp.Integral(REWARD * DENSITY, (action, -sp.oo, sp.oo))), k1 + k2 * theta),
])
def test_gaussian_slips_are_rejected_at_points(slip, lhs, wrong):
    report = check_step(lhs, wrong, battery=gaussian_battery())
    assert report.verdict == "failed", slip
    assert report.counterexample.lhs != report.counterexample.rhs


def test_gaussian_lines_are_checked_at_points():
    report = check_step(grad(sp.log(DENSITY)), (action - theta) / sigma ** 2, battery=gaussian_battery())
    assert report.verdict == "proved symbolically" and report.unit == "points" and report.instances == 4


from derive.battery import discounted_battery  # noqa: E402
from derive.notation import DiscountedObjective, DiscountedOccupancy, DiscountedQ, mu  # noqa: E402


def discounted_form(*, factor=1 / (1 - gamma), occupancy=None):
    inner = sum_actions(unevaluated_mul(grad(Policy(b, x, theta)), DiscountedQ(x, b)))
    return unevaluated_mul(factor, sum_states(unevaluated_mul(
        occupancy if occupancy is not None else DiscountedOccupancy(x), inner)))


@pytest.mark.parametrize("slip, wrong", [
    ("normalisation factor 1/(1−γ) left out", discounted_form(factor=sp.Integer(1))),
    ("factor 1/γ instead of 1/(1−γ)", discounted_form(factor=1 / gamma)),
])
def test_discounted_theorem_slips_are_rejected(slip, wrong):
    report = check_step(grad(DiscountedObjective(theta)), wrong, battery=discounted_battery(n_random=3))
    assert report.verdict == "failed", slip


def test_occupancy_is_normalised_and_a_wrong_total_is_rejected():
    battery = discounted_battery(n_random=3)
    assert check_step(sum_states(DiscountedOccupancy(x)), sp.Integer(1), battery=battery).ok
    assert check_step(sum_states(DiscountedOccupancy(x)), 1 / (1 - gamma), battery=battery).verdict == "failed"


def test_infinite_horizon_needs_gamma_below_one():
    report = check_step(grad(DiscountedObjective(theta)), discounted_form(), battery=BATTERY)
    assert report.verdict == "failed" and "γ < 1" in report.counterexample.reason
