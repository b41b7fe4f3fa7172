"""Sizes past a line's own integer constants: Σ_{t=201}^{H} is empty on every battery MDP (H ≤ 200), so check past 201.

Red-team round G, finding 3 (h_fit.py, h_fit.md, s_fit.py): claims false for every H ≥ 201 or every
S ≥ 9 were VERIFIED, since the batteries' caps are fixed and the added terms vanish below them.
"""

import sympy as sp

from derive.notation import H, J, P, R, b, r, sum_tau, t, u, unevaluated_mul, x
from derive.notation import ActionSum, StateSum
from soundness_helpers import battery, verdict


def _plus(*xs):
    return sp.Add(*xs, evaluate=False)


def _roots(sym, n):
    """(s − 0)(s − 1)…(s − (n−1)): 0 at every state (action) index below n."""
    return sp.Mul(*[sym - k for k in range(n)], evaluate=False)


def _with_rewards(extra):
    return sum_tau(unevaluated_mul(P(), _plus(R(), extra)))


def test_the_constants_that_meet_a_size_are_read_off_the_line():
    from derive.size_reach import size_constant

    assert size_constant(_with_rewards(sp.Sum(r(t), (t, 201, H)))) == 201
    assert size_constant(StateSum(_roots(x, 8))) == 7 + 8  # the largest constant past which 8 = the degree more states
    assert size_constant(sp.Sum(r(t), (t, 0, H - 300))) == 300
    assert size_constant(sum_tau(unevaluated_mul(P(), R()))) <= 1        # the bundled lines' constants: 0, 1
    assert size_constant(sp.Mul(10**400, J(), evaluate=False)) == 0      # a coefficient meets no size


def _times(*xs):
    return sp.Mul(*xs, evaluate=False)


def test_constants_written_as_arithmetic_are_read_by_value():
    # Read by shape, 3·67 was no constant at all and 100 + 101 two constants of at most 101 (a battery
    # with H ≤ 200 then checked a line that only differs from t = 201 on).
    from derive.size_reach import size_constant

    assert size_constant(sp.Sum(r(t), (t, _times(3, 67), H))) == 201
    assert size_constant(sp.Sum(r(t), (t, _plus(100, 101), H))) == 201
    assert size_constant(sp.Sum(r(t), (t, 0, _plus(H, -sp.Pow(2, 8, evaluate=False))))) == 256
    assert size_constant(sp.Sum(_times(_plus(t, _times(-1, _times(2, 125))), r(t)), (t, 0, H))) == 250
    assert size_constant(sp.Sum(r(t), (t, _plus(t, -250, -250), H))) >= 500   # t − 250 − 250 meets t = 500
    assert size_constant(r(_plus(100, 101))) == 201                          # the step r_{100+101}
    assert size_constant(sp.Sum(r(t), (t, sp.Pow(2, 5000, evaluate=False), H))) > 10**1000  # past every cap
    assert size_constant(sp.Sum(r(t), (t, _times(2, sp.Rational(1, 2)), H))) <= 1


def test_breakpoints_inside_max_floor_and_delta_are_read():
    # 2^(max(t, 250) − 250) is 1 up to t = 250: size reach looked into no function, so weights that are 1
    # on every battery step VERIFIED Σ_t r_t = Σ_t w_t r_t (red team K, F2).
    from derive.notation import sum_t
    from derive.size_reach import size_constants

    two = sp.Integer(2)
    for w, k in [(two ** (sp.Max(t, 250) - 250), 250), (two ** sp.floor(t / 251), 251),
                 (two ** sp.KroneckerDelta(t, 250), 250), (two ** (t - sp.Min(t, 250)), 250)]:
        assert size_constants(sum_tau(unevaluated_mul(P(), sum_t(w * r(t))))) == {"H": k}, w
    assert size_constants(StateSum(two ** (sp.Max(x, 20) - 20))) == {"S": 20}
    assert size_constants(sum_tau(unevaluated_mul(P(), sum_t(sp.log(2) * r(t))))) == {"H": 0}  # log 2: no breakpoint


