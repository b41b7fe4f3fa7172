"""derive.loss_scale: c_i = k·ρ_i with one k on every MDP — the homogeneity test, the rule named, its level and power."""

import math

import numpy as np

from derive.loss_scale import factor_p, leave_one_out, scale_fit
from derive.losscheck import MDPLossResult, plain_scales

ALPHA = 0.01


def _result(c, se, scales, name="m", zero=False):
    return MDPLossResult(name, (2, 2, 3), 1.0, 400, 16, 4, np.ones(2), np.ones(2), np.ones(2), c, se, 1, 1.0, 1.0,
                         0.0, 1.0, 1.0, 0.0, 1.0, 0.1, scales=scales, zero_gradient=zero)


def _scales(T, layout="episodes", kept=1.0, N=16):
    return tuple((s.rule, s.value) for s in plain_scales(layout, N, T, kept))


TS = (1, 3, 5, 9, 12)  # the battery's T = H + 1 run from 1 (the bandit) to 13


def _run(c_of_T, rel_se=0.02, Ts=TS):
    return [_result(c_of_T(T), rel_se * abs(c_of_T(T)), _scales(T), name=f"T={T}") for T in Ts]


def test_a_constant_factor_beside_a_rule_fits_with_that_k():
    fit = scale_fit(_run(lambda T: 0.5 / T), alpha=ALPHA)
    assert fit.rule == "1/T" and fit.p_same > 0.5 and math.isclose(fit.k, 0.5, rel_tol=1e-9)
    assert not fit.plain and fit.p_one < 1e-10  # named as a factor 0.5, not as the plain 1/T
    # the true twin of the factor: exactly the plain scale is named as it is
    plain = scale_fit(_run(lambda T: 1.0 / T), alpha=ALPHA)
    assert plain.rule == "1/T" and plain.plain and plain.p_one > 0.5


def test_a_c_that_moves_with_the_mdp_is_rejected_by_every_rule():
    # 1/(T + 1): no rule ρ has c/ρ constant (c·T = T/(T + 1) moves from 1/2 to 12/13)
    assert scale_fit(_run(lambda T: 1.0 / (T + 1)), alpha=ALPHA).p_same < 1e-10
    # a mean over T − 1 slots (T >= 2): c·T = T/(T − 1)
    assert scale_fit(_run(lambda T: 1.0 / (T - 1), Ts=(2, 4, 12, 44)), alpha=ALPHA).p_same < 1e-4
    # a mean over the episodes on one MDP, a sum on another: each c a plain scale, no one k
    mixed = [_result(1.0, 0.01, _scales(4)), _result(16.0, 0.16, _scales(6))]
    assert scale_fit(mixed, alpha=ALPHA).p_same < 1e-10
    # the true twin: a mean over the slots on both, at their own T
    assert scale_fit([_result(1 / 4, 0.003, _scales(4)), _result(1 / 6, 0.002, _scales(6))], alpha=ALPHA).p_same > 0.5


def test_vector_rules_include_the_kept_episodes():
    a = _result(3.2 / 24, 0.002, _scales(24, "vector", 3.2))
    b = _result(5.1 / 52, 0.001, _scales(52, "vector", 5.1))
    fit = scale_fit([a, b], alpha=ALPHA)
    assert fit.p_same > 0.5 and fit.rule == "K/T" and fit.plain
    c = _result(5.1 / 52 * 1.1, 0.001, _scales(52, "vector", 5.1))  # 10% off on one MDP: c moves with the MDP
    assert scale_fit([a, c], alpha=ALPHA).p_same < 1e-6


def test_proportional_rules_are_one_fit_and_k_one_is_preferred():
    # N fixed: 1 and N are proportional on every battery, so they fit alike; a sum is named N, not 16 × 1
    summed = scale_fit(_run(lambda T: 16.0), alpha=ALPHA)
    assert summed.rule == "N" and summed.plain and [r for r, _ in summed.same_fit] == ["1"]
    # a factor beside both: the simplest rule is named, the other given as the same fit
    half = scale_fit(_run(lambda T: 0.5), alpha=ALPHA)
    assert half.rule == "1" and not half.plain and dict(half.same_fit)["N"] == 0.5 / 16
    # on MDPs of one T, 1/T is proportional to 1 too: three rules, one fit, and c = 1/T is named k = 1
    same_T = scale_fit(_run(lambda T: 1 / 5, Ts=(5, 5, 5)), alpha=ALPHA)
    assert same_T.rule == "1/T" and {r for r, _ in same_T.same_fit} == {"1", "N"}


