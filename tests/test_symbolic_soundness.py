"""The general-form prover proves only what is true: each shortcut has a false line it declines and a true twin."""

import time

import sympy as sp
from sympy import Sum, Symbol

from derive.derivation import UNBIASED
from derive.notation import (
    ActionSum, DiscountedOccupancy, DiscountedQ, MeanReward, Policy, Sample, StateSum, H, P, Q, R, b, c, d, gamma,
    grad, i, m, mu, pi, r, s, sample_mean, sum_actions, sum_tau, t, theta, u, unevaluated_mul, x,
)
from derive.symbolic import expectation_of_sample_mean, prove


def proved(lhs, rhs, **kw):
    return prove(lhs, rhs, timeout=kw.pop("timeout", 3), **kw).status == "proved"


# -- logs are expanded only where the factors are provably positive ------------------

def test_log_of_a_square_of_a_return_is_not_expanded():
    assert not proved(sp.log(R() ** 2), 2 * sp.log(R()))


def test_log_of_a_product_of_returns_is_not_expanded():
    assert not proved(sp.log(R() * R(Sample(i))), sp.log(R()) + sp.log(R(Sample(i))))


def test_log_of_a_power_of_a_probability_is_expanded():
    assert proved(sp.log(P() ** 2), 2 * sp.log(P()))


def test_log_of_a_product_of_probabilities_is_expanded():
    assert proved(sp.log(mu() * pi(0)), sp.log(mu()) + sp.log(pi(0)))
    assert proved(grad(sp.log(P(Sample(i)))), Sum(grad(sp.log(pi(t, Sample(i)))), (t, 0, H)))


def test_log_of_exp_of_a_real_is_expanded():
    assert proved(sp.log(sp.exp(theta) * pi(0)), theta + sp.log(pi(0)))


# -- an empty range means the empty sum, as the evaluator reads it ------------------

def test_reversed_sum_is_not_karrs_negative_sum():
    # SymPy (Karr): Σ_{t=H+3}^{H} 1 = −2; the evaluator and the seeds: the empty sum, 0.
    assert not proved(Sum(1, (t, H + 3, H)), sp.Integer(-2))
    assert not proved(Sum(r(t), (t, H + 3, H)), -r(H + 1) - r(H + 2))


def test_reversed_sum_is_the_empty_sum():
    assert proved(Sum(1, (t, H + 3, H)), sp.Integer(0))
    assert proved(Sum(r(t), (t, H + 1, H)), sp.Integer(0))


def test_reversed_product_is_the_empty_product():
    assert proved(sp.Product(pi(t), (t, H + 3, H)), sp.Integer(1))
    assert not proved(sp.Product(2, (t, H + 3, H)), sp.Rational(1, 4))


def test_a_range_of_unknown_direction_is_not_proved():
    # Σ_{u=t}^{H} with a free t: empty (0) or Karr's negative sum, depending on t > H + 1.
    result = prove(Sum(1, (u, t, H)), H - t + 1, timeout=3)
    assert result.status == "not proved" and "range" in result.detail


def test_a_range_bounded_by_an_outer_sum_is_proved():
    # Σ_{t=0}^{H} Σ_{u=t}^{H} 1: every inner range is nonempty since t ≤ H.
    lhs = Sum(Sum(unevaluated_mul(gamma ** u, r(u)), (u, t, H)), (t, 0, H))
    rhs = Sum(Sum(unevaluated_mul(gamma ** u, r(u)), (u, t, H)), (t, 0, H)) * 1
    assert proved(lhs, rhs)
    assert proved(Sum(Sum(1, (u, t, H)), (t, 0, H)), Sum(H - t + 1, (t, 0, H)))


# -- a factor in a bound variable never leaves its sum ------------------------------

def test_factor_in_the_outer_variable_does_not_escape_a_merged_sum():
    body = unevaluated_mul(Policy(b, x, theta), MeanReward(x, c))
    lhs = sum_actions(sum_actions(body, c), b)
    rhs = unevaluated_mul(Policy(b, x, theta), sum_actions(sum_actions(MeanReward(x, c), c), b))
    assert not proved(lhs, rhs)
    merged = Sum(body, (c, 0, 3), (b, 0, 3))
    assert not proved(merged, Policy(b, x, theta) * Sum(MeanReward(x, c), (c, 0, 3), (b, 0, 3)))


def test_factor_free_of_every_bound_variable_leaves_the_sum():
    body = unevaluated_mul(Policy(b, x, theta), MeanReward(x, c))
    lhs = sum_actions(sum_actions(body, c), b)
    inner = unevaluated_mul(Policy(b, x, theta), sum_actions(MeanReward(x, c), c))
    assert proved(lhs, sum_actions(inner, b))  # π(b|s) leaves Σ_c, not Σ_b
    assert proved(lhs, unevaluated_mul(sum_actions(Policy(b, x, theta), b), sum_actions(MeanReward(x, c), c)))
    merged = Sum(unevaluated_mul(mu(), body), (c, 0, 3), (b, 0, 3))
    assert proved(merged, mu() * Sum(body, (c, 0, 3), (b, 0, 3)))


