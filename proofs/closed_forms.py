"""Closed forms users check by hand: the softmax score and the softmax bandit gradient.

* Softmax score (Sutton & Barto 13.9): ∇_θ log π_θ(a|s) = φ(s,a) − Σ_b π_θ(b|s) φ(s,b), where
  φ(s,a) is the gradient of the logit: the features of a linear softmax, or the one-hot
  e_{s,a} of a tabular one (so ∂ log π(a|s)/∂θ_{s,b} = 1[a = b] − π(b|s)).
* Softmax bandit: ∂J/∂θ_a = π_a (r_a − Σ_b π_b r_b), written as a gradient:
  ∇_θ J(θ) = Σ_a π_θ(a) (r̄(a) − Σ_c π_θ(c) r̄(c)) φ(a), checked on one-state, one-step MDPs.
The Gaussian scores of the same family need continuous actions, which derive does not model yet.
"""

import sympy as sp

from derive.derivation import POSITIVE_POLICY, Derivation, Goal, Proof
from derive.notation import J, MeanReward, Policy, Feature, b, c, grad, sum_actions, theta, unevaluated_mul, x

pi_b, pi_c = Policy(b, x, theta), Policy(c, x, theta)
score = sp.Add(Feature(x, b), -sum_actions(unevaluated_mul(pi_c, Feature(x, c)), c), evaluate=False)

softmax_score = (
    Derivation.begin(
        "softmax score",
        grad(sp.log(pi_b)),
        goal=Goal(grad(sp.log(pi_b)), score),
        description="For every state s and action b.",
    )
    .claim(score, rule="softmax score",
           why="log π_θ(b|s) = θ·φ(s,b) − log Σ_c exp(θ·φ(s,c)); its gradient is φ(s,b) minus the "
               "π_θ-weighted mean of φ(s,·).")
)

mean_reward = sum_actions(unevaluated_mul(pi_c, MeanReward(x, c)), c)
bandit = (
    Derivation.begin(
        "softmax bandit",
        grad(J()),
        goal=Goal(grad(J()), sum_actions(unevaluated_mul(
            pi_b, sp.Add(MeanReward(x, b), -mean_reward, evaluate=False), Feature(x, b)))),
        description="One state, one step: J(θ) = Σ_b π_θ(b) r̄(b).",
    )
    .claim(sum_actions(unevaluated_mul(grad(pi_b), MeanReward(x, b))), rule="one-step objective",
           why="With one state and H = 0, J(θ) = Σ_b π_θ(b|s) r̄(s,b) and r̄ does not depend on θ.")
    .claim(sum_actions(unevaluated_mul(pi_b, grad(sp.log(pi_b)), MeanReward(x, b))), rule="log-derivative trick",
           why="∇_θ π_θ(b|s) = π_θ(b|s) ∇_θ log π_θ(b|s), since π_θ(b|s) > 0.", conditions=(POSITIVE_POLICY,))
    .claim(sum_actions(unevaluated_mul(pi_b, score, MeanReward(x, b))), rule="softmax score",
           why="The softmax score above.")
    .claim(sum_actions(unevaluated_mul(pi_b, sp.Add(MeanReward(x, b), -mean_reward, evaluate=False), Feature(x, b))),
           rule="rearrange", why="Exchange the sums over b and c and collect the terms in φ(s,b).")
)

PROOFS = [
    Proof(name="softmax_score", title="The softmax score", derivations=(softmax_score,), battery="softmax"),
    Proof(name="softmax_bandit", title="The softmax bandit gradient", derivations=(bandit,), battery="bandits"),
]

if __name__ == "__main__":
    from derive.cli import run_proofs

    raise SystemExit(run_proofs(PROOFS, path=__file__))
