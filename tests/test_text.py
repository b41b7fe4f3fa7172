"""The plain-text printer writes every expression in derive's notation, never in SymPy's spelling."""

import sympy as sp

from derive.notation import (H, J, Normal, P, R, Sample, action, grad, i, k0, k1, k2, pi, reward_to_go, sample_mean,
                             sigma, sum_t, sum_tau, t, theta, w)
from derive.text import to_text


def test_powers_indices_and_products_are_in_the_seeds_spelling():
    assert to_text(reward_to_go(t + 1)) == "Σ_{u=t + 1}^{H} γ^u r_u"
    assert to_text(sum_t(pi(), upper=H - 1)) == "Σ_{t=0}^{H - 1} π_θ(a_t|s_t)"
    assert to_text((action - theta) / sigma ** 2) == "(a - θ)/σ^2"
    assert to_text(sp.exp(-2 * w) * (action - theta) ** 2 - 1) == "(a - θ)^2 exp(-2 w) - 1"
    for text in map(to_text, (reward_to_go(t + 1), (action - theta) / sigma ** 2, sp.exp(-2 * w))):
        assert "**" not in text and "*" not in text and "1 + t" not in text


def test_second_gradient_abs_max_integral_and_sample_mean():
    assert to_text(grad(grad(J()))) == "∇_θ^2 J(θ)"
    assert to_text(sp.Derivative(J(), sigma, 2)) == "∂^2/∂σ^2 J(θ)"
    assert to_text(sp.Abs(R())) == "|R(τ)|" and to_text(sp.Max(0, R())) == "max(0, R(τ))"
    integral = sp.Integral(Normal(action, theta, sigma) * (k0 + k1 * action), (action, -sp.oo, sp.oo))
    assert to_text(integral) == "∫_{-∞}^{∞} (k0 + a k1) N(a; θ, σ^2) da"
    assert to_text(sample_mean(R(Sample(i)))) == "(1/m) Σ_{i=1}^{m} R(τ^(i))"


def test_str_and_repr_of_derive_expressions_use_derives_printer_and_plain_sympy_is_untouched():
    e = sum_tau(sp.Mul(R(), P(), grad(sp.log(pi())), evaluate=False))
    assert str(grad(J())) == "∇_θ J(θ)" and repr(grad(J())) == "∇_θ J(θ)"
    assert str(e) == to_text(e) and "Derivative" not in repr([e]) and "pi_theta" not in str(e)
    x = sp.Symbol("x")
    assert str(x ** 2 + 1) == "x**2 + 1" and repr(sp.sin(theta)) == "sin(theta)"  # SymPy's own, unchanged
    assert str(k2 * action ** 2) == "a**2*k2"