def test_an_exponential_polynomial_counts_its_bases():
    # Σ_j (−1)^(K−j) C(K, j) j^s is 0 for every s < K and has no K in it (red team K, F1): its K bases are
    # the degree that counts, as a polynomial's degree does.
    from derive.notation import gamma, sum_t
    from derive.size_reach import size_constants

    def stirling(k, sym):
        return sp.Add(*[sp.Mul((-1) ** (k - j) * sp.binomial(k, j), sp.Pow(j, sym, evaluate=False), evaluate=False)
                        for j in range(1, k + 1)], evaluate=False)
    assert size_constants(StateSum(stirling(9, x))) == {"S": 8}              # checked on S ≥ 10
    assert size_constants(sum_tau(unevaluated_mul(P(), sum_t(stirling(30, t) * r(t))))) == {"H": 29}
    assert size_constants(sum_tau(unevaluated_mul(P(), sum_t(gamma ** t * r(t))))) == {"H": 0}  # one base


def test_a_weight_one_below_its_breakpoint_fails():
    from derive.notation import sum_t

    bat = battery(2, seed=44)
    lhs = sum_tau(unevaluated_mul(P(), sum_t(r(t))))
    wrong = sum_tau(unevaluated_mul(P(), sum_t(sp.Integer(2) ** sp.floor(t / 251) * r(t))))
    report = verdict(lhs, wrong, bat=bat)
    assert report.verdict == "failed" and "past the constant" in report.counterexample.instance, report.verdict
    twin = sum_tau(unevaluated_mul(P(), sum_t(sp.Integer(2) ** (sp.floor(t / 251) - sp.floor(t / 251)) * r(t))))
    assert verdict(lhs, twin, bat=bat).verdict != "failed"


FALSE = {  # name: the line's right side (the left is J), false only past a battery cap
    "Σ_{t=201}^{H} r_t added (h_fit.py)": _with_rewards(sp.Sum(r(t), (t, 201, H))),
    "Σ_{t=0}^{H−250} r_t added": _with_rewards(sp.Sum(r(t), (t, 0, H - 250))),
    "Σ_{t=3·67}^{H} r_t added": _with_rewards(sp.Sum(r(t), (t, sp.Mul(3, 67, evaluate=False), H))),
    "Σ_{t=100+101}^{H} r_t added": _with_rewards(sp.Sum(r(t), (t, sp.Add(100, 101, evaluate=False), H))),
    "Σ_s Π_{k=0}^{7} (s − k) added (s_fit.py)": _plus(J(), StateSum(_roots(x, 8))),
    "Σ_b Π_{k=0}^{8} (b − k) added": _plus(J(), ActionSum(_roots(b, 9))),
}


def test_claims_false_only_past_the_caps_fail_on_the_instances_past_their_constants():
    bat = battery(2, seed=41)
    for name, rhs in FALSE.items():
        report = verdict(J(), rhs, bat=bat)
        assert report.verdict == "failed", (name, report.verdict)
        assert "past the constant" in report.counterexample.instance, (name, report.counterexample.instance)


def test_true_twins_hold_and_name_the_sizes_past_their_constants():
    bat = battery(2, seed=42)
    twins = {
        "H": _with_rewards(_plus(sp.Sum(r(t), (t, 201, H)), -sp.Sum(r(u), (u, 201, H)))),
        "S": _plus(J(), StateSum(_roots(x, 8)), -StateSum(unevaluated_mul(1, _roots(x, 8)))),
    }
    for dim, rhs in twins.items():
        report = verdict(J(), rhs, bat=bat)
        assert report.ok, (dim, report.verdict)
        shapes = report.scope_data["shapes"]
        assert any((s[2] if dim == "H" else s[0]) >= (202 if dim == "H" else 9) for s in shapes), (dim, shapes)


def test_a_constant_past_what_can_be_checked_is_undecided_and_says_why():
    bat = battery(2, seed=43)
    rhs = _with_rewards(_plus(sp.Sum(r(t), (t, 5000, H)), -sp.Sum(r(u), (u, 5000, H))))
    report = verdict(J(), rhs, bat=bat)
    assert not report.ok and report.verdict.startswith("undecided"), report.verdict
    assert "integer constant 5000" in report.verdict and "H ≥ 5001" in report.verdict


