"""Baselines: the score has mean zero, so subtracting any b(s_t) leaves the gradient unchanged.

Lemma (for every state s): Σ_a π_θ(a|s) ∇_θ log π_θ(a|s) = 0.
Result: ∇_θ J(θ) = E[Σ_t ∇_θ log π_θ(a_t|s_t) (Σ_{u=t}^{H} γ^u r_u − b(s_t))] for any θ-free b.
"""

import sympy as sp

from derive.derivation import POSITIVE_POLICY, UNBIASED, Derivation, Goal, Proof
from derive.notation import (
    J, P, Policy, Sample, b, baseline as b_of, grad, i, pi, reward_to_go, sample_mean, sum_actions, sum_t,
    sum_tau, t, theta, unevaluated_mul, x,
)
from derive.rules import sample_estimator, subtract_baseline

tau_i = Sample(i)
policy_b = Policy(b, x, theta)

score_mean_zero = (
    Derivation.begin(
        "the score has mean zero",
        sum_actions(unevaluated_mul(policy_b, grad(sp.log(policy_b)))),
        goal=Goal(sum_actions(unevaluated_mul(policy_b, grad(sp.log(policy_b)))), sp.Integer(0)),
        description="E_{a∼π_θ(·|s)}[∇_θ log π_θ(a|s)] = 0 in every state s.",
    )
    .claim(sum_actions(grad(policy_b)), rule="log-derivative trick",
           why="π_θ(a|s) ∇_θ log π_θ(a|s) = ∇_θ π_θ(a|s), since π_θ(a|s) > 0.", conditions=(POSITIVE_POLICY,))
    .claim(grad(sum_actions(policy_b)), rule="linearity of ∇", why="The sum over actions is finite.")
    .claim(sp.Integer(0), rule="normalisation", why="Σ_a π_θ(a|s) = 1 for every θ, so its gradient is 0.")
)

rtg_form = sum_tau(unevaluated_mul(P(), sum_t(unevaluated_mul(grad(sp.log(pi())), reward_to_go()))), support=True)
with_baseline = sample_mean(sum_t(unevaluated_mul(
    grad(sp.log(pi(t, tau_i))), sp.Add(reward_to_go(t, tau_i), -b_of(t, tau_i), evaluate=False))))

baseline_estimator = (
    Derivation.begin(
        "reward-to-go with a baseline",
        grad(J()),
        goal=Goal(grad(J()), with_baseline, UNBIASED),
        description="Any state-dependent baseline keeps the estimator unbiased.",
    )
    .claim(rtg_form, rule="reward-to-go", why="The reward-to-go form of ∇_θ J(θ) (proofs/reward_to_go.py).")
    .by(subtract_baseline)
    .by(sample_estimator)
)

def variance_note() -> str:
    """Why one uses a baseline: the exact variance of one trajectory's estimate, by enumeration."""
    from fractions import Fraction as F

    import numpy as np

    from derive.mdp import FiniteMDP
    from derive.policies import TabularSoftmax
    from derive.stats import exact_covariance

    # A three-state chain with a reward at the end, H = 3, at θ = 0 (the uniform policy).
    chain = FiniteMDP.from_tables(
        [1, 0, 0],
        [[[F(1, 5), F(4, 5), 0], [F(4, 5), F(1, 5), 0]],
         [[F(4, 5), 0, F(1, 5)], [F(1, 5), 0, F(4, 5)]],
         [[0, 0, 1], [0, 0, 1]]],
        [[[0, 0, 0], [0, 0, 0]], [[0, 0, 5], [0, 0, 5]], [[1, 1, 1], [1, 1, 1]]],
        horizon=3, name="chain")
    policy, theta = TabularSoftmax(3, 2), [0.0] * 6
    traces = {name: float(np.trace(exact_covariance(chain, policy, theta, estimator=name)))
              for name in ("reinforce", "reward-to-go", "baseline")}
    return (
        "Why one uses a baseline: the variance of one trajectory's estimate (trace of its covariance, "
        "computed by enumerating every trajectory, no sampling) on a three-state chain with H = 3 at θ = 0 is "
        f"{traces['reinforce']:.4g} for REINFORCE, {traces['reward-to-go']:.4g} with reward-to-go and "
        f"{traces['baseline']:.4g} with reward-to-go minus the baseline b(s_t) = V_t(s_t); all three have the "
        "same expectation, ∇J(θ)."
    )


PROOF = Proof(
    name="baseline",
    title="Baselines leave the policy gradient unchanged",
    derivations=(score_mean_zero, baseline_estimator),
    notes=(variance_note(),),
)

if __name__ == "__main__":
    from derive.cli import run_proofs

    raise SystemExit(run_proofs([PROOF], path=__file__))
