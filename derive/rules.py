"""The rewrites of the policy-gradient theorem, one function per step.

Each rule is a plain ``Expr -> Expr`` that returns its input unchanged where it does not
apply (the convention of ``sympy.strategies``), wrapped with its name, justification and
side conditions. Rules only *produce* the next line; whether that line follows is decided
by :mod:`derive.check`, which never calls a rule.
"""

from __future__ import annotations

import sympy as sp
from sympy import Derivative, Expr, Mul, Pow, Product, Sum, log
from sympy.strategies import traverse

from .derivation import (
    FINITE_SUM, POSITIVE_POLICY, POSITIVE_PROBABILITY, THETA_FREE_ENVIRONMENT, UNBIASED, rule,
)
from .notation import (
    STRUCTURE, Objective, Return, Sample, TrajectoryProbability, baseline, nonnegative, discounted_return, gamma, r, t, u, TrajectorySum, factorisation, fraction, grad,
    i, sample_mean, theta, unevaluated_mul,
)

__all__ = [
    "definition_of_objective", "swap_gradient_and_sum", "pull_out_theta_free_factor",
    "restrict_to_support", "multiply_by_ratio", "regroup", "log_derivative_trick",
    "sample_estimator", "factorise_trajectory_probability", "log_of_product",
    "gradient_of_sum", "drop_theta_free_terms", "expand_return", "distribute_over_time_sum", "causality",
    "subtract_baseline", "ALL_RULES",
]


def bottom_up(fn):
    """Apply fn at every node, leaves first, keeping unevaluated forms."""
    return traverse.bottom_up(fn, STRUCTURE)


def top_down_once(fn):
    """Apply fn at the top-most nodes where it changes something."""
    return traverse.top_down_once(fn, STRUCTURE)


def _is_grad(e) -> bool:
    return isinstance(e, Derivative) and e.variable_count == ((theta, 1),)


def _theta_free(e) -> bool:
    return theta not in e.free_symbols


@rule(name="definition of J", why="J(θ) is the expected return: J(θ) = Σ_τ P(τ;θ) R(τ).")
def definition_of_objective(expr: Expr) -> Expr:
    """J(θ)  ->  Σ_τ P(τ;θ) R(τ)."""
    from .notation import P, R, sum_tau

    return bottom_up(lambda e: sum_tau(Mul(P(), R())) if isinstance(e, Objective) else e)(expr)


@rule(
    name="gradient–sum swap",
    why="The sum is finite, so the gradient of the sum is the sum of the gradients.",
    conditions=(FINITE_SUM,),
)
def swap_gradient_and_sum(expr: Expr) -> Expr:
    """∇_θ Σ f  ->  Σ ∇_θ f   (Σ over trajectories or over t = 0..H)."""

    def swap(e):
        if _is_grad(e):
            inner = e.expr
            if isinstance(inner, TrajectorySum):
                return TrajectorySum(grad(inner.body), inner.variable, inner.support)
            if isinstance(inner, Sum):
                return Sum(grad(inner.function), *inner.limits)
        return e

    return top_down_once(swap)(expr)


@rule(
    name="constant factor",
    why="R(τ) does not depend on θ, so it factors out of ∇_θ.",
)
def pull_out_theta_free_factor(expr: Expr) -> Expr:
    """∇_θ (f · c)  ->  ∇_θ f · c   for θ-free c."""

    def pull(e):
        if _is_grad(e) and isinstance(e.expr, Mul):
            free = [f for f in e.expr.args if _theta_free(f)]
            dep = [f for f in e.expr.args if not _theta_free(f)]
            if free and dep:
                return unevaluated_mul(grad(Mul(*dep)), *free)
        return e

    return bottom_up(pull)(expr)


@rule(
    name="restrict to the support",
    why="Where P(τ;θ) = 0 a θ-free factor (μ or the dynamics) vanishes, because π_θ > 0; so "
        "∇_θ P(τ;θ) = 0 there and those trajectories add nothing.",
    conditions=(POSITIVE_POLICY, THETA_FREE_ENVIRONMENT),
)
def restrict_to_support(expr: Expr) -> Expr:
    """Σ_τ f  ->  Σ_{τ: P(τ;θ)>0} f."""
    return bottom_up(
        lambda e: TrajectorySum(e.body, e.variable, True) if isinstance(e, TrajectorySum) and not e.support else e
    )(expr)


@rule(
    name="multiply by P/P",
    why="P(τ;θ)/P(τ;θ) = 1 on every trajectory summed, since each has P(τ;θ) > 0.",
    conditions=(POSITIVE_PROBABILITY,),
)
def multiply_by_ratio(expr: Expr) -> Expr:
    """Σ_τ f  ->  Σ_τ (P(τ;θ)/P(τ;θ)) f."""

    def times_one(e):
        if isinstance(e, TrajectorySum):
            p = TrajectoryProbability(e.variable, theta)
            return TrajectorySum(unevaluated_mul(fraction(p, p), e.body), e.variable, e.support)
        return e

    return bottom_up(times_one)(expr)