# -- Σ_b π_θ(b|s) = 1 only for a sum over actions of the policy at a state ----------

def test_normalisation_needs_a_state_argument_free_of_the_action():
    assert not proved(sum_actions(Policy(b, b, theta)), sp.Integer(1))
    assert not proved(sum_actions(Policy(b, MeanReward(x, b), theta)), sp.Integer(1))


def test_normalisation_is_over_actions_not_states():
    assert not proved(StateSum(Policy(x, s(0), theta)), sp.Integer(1))


def test_normalisation_of_the_policy_at_a_state():
    assert proved(sum_actions(Policy(b, x, theta)), sp.Integer(1))
    assert proved(sum_actions(Policy(c, s(0), theta), c), sp.Integer(1))
    assert proved(grad(sum_actions(Policy(b, x, theta))), sp.Integer(0))


# -- quantities that depend on θ (or γ) keep their derivative -----------------------

def test_gradient_of_a_sum_with_q_does_not_drop_the_gradient_of_q():
    lhs = grad(sum_actions(unevaluated_mul(Policy(b, x, theta), Q())))
    assert not proved(lhs, sum_actions(unevaluated_mul(grad(Policy(b, x, theta)), Q())))
    lhs_g = grad(sum_actions(unevaluated_mul(Policy(b, x, theta), DiscountedQ(x, b))))
    assert not proved(lhs_g, sum_actions(unevaluated_mul(grad(Policy(b, x, theta)), DiscountedQ(x, b))))


def test_gradient_of_a_sum_with_q_by_the_product_rule():
    lhs = grad(sum_actions(unevaluated_mul(Policy(b, x, theta), Q())))
    rhs = sum_actions(unevaluated_mul(grad(Policy(b, x, theta)), Q()) + unevaluated_mul(Policy(b, x, theta), grad(Q())))
    assert proved(lhs, rhs)


def test_occupancies_depend_on_theta():
    assert not proved(grad(d()), sp.Integer(0))
    assert not proved(grad(DiscountedOccupancy(x)), sp.Integer(0))
    assert proved(grad(unevaluated_mul(d(), Policy(b, x, theta))),
                  grad(d()) * Policy(b, x, theta) + d() * grad(Policy(b, x, theta)))


def test_return_depends_on_the_discount():
    assert not proved(sp.Derivative(R(), gamma), sp.Integer(0))
    assert not proved(sp.Derivative(Q(), gamma), sp.Integer(0))
    assert proved(sp.Derivative(R(), gamma), Sum(unevaluated_mul(u, gamma ** (u - 1), r(u)), (u, 0, H)))


def test_theta_free_quantities_still_have_zero_gradient():
    assert proved(grad(unevaluated_mul(mu(), R())), sp.Integer(0))
    assert proved(grad(MeanReward(x, b)), sp.Integer(0))


# -- the sample mean's expectation binds a fresh trajectory -------------------------

def test_sample_mean_does_not_capture_a_free_trajectory():
    lhs = sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True)
    captured = sample_mean(unevaluated_mul(grad(sp.log(P(Sample(i)))), R()))
    assert not proved(lhs, captured, relation=UNBIASED)
    expected = expectation_of_sample_mean(captured)
    assert expected.variable != sp.Symbol("tau") and R() in expected.body.atoms(type(R()))


def test_sample_mean_of_the_sampled_trajectory_is_unbiased():
    lhs = sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R()), support=True)
    est = sample_mean(unevaluated_mul(grad(sp.log(P(Sample(i)))), R(Sample(i))))
    assert proved(lhs, est, relation=UNBIASED)


def test_sample_mean_inside_a_trajectory_sum_is_not_captured():
    # (1/m) Σ_i Σ_τ P(τ) R(τ^(i)) is J · (mean of R(τ^(i))), not Σ_τ P(τ) Σ_τ P(τ) R(τ) with τ captured.
    est = sample_mean(sum_tau(unevaluated_mul(P(), R(Sample(i)))))
    wrong = sum_tau(unevaluated_mul(P(), sum_tau(unevaluated_mul(P(), R()))), support=True)
    expected = expectation_of_sample_mean(est)
    assert expected is not None and expected != wrong


# -- the whole symbolic route runs under the time limit -----------------------------

