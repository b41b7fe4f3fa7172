"""Counterexamples users can replay: saved as MDP files with policy and θ, and failing again at the same step."""

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from derive.battery import default_battery
from derive.check import verify_proof
from derive.derivation import Derivation, Goal, Proof, Step
from derive.exact import exact_point
from derive.mdpfile import parse, to_document
from derive.notation import J, P, R, grad, sum_tau
from derive.policies import DirectPolicy, LinearSoftmax
from derive.semantics import Instance

ROOT = Path(__file__).resolve().parent.parent

WRONG = '''
from derive import Derivation, Goal, Proof, Step
from derive.notation import J, P, R, grad, sum_tau
from derive.rules import definition_of_objective
start = grad(J())
right = Derivation.begin("fine", J(), goal=Goal(J(), sum_tau(P() * R()))).by(definition_of_objective)
wrong = Derivation(name="swap", start=start, goal=Goal(start, sum_tau(P() * R())),
                   steps=(Step(sum_tau(P() * R()), "forgot the gradient", "oops"),))
PROOFS = [Proof("wrong", "A wrong claim", (right, wrong))]
'''


def run(*args, cwd):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def _wrong():
    start = grad(J())
    d = Derivation(name="swap", start=start, goal=Goal(start, sum_tau(P() * R())),
                   steps=(Step(sum_tau(P() * R()), "forgot the gradient", "oops"),))
    return Proof("wrong", "A wrong claim", (d,))


def test_the_json_counterexample_is_a_valid_mdp_file_at_the_same_point():
    battery = default_battery(seed=2, n_random=3)
    report = verify_proof(_wrong(), battery=battery, seed=2, minimize=False)
    ce = report.derivations[0].steps[0].counterexample
    assert ce.replayable and "policy_probabilities" not in ce.mdp
    problem = parse(json.loads(json.dumps(ce.mdp)), source="ce.json")
    inst = next(x for x in battery if x.describe() == ce.instance)
    assert exact_point(problem.policy, problem.theta) == inst.point        # θ exactly, not in z-coordinates
    assert problem.mdp.transitions == inst.mdp.transitions and problem.mdp.horizon == inst.mdp.horizon


def test_documents_round_trip_every_policy_kind():
    for inst in default_battery(seed=1, n_random=4):
        doc = to_document(inst.mdp, inst.policy, inst.point)
        problem = parse(json.loads(json.dumps(doc)))
        assert exact_point(problem.policy, problem.theta) == tuple(inst.point), inst.describe()
    mdp = default_battery(seed=1, n_random=0)[0].mdp
    S, A = mdp.n_states, mdp.n_actions
    linear = LinearSoftmax(tuple(tuple((Fraction(s + a, 2), Fraction(1)) for a in range(A)) for s in range(S)))
    z = (Fraction(9, 4), Fraction(1, 4))  # squares: exact with features in halves
    problem = parse(to_document(mdp, linear, z))
    assert exact_point(problem.policy, problem.theta) == z
    direct = DirectPolicy(S, A)
    point = tuple(Fraction(1, A) for _ in range(S * A))
    assert exact_point(parse(to_document(mdp, direct, point)).policy, parse(to_document(mdp, direct, point)).theta) == point


def test_saved_counterexample_replays_the_failure_at_the_same_step(tmp_path):
    proof = tmp_path / "wrong.py"
    proof.write_text(WRONG)
    first = run("verify", str(proof), "--random", "2", "--seed", "7", "--save-counterexample", "ce.json", cwd=tmp_path)
    assert first.returncode == 1
    assert "saved to ce.json" in first.stdout and (tmp_path / "ce.json").exists()
    again = run("verify", str(proof), "--mdp", "ce.json", "--json", cwd=tmp_path)
    assert again.returncode == 1
    data = json.loads(again.stdout)
    steps = data["proofs"][0]["steps"]
    failed = [(s["derivation"], s["index"]) for s in steps if s["verdict"] == "failed"]
    assert ("swap", 1) in failed and ("fine", 1) not in failed
    assert "given: ce.json" in data["proofs"][0]["scope"]
    # the true derivation of the same file holds on it: the replay is not a blanket failure
    assert next(s for s in steps if s["derivation"] == "fine" and s["index"] == 1)["ok"]
    text = run("verify", str(proof), "--mdp", "ce.json", cwd=tmp_path)
    assert "checked on a battery of 1 MDP (given: ce.json" in text.stdout
    gradient = run("gradient", "ce.json", cwd=tmp_path)
    assert gradient.returncode == 0 and "∇J(θ)" in gradient.stdout


def test_mdp_option_errors_are_one_line(tmp_path):
    proof = tmp_path / "wrong.py"
    proof.write_text(WRONG)
    (tmp_path / "bad.json").write_text('{"initial": [1], "policy_probabilities": []}')
    r = run("verify", str(proof), "--mdp", "bad.json", cwd=tmp_path)
    assert r.returncode == 2 and "policy_probabilities" in r.stderr and "Traceback" not in r.stderr


def test_gradcheck_minimal_mdp_is_saved_with_its_policy_and_theta():
    from derive.gradcheck import MDPResult
    from derive.exact import gradient
    from derive.policies import TabularSoftmax

    inst = default_battery(seed=3, n_random=0)[0]
    policy = TabularSoftmax(inst.mdp.n_states, inst.mdp.n_actions)
    theta = np.linspace(-1, 1, policy.n_params)
    m = MDPResult("m", (inst.mdp.n_states, inst.mdp.n_actions, inst.mdp.horizon), 1.0, 10, np.zeros(policy.n_params),
                  np.zeros(policy.n_params), np.zeros(policy.n_params), 0.0, mdp=inst.mdp, theta=theta, policy=policy)
    problem = parse(json.loads(json.dumps(m.to_mdpfile())))
    assert [float(x) for x in problem.theta] == list(theta)
    assert m.to_dict()["mdp_file"]["theta"] == list(theta)
    # the same ∇J from the file as from the run (the same route on the same numbers: equal, not close)
    assert gradient(problem.mdp, problem.policy, problem.theta) == gradient(inst.mdp, policy, list(theta))


def test_instance_is_rebuilt_from_the_file():
    inst = default_battery(seed=4, n_random=1)[-1]
    problem = parse(to_document(inst.mdp, inst.policy, inst.point))
    again = Instance(problem.mdp, problem.policy, exact_point(problem.policy, problem.theta))
    assert again.probabilities() == inst.probabilities()
