"""`derive gradient` and `derive estimate`: output, --json, exit codes 0 / 1 / 2."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from derive.cli_numeric import main_for_tests, register
from derive.errors import UserError

EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "chain.json")


def run(capsys, *argv):
    code = main_for_tests(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_register_adds_both_subcommands_with_handlers():
    parser = argparse.ArgumentParser(prog="derive")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["gradient", EXAMPLE, "--method", "symbolic"])
    assert args.command == "gradient" and args.method == "symbolic" and callable(args.handler)
    args = parser.parse_args(["estimate", EXAMPLE, "--samples", "500", "--seed", "3"])
    assert (args.samples, args.seed, args.estimator) == (500, 3, "reinforce")


@pytest.mark.parametrize("method", ["dp", "enumerate", "symbolic"])
def test_gradient_json_agrees_across_methods(capsys, method):
    code, out, _ = run(capsys, "gradient", EXAMPLE, "--method", method, "--json")
    data = json.loads(out)
    assert code == 0 and set(data) == {"J", "grad", "method"} and data["method"] == method
    _, ref, _ = run(capsys, "gradient", EXAMPLE, "--method", "symbolic", "--json")
    ref = json.loads(ref)
    assert abs(data["J"] - ref["J"]) <= 1e-12 * 6
    assert max(abs(a - b) for a, b in zip(data["grad"], ref["grad"])) <= 1e-12 * 6


def test_gradient_text_names_the_parameters(capsys):
    code, out, _ = run(capsys, "gradient", EXAMPLE)
    assert code == 0 and "J(θ) = 0.41920616712" in out and "θ[7] (s=3, a=1)" in out
    code, out, _ = run(capsys, "gradient", EXAMPLE, "--method", "symbolic")
    # θ = (0, log 2, …) puts z = e^θ at rationals, so the printed values are exact
    assert code == 0 and "= 5240077089/12500000000" in out and "note:" not in out


def test_estimate_consistent_exits_0_and_biased_exits_1(capsys):
    code, out, _ = run(capsys, "estimate", EXAMPLE, "--json")
    data = json.loads(out)
    assert code == 0 and data["consistent"] is True and data["p_value"] > 0.01
    assert set(data) == {"exact", "estimate", "stderr", "p_value", "consistent", "verdict", "test", "untested",
                         "warnings"}
    assert data["test"] == "z-exact"  # the chain's trajectories enumerate: the exact covariance
    code, out, _ = run(capsys, "estimate", EXAMPLE, "--estimator", "shifted-rewards", "--json")
    assert code == 1 and json.loads(out)["consistent"] is False


def test_estimate_text_has_intervals_and_verdict(capsys):
    code, out, _ = run(capsys, "estimate", EXAMPLE, "--samples", "20000", "--estimator", "wrong-sign")
    assert code == 1 and "99% CI" in out and out.rstrip().endswith("verdict: biased")


def test_progress_bar_goes_to_stderr(capsys):
    code, out, err = run(capsys, "estimate", EXAMPLE, "--samples", "3000", "--progress", "--json")
    assert code == 0 and "sampling [" in err and "sampling" not in out


@pytest.mark.parametrize("argv,message", [
    (["gradient", "missing.json"], "cannot read"),
    (["gradient", "gym:NoSuchEnv-v0"], "expected one of"),
    (["gradient", EXAMPLE, "--horizon", "-1"], "--horizon"),
    (["estimate", EXAMPLE, "--alpha", "2"], "alpha"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_too_large_for_enumeration_exits_2_pointing_to_dp(capsys):
    code, _, err = run(capsys, "gradient", EXAMPLE, "--horizon", "40", "--method", "enumerate")
    assert code == 2 and "--method dp" in err
    # The message states the limit that applied, consistent with the documented budget of 2·10⁶.
    from derive.exact import ENUMERATION_BUDGET, ENUMERATION_CELLS

    assert f"limited to {ENUMERATION_CELLS // 42:,} trajectories at H = 40" in err
    assert f"at most {ENUMERATION_BUDGET:,} trajectories at any H" in err


def test_argparse_rejects_bad_samples():
    with pytest.raises(SystemExit) as e:
        main_for_tests(["estimate", EXAMPLE, "--samples", "1"])
    assert e.value.code == 2


def test_subprocess_run_of_the_cli():
    code = "import sys; from derive.cli_numeric import main_for_tests; sys.exit(main_for_tests(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", code, "gradient", EXAMPLE, "--json"], capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["method"] == "dp"
    bad = subprocess.run([sys.executable, "-c", code, "gradient", "nope.json"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_user_error_is_raised_not_printed_by_handlers():
    parser = argparse.ArgumentParser(prog="derive")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["gradient", "missing.json"])
    with pytest.raises(UserError):
        args.handler(args)


def test_an_exact_nonzero_below_float_range_is_never_printed_as_0(capsys, tmp_path):
    f = tmp_path / "far.json"
    f.write_text('{"initial": [1], "transitions": [[[1], [1]]], "rewards": [[0, 1]], "horizon": 1, '
                 '"policy": {"kind": "tabular-softmax"}, "theta": [1000, 0]}')
    code, out, _ = run(capsys, "gradient", str(f), "--method", "enumerate")
    assert code == 0
    lines = [x for x in out.splitlines() if x.startswith("J(θ)") or "θ[" in x]
    assert len(lines) == 3 and all("e-434" in x and "nonzero, below float64's range" in x for x in lines), out
    assert not any(" 0 " in x or "-0 " in x for x in lines)


def test_scientific_form_is_exact_and_an_exact_zero_still_prints_0(capsys, tmp_path):
    from fractions import Fraction

    from derive.cli_numeric import _scientific, _value_text

    assert _scientific(Fraction(1, 3 * 10 ** 500)) == "3.33333e-501" and _scientific(Fraction(-999999999, 10 ** 9)) == "-1.0e0"
    assert _value_text(0.0, Fraction(0), ".15g") == "0" and _value_text(0.5, Fraction(1, 2), ".15g") == "0.5"


@pytest.mark.parametrize("doc, message", [
    ('{"initial": [1], "transitions": [[[1], [1]]], "rewards": [[0, 1]], "horizon": 1000000000, '
     '"policy": {"kind": "tabular-softmax"}, "theta": [0, 0]}', "horizon: 1,000,000,000 is past the cap of 10,000,000 steps"),
    ('{"initial": [1], "transitions": [[[1], [1]]], "rewards": [[0, 1]], "horizon": 1, "policy": {"kind": '
     '"linear-softmax", "features": [[[0.1, 1.0], [1.5, 0.25]]]}, "theta": [1, 0]}', "policy: exact linear softmax"),
    ('{"initial": [1], "transitions": [[[1], [1]]], "rewards": [[0, 1]], "horizon": 1, "policy": {"kind": '
     '"linear-softmax", "features": [[[1.5, 1.0], [1, 0]]]}, "theta": ["log(2)", 0]}', "theta[0]: e^θ_0 = 2 has no"),
])
def test_gradient_errors_name_the_file_and_key(capsys, tmp_path, doc, message):
    f = tmp_path / "bad.json"
    f.write_text(doc)
    with pytest.raises(UserError) as info:
        _handler(["gradient", str(f)] + ([] if "1000000000" in doc else ["--method", "enumerate"]))
    assert str(info.value).startswith(f"{f}: ") and message in str(info.value)


def _handler(argv):
    parser = argparse.ArgumentParser(prog="derive")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)
