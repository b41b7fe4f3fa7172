"""The exact-covariance path's effective sample size, tiny samples, and the CLI's one-line refusals."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from derive.cli_numeric import main_for_tests
from derive.errors import UserError
from derive.gradcheck import _to_numpy, gradcheck
from derive.limits import MAX_HORIZON, check_horizon, numeric_bytes
from derive.stats import cross_check, exact_moments
from statistics_mdps import chain, rare_reward

ROOT = str(Path(__file__).resolve().parents[1])


def test_berry_esseen_size_is_about_the_expected_number_of_rare_events():
    mdp, policy, theta = rare_reward()  # reward 1 with probability 1e-4 on action 0, taken half the time
    _, cov, rho = exact_moments(mdp, policy, theta)
    assert 1e-4 / 2 * 0.5 < 1 / rho.max() < 1e-4 / 2 * 2  # m / ρ ≈ m · P(event)
    assert np.all(np.diag(cov) > 0)  # the reward outcomes are enumerated: the variance is there


def test_rare_reward_at_1000_samples_is_undecided_never_consistent_or_a_false_alarm():
    # 0.05 expected rewarding events: the normal reference lost its level here (5.7% at α = 1%).
    mdp, policy, theta = rare_reward()
    verdicts = [cross_check(mdp, policy, theta, samples=1_000, seed=s).verdict for s in range(200)]
    assert not any(v.rejected for v in verdicts)
    assert all(v.verdict == "undecided" and "effective sample size" in v.notes[0] for v in verdicts)


def test_chebyshev_still_rejects_a_gross_bias_below_the_effective_size():
    mdp, policy, theta = chain()
    v = cross_check(mdp, policy, theta, samples=30, seed=0, estimator="shifted-rewards").verdict
    w = cross_check(mdp, policy, theta, samples=30, seed=0).verdict
    assert w.verdict in ("undecided", "consistent") and not w.rejected
    assert v.untested or v.rejected


@pytest.mark.parametrize("samples", [2, 3, 5])
def test_tiny_samples_on_the_chain_are_undecided_not_consistent(samples):
    mdp, policy, theta = chain()
    for seed in range(50):
        v = cross_check(mdp, policy, theta, samples=samples, seed=seed).verdict
        assert v.verdict == "undecided" and not v.rejected, (samples, seed)


def test_negative_seed_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main_for_tests(["estimate", "examples/chain.json", "--seed", "-1"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "-1" in err and "Traceback" not in err


def test_biased_wording_does_not_say_nothing_was_rejected(capsys):
    assert main_for_tests(["estimate", "examples/chain.json", "--samples", "20000", "--estimator",
                           "wrong-sign"]) == 1
    out = capsys.readouterr().out
    assert "verdict: biased" in out and "nothing rejected" not in out


@pytest.mark.parametrize("value", [np.ones((3, 2)) + 1j, [[1 + 0j, 2], [1, 2], [1, 2]], np.ones(2, complex)])
def test_complex_estimator_output_is_an_error(value):
    with pytest.raises(UserError, match="complex"):
        _to_numpy(value, 3, 2)
    assert _to_numpy(np.ones((3, 2)), 3, 2).shape == (2,)  # the real twin


def test_horizon_memory_is_counted_as_o_h_times_s_and_refused_with_the_figure():
    # No numeric route keeps an (H+1) × (H+1) table: the DP is O(H·S), sampling holds one chunk.
    assert numeric_bytes(10_000, states=64) < 0.15e9  # the old (H+1)² model said 3.2 GB here
    assert numeric_bytes(20_000, states=64) < 2.1 * numeric_bytes(10_000, states=64)  # linear in H
    assert check_horizon(MAX_HORIZON) == MAX_HORIZON  # one state: the cap itself fits in memory
    with pytest.raises(UserError, match="would need about 34 GB, past the memory limit") as e:
        check_horizon(1_000_000, states=64, trajectories=1_000)  # a gradcheck batch of 1,000 at H = 10^6
    assert "--horizon" in str(e.value)
    with pytest.raises(UserError, match="past the limit of 1,000,000"):
        check_horizon(MAX_HORIZON + 1)


def test_a_horizon_of_twenty_thousand_now_runs_in_little_memory(tmp_path):
    # Refused before at H > 5,000 ("12.8 GB"); measured now: ~230 MB resident for the whole process.
    code = ("import resource, subprocess, sys; r = subprocess.run([sys.executable, '-m', 'derive', 'estimate', "
            "'examples/chain.json', '--horizon', '20000', '--samples', '100']); "
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    code_line = out.stdout.strip().splitlines()[-1]
    rc, kb = (int(x) for x in code_line.split())
    assert rc == 0 and "verdict:" in out.stdout
    assert kb < 600_000  # kilobytes


def _chain_rtg():
    from gradcheck_gallery import CORRECT
    from statistics_mdps import chain

    return chain(), CORRECT["reward-to-go"]


@pytest.mark.parametrize("wrap, message", [
    (lambda g: np.where(np.arange(g.shape[-1]) == 0, np.nan, g), "non-finite value"),   # float64, the fast path
    (lambda g: np.full_like(g, np.inf), "non-finite value"),
    (lambda g: g[:, :-1], "got shape"),                                                  # a parameter missing
    (lambda g: g.T, "got shape"),
    (lambda g: [[float("nan")] * g.shape[1]] * g.shape[0], "non-finite value"),          # a list, the slow path
], ids=["nan", "inf", "short", "transposed", "list-nan"])
def test_estimator_output_that_is_not_a_finite_k_vector_is_an_error(wrap, message):
    problem, rtg = _chain_rtg()
    with pytest.raises(UserError, match=message):
        gradcheck(lambda tr: wrap(np.asarray(rtg(tr))), mdps=[problem], samples=400, seed=0, minimize=False)


@pytest.mark.parametrize("wrap", [lambda g: g, lambda g: g.astype(np.float32), lambda g: g.tolist(),
                                  lambda g: g.mean(axis=0)], ids=["float64", "float32", "list", "batch-mean"])
def test_the_same_estimates_in_any_real_layout_give_the_same_verdict(wrap):
    problem, rtg = _chain_rtg()
    base = gradcheck(rtg, mdps=[problem], samples=2_000, seed=3, minimize=False)
    r = gradcheck(lambda tr: wrap(np.asarray(rtg(tr), dtype=float)), mdps=[problem], samples=2_000, seed=3,
                  minimize=False)
    assert r.passed == base.passed and np.allclose(r.results[0].estimate, base.results[0].estimate, rtol=1e-6)


def test_model_values_are_kept_for_the_same_objects_only():
    from derive.stats import _by_identity
    from statistics_mdps import chain

    calls = []

    def model(mdp, tag):
        calls.append(tag)
        return len(calls)

    mdp = chain()[0]
    assert _by_identity(model, mdp, "a") == _by_identity(model, mdp, "a") == 1
    assert _by_identity(model, mdp, "b") == 2                # another argument: computed
    twin = chain()[0]                                         # equal tables, another object: computed afresh
    assert twin == mdp and _by_identity(model, twin, "a") == 3
