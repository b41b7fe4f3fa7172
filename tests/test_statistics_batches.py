"""gradcheck tests at the user's batch size with errors from independent batches: rows may depend."""

import numpy as np
import pytest

from derive.gradcheck import gradcheck
from derive.stats import batch_test
from gradcheck_gallery import _discounted, reinforce


def _returns(tr):
    return _discounted(tr).sum(axis=1)


def batch_mean_baseline(tr):
    """Σ_t ∇log π · (R − mean of the batch's R): biased by the factor 1 − 1/B (its own R is in the mean)."""
    R = _returns(tr)
    return tr.scores().sum(axis=1) * (R - R.mean())[:, None]


def leave_one_out_baseline(tr):
    """Σ_t ∇log π · (R − mean of the others' R): unbiased, but every row depends on the whole batch."""
    R = _returns(tr)
    b = (R.sum() - R) / (tr.m - 1)
    return tr.scores().sum(axis=1) * (R - b)[:, None]


def batch_mean_rows(tr):
    """Every row is the batch's REINFORCE mean: unbiased, rows perfectly dependent."""
    g = reinforce(tr).mean(axis=0)
    return np.repeat(g[None, :], tr.m, axis=0)


@pytest.mark.parametrize("seed", [1])
def test_batch_mean_baseline_is_caught_at_the_users_batch_size(seed):
    r = gradcheck(batch_mean_baseline, batch_size=5, samples=10_000, seed=seed, minimize=False)
    assert not r.passed and r.batch_size == 5 and r.p_value < 1e-6


@pytest.mark.parametrize("estimator", [leave_one_out_baseline, batch_mean_rows], ids=["leave-one-out", "mean-rows"])
@pytest.mark.parametrize("seed", [1])
def test_unbiased_estimators_with_dependent_rows_pass(estimator, seed):
    # Never rejected on the whole battery; passed outright on its first three slots (on the long
    # sparse MDPs, batches of 5 leave some components with too few effective samples: undecided).
    assert not gradcheck(estimator, batch_size=5, samples=10_000, seed=seed, minimize=False).rejected
    assert gradcheck(estimator, batch_size=5, samples=10_000, seed=seed, n_random=3, minimize=False).passed


def test_mean_rows_pass_where_independent_rows_would_be_assumed():
    # Treating the repeated rows as independent would shrink the standard error by √B.
    r = gradcheck(batch_mean_rows, batch_size=50, samples=20_000, seed=3, minimize=False)
    assert r.passed
    res = r.results[-1]
    assert res.n_batches == 400 and np.all(res.stderr > 0)


def test_batch_test_takes_the_spread_of_independent_batches():
    rng = np.random.default_rng(0)
    G = rng.normal(loc=[0.0, 0.3], scale=1.0, size=(400, 2))
    assert batch_test(G, [0.0, 0.0]).rejected  # 0.3 / (1/20) = 6 standard errors
    assert batch_test(G, [0.0, 0.3]).consistent
    with pytest.raises(Exception, match="non-finite|not finite"):
        batch_test(np.full((4, 2), np.nan), [0.0, 0.0])
