"""The evaluator gives expressions their meaning on a concrete MDP, checked against brute force."""

import itertools
import random
from fractions import Fraction as F

import numpy as np
import pytest
import sympy as sp

from derive.backends import Exact, ModPrime
from derive.battery import edge_cases, random_instance
from derive.mdp import FiniteMDP
from derive.notation import H, J, P, R, Sample, grad, i, pi, sum_t, sum_tau
from derive.policies import TabularSoftmax
from derive.semantics import Evaluator, IllFormed, Instance, Undefined, Unsupported

MDP = FiniteMDP.from_tables([F(1, 3), F(2, 3)], [[[F(1, 2), F(1, 2)], [1, 0]], [[F(1, 4), F(3, 4)], [0, 1]]],
                            [[1, 2], [0, F(1, 2)]], horizon=1, discount=F(1, 2))
INST = Instance(MDP, TabularSoftmax(2, 2), (F(1), F(2), F(3), F(1)))


def brute_force_J(inst):
    mdp, pi_ = inst.mdp, inst.probabilities()
    total = F(0)
    for traj in itertools.product(range(2), repeat=2 * (mdp.horizon + 1) + 1):
        st, ac = traj[0::2], traj[1::2]
        p, ret = mdp.initial[st[0]], F(0)
        for k, act in enumerate(ac):
            p *= pi_[st[k]][act] * mdp.transitions[st[k]][act][st[k + 1]]
            ret += mdp.discount ** k * mdp.rewards[st[k]][act][st[k + 1]]
        total += p * ret
    return total


def test_objective_by_dp_equals_brute_force_enumeration():
    ev = Evaluator(INST, Exact(), [F(0)] * 4)
    assert ev.evaluate(J()).val == brute_force_J(INST)
    assert ev.evaluate(sum_tau(P() * R())).val == brute_force_J(INST)


def test_objective_rejects_a_wrong_value():
    ev = Evaluator(INST, Exact(), [F(0)] * 4)
    assert ev.evaluate(J()).val != brute_force_J(INST) + F(1, 1000)


def test_gradient_matches_a_finite_difference():
    eps = F(1, 10**12)
    for k in range(4):
        v = [F(int(j == k)) for j in range(4)]
        exact = Evaluator(INST, Exact(), v).evaluate(grad(J())).val
        # θ_k + ε  <=>  z_k · e^ε; use a rational approximation of e^ε to first order.
        z = list(INST.point)
        z[k] *= 1 + eps
        moved = Instance(MDP, INST.policy, tuple(z))
        fd = (brute_force_J(moved) - brute_force_J(INST)) / eps
        assert abs(float(exact) - float(fd)) < 1e-9


def test_mod_prime_and_exact_agree():
    p = 2147483647
    v = [F(3), F(-1), F(2), F(5)]
    e = sum_tau(P() * sum_t(grad(sp.log(pi()))) * R(), support=True)
    exact = Evaluator(INST, Exact(), v).evaluate(e).val[()]
    modp = Evaluator(INST, ModPrime(p), v).evaluate(e).val
    assert int(modp) == exact.numerator % p * pow(exact.denominator, -1, p) % p


def test_free_trajectory_values_are_per_trajectory():
    ev = Evaluator(INST, Exact(), [F(0)] * 4)
    states, _ = MDP.trajectories()
    idx = 5
    vals = ev.evaluate(R(), slots={sp.Symbol("tau"): [idx]}).val
    st, ac = MDP.trajectories()
    expected = sum(MDP.discount ** k * MDP.rewards[st[idx, k]][ac[idx, k]][st[idx, k + 1]] for k in range(2))
    assert vals[0] == expected


def test_reference_past_the_horizon_is_ill_formed():
    ev = Evaluator(INST, Exact(), [F(1)] * 4)
    e = sum_tau(P() * sum_t(sp.log(pi()), upper=H + 1), support=True)
    with pytest.raises(IllFormed, match="a_2 does not exist"):
        ev.evaluate(grad(e))


def test_division_by_zero_probability_is_undefined():
    inst = [x for x in edge_cases(random.Random(0)) if x.name == "zero-probability transitions"][0]
    ev = Evaluator(inst, Exact(), [F(1)] * inst.n_params)
    with pytest.raises(Undefined):
        ev.evaluate(sum_tau(grad(P()) / P()))