def test_an_ascent_loss_fits_with_a_negative_k():
    fit = scale_fit(_run(lambda T: -1.0 / T), alpha=ALPHA)
    assert fit.p_same > 0.5 and fit.rule == "1/T" and fit.plain and fit.p_minus_one > 0.5 and fit.k < 0


def test_mdps_without_a_noisy_c_are_left_out():
    runs = _run(lambda T: 0.5) + [_result(7.0, 0.01, _scales(3), name="flat", zero=True),
                                  _result(9.0, math.inf, _scales(3), name="unresolved")]
    fit = scale_fit(runs, alpha=ALPHA)
    assert fit.n_mdps == len(TS) and fit.p_same > 0.5
    assert scale_fit([runs[-1]], alpha=ALPHA) is None
    assert scale_fit(runs[:1], alpha=ALPHA).df == 0  # one MDP: nothing to compare


def _simulated(rng, k, rel_se, shift=None):
    """c_i = k·ρ_i + noise of se s_i (Gaussian), with ``shift`` = (i, d) moving c_i/ρ_i by d."""
    out = []
    for i, (T, s) in enumerate(zip(TS, rel_se)):
        z = k + s * k * rng.standard_normal()
        if shift is not None and shift[0] == i:
            z += shift[1]
        out.append(_result(z / T, s * k / T / math.sqrt(399 / 397), _scales(T), name=f"#{i}"))
    return out


REL_SE = (0.002, 0.02, 0.03, 0.004, 0.03)  # the spread of se(c)/c over the default battery


def test_the_homogeneity_test_holds_its_level():
    rng = np.random.default_rng(0)
    p = np.array([scale_fit(_simulated(rng, 0.7, REL_SE), alpha=ALPHA).p_rule for _ in range(1000)])
    # with exact se's Q is χ²_4: at α = 0.05 the count of 1000 is Binomial(1000, 0.05), 50 expected, > 75 has p < 0.1%
    assert (p <= 0.05).sum() <= 75
    assert (p <= 0.5).sum() >= 420  # and the p-values are not stuck at 1


def test_the_stated_power_is_the_power():
    """A shift of ``detectable``·k on the MDP the formula picks is caught about 80% of the time; half of it far less."""
    rng = np.random.default_rng(1)
    base = scale_fit(_simulated(rng, 0.7, REL_SE), alpha=ALPHA)
    w = np.array([1 / s ** 2 for s in REL_SE])
    a = int(np.argmax(w * (1 - w / w.sum())))
    d = base.detectable * base.k

    def rate(shift):
        return np.mean([scale_fit(_simulated(rng, 0.7, REL_SE, (a, shift)), alpha=ALPHA).p_rule <= ALPHA
                        for _ in range(600)])

    assert 0.72 <= rate(d) <= 0.88  # Binomial(600, 0.8): ±0.05 is about 3 standard deviations
    assert rate(d / 2) < 0.45


def test_a_candidate_is_held_to_the_batterys_k():
    fit = scale_fit(_run(lambda T: 0.5 / T), alpha=ALPHA)
    near = _result(0.5 / 2, 0.005 / 2, _scales(2))
    far = _result(0.6 / 2, 0.005 / 2, _scales(2))
    assert factor_p(near, fit) > 0.5 and factor_p(far, fit) < 1e-10
    # leave-one-out: where c moves
    moved = _run(lambda T: 0.5 / T)[:-1] + [_result(0.6 / 12, 0.01 / 12, _scales(12), name="T=12")]
    loo = leave_one_out(moved, scale_fit(moved, alpha=ALPHA))
    assert int(np.argmin(loo)) == len(moved) - 1 and loo[-1] < 1e-6 and min(loo[:-1]) > 1e-6
    # two MDPs of one name are still two MDPs
    twins = [_result(0.5, 0.005, _scales(3), name="same"), _result(0.6, 0.005, _scales(3), name="same")]
    assert max(leave_one_out(twins, scale_fit(twins, alpha=ALPHA))) < 1e-6
