"""γ drawn from a rich set per seed, and the headline names the γ drawn, not an interval.

Red-team round G, finding 4 (gamma_fit.py): the battery drew γ only from {1/2, 9/10, 99/100, 1}, so
REINFORCE times 1 + 10^5 (γ − 1/2)(γ − 9/10)(γ − 99/100)(γ − 1) PASSED, under "γ ∈ [0.5, 1]".
"""

from fractions import Fraction

import numpy as np
import pytest

from derive.gradcheck import default_battery, gradcheck
from gradcheck_gallery import reinforce

OLD_SET = {Fraction(1, 2), Fraction(9, 10), Fraction(99, 100), Fraction(1)}


def fitted(tr):
    """REINFORCE times a factor equal to 1 exactly at the four discounts the old battery drew."""
    g = tr.gamma
    k = 1 + 1e5 * (g - 0.5) * (g - 0.9) * (g - 0.99) * (g - 1.0)
    R = (tr.rewards * g ** np.arange(tr.horizon + 1)).sum(axis=1)
    return k * tr.scores().sum(axis=1) * R[:, None]


def test_the_discounts_drawn_are_fresh_per_seed_and_in_range():
    drawn = [mdp.discount for seed in range(20) for mdp, _, _ in default_battery(seed=seed)]
    fresh = [g for g in drawn if g not in OLD_SET]
    assert len(fresh) >= 40 and len(set(fresh)) == len(fresh)  # no value drawn twice: no small set to fit to
    assert all(Fraction(1, 2) <= g <= 1 for g in drawn)
    assert Fraction(1) in drawn  # the bandit and dense slots keep γ = 1


@pytest.mark.parametrize("seed", [7, 1, 12345])
def test_an_estimator_fitted_to_fixed_discounts_fails(seed):
    result = gradcheck(fitted, seed=seed, minimize=False)
    assert result.rejected, result.headline


def test_reinforce_passes_and_the_headline_lists_the_discounts_drawn():
    result = gradcheck(reinforce, seed=7, minimize=False)
    assert result.passed, result.headline
    drawn = sorted({r.gamma for r in result.results})
    assert "γ ∈ {" + ", ".join(f"{g:.6g}" for g in drawn) + "}" in result.headline
    assert "γ ∈ [" not in result.headline
