"""Every MDP battery reaches S ≥ 2, A ≥ 2, H ≥ 5 at once (large instances by DP), so late corrections fail there."""

import pytest
import sympy as sp

from derive.battery import BATTERIES, Battery
from derive.notation import (
    H, J, P, R, ActionSum, StateSum, b, gamma, grad, pi, r, sum_t, sum_tau, u, unevaluated_mul,
)
from derive.policies import LinearSoftmax
from soundness_helpers import verdict

S_ = StateSum(sp.Integer(1))        # Σ_s 1 = S
A_ = ActionSum(sp.Integer(1), b)    # Σ_b 1 = A
# Zero unless S ≥ 2, A ≥ 2 and H ≥ 5 on one MDP.
C = sp.Mul(S_ - 1, A_ - 1, *[H - k for k in range(5)], evaluate=False)
RETURN = sp.Sum(unevaluated_mul(gamma ** u, r(u)), (u, 0, H))
SCORE_R = sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True)


def _plus(x, y):
    return sp.Add(x, y, evaluate=False)


def _times(*xs):
    return sp.Mul(*xs, evaluate=False)


FALSE = {
    "J plus a late constant": (J(), _plus(J(), C)),
    "return plus a late last reward (a free τ)": (R(), _plus(RETURN, _times(C, r(H)))),
    "score plus a late last-step score (a free τ)": (grad(sp.log(P())), _plus(sum_t(grad(sp.log(pi()))),
                                                                            _times(C, grad(sp.log(pi(H)))))),
}
# Slow to report (exact gradients of J, every component, on the large MDP): run in the slow campaign.
SLOW_FALSE = {"gradient plus a late multiple of J": (grad(J()), _plus(SCORE_R, _times(C, J())))}
TRUE = {
    "J plus a vanishing late constant": (J(), _plus(J(), _times(0, C))),
    "return written out (a free τ)": (R(), RETURN),
    "gradient as the score-function sum": (grad(J()), SCORE_R),
}
NAMES = ("rewards", "softmax", "discounted")


def _battery(name, seed):
    return BATTERIES[name](seed=seed, n_random=2)


@pytest.mark.parametrize("name", NAMES)
def test_each_battery_has_instances_with_s_a_and_h_large_at_once(name):
    bat = _battery(name, 11)
    big = [x for x in bat if x.mdp.n_states >= 2 and x.mdp.n_actions >= 2 and x.mdp.horizon >= 5]
    assert len(big) >= 2, [x.describe() for x in bat]
    if name == "rewards":
        assert all(x.mdp.reward_distribution for x in big)
    if name == "discounted":
        assert all(x.mdp.discount < 1 for x in big)
    if name == "softmax":
        assert any(isinstance(x.policy, LinearSoftmax) for x in big)
    shape = big[0].mdp
    assert f"({shape.n_states}, {shape.n_actions}, {shape.horizon})" in verdict(J(), J(), bat=bat).verdict


@pytest.mark.parametrize("name", NAMES)
def test_late_corrections_pass_on_the_small_instances_alone(name, monkeypatch):
    # The claims are adversarial: no instance of the battery with S, A or H small shows them (the battery as
    # drawn, without the instances derive.size_reach adds past a line's constants, which catch some on their own).
    import derive.size_reach

    monkeypatch.setattr(derive.size_reach, "widened", lambda battery, lhs, rhs, seed: (battery, None))
    bat = _battery(name, 12)
    small = Battery([x for x in bat if not (x.mdp.n_states >= 2 and x.mdp.n_actions >= 2 and x.mdp.horizon >= 5)],
                    name=name, seed=bat.seed)
    for claim, (lhs, rhs) in {**FALSE, **SLOW_FALSE}.items():
        assert verdict(lhs, rhs, bat=small).ok, (name, claim)


@pytest.mark.parametrize("name", NAMES)
def test_late_corrections_fail_on_every_mdp_battery(name):
    bat = _battery(name, 12)
    for claim, (lhs, rhs) in FALSE.items():
        report = verdict(lhs, rhs, bat=bat)
        assert report.verdict == "failed", (name, claim, report.verdict)


@pytest.mark.parametrize("name", NAMES)
def test_true_twins_pass_on_every_instance_of_every_mdp_battery(name):
    bat = _battery(name, 13)
    for claim, (lhs, rhs) in TRUE.items():
        report = verdict(lhs, rhs, bat=bat)
        # Every instance counts (none excluded), with the sizes added beside or past the line's constants on top.
        assert report.ok and report.instances >= len(bat) and "excluded" not in report.verdict, (name, claim, report.verdict)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_a_late_correction_to_the_gradient_fails_on_every_mdp_battery(name):
    bat = _battery(name, 12)
    for claim, (lhs, rhs) in SLOW_FALSE.items():
        assert verdict(lhs, rhs, bat=bat).verdict == "failed", (name, claim)