def _split_ratio(e):
    """(P/P) as the first factor of an unevaluated product -> (P, rest)."""
    if isinstance(e, Mul) and e.args and isinstance(e.args[0], Mul):
        num, *den = e.args[0].args
        if len(den) == 1 and isinstance(den[0], Pow) and den[0].exp == -1 and den[0].base == num:
            rest = []
            for f in e.args[1:]:
                rest.extend(f.args if isinstance(f, Mul) else (f,))
            return num, tuple(rest)
    return None


@rule(name="regroup", why="Reorder the factors as P(τ;θ) · ∇_θ P(τ;θ) / P(τ;θ).")
def regroup(expr: Expr) -> Expr:
    """(P/P) ∇_θP · c  ->  P · (∇_θP / P) · c."""

    def move(e):
        split = _split_ratio(e)
        if split:
            p, rest = split
            grads = [f for f in rest if _is_grad(f) and f.expr == p]
            if grads:
                others = [f for f in rest if f is not grads[0]]
                return unevaluated_mul(p, fraction(grads[0], p), *others)
        return e

    return bottom_up(move)(expr)


@rule(
    name="log-derivative trick",
    why="∇_θ log f = ∇_θ f / f wherever f > 0 (the likelihood-ratio trick).",
    conditions=(POSITIVE_PROBABILITY,),
)
def log_derivative_trick(expr: Expr) -> Expr:
    """∇_θ f / f  ->  ∇_θ log f   (needs f > 0)."""

    def trick(e):
        if isinstance(e, Mul) and len(e.args) == 2:
            g, d = e.args
            if _is_grad(g) and isinstance(d, Pow) and d.exp == -1 and d.base == g.expr:
                return grad(log(g.expr))
        return e

    return bottom_up(trick)(expr)


@rule(
    name="sample estimator",
    why="Σ_τ P(τ;θ) g(τ) is the expectation of g under P(·;θ); the mean over m i.i.d. samples "
        "τ^(1), …, τ^(m) ∼ P(·;θ) is an unbiased estimate of it.",
    relation=UNBIASED,
)
def sample_estimator(expr: Expr) -> Expr:
    """Σ_τ P(τ;θ) g(τ)  ->  (1/m) Σ_{i=1}^{m} g(τ^(i))   (unbiased, not equal)."""
    if isinstance(expr, TrajectorySum) and isinstance(expr.body, Mul):
        p = TrajectoryProbability(expr.variable, theta)
        factors = list(expr.body.args)
        if p in factors:
            factors.remove(p)
            g = unevaluated_mul(*factors) if len(factors) > 1 else factors[0]
            return sample_mean(_retarget(g, expr.variable, Sample(i)))
    return expr


def _retarget(e, old, new):
    return bottom_up(lambda x: new if x == old else x)(e)


@rule(
    name="trajectory probability",
    why="Markov property: P(τ;θ) is μ(s_0) times, at every step, the policy's probability of "
        "a_t and the dynamics' probability of s_{t+1}.",
)
def factorise_trajectory_probability(expr: Expr) -> Expr:
    """P(τ;θ)  ->  μ(s_0) Π_{t=0}^{H} P(s_{t+1}|s_t,a_t) π_θ(a_t|s_t)."""
    return bottom_up(
        lambda e: factorisation(e.args[0]) if isinstance(e, TrajectoryProbability) else e
    )(expr)


def _log_terms(arg) -> list:
    # Only over nonnegative factors: where the log of their product is defined, each one is positive.
    if isinstance(arg, Mul) and all(nonnegative(f) for f in arg.args):
        return [x for f in arg.args for x in _log_terms(f)]
    if isinstance(arg, Product) and nonnegative(arg.function):
        body, limits = arg.function, arg.limits
        return [Sum(x, *limits) for x in _log_terms(body)]
    return [log(arg)]


@rule(
    name="log of a product",
    why="The log of a product is the sum of the logs (every factor is positive on the support).",
    conditions=(POSITIVE_PROBABILITY,),
)
def log_of_product(expr: Expr) -> Expr:
    """log(μ Π_t f_t g_t)  ->  log μ + Σ_t log f_t + Σ_t log g_t   (factors nonnegative: probabilities)."""

    def expand(e):
        if isinstance(e, log) and isinstance(e.args[0], (Mul, Product)):
            return sp.Add(*_log_terms(e.args[0]))
        return e

    return bottom_up(expand)(expr)


