"""A Gaussian policy on a one-step problem: the scores, and seed 004's derivation with a true integral.

The action is continuous, a ∼ N(θ, σ²), and the reward is a polynomial r(a) = k0 + k1 a + k2 a².
SymPy evaluates every integral exactly, so J(θ) = k0 + k1 θ + k2 (θ² + σ²) and
∇_θ J(θ) = k1 + 2 k2 θ are known in closed form. Each line is checked in the general form
and at exact rational points (the "gaussian" battery).
"""

import sympy as sp

from derive.derivation import DOMINATED_CONVERGENCE, Derivation, Goal, Proof
from derive.notation import Normal, action, grad, k0, k1, k2, sigma, theta, unevaluated_mul, w

density = Normal(action, theta, sigma)
reward = k0 + k1 * action + k2 * action ** 2


def integral(body):
    """∫ body da over the real line."""
    return sp.Integral(body, (action, -sp.oo, sp.oo))


mean_score = (
    Derivation.begin(
        "Gaussian score in the mean",
        grad(sp.log(density)),
        goal=Goal(grad(sp.log(density)), (action - theta) / sigma ** 2),
        description="∇_μ log N(a; μ, σ²) = (a − μ)/σ², here with μ = θ.",
    )
    .claim((action - theta) / sigma ** 2, rule="Gaussian score",
           why="log N(a; θ, σ²) = −(a − θ)²/(2σ²) − log(√(2π) σ); differentiate in θ.")
)

log_sd_density = Normal(action, theta, sp.exp(w))
sd_score = (
    Derivation.begin(
        "Gaussian score in log σ",
        sp.Derivative(sp.log(log_sd_density), w),
        goal=Goal(sp.Derivative(sp.log(log_sd_density), w), (action - theta) ** 2 / sp.exp(2 * w) - 1),
        description="With σ = e^w: ∂/∂w log N(a; θ, e^(2w)) = (a − θ)²/σ² − 1.",
    )
    .claim((action - theta) ** 2 / sp.exp(2 * w) - 1, rule="Gaussian score",
           why="log N = −(a − θ)² e^(−2w)/2 − w − log √(2π); differentiate in w.")
)

one_step = (
    Derivation.begin(
        "one-step Gaussian policy gradient",
        grad(integral(unevaluated_mul(reward, density))),
        goal=Goal(grad(integral(unevaluated_mul(reward, density))), k1 + 2 * k2 * theta),
        description="Seed 004's derivation with a true integral over a continuous action.",
    )
    .claim(integral(unevaluated_mul(reward, grad(density))), rule="gradient–integral swap",
           why="The Gaussian and its θ-derivative are dominated by an integrable function, so ∇_θ moves "
               "inside the integral (dominated convergence).", conditions=(DOMINATED_CONVERGENCE,))
    .claim(integral(unevaluated_mul(reward, density, grad(sp.log(density)))), rule="log-derivative trick",
           why="∇_θ N = N ∇_θ log N, since N > 0.")
    .claim(integral(unevaluated_mul(reward, density, (action - theta) / sigma ** 2)), rule="Gaussian score",
           why="The score in the mean above.")
    .claim(k1 + 2 * k2 * theta, rule="Gaussian moments",
           why="E[(a − θ)] = 0, E[a(a − θ)] = σ², E[a²(a − θ)] = 2θσ² for a ∼ N(θ, σ²).")
)

objective = (
    Derivation.begin(
        "one-step objective in closed form",
        integral(unevaluated_mul(reward, density)),
        goal=Goal(integral(unevaluated_mul(reward, density)), k0 + k1 * theta + k2 * (theta ** 2 + sigma ** 2)),
        description="J(θ) = E[r(a)] for a ∼ N(θ, σ²).",
    )
    .claim(k0 + k1 * theta + k2 * (theta ** 2 + sigma ** 2), rule="Gaussian moments",
           why="E[1] = 1, E[a] = θ and E[a²] = θ² + σ² for a ∼ N(θ, σ²).")
)

PROOF = Proof(
    name="gaussian",
    title="A Gaussian policy: scores and the one-step policy gradient",
    derivations=(mean_score, sd_score, objective, one_step),
    battery="gaussian",
)

if __name__ == "__main__":
    from derive.cli import run_proofs

    raise SystemExit(run_proofs([PROOF], path=__file__))
