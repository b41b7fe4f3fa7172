"""Tolerances relative to the problem's own scale: rewards from 1e-200 to 1e150 judged alike."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from derive.errors import UserError
from derive.gradcheck import gradcheck
from derive.mdpfile import load
from derive.stats import batch_test, cross_check, z_test
from statistics_mdps import chain

ROOT = Path(__file__).resolve().parents[1]


def _scaled_chain(tmp_path, scale: str):
    """examples/chain.json with every reward 1 replaced by ``scale`` (an exact decimal)."""
    data = json.loads((ROOT / "examples" / "chain.json").read_text())
    data["rewards"] = [[[scale if x == 1 else x for x in row] for row in rows] for rows in data["rewards"]]
    path = tmp_path / f"chain_{scale}.json"
    path.write_text(json.dumps(data))
    p = load(str(path))
    return p.mdp, p.policy, np.array([float(x) for x in p.theta])


def _rtg(tr):
    T = tr.horizon + 1
    r = tr.rewards * tr.gamma ** np.arange(T)
    w = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    return np.einsum("mt,mtk->mk", w, tr.scores())


def _wrong_sign(tr):
    return -_rtg(tr)


def _offset_last(tr):  # the terminal state's two components, +5: constant, while ∇J there is 0
    g = _rtg(tr).copy()
    g[:, -2:] += 5.0
    return g


SCALES = ["1e-200", "1e-9", "1", "1e9", "1e150"]


@pytest.mark.parametrize("scale", SCALES)
def test_estimate_judges_every_reward_scale_alike(tmp_path, scale):
    mdp, policy, theta = _scaled_chain(tmp_path, scale)
    for test in ("auto", "holm", "chi2-exact"):
        assert cross_check(mdp, policy, theta, samples=20_000, seed=1, test=test).verdict.verdict == "consistent"
        assert cross_check(mdp, policy, theta, samples=20_000, seed=1, estimator="wrong-sign",
                           test=test).verdict.rejected, (scale, test)


@pytest.mark.parametrize("scale", SCALES)
def test_gradcheck_judges_every_reward_scale_alike(tmp_path, scale):
    problem = _scaled_chain(tmp_path, scale)
    assert gradcheck(_rtg, mdps=[problem], samples=20_000, seed=1, minimize=False).passed
    assert gradcheck(_wrong_sign, mdps=[problem], samples=20_000, seed=1, minimize=False).rejected


def test_rewards_near_1e160_no_longer_overflow_the_standard_error(tmp_path):
    # (1e160)² = inf in float64: computed in the problem's unit, the t statistic is finite and right.
    problem = _scaled_chain(tmp_path, "1e160")
    assert gradcheck(_wrong_sign, mdps=[problem], samples=20_000, seed=2, minimize=False).rejected
    assert gradcheck(_rtg, mdps=[problem], samples=20_000, seed=2, minimize=False).passed


def test_a_non_finite_intermediate_is_an_error_never_a_verdict():
    with pytest.raises(UserError):
        batch_test(np.array([[1e308, 0.0], [-1e308, 1.0], [np.inf, 0.0]]), [0.0, 0.0])
    with pytest.raises(UserError):
        z_test([1.0], [np.inf], [0.0])


def test_a_constant_offset_where_no_trajectory_can_move_it_is_never_passed():
    # The terminal state is never followed by a reward (q = 0): the model p-value (1 − q)^m = 1
    # is no information, so the constant 5 against ∇J = 0 is untested, not "tested, passes".
    r = gradcheck(_offset_last, mdps=[chain()], samples=20_000, seed=1, minimize=False)
    assert not r.passed and r.undecided
    assert any("no valid reference" in w for w in r.warnings)
    assert gradcheck(_rtg, mdps=[chain()], samples=20_000, seed=1, minimize=False).passed  # the true twin


def test_a_constant_zero_where_the_model_says_it_should_have_moved_is_rejected():
    # c = 0 exactly, q > 0: the probability of the quiet event is a valid p-value.
    G = np.column_stack([np.random.default_rng(0).normal(size=50), np.zeros(50)])
    assert batch_test(G, [0.0, 1e-3], unexplored=[np.nan, 1e-9]).rejected
    # c ≠ 0 constant: the quiet-event argument does not apply (a user's estimator can add a constant)
    v = batch_test(G + [0, 0.5], [0.0, 1e-3], unexplored=[np.nan, 1e-9])
    assert not v.rejected and v.untested == (1,)


def test_derives_own_overflow_is_one_error_that_does_not_blame_the_estimator(tmp_path):
    import warnings

    problem = _scaled_chain(tmp_path, "1e308")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy RuntimeWarning on the way
        with pytest.raises(UserError) as e:
            gradcheck(_rtg, mdps=[problem], samples=2_000, seed=0, minimize=False)
    assert "rescale the rewards" in str(e.value) and not str(e.value).startswith("estimator")
    assert len(str(e.value).splitlines()) == 1