def test_expanding_a_large_product_is_undecided_within_the_limit():
    xs = sp.symbols("x0:16")
    ys = sp.symbols("y0:16")
    big = sp.Mul(*[xk + yk for xk, yk in zip(xs, ys)])
    start = time.perf_counter()
    result = prove(big, big + 1, timeout=1)
    elapsed = time.perf_counter() - start
    assert result.status == "undecided" and "time limit" in result.detail
    assert elapsed < 10  # the child is killed at the limit; the margin covers a loaded machine


def test_a_small_product_is_still_proved():
    x0, x1, y0, y1 = sp.symbols("x0 x1 y0 y1")
    assert proved((x0 + y0) * (x1 + y1), x0 * x1 + x0 * y1 + y0 * x1 + y0 * y1)
    assert not proved((x0 + y0) * (x1 + y1), x0 * x1 + x0 * y1 + y0 * x1)


def test_sample_mean_with_another_sample_in_it_is_not_proved():
    # E[(1/m) Σ_i ∇log P(τ^(i)) R(τ^(1))] ≠ Σ_τ P ∇log P(τ) R(τ^(1)): the i = 1 term pairs τ^(1) with itself.
    lhs = sum_tau(unevaluated_mul(P(), grad(sp.log(P())), R(Sample(1))), support=True)
    est = sample_mean(unevaluated_mul(grad(sp.log(P(Sample(i)))), R(Sample(1))))
    assert expectation_of_sample_mean(est) is None
    assert not proved(lhs, est, relation=UNBIASED)
    assert not proved(R(Sample(1)), sample_mean(R(Sample(1))), relation=UNBIASED)


# -- a sum runs over integers, and its variable is what its range says -------------

def test_a_sum_to_a_non_integer_limit_is_not_proved():
    # SymPy sums these in closed form as if the limit were an integer count.
    assert not proved(Sum(1, (t, 0, H / 2)), H / 2 + 1)
    assert not proved(Sum(1, (t, 0, gamma)), gamma + 1)
    assert not proved(Sum(1, (t, 0, H - sp.Rational(1, 2))), H + sp.Rational(1, 2))
    assert not proved(sp.Product(2, (t, 0, theta)), 2 ** (theta + 1))


def test_a_sum_to_an_integer_limit_is_proved():
    assert proved(Sum(1, (t, 0, H)), H + 1)
    assert proved(Sum(1, (t, 0, 2 * H)), 2 * H + 1)


def test_a_bound_variable_below_zero_is_not_taken_nonnegative():
    # t is declared t ≥ 0, but here it runs over −H..−1: log(t²) = 2 log t is false there.
    assert not proved(Sum(sp.log(t ** 2), (t, -H, -1)), Sum(2 * sp.log(t), (t, -H, -1)))
    for var in (u, b):
        assert not proved(Sum(sp.log(sp.Pow(var, 2, evaluate=False)), (var, -2, -1)),
                          Sum(2 * sp.log(var), (var, -2, -1)))
    # i is declared positive; over i = 0..m, i − 1 reaches −1.
    assert not proved(Sum(sp.log(sp.Mul(i - 1, i - 1, evaluate=False)), (i, 0, m)), Sum(2 * sp.log(i - 1), (i, 0, m)))


def test_unevaluated_forms_are_evaluated_under_the_range_not_the_declaration():
    for body in (sp.Abs(t, evaluate=False), sp.Pow(t ** 2, sp.Rational(1, 2), evaluate=False),
                 sp.Max(t, 0, evaluate=False)):
        assert not proved(Sum(unevaluated_mul(body, r(t + 3)), (t, -3, 0)), Sum(t * r(t + 3), (t, -3, 0)))


def test_a_bound_variable_at_or_above_zero_keeps_its_sign():
    # The true twins: over ranges that stay ≥ 0 (or > 0) the same rewrites hold.
    assert proved(Sum(sp.Abs(t, evaluate=False) * r(t), (t, 0, H)), Sum(t * r(t), (t, 0, H)))
    assert proved(Sum(sp.Max(t, 0, evaluate=False) * r(t), (t, 2, H + 2)), Sum(t * r(t), (t, 2, H + 2)))
    # an inner range starting at the outer variable inherits its sign
    assert proved(Sum(Sum(sp.Abs(u, evaluate=False) * r(u), (u, t, H)), (t, 0, H)),
                  Sum(Sum(u * r(u), (u, t, H)), (t, 0, H)))


def test_a_renamed_variable_does_not_capture_a_free_symbol_of_that_name():
    t_any = Symbol("t", integer=True)  # a free integer called t, not the bound one
    lhs = Sum(r(t) * t_any, (t, -1, H))
    assert proved(lhs, t_any * Sum(r(t), (t, -1, H)))
    assert not proved(lhs, Sum(r(t) * t, (t, -1, H)))


# -- a function derive does not define may depend on θ ------------------------------

