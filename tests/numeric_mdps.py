"""Small MDPs shared by the numeric tests (a plain module, so it cannot clash with a conftest)."""

from fractions import Fraction as F

from derive.mdp import FiniteMDP


def two_state_mdp() -> FiniteMDP:
    """Two states, two actions, H = 3, γ = 9/10, stochastic μ and a zero-probability transition."""
    return FiniteMDP.from_tables(
        [F(1, 2), F(1, 2)],
        [[[F(1, 3), F(2, 3)], [1, 0]], [[0, 1], [F(1, 4), F(3, 4)]]],
        [[1, [0, 2]], [-1, 3]],
        horizon=3, discount=F(9, 10), name="two-state",
    )
