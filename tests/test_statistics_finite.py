"""Non-finite values are errors, never "consistent"; horizons past the cap refuse at once."""

import json
import time

import numpy as np
import pytest

from derive.cli_numeric import main_for_tests
from derive.errors import UserError
from derive.gradcheck import gradcheck
from derive.limits import MAX_HORIZON, check_horizon, check_steps
from derive.mdp import FiniteMDP
from derive.policies import TabularSoftmax
from derive.stats import batch_test, chi2_test, cross_check, z_test
from gradcheck_gallery import reinforce


def _bandit(reward, horizon=3):
    mdp = FiniteMDP.from_tables([1], [[[1], [1]]], [[reward, reward / 2]], horizon=horizon, name="huge rewards")
    return mdp, TabularSoftmax(1, 2), np.array([0.5, -0.5])


def _write(tmp_path, reward, horizon):
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"initial": [1], "transitions": [[[1], [1]]], "rewards": [[reward, reward / 2]],
                             "horizon": horizon}))
    return str(f)


def test_rewards_near_the_float_limit_are_an_error_not_consistent(tmp_path, capsys):
    mdp, policy, theta = _bandit(1e308)
    for test in ("auto", "holm", "chi2", "chi2-exact"):
        with pytest.raises(UserError, match="not finite"):
            cross_check(mdp, policy, theta, samples=1_000, test=test)
    with pytest.raises(UserError, match="not finite"):
        gradcheck(reinforce, mdps=[(mdp, policy, theta)], samples=1_000, seed=1)
    assert main_for_tests(["estimate", _write(tmp_path, 1e308, 3)]) == 2
    assert "not finite" in capsys.readouterr().err


def test_large_but_finite_rewards_are_still_checked():
    mdp, policy, theta = _bandit(1e150)  # R² ≤ 2e301: finite everywhere, covariance included
    assert cross_check(mdp, policy, theta, samples=2_000, seed=1).verdict.consistent
    assert cross_check(mdp, policy, theta, samples=2_000, seed=1, estimator="wrong-sign").verdict.rejected


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_every_test_refuses_non_finite_inputs(bad):
    with pytest.raises(UserError):
        z_test([1.0, bad], [0.1, 0.1], [1.0, 1.0])
    with pytest.raises(UserError):
        z_test([1.0, 1.0], [0.1, 0.1], [1.0, bad])
    with pytest.raises(UserError):
        chi2_test([1.0, 1.0], np.array([[1.0, 0.0], [0.0, bad]]), [1.0, 1.0])
    with pytest.raises(UserError):
        batch_test(np.ones((10, 2)), [1.0, bad])
    assert z_test([1.0, 1.0], [0.1, 0.1], [1.0, 1.0]).consistent  # the finite twin


def test_a_horizon_past_the_cap_refuses_at_once(tmp_path, capsys):
    f = _write(tmp_path, 1, 1_000_000_000)
    t = time.perf_counter()
    assert main_for_tests(["estimate", f]) == 2
    assert time.perf_counter() - t < 5
    err = capsys.readouterr().err
    assert "1,000,000,000" in err and f"{MAX_HORIZON:,}" in err and len(err.strip().splitlines()) == 1
    mdp, policy, theta = _bandit(1.0, horizon=10 ** 9)
    with pytest.raises(UserError, match="past the limit"):
        gradcheck(reinforce, mdps=[(mdp, policy, theta)], samples=1_000, seed=1)
    with pytest.raises(UserError, match="past the limit"):
        cross_check(mdp, policy, theta, samples=1_000)


def test_the_cap_itself_is_accepted_and_steps_are_capped_too():
    assert check_horizon(MAX_HORIZON) == MAX_HORIZON
    with pytest.raises(UserError):
        check_horizon(MAX_HORIZON + 1)
    with pytest.raises(UserError):
        check_horizon(-1)
    check_steps(10 ** 6, 999)
    with pytest.raises(UserError, match="trajectory-steps"):
        check_steps(10 ** 9, 999)
