"""MDP files load exactly, and every malformed file is a UserError naming file, key, index and value."""

import json
from fractions import Fraction as F
from pathlib import Path

import pytest

from derive.errors import UserError
from derive.exact import gradient
from derive.mdpfile import load, load_file, parse
from derive.policies import DirectPolicy, LinearSoftmax, TabularSoftmax

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "chain.json"


def base():
    return {
        "initial": ["1/3", "2/3"],
        "transitions": [[[1, 0], [0.5, 0.5]], [[0, 1], ["1/4", "3/4"]]],
        "rewards": [[1, 0], [0, 2]],
        "horizon": 2,
    }


def test_example_file_loads_with_exact_tables():
    p = load_file(EXAMPLE)
    assert p.mdp.n_states == 4 and p.mdp.n_actions == 2 and p.mdp.horizon == 5
    assert p.mdp.discount == F(9, 10) and p.mdp.transitions[0][0][0] == F(9, 10)
    assert isinstance(p.policy, TabularSoftmax) and len(p.theta) == 8
    # the terminal state is absorbing and pays nothing
    assert p.mdp.transitions[3][1] == (0, 0, 0, 1) and set(p.mdp.rewards[3][0]) == {0}


def test_defaults_and_reward_forms():
    p = parse(base())
    assert p.mdp.discount == 1 and p.theta == (0, 0, 0, 0)
    assert p.mdp.rewards[1][1] == (2, 2)  # r(s,a) broadcast over s'
    d = base() | {"rewards": [[[1, 2], [0, 0]], [[0, 0], [3, "1/2"]]]}
    assert parse(d).mdp.rewards[1][1] == (3, F(1, 2))


def test_toml_and_json_give_the_same_problem(tmp_path):
    toml = tmp_path / "m.toml"
    toml.write_text(
        'initial = ["1/3", "2/3"]\n'
        'transitions = [[[1, 0], [0.5, 0.5]], [[0, 1], ["1/4", "3/4"]]]\n'
        "rewards = [[1, 0], [0, 2]]\nhorizon = 2\n"
    )
    js = tmp_path / "m.json"
    js.write_text(json.dumps(base()))
    assert load(str(toml)).mdp.transitions == load(str(js)).mdp.transitions


def test_float_rows_within_tolerance_are_rescaled_exactly():
    d = base()
    d["transitions"][0][1] = [0.1, 0.9000000000001]
    row = parse(d).mdp.transitions[0][1]
    assert sum(row) == 1


def test_policies_from_the_file():
    d = base() | {"policy": {"kind": "linear-softmax", "features": [[[1, 0], [0, 1]], [[1, 1], [0, 0]]]}, "theta": [0.5, "1/2"]}
    p = parse(d)
    assert isinstance(p.policy, LinearSoftmax) and p.theta == (F(1, 2), F(1, 2))
    p = parse(base() | {"policy": {"kind": "direct"}})
    assert isinstance(p.policy, DirectPolicy) and p.theta == (F(1, 2),) * 4
    assert gradient(p.mdp, p.policy, p.theta, method="symbolic").J == gradient(p.mdp, p.policy, p.theta, method="enumerate").J


