"""The correct proof is never rejected: checked on at least 1,000 random MDPs (slow)."""

import runpy
from pathlib import Path

import pytest

from derive.battery import default_battery
from derive.check import verify_proof

ROOT = Path(__file__).resolve().parent.parent
N_RANDOM = 1000


@pytest.mark.slow
def test_seed_000_holds_on_1000_random_mdps():
    proof = runpy.run_path(str(ROOT / "proofs" / "policy_gradient.py"))["PROOF"]
    battery = default_battery(seed=7, n_random=N_RANDOM)
    report = verify_proof(proof, battery=battery, minimize=False)
    lines = [s for d in report.derivations for s in (*d.steps, d.result)]
    bad = [(s.rule, s.verdict) for s in lines if not s.ok]
    assert not bad, bad
    assert all(s.instances == len(battery) for s in lines)
    print(f"\nseed 000: {len(lines)} lines, each checked on {len(battery)} MDPs, no false alarm")