def test_gradient_of_an_undefined_function_is_not_zero():
    V = sp.Function("V")
    assert not proved(grad(V(x)), sp.Integer(0))
    assert not proved(grad(ActionSum(Policy(b, x, theta) * V(b), b)), ActionSum(grad(Policy(b, x, theta)) * V(b), b))
    assert not proved(sp.Derivative(V(x), gamma), sp.Integer(0))


def test_undefined_functions_still_obey_algebra():
    V = sp.Function("V")
    assert proved(grad(V(x) - V(x)), sp.Integer(0))
    assert proved(grad(ActionSum(Policy(b, x, theta) * V(b), b)),
                  ActionSum(grad(Policy(b, x, theta)) * V(b) + Policy(b, x, theta) * grad(V(b)), b))


# -- the inputs ---------------------------------------------------------------------

def test_python_numbers_are_expressions_text_is_not():
    assert proved(pi() - pi(), 0)
    assert proved(0, sp.Integer(0))
    assert not proved(pi(), 0)
    assert prove("pi", 0).status == "not proved"


def test_a_variable_declared_without_integer_is_an_integer_inside_its_sum():
    k = Symbol("k")  # no assumptions: inside Σ_{k=0}^{H} it is an integer, so Σ_{u=k}^{H} has integer limits
    lhs = Sum(Sum(r(u) + pi(u), (u, k, H)), (k, 0, H))
    assert proved(lhs, Sum(Sum(r(u), (u, k, H)) + Sum(pi(u), (u, k, H)), (k, 0, H)))


def test_gradient_of_a_user_function_class_or_fixed_arity_function_is_not_zero():
    class Value(sp.Function):  # a user's own class: SymPy differentiates it through its arguments only
        nargs = 1

    W = sp.Function("W", nargs=1)
    for f in (Value, W):
        assert not proved(grad(f(x)), sp.Integer(0)), f
        assert proved(grad(f(x) + pi()), grad(pi()) + grad(f(x))), f
    assert not proved(sp.Function("V")(x), sp.Function("V", positive=True)(x))  # two functions stay two


def test_an_action_sum_variable_is_what_its_range_proves():
    v = Symbol("v", integer=True, negative=True)  # declared negative, but Σ_v runs over the actions 0..N−1
    assert not proved(ActionSum(sp.Abs(v, evaluate=False) * MeanReward(x, v), v), ActionSum(-v * MeanReward(x, v), v))
    assert proved(ActionSum(sp.Abs(b, evaluate=False) * MeanReward(x, b), b), ActionSum(b * MeanReward(x, b), b))


# -- a divisor in the indices alone must be nonzero on its whole range ----------------------


def _ratio(x):
    """x/x as written (SymPy would cancel it to 1)."""
    return sp.Mul(x, sp.Pow(x, -1, evaluate=False), evaluate=False)


def _return_times(factor):
    return sum_tau(unevaluated_mul(P(), Sum(unevaluated_mul(factor, r(t)), (t, 0, H))))


def test_a_ratio_that_is_undefined_at_one_time_step_is_not_proved():
    # (t − 100)/(t − 100) is undefined at t = 100, a step every H ≥ 100 has.
    result = prove(_return_times(_ratio(t - 100)), _return_times(1), timeout=3)
    assert result.status == "not proved" and "divides by t - 100" in result.detail and "t = 0..H" in result.detail
    # The true twin: t + 1 ≥ 1 on 0..H.
    assert proved(_return_times(_ratio(t + 1)), _return_times(1))


def test_a_ratio_that_vanishes_at_a_parameter_value_is_not_proved():
    # (1 − γ)/(1 − γ) at γ = 1, and log(H − 5) for H ≤ 5.
    assert not proved(_return_times(_ratio(1 - gamma)), _return_times(1))
    assert not proved(sp.log(H - 5, evaluate=False) + 1, 1 + sp.log(H - 5, evaluate=False) + 0 * H)
    # The true twins: γ > 0 and H ≥ 0 are what the symbols declare.
    assert proved(_return_times(_ratio(gamma)), _return_times(1))
    assert proved(unevaluated_mul(_ratio(H + 1), J_of()), J_of())


def J_of():
    return sum_tau(unevaluated_mul(P(), R()))


def test_a_ratio_of_rewards_is_not_proved_but_a_ratio_of_probabilities_is():
    # r_t/r_t is undefined wherever a reward is 0; t/t at t = 0.
    assert not proved(_return_times(_ratio(r(t))), _return_times(1))
    assert not proved(_return_times(_ratio(t)), _return_times(1))
    # The true twin: P(τ;θ)/P(τ;θ) over the support, where P(τ;θ) > 0 is the side condition.
    over_support = sum_tau(unevaluated_mul(P(), _ratio(P()), R()), support=True)
    assert proved(over_support, sum_tau(unevaluated_mul(P(), R()), support=True))