@rule(name="linearity of ∇", why="The gradient of a sum is the sum of the gradients.")
def gradient_of_sum(expr: Expr) -> Expr:
    """∇_θ (f + g + …)  ->  ∇_θ f + ∇_θ g + …"""
    return bottom_up(
        lambda e: sp.Add(*[grad(x) for x in e.expr.args]) if _is_grad(e) and isinstance(e.expr, sp.Add) else e
    )(expr)


@rule(
    name="drop θ-free terms",
    why="μ(s_0) and the dynamics P(s_{t+1}|s_t,a_t) do not depend on θ, so the gradients of "
        "their logs are 0.",
    conditions=(THETA_FREE_ENVIRONMENT,),
)
def drop_theta_free_terms(expr: Expr) -> Expr:
    """∇_θ c + f  ->  f   for θ-free c."""

    def drop(e):
        if isinstance(e, sp.Add):
            kept = [x for x in e.args if not (_is_grad(x) and _theta_free(x.expr))]
            if len(kept) < len(e.args):
                return sp.Add(*kept)
        return e

    return bottom_up(drop)(expr)


@rule(name="definition of R", why="The return is the discounted sum of the rewards: R(τ) = Σ_u γ^u r_u.")
def expand_return(expr: Expr) -> Expr:
    """R(τ)  ->  Σ_{u=0}^{H} γ^u r_u."""
    return bottom_up(lambda e: discounted_return(e.args[0]) if isinstance(e, Return) else e)(expr)


def _time_sum(e) -> bool:
    return isinstance(e, Sum) and e.limits[0][0] == t


@rule(name="distribute over Σ_t", why="A factor that does not involve t moves inside the sum over t.")
def distribute_over_time_sum(expr: Expr) -> Expr:
    """P · (Σ_t f_t) · g  ->  P · Σ_t f_t · g   for g free of t (the weight P(τ;θ) stays outside)."""

    def distribute(e):
        if isinstance(e, Mul):
            sums = [f for f in e.args if _time_sum(f)]
            if sums:
                inner = sums[0]
                others = [f for f in e.args if f is not inner]
                weights = [f for f in others if isinstance(f, TrajectoryProbability)]
                moved = [f for f in others if f not in weights]
                if moved and all(t not in f.free_symbols for f in moved):
                    return unevaluated_mul(*weights, Sum(unevaluated_mul(inner.function, *moved), *inner.limits))
        return e

    return bottom_up(distribute)(expr)


def _rewards_from(e, start):
    """Σ_{u=0}^{H} γ^u r_u -> Σ_{u=start}^{H} γ^u r_u (other expressions unchanged)."""
    if isinstance(e, Sum) and e.limits[0][0] == u and e.limits[0][1] == 0 and e.function.has(r(u).func):
        _, lo, hi = e.limits[0]
        return Sum(e.function, (u, start, hi))
    return e


@rule(
    name="causality",
    why="A reward before step t does not depend on a_t, and E[∇_θ log π_θ(a_t|s_t) | s_t] = 0, so the "
        "terms pairing the score at t with earlier rewards vanish in expectation.",
)
def causality(expr: Expr) -> Expr:
    """Σ_t ∇log π_θ(a_t|s_t) Σ_{u=0}^{H} γ^u r_u  ->  Σ_t ∇log π_θ(a_t|s_t) Σ_{u=t}^{H} γ^u r_u   (under Σ_τ P)."""

    def shift(e):
        if _time_sum(e):
            body = bottom_up(lambda x: _rewards_from(x, t))(e.function)
            if body != e.function:
                return Sum(body, *e.limits)
        return e

    return top_down_once(shift)(expr)


@rule(
    name="baseline",
    why="E[∇_θ log π_θ(a_t|s_t) b(s_t)] = 0 for any b that depends on the state only "
        "(Σ_a π_θ(a|s) ∇_θ log π_θ(a|s) = ∇_θ Σ_a π_θ(a|s) = 0).",
)
def subtract_baseline(expr: Expr) -> Expr:
    """Σ_{u=t}^{H} γ^u r_u  ->  Σ_{u=t}^{H} γ^u r_u − b(s_t)."""

    def minus_b(e):
        if isinstance(e, Sum) and e.limits[0][0] == u and e.limits[0][1] == t:
            traj = next(iter(x.args[0] for x in e.function.atoms(r(u).func)), None)
            if traj is not None:
                return sp.Add(e, sp.Mul(-1, baseline(t, traj)), evaluate=False)
        return e

    return bottom_up(minus_b)(expr)


ALL_RULES = (
    definition_of_objective, swap_gradient_and_sum, pull_out_theta_free_factor, restrict_to_support,
    multiply_by_ratio, regroup, log_derivative_trick, sample_estimator,
    factorise_trajectory_probability, log_of_product, gradient_of_sum, drop_theta_free_terms,
    expand_return, distribute_over_time_sum, causality, subtract_baseline,
)
