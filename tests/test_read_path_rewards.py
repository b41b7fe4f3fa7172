"""Random rewards: a line that writes the dynamics but no P(r|s,a) speaks of τ's states and actions.

Every route reads it the same way: the prover (given the random-rewards reading), enumeration and
the trajectory DP all see the sum over paths as the reward-weighted sum over whole trajectories.
"""

import random
from fractions import Fraction as F

import numpy as np
import pytest
import sympy as sp

from derive import trajectory_dp
from derive.backends import Exact, ModPrime, random_prime
from derive.battery import BATTERIES, _with_random_rewards
from derive.check import check_step, records_rewards, verify_derivation
from derive.derivation import Derivation, Goal
from derive.mdp import FiniteMDP
from derive.notation import (
    J, P, PathSum, R, TrajectorySum, dynamics, factorisation, marginal_sums, mu, pi, prod_t, theta, unevaluated_mul,
)
from derive.policies import TabularSoftmax
from derive.read.document import AMBIGUOUS, FAILS, HOLDS, check_text
from derive.semantics import Evaluator, Instance
from derive.symbolic import prove

PATH = unevaluated_mul(mu(), prod_t(unevaluated_mul(pi(), dynamics())))   # μ(s_0) Π_t π_θ P(s'|s,a)


def _doc(*displays: str) -> str:
    # r_t written once: the document is read with random rewards P(r|s,a).
    return "The return is $R(\\tau) = \\sum_{t=0}^{H} \\gamma^t r_t$.\n\n" + "\n\n".join(
        f"$${d}$$" for d in displays) + "\n"


def _lines(text: str, **kw):
    report = check_text(text, path="doc.md", seed=7, n_random=4, **kw)
    return {ln.line: ln for ln in report.lines if ln.kind != "result"}


FACT = r"\mu(s_0) \left[\prod_{t=0}^{H} \pi_\theta(a_t \mid s_t) P(s_{t+1} \mid s_t, a_t)\right]"


def test_the_factorisation_without_reward_factors_holds_under_random_rewards():
    lines = _lines(_doc(
        r"\sum_\tau " + FACT + " = 1",
        r"J(\theta) = \sum_\tau " + FACT + r" R(\tau)",
        r"\sum_\tau P(\tau;\theta) R(\tau) = \sum_\tau R(\tau) " + FACT,
    ))
    for n in (3, 5, 7):
        assert lines[n].verdict == HOLDS, (n, lines[n].verdict, lines[n].detail)
        assert any("states and actions" in note for note in lines[n].notes)
        assert "contradicts" not in lines[n].detail


def test_a_wrong_factorisation_still_fails_under_random_rewards():
    # The last dynamics factor dropped: Σ over s_{H+1} is no longer a probability; twice J is not J.
    lines = _lines(_doc(
        r"\sum_\tau \mu(s_0) \left[\prod_{t=0}^{H} \pi_\theta(a_t \mid s_t) P(s_{t+1} \mid s_t, a_t)\right] = 2",
        r"J(\theta) = 2 \sum_\tau " + FACT + r" R(\tau)",
    ))
    for n in (3, 5):
        assert lines[n].verdict == FAILS, (n, lines[n].verdict)
        assert "contradicts" not in lines[n].detail


def test_a_chain_from_the_full_probability_to_the_factorisation_holds():
    lines = _lines(_doc(r"\nabla_\theta J(\theta) = \sum_\tau \nabla_\theta P(\tau;\theta) R(\tau)",
                        r"= \sum_\tau \nabla_\theta \left[" + FACT[:-len(r"\right]")].replace(r"\left[", "", 1)
                        + r"\right] R(\tau)"))
    assert lines[5].verdict == HOLDS, lines[5].detail


def test_a_product_with_a_factor_free_of_its_index_at_the_end_has_two_readings():
    line = r"\sum_\tau P(\tau;\theta) R(\tau) = \sum_\tau \mu(s_0) \prod_{t=0}^{H} \pi_\theta(a_t \mid s_t) P(s_{t+1} \mid s_t, a_t) R(\tau)"
    for text in (_doc(line), f"$${line}$$\n"):   # random rewards, and deterministic
        got = _lines(text)
        ln = next(iter(v for v in got.values() if "prod" in v.latex))
        assert ln.verdict == AMBIGUOUS, ln.verdict
        assert any("two readings of \\prod" in n and "outside the product: holds" in n for n in ln.notes), ln.notes
    # Every factor of the product involves t: one reading only, and a false line simply fails.
    wrong = r"\sum_\tau P(\tau;\theta) = \sum_\tau \mu(s_0) \prod_{t=0}^{H} \pi_\theta(a_t \mid s_t) P(s_{t+1} \mid s_t, a_t) \gamma^t"
    ln = _lines(f"$${wrong}$$\n")[1]
    assert ln.verdict == FAILS and not any("two readings" in n for n in ln.notes)


