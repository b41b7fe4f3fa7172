"""When the symbolic prover says proved and an instance says differ, the step fails and derive says it contradicts itself."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from derive.check import CONTRADICTION, check_step
from derive.loader import load_proofs, proof_files
from derive.notation import J, P, R, sum_tau, unevaluated_mul
from derive.symbolic import SymbolicResult
from soundness_helpers import battery

ROOT = Path(__file__).resolve().parent.parent


def test_a_proved_step_that_an_instance_refutes_is_failed_and_said_so():
    report = check_step(J(), unevaluated_mul(2, J()), battery=battery(n_random=1),
                        symbolic=SymbolicResult("proved", "pretend"), minimize=False)
    assert report.verdict == "failed" and report.contradiction
    assert report.detail.startswith(CONTRADICTION) and "please report" in report.detail
    assert report.to_dict()["contradiction"] is True


def test_a_proved_true_step_is_no_contradiction():
    report = check_step(J(), sum_tau(unevaluated_mul(P(), R())), battery=battery(n_random=1),
                        symbolic=SymbolicResult("proved", "definition"), minimize=False)
    assert report.ok and not report.contradiction


@pytest.mark.slow
def test_no_bundled_proof_shows_a_contradiction():
    r = subprocess.run([sys.executable, "-m", "derive", "verify", "--json", "--random", "2"], cwd=ROOT,
                       capture_output=True, text=True, timeout=900)
    data = json.loads(r.stdout)
    lines = [s for p in data["proofs"] for s in p["steps"]]
    assert lines and not [s["rule"] for s in lines if s["contradiction"]], data["seed"]
    assert data["verified"], f"seed {data['seed']}"


@pytest.mark.slow
@pytest.mark.parametrize("script", proof_files([str(ROOT / "proofs" / "errata")]), ids=lambda p: p.name)
def test_no_errata_proof_shows_a_contradiction(script):
    from derive.check import verify_proof

    for proof in load_proofs(script):
        report = verify_proof(proof, minimize=False)
        assert not any(s.contradiction for d in report.derivations for s in (*d.steps, d.result)), report.seed


def _reinforce():
    import sympy as sp

    from derive.notation import grad, pi, sum_t

    return grad(J()), sum_tau(unevaluated_mul(P(), sum_t(grad(sp.log(pi()))), R()))


def test_a_proof_refuted_only_where_the_environment_depends_on_theta_is_a_failed_side_condition():
    from derive.battery import stress_battery
    from derive.check import ENVIRONMENT_ASSUMED

    moving = [x for x in stress_battery(seed=3, n_random=0) if x.environment_depends_on_theta]
    assert moving
    lhs, rhs = _reinforce()
    report = check_step(lhs, rhs, battery=moving, symbolic=SymbolicResult("proved", "every step is proved symbolically"),
                        minimize=False)
    assert report.verdict == "failed" and not report.contradiction
    assert report.detail.startswith(ENVIRONMENT_ASSUMED) and CONTRADICTION not in report.detail
    assert "every step is proved symbolically" not in report.symbolic
    assert report.symbolic == "proved: only where μ and P(s'|s,a) do not depend on θ"


def test_a_disagreement_on_a_theta_free_environment_is_still_a_contradiction():
    from derive.battery import stress_battery

    mixed = stress_battery(seed=3, n_random=0)
    assert any(x.environment_depends_on_theta for x in mixed) and not all(x.environment_depends_on_theta for x in mixed)
    report = check_step(J(), unevaluated_mul(2, J()), battery=mixed, symbolic=SymbolicResult("proved", "pretend"),
                        minimize=False)
    assert report.verdict == "failed" and report.contradiction and report.detail.startswith(CONTRADICTION)


def test_the_true_twin_on_theta_free_instances_is_proved():
    from derive.battery import stress_battery

    still = [x for x in stress_battery(seed=3, n_random=0) if not x.environment_depends_on_theta
             and all(p > 0 for row in x.probabilities() for p in row)]
    lhs, rhs = _reinforce()
    report = check_step(lhs, rhs, battery=still, symbolic=SymbolicResult("proved", "pretend"), minimize=False)
    assert report.ok and not report.contradiction