def test_constants_added_to_a_size_widen_and_constants_added_to_a_value_do_not():
    import sympy as sp
    from derive.notation import H, ActionSum, StateSum, b, r, t
    from derive.size_reach import size_constants

    S_, A_ = StateSum(sp.Integer(1)), ActionSum(sp.Integer(1), b)
    assert size_constants(sp.Mul(*[S_ - k for k in range(1, 9)], evaluate=False)) == {"S": 8}
    assert size_constants(sp.Mul(*[A_ - k for k in range(1, 6)], evaluate=False)) == {"A": 5}
    assert size_constants(t - 250) == {"H": 250} and size_constants(H + 40)["H"] == 40
    # r_t + 18 is a reward plus a number: it meets no size (the polynomial tests of the values need none).
    assert size_constants(r() + 18) == {} and size_constants(r() - sp.Rational(7, 90000)) == {}


# Red-team round I, finding 2 (p9_joint.py): (x² − x) d_t summed from t = 201 is 0 on the thin long MDPs
# (S ≤ 2) and on every battery MDP (H ≤ 200): widening one size at a time never met S ≥ 3 with H ≥ 201.
def _joint(extra_twin=False):
    from derive.notation import d, sum_states

    term = lambda v: sp.Sum(sum_states(_plus(x ** 2, -x) * d(v)), (v, 201, H))  # noqa: E731
    base = sum_states(d(0))
    return base, (_plus(base, term(t), -term(u)) if extra_twin else _plus(base, term(t)))


def test_a_line_false_only_with_every_size_at_once_is_checked_in_that_corner():
    bat = battery(2, seed=44)
    lhs, rhs = _joint()
    report = verdict(lhs, rhs, bat=bat)
    assert report.verdict == "failed" or ("together" in report.verdict and not report.ok), report.verdict
    lhs, rhs = _joint(extra_twin=True)
    report = verdict(lhs, rhs, bat=bat)
    assert report.ok, report.verdict
    assert any(s[0] >= 3 and s[2] >= 202 for s in report.scope_data["shapes"]), report.scope_data["shapes"]


def test_a_corner_past_the_cost_cap_is_said():
    import random

    from derive.size_reach import _shapes

    # S ≥ 22 and H ≥ 991 at once: 22² · A · 992 is past CORNER_COST, so no such instance, and it is said.
    shapes, beyond = _shapes(battery(2, seed=45), {"H": 990, "S": 20}, random.Random(0))
    assert not any(s[0] >= 22 and s[2] >= 991 for s in shapes), shapes
    assert any("together" in b for b in beyond), beyond


# Red-team round I, finding 3 (p3b_falling.py, p6_state.py): an expanded polynomial with roots 0..K−1 in a time or
# state index has no constant term to read, so no instance reached index K; its degree bounds its roots instead.
def _expanded_roots(sym, n):
    return sp.expand(sp.prod([sym - k for k in range(n)]))


def test_the_degree_in_an_index_counts_as_a_constant():
    from derive.notation import d, sum_states, sum_t
    from derive.size_reach import size_constants

    assert size_constants(sum_t(_expanded_roots(t, 120) * r()))["H"] >= 120
    assert size_constants(sum_states(_expanded_roots(x, 12) * d(0)))["S"] >= 12


def test_expanded_polynomials_with_many_roots_fail_and_their_twins_hold():
    from derive.notation import d, sum_states, sum_t

    bat = battery(2, seed=46)
    cases = {"t": (sum_t(r()), lambda f: sum_t(f * r()), _expanded_roots(t, 120)),
             "x": (sum_states(d(0)), lambda f: sum_states(f * d(0)), _expanded_roots(x, 12))}
    for name, (base, term, f) in cases.items():
        report = verdict(base, _plus(base, term(f)), bat=bat)
        assert report.verdict == "failed", (name, report.verdict)
        twin = _plus(base, term(f), -term(sp.Mul(1, f, evaluate=False)))
        report = verdict(base, twin, bat=bat)
        assert report.ok, (name, report.verdict)