@pytest.mark.parametrize("change,message", [
    ({"transitions": [[[1, 0], ["1/2", "1/3"]], [[0, 1], ["1/4", "3/4"]]]}, r"transitions\[0\]\[1\]: probabilities must sum to 1 exactly, they sum to 5/6"),
    ({"transitions": [[[1, 0], [0.5, 0.4]], [[0, 1], ["1/4", "3/4"]]]}, r"transitions\[0\]\[1\]: .*within 1e-09"),
    ({"transitions": [[[2, -1], [0.5, 0.5]], [[0, 1], ["1/4", "3/4"]]]}, r"transitions\[0\]\[0\]\[1\]: probabilities must be >= 0, got -1"),
    ({"initial": ["1/3", "x"]}, r"initial\[1\]: 'x' is not a number"),
    ({"initial": [1, 0, 0]}, r"transitions: expected 3 entries, got 2"),
    ({"rewards": [[1, 0]]}, r"rewards: expected 2 entries, got 1"),
    ({"horizon": -1}, r"horizon: expected an integer H >= 0, got -1"),
    ({"horizon": 2.5}, r"horizon: .* got 2.5"),
    ({"discount": "3/2"}, r"discount: expected 0 <= γ <= 1"),
    ({"theta": [0, 0, 0]}, r"theta: expected 4 values \(row-major \(s, a\) order\)"),
    ({"policy": {"kind": "gaussian"}}, r"policy.kind"),
    ({"policy": {"kind": "linear-softmax", "features": [[["x"], [1]], [[1], [1]]]}}, r"policy.features\[0\]\[0\]\[0\]: 'x' is not a number"),
    ({"rewards": [["1e400", 0], [0, 2]]}, r"rewards\[0\]\[0\]: 1e400 is outside the float64 range"),
    ({"rewards": [[10**1000, 0], [0, 2]]}, r"rewards\[0\]\[0\]: 10{19}…0{8} \(1,001 characters\) is outside"),
    ({"rewards": [["1e-99999999", 0], [0, 2]]}, r"rewards\[0\]\[0\]: 1e-99999999 is outside the float64 range"),
    ({"rewards": [["1e-400", 0], [0, 2]]}, r"rewards\[0\]\[0\]: 1e-400 is too close to 0 for float64"),
    ({"rewards": [["1" * 5000, 0], [0, 2]]}, r"rewards\[0\]\[0\]: a number written with 5,000 characters is past the limit"),
    ({"theta": ["log(1" + "0" * 5000 + ")", 0, 0, 0]}, r"theta\[0\]: log\(p/q\) written with 5,001 digits is past the limit"),
    ({"theta": ["log(1" + "0" * 400 + ")", 0, 0, 0]}, r"theta\[0\]: .* is outside the float64 range"),
    ({"horizons": 2}, r"unknown key 'horizons'"),
    ({"rewards": [[True, 0], [0, 2]]}, r"rewards\[0\]\[0\]: expected a number"),
    ({"terminal": [5]}, r"terminal: expected state indices in 0..1, got 5"),
])
def test_malformed_files_are_rejected_with_key_index_and_value(tmp_path, change, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(base() | change))
    with pytest.raises(UserError, match=message) as err:
        load_file(path)
    assert str(err.value).startswith(str(path))


def test_non_finite_numbers_and_broken_syntax_are_rejected(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(base()).replace('"horizon": 2', '"horizon": 2, "discount": NaN'))
    with pytest.raises(UserError, match="NaN"):
        load_file(path)
    path.write_text("{")
    with pytest.raises(UserError, match="not valid JSON"):
        load_file(path)
    with pytest.raises(UserError, match="cannot read"):
        load_file(tmp_path / "missing.json")


def test_duplicate_keys_deep_nesting_and_unknown_extensions_are_refused(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(base()).replace('"horizon": 2', '"horizon": 2, "horizon": 3'))
    with pytest.raises(UserError, match=r"dup.json: not valid JSON: duplicate key 'horizon'"):
        load_file(path)
    nested = tmp_path / "deep.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UserError, match="deep.json: not valid JSON: nested too deeply"):
        load_file(nested)
    txt = tmp_path / "mdp.txt"
    txt.write_text(json.dumps(base()))
    with pytest.raises(UserError, match=r"mdp.txt: unknown MDP file type '.txt': name it .json or .toml"):
        load_file(txt)
    (tmp_path / "ok.json").write_text(json.dumps(base()))  # the twin: the same document named .json loads
    assert load_file(tmp_path / "ok.json").mdp.n_states == 2


def test_real_features_agree_on_every_route_and_floats_are_exact():
    feats = [[[0.5, 0.0], [1, "1/3"]], [["-2/3", 1.0], [0, 0.25]]]
    p = parse(base() | {"policy": {"kind": "linear-softmax", "features": feats}, "theta": ["log(4096)", 0.5]})
    assert p.policy.features[0][0] == (F(1, 2), F(0)) and p.policy.feature_scale == 12
    exact = gradient(p.mdp, p.policy, p.theta, method="enumerate")
    symbolic = gradient(p.mdp, p.policy, p.theta, method="symbolic")
    dp = gradient(p.mdp, p.policy, p.theta, method="dp")
    assert exact.grad == symbolic.grad  # exact rationals, equal as numbers
    assert all(abs(float(a) - float(b)) < 1e-12 for a, b in zip(exact.grad, dp.grad))


