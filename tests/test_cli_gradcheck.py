"""`derive gradcheck module:function`: exit codes 0 / 1 / 2, --json, --mdp, from a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "chain.json")

USER_MODULE = '''
import numpy as np

def _scores(tr):
    return tr.policy.float_scores(tr.theta)[tr.states[:, :-1], tr.actions]

def good(tr):
    r = tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)
    return _scores(tr).sum(axis=1) * r.sum(axis=1)[:, None]

def bad(tr):
    r = tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)
    return -_scores(tr).sum(axis=1) * r.sum(axis=1)[:, None]

def noisy(tr):  # unbiased (constant baseline -50) but far noisier than REINFORCE
    r = tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)
    return _scores(tr).sum(axis=1) * (r.sum(axis=1) + 50.0)[:, None]

def mean_only(tr):
    return good(tr).mean(axis=0)

def crashes(tr):
    raise RuntimeError("boom")

NOT_CALLABLE = 3
'''


@pytest.fixture
def user(tmp_path):
    (tmp_path / "user_pg.py").write_text(USER_MODULE)
    (tmp_path / "broken_pg.py").write_text("import does_not_exist\n")
    return tmp_path


def derive(user, *args):
    env = {**os.environ, "PYTHONPATH": str(user) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "derive", "gradcheck", *args], capture_output=True, text=True,
                          env=env, cwd=user, timeout=120)


def test_correct_estimator_exits_0(user):
    p = derive(user, "user_pg:good", "--samples", "4000", "--seed", "1")
    assert p.returncode == 0, p.stderr
    assert "PASSED" in p.stdout and "Holm across 6 MDPs" in p.stdout and "seed 1 (--seed 1 replays)" in p.stdout


def test_a_pass_names_the_mdps_it_holds_on_and_a_failure_does_not_claim_a_scope(user):
    # A pass is a pass on the battery only: its headline and JSON name the MDPs' largest S, A, H and γ range.
    p = derive(user, "user_pg:good", "--samples", "4000", "--seed", "1", "--json")
    data = json.loads(p.stdout)
    scope, mdps = data["scope"], data["mdps"]
    assert data["passed"] and scope["mdps"] == len(mdps) == 6 and scope["seed"] == 1
    assert (scope["max_S"], scope["max_A"], scope["max_H"]) == tuple(max(m[k] for m in mdps) for k in "SAH")
    assert scope["gamma"] == [min(m["gamma"] for m in mdps), max(m["gamma"] for m in mdps)]
    text = derive(user, "user_pg:good", "--samples", "4000", "--seed", "1").stdout.splitlines()[0]
    assert (f"PASSED on these 6 MDPs only (S ≤ {scope['max_S']}, A ≤ {scope['max_A']}, H ≤ {scope['max_H']}, "
            in text), text
    assert scope["max_H"] >= 20 and scope["gamma"][0] < scope["gamma"][1] <= 1
    bad = derive(user, "user_pg:bad", "--samples", "4000", "--seed", "1").stdout.splitlines()[0]
    assert "FAILED" in bad and "only (" not in bad and "(p " in bad, bad


def test_battery_is_drawn_afresh_and_the_seed_replays_it(user):
    runs = [json.loads(derive(user, "user_pg:good", "--samples", "400", "--json").stdout) for _ in range(2)]
    assert runs[0]["seed"] != runs[1]["seed"]  # fresh per run (from the OS; equal with probability 2^-31)
    again = json.loads(derive(user, "user_pg:good", "--samples", "400", "--json", "--seed", str(runs[0]["seed"])).stdout)
    assert again["mdps"] == runs[0]["mdps"] and again["seed"] == runs[0]["seed"]


def test_biased_estimator_exits_1_with_the_smallest_mdp(user):
    p = derive(user, "user_pg:bad", "--samples", "4000", "--seed", "1")
    assert p.returncode == 1, p.stderr
    assert "FAILED" in p.stdout and "smallest MDP where the bias shows: S=1, A=2, H=0" in p.stdout
    assert "exact ∇J" in p.stdout and "estimated" in p.stdout


def test_variance_flag_fails_a_noisy_unbiased_estimator(user):
    assert derive(user, "user_pg:noisy", "--samples", "4000", "--seed", "1").returncode == 0
    p = derive(user, "user_pg:noisy", "--samples", "4000", "--variance", "--seed", "1")
    assert p.returncode == 1 and "worse than REINFORCE's" in p.stdout
    assert derive(user, "user_pg:good", "--samples", "4000", "--variance", "--seed", "1").returncode == 0


def test_json_and_mdp_file(user):
    p = derive(user, "user_pg:good", "--mdp", EXAMPLE, "--samples", "4000", "--json", "--seed", "1")
    data = json.loads(p.stdout)
    assert p.returncode == 0 and data["passed"] and data["mdps"][0]["name"] == "chain" and data["minimal"] is None
    p = derive(user, "user_pg:bad", "--mdp", EXAMPLE, "--samples", "4000", "--json", "--no-minimize", "--seed", "1")
    data = json.loads(p.stdout)
    assert p.returncode == 1 and not data["passed"] and data["minimal"]["name"] == "chain"


def test_mean_of_the_batch_is_accepted(user):
    assert derive(user, "user_pg:mean_only", "--samples", "4000", "--seed", "1").returncode == 0


def test_file_path_spec(user):
    p = derive(user, str(user / "user_pg.py") + ":good", "--random", "2", "--samples", "2000", "--seed", "1")
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("args,message", [
    (["user_pg"], "expected module:function"),
    (["user_pg:missing"], "has no attribute 'missing'"),
    (["user_pg:NOT_CALLABLE"], "not callable"),
    (["no_such_module:f"], "cannot import 'no_such_module'"),
    (["broken_pg:f"], "cannot import 'broken_pg'"),
    (["user_pg:good", "--mdp", "missing.json"], "cannot read"),
    (["user_pg:good", "--random", "0"], "--random"),
    (["user_pg:mean_only", "--samples", "500", "--batch-size", "0"], "--batch-size"),
    (["user_pg:good", "--samples", "150"], "2 × --batch-size"),
    (["user_pg:crashes", "--samples", "500"], "raised RuntimeError at user_pg.py"),
])
def test_bad_input_exits_2_with_one_line(user, args, message):
    p = derive(user, *args)
    assert p.returncode == 2 and p.stdout == ""
    assert message in p.stderr and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


@pytest.mark.parametrize("target, message", [
    ("user_pg.py", "refusing to write over a Python file"),
    ("min.txt", "expected a file name ending in .json"),
    ("no_folder/min.json", "no such folder"),
])
def test_save_minimal_target_is_refused_before_the_run(user, target, message):
    source = (user / "user_pg.py").read_text()
    p = derive(user, "user_pg:bad", "--samples", "4000", "--seed", "7", "--save-minimal", target)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert p.stdout == "" and (user / "user_pg.py").read_text() == source and not (user / "no_folder").exists()


RARE_MDP = {"name": "rare", "initial": ["1"], "transitions": [[["1"], ["1"]]],
            "reward_distribution": [[[["1", "1/40"], ["0", "39/40"]], [["0", "1"]]]], "horizon": 0,
            "discount": "1", "policy": {"kind": "tabular-softmax"}, "theta": ["0", "0"]}


@pytest.mark.parametrize("value, message", [
    ("150", "--max-samples: expected an integer >= --samples = 500, got 150"),  # below --samples
    ("0", "--max-samples: expected an integer >= 1, got 0"),
    ("-3", "--max-samples: expected an integer >= 1, got -3"),
    ("1e6", "--max-samples: expected an integer >= 1, got '1e6'"),
    ("lots", "--max-samples: expected an integer >= 1, got 'lots'"),
])
def test_max_samples_bad_values_exit_2_naming_the_flag_and_value(user, value, message):
    p = derive(user, "user_pg:good", "--samples", "500", "--max-samples", value)
    assert p.returncode == 2 and p.stdout == ""
    assert message in p.stderr and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_max_samples_past_the_step_limit_is_refused_before_sampling(user):
    p = derive(user, "user_pg:good", "--mdp", EXAMPLE, "--samples", "500", "--max-samples", "10000000000")
    assert p.returncode == 2 and "max_samples" in p.stderr and "past the limit" in p.stderr, p.stderr


def test_max_samples_caps_the_second_round_and_equal_to_samples_keeps_one(user):
    # A reward of probability 1/40, batches of 10: a correct estimator's exact kurtosis gives an effective sample
    # size of 42 at 200 batches (below the floor of 50: untested) and 126 at 600 (a second round can decide).
    mdp = user / "rare.json"
    mdp.write_text(json.dumps(RARE_MDP))
    run = ["user_pg:good", "--mdp", str(mdp), "--samples", "2000", "--batch-size", "10", "--seed", "2", "--json",
           "--no-minimize"]
    capped = json.loads(derive(user, *run, "--max-samples", "6000").stdout)
    assert capped["mdps"][0]["samples"] == 6000 and "redrawn with 6,000" in capped["warnings"][0]
    default = json.loads(derive(user, *run).stdout)
    assert default["mdps"][0]["samples"] == 32_000  # the default cap: 16 × --samples
    one = derive(user, *run, "--max-samples", "2000")
    d = json.loads(one.stdout)
    assert d["mdps"][0]["samples"] == 2000 and not any("redrawn" in w for w in d["warnings"])
    assert one.returncode == 3 and d["undecided"]  # untested and no second round: undecided, never a pass