def test_unknown_constructs_are_unsupported_not_guessed():
    ev = Evaluator(INST, Exact(), [F(1)] * 4)
    with pytest.raises(Unsupported):
        ev.evaluate(sp.exp(J()))
    with pytest.raises(Unsupported):
        ev.evaluate(R(Sample(i)) + sp.Symbol("x"))


def test_policy_lookup_uses_the_trajectory():
    inst = random_instance(random.Random(3), 0)
    ev = Evaluator(inst, Exact(), [F(0)] * inst.n_params)
    states, actions = inst.mdp.trajectories()
    got = ev.evaluate(pi(0), slots={sp.Symbol("tau"): [0]}).val
    assert got[0] == inst.probabilities()[states[0, 0]][actions[0, 0]]


def test_random_rewards_are_part_of_the_trajectory():
    from derive.battery import reward_battery
    from derive.semantics import trajectory_space

    inst = reward_battery(n_random=0)[2]
    assert inst.mdp.reward_distribution
    states, actions, outcomes = trajectory_space(inst.mdp)
    assert outcomes is not None and outcomes.shape == actions.shape
    ev = Evaluator(inst, Exact(), [F(1)] * inst.n_params)
    # J by DP uses E[r|s,a]; Σ_τ P(τ;θ) R(τ) sums the drawn rewards weighted by P(r|s,a): they agree.
    assert ev.evaluate(sum_tau(P() * R())).val == ev.evaluate(J()).val
    assert sum(ev._trajectory_prob().val) == 1


def test_reward_probability_is_one_for_deterministic_rewards_and_not_otherwise():
    from derive.battery import reward_battery
    from derive.notation import reward_probability

    ev = Evaluator(INST, Exact(), [F(1)] * 4)
    one = ev.evaluate(reward_probability(0), slots={sp.Symbol("tau"): [0, 1]}, batch=2).val
    assert all(v == 1 for v in np.broadcast_to(np.asarray(one, dtype=object), (2,)))
    inst = next(x for x in reward_battery(n_random=0)
                if any(len(o) > 1 for row in x.mdp.reward_distribution for o in row))
    ev = Evaluator(inst, Exact(), [F(1)] * inst.n_params)
    n = len(ev.states)
    vals = ev.evaluate(reward_probability(0), slots={sp.Symbol("tau"): list(range(n))}, batch=n).val
    assert any(v not in (0, 1) for v in vals)


def test_integer_arithmetic_left_unevaluated_by_a_substitution_is_an_integer():
    # 100 − m at m = 1, substituted without evaluation, is 100 − 1·1: the integer 99, not "no integer value".
    from derive.semantics import _integer_arithmetic

    minus = sp.Add(100, sp.Mul(-1, 1, evaluate=False), evaluate=False)
    assert _integer_arithmetic(minus) == 99
    assert _integer_arithmetic(sp.Mul(2, 250, evaluate=False)) == 500
    assert _integer_arithmetic(sp.Pow(3, 4, evaluate=False)) == 81
    # Not integer arithmetic, or too large to build: no value (the caller says why).
    assert _integer_arithmetic(sp.Add(sp.Symbol("n"), 1, evaluate=False)) is None
    assert _integer_arithmetic(sp.Pow(2, -1, evaluate=False)) is None
    assert _integer_arithmetic(sp.Pow(2, 10**9, evaluate=False)) is None


def test_mod_p_a_log_whose_argument_has_no_known_sign_is_left_to_an_exact_system():
    # mod p, −1 is a residue like any other: log(−1) had an unknown value there, 0 · unknown was 0, and a line
    # 0 · log(−1) = 0 agreed on an MDP whose ∇π is 0. Only an exact system can say the log is undefined.
    from derive.backends import LogLinear, NotRepresentable

    v = [F(3), F(-1), F(2), F(5)]
    with sp.evaluate(False):
        undefined = sp.Mul(0, sp.log(-1, evaluate=False))
    with pytest.raises(NotRepresentable):
        Evaluator(INST, ModPrime(2147483647), v).evaluate(undefined)
    with pytest.raises(Undefined):
        Evaluator(INST, LogLinear(), v).evaluate(undefined)
    # The twin: the log of a probability is defined on the support, and mod p keeps its derivative.
    twin = sum_tau(P() * sum_t(grad(sp.log(pi()))) * R(), support=True)
    assert Evaluator(INST, ModPrime(2147483647), v).evaluate(twin).val is not None
