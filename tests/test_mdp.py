"""FiniteMDP validation names the key, index and value at fault."""

from fractions import Fraction as F

import pytest

from derive.mdp import FiniteMDP, InvalidMDP

GOOD = dict(initial=[F(1, 2), F(1, 2)], transitions=[[[1, 0], [0, 1]], [[F(1, 3), F(2, 3)], [1, 0]]],
            rewards=[[1, 0], [2, 3]])


def make(**kw):
    args = {**GOOD, **kw}
    return FiniteMDP.from_tables(args["initial"], args["transitions"], args["rewards"],
                                 horizon=kw.get("horizon", 1), discount=kw.get("discount", 1))


def test_good_tables_and_trajectory_count():
    mdp = make()
    assert mdp.n_trajectories == 2 * 4 ** 2
    states, actions = mdp.trajectories()
    assert states.shape == (32, 3) and actions.shape == (32, 2)
    assert len({tuple(s) + tuple(a) for s, a in zip(states, actions)}) == 32


@pytest.mark.parametrize("kw, match", [
    (dict(initial=[F(1, 2), F(1, 3)]), r"initial: probabilities must sum to 1, they sum to 5/6"),
    (dict(transitions=[[[1, 0], [0, 1]], [[F(-1, 3), F(4, 3)], [1, 0]]]), r"transitions\[1\]\[0\]\[0\]: .* -1/3"),
    (dict(transitions=[[[1, 0], [0, 1]], [[1, 0]]]), r"transitions\[1\]: expected 2 actions"),
    (dict(rewards=[[1, 0], [2]]), r"rewards\[1\]: expected 2 actions"),
    (dict(initial=["1/2", "x"]), r"initial\[1\]: 'x' is not a number"),
    (dict(horizon=-1), r"horizon: expected an integer H >= 0, got -1"),
    (dict(discount=F(3, 2)), r"discount: expected 0 <= γ <= 1"),
    (dict(initial=[float("nan"), 1.0]), r"initial\[0\]: expected a finite number"),
])
def test_bad_tables_are_rejected_with_their_place(kw, match):
    with pytest.raises(InvalidMDP, match=match):
        make(**kw)


def test_exact_strings_and_state_dependent_rewards():
    mdp = make(initial=["1/3", "2/3"], rewards=[[[1, 2], [0, 0]], [[3, 3], [4, "1/2"]]])
    assert mdp.initial == (F(1, 3), F(2, 3)) and mdp.rewards[1][1][1] == F(1, 2)
