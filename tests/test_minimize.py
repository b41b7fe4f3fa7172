"""Minimal counterexamples: the search returns the smallest instance of the failing kind."""

import random

import sympy as sp

from derive.check import check_instance
from derive.minimize import InstanceKind, instances, kind_of, minimal_instance, sizes
from derive.notation import J, P, R, grad, sum_tau, unevaluated_mul
from derive.battery import random_instance, stress_cases
from hypothesis import given

WRONG = sum_tau(unevaluated_mul(grad(sp.log(P())), R()))


def fails(inst):
    return check_instance(grad(J()), WRONG, "=", inst, random.Random(0)).status == "differ"


def test_sizes_go_from_fewest_trajectories_up():
    order = sizes()
    counts = [S * (S * A) ** (H + 1) for S, A, H in order]
    assert order[0] == (1, 1, 0) and counts == sorted(counts)


def test_minimal_instance_is_smallest_possible():
    inst = minimal_instance(fails, InstanceKind())
    assert inst is not None and fails(inst)
    # One state and one action cannot show it (the score is 0): two actions, H = 0 is the least.
    assert (inst.mdp.n_states, inst.mdp.n_actions, inst.mdp.horizon) == (1, 2, 0)
    assert inst.point == (1, 1)  # θ = 0


def test_no_instance_for_a_true_step():
    right = sum_tau(unevaluated_mul(grad(P()), R()))
    found = minimal_instance(lambda i: check_instance(grad(J()), right, "=", i, random.Random(0)).status != "agree",
                             InstanceKind(), examples_per_size=5, max_states=2, max_actions=2, max_horizon=1)
    assert found is None


def test_kind_is_recognised():
    boundary, dynamics, initial = stress_cases(random.Random(0))
    assert kind_of(boundary).boundary and kind_of(boundary).policy == "direct"
    assert kind_of(dynamics).theta_environment and kind_of(initial).theta_environment
    assert not kind_of(random_instance(random.Random(0), 0)).theta_environment


@given(instances(InstanceKind(policy="direct", boundary=True)))
def test_boundary_kind_has_a_zero_policy_entry(inst):
    assert any(p == 0 for row in inst.probabilities() for p in row)


@given(instances(InstanceKind(theta_environment=True), states=(2, 3)))
def test_theta_environment_kind_depends_on_theta(inst):
    assert inst.environment_depends_on_theta