def test_float_features_with_huge_denominators_refuse_the_exact_routes_and_keep_the_float_route():
    p = parse(base() | {"policy": {"kind": "linear-softmax", "features": [[[0.1], [1]], [[1], [0]]]}, "theta": [0.3]})
    assert p.policy.features[0][0][0] == F(0.1)  # 3602879701896397/2^55, never snapped to 1/10
    dp = gradient(p.mdp, p.policy, p.theta, method="dp")
    assert len(dp.grad) == 1
    with pytest.raises(UserError, match=r"least common multiple .* give the features as exact numbers such as \"1/10\""):
        gradient(p.mdp, p.policy, p.theta, method="enumerate")


def test_log_theta_needs_an_exact_root_for_fractional_features():
    feats = [[["1/2"], [1]], [[1], [0]]]
    ok = parse(base() | {"policy": {"kind": "linear-softmax", "features": feats}, "theta": ["log(9/4)"]})
    assert gradient(ok.mdp, ok.policy, ok.theta, method="enumerate").grad  # z = 9/4 = (3/2)^2: exact
    bad = parse(base() | {"policy": {"kind": "linear-softmax", "features": feats}, "theta": ["log(2)"]})
    with pytest.raises(UserError, match=r"theta\[0\]: e\^θ_0 = 2 has no exact rational root of order 2"):
        gradient(bad.mdp, bad.policy, bad.theta, method="enumerate")


def test_missing_key_is_named():
    d = base()
    del d["horizon"]
    with pytest.raises(UserError, match="missing key 'horizon'"):
        parse(d, source="f.json")


def test_toml_example_is_the_json_example():
    a, b = load_file(EXAMPLE), load_file(EXAMPLE.with_suffix(".toml"))
    assert (a.mdp, a.policy, a.theta) == (b.mdp, b.policy, b.theta)


def test_log_rational_theta_is_exact_and_never_evaluated():
    from derive.exact import LogRational

    p = parse(base() | {"theta": ["log(3)", " log( 1 / 2 ) ", 0, 0.25]})
    assert p.theta[:2] == (LogRational(F(3)), LogRational(F(1, 2))) and p.theta[2:] == (0, F(1, 4))
    g = gradient(p.mdp, p.policy, p.theta, method="symbolic")
    # z = (3, 1/2, 1, e^0.25): the first three exact, the last the float64 value of e^0.25
    assert all(isinstance(x, F) for x in g.grad)
    h = gradient(p.mdp, p.policy, p.theta[:3] + (0,), method="symbolic")
    assert all(len(str(x)) < 30 for x in h.grad)  # small exact rationals when every z_k is rational
    for bad in ["log(0)", "log(2/0)", "exp(1)", "log(-2)", "__import__('os')"]:
        with pytest.raises(UserError, match=r"theta\[0\]"):
            parse(base() | {"theta": [bad, 0, 0, 0]})
    with pytest.raises(UserError, match=r"theta\[0:2\]\[0\]: 'log\(2\)' is not a number"):
        parse(base() | {"policy": {"kind": "direct"}, "theta": ["log(2)", 0, 0, 1]})


def test_a_long_or_multiline_name_is_refused_and_a_short_one_kept(tmp_path):
    from derive.mdpfile import MAX_NAME, load_file, to_document

    base = {"initial": [1], "transitions": [[[1], [1]]], "rewards": [[0, 1]], "horizon": 1}
    for bad in ("x" * (MAX_NAME + 1), "two\nlines"):
        f = tmp_path / "n.json"
        f.write_text(json.dumps({**base, "name": bad}))
        with pytest.raises(UserError, match=r"n.json: name: expected one line of at most 200 characters"):
            load_file(f)
    f.write_text(json.dumps({**base, "name": "x" * MAX_NAME}))
    problem = load_file(f)
    assert problem.mdp.name == "x" * MAX_NAME
    long_doc = to_document(problem.mdp, problem.policy, [1, 1], name="y" * 500)
    assert len(long_doc["name"]) == MAX_NAME  # what derive writes, it reads back
    from derive.mdpfile import parse
    assert parse(json.loads(json.dumps(long_doc))).mdp.name == "y" * MAX_NAME


def test_a_file_past_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    import derive.mdpfile as mf

    f = tmp_path / "big.json"
    f.write_text(json.dumps({"initial": [1], "transitions": [[[1]]], "rewards": [[0]], "horizon": 1}))
    assert mf.load_file(f).mdp.horizon == 1
    monkeypatch.setattr(mf, "MAX_FILE_BYTES", 10)
    with pytest.raises(UserError, match=r"big.json: \d+ bytes is past the limit of 10 for an MDP file"):
        mf.load_file(f)
