"""Every bundled proof holds, and the claims specific to each are rejected when slightly wrong."""

import runpy
from pathlib import Path

import pytest
import sympy as sp

from derive.battery import default_battery
from derive.check import check_step, verify_proof
from derive.loader import proof_files
from derive.notation import (
    H, J, Policy, Q, b, d, gamma, grad, sum_actions, sum_states, sum_t, t, theta, unevaluated_mul, x,
)

ROOT = Path(__file__).resolve().parent.parent
BATTERY = default_battery(n_random=4)


@pytest.mark.parametrize("script", proof_files([str(ROOT / "proofs")]), ids=lambda p: p.name)
def test_bundled_proof_is_verified(script):
    proof = runpy.run_path(str(script))["PROOF"]
    assert verify_proof(proof, minimize=False).verified


def visitation(*, discount=gamma ** t, occupancy=None, q=None, upper=H):
    policy = Policy(b, x, theta)
    inner = sum_actions(unevaluated_mul(grad(policy), q if q is not None else Q()))
    return sum_t(unevaluated_mul(discount, sum_states(unevaluated_mul(occupancy if occupancy is not None else d(),
                                                                       inner))), upper=upper)


def test_state_visitation_form_is_checked_not_proved():
    report = check_step(grad(J()), visitation(), battery=BATTERY)
    assert report.verdict == f"checked on {len(BATTERY)} MDPs"
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