def test_the_prover_is_given_the_random_rewards_reading():
    full_without_rewards = TrajectorySum(unevaluated_mul(factorisation(), R()))
    path = PathSum(unevaluated_mul(PATH, R()))
    # Deterministic rewards: Σ_τ μ Π π P R is J; random rewards: only as a sum over paths.
    assert prove(J(), full_without_rewards, timeout=20).proved
    assert not prove(J(), full_without_rewards, timeout=20, rewards=True).proved
    assert prove(J(), path, timeout=20, rewards=True).proved
    assert prove(J(), path, timeout=20).proved
    assert not prove(J(), 2 * path, timeout=20, rewards=True).proved


def test_verify_derivation_passes_the_random_rewards_reading_to_the_prover():
    battery = BATTERIES["rewards"](seed=3, n_random=4)
    assert records_rewards(battery) and not records_rewards(BATTERIES["default"](seed=3, n_random=4))
    full = TrajectorySum(unevaluated_mul(factorisation(), R()))
    wrong = Derivation.begin("without reward factors", J(), goal=Goal(J(), full, "=")).claim(full, why="factorise")
    report = verify_derivation(wrong, battery=battery, timeout=20, seed=3)
    step = report.steps[0]
    assert step.verdict == "failed" and "contradicts" not in step.detail, (step.verdict, step.detail)
    path = PathSum(unevaluated_mul(PATH, R()))
    right = Derivation.begin("over paths", J(), goal=Goal(J(), path, "=")).claim(path, why="factorise")
    report = verify_derivation(right, battery=battery, timeout=20, seed=3)
    assert report.steps[0].ok and report.steps[0].symbolic.startswith("proved"), report.steps[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_enumeration_dp_and_the_objective_agree_on_a_path_sum(seed):
    rng = random.Random(seed)
    mdp = FiniteMDP.from_tables([F(1, 3), F(2, 3)], [[[F(1, 2), F(1, 2)], [F(1, 4), F(3, 4)]],
                                                     [[F(1), F(0)], [F(2, 5), F(3, 5)]]],
                                [[1, 2], [0, 3]], horizon=2, discount=F(1, 2))
    mdp = _with_random_rewards(mdp, rng)
    inst = Instance(mdp, TabularSoftmax(2, 2), [F(rng.randint(1, 9), 4) for _ in range(4)], name="drawn")
    body = PathSum(unevaluated_mul(PATH, R()))
    expr = marginal_sums(body)
    unweighted = TrajectorySum(unevaluated_mul(PATH, R()))   # the sum over reward outcomes, no weights: not J
    for bk in (ModPrime(random_prime(rng)), Exact()):
        ev = Evaluator(inst, bk, inst.policy.tangent([F(1)] * 4))
        target = ev.objective()
        dp = trajectory_dp.evaluate(ev, expr)
        orig = trajectory_dp.dp_or_none
        trajectory_dp.dp_or_none = lambda *a, **k: None
        try:
            en = Evaluator(inst, bk, inst.policy.tangent([F(1)] * 4)).evaluate(expr)
            bad = Evaluator(inst, bk, inst.policy.tangent([F(1)] * 4)).evaluate(unweighted)
        finally:
            trajectory_dp.dp_or_none = orig
        assert np.all(np.asarray(dp.val, dtype=object) == np.asarray(en.val, dtype=object))
        assert np.all(np.asarray(en.val, dtype=object) == np.asarray(target.val, dtype=object))
        assert not np.all(np.asarray(bad.val, dtype=object) == np.asarray(target.val, dtype=object))


def test_check_step_reads_a_path_sum_on_the_battery_it_is_given():
    path = PathSum(unevaluated_mul(PATH, R()))
    for name in ("rewards", "default"):
        rep = check_step(J(), path, battery=BATTERIES[name](seed=5, n_random=4), seed=5, timeout=20)
        assert rep.ok, (name, rep.verdict, rep.detail)
        rep = check_step(J(), 2 * path, battery=BATTERIES[name](seed=5, n_random=4), seed=5, timeout=20)
        assert rep.verdict == "failed" and "contradicts" not in rep.detail, (name, rep.verdict, rep.detail)
