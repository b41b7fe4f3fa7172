"""Lines about every trajectory are checked on the large MDPs too (random product weights), never left out silently."""

import pytest
import sympy as sp

from derive.battery import Battery, default_battery
from derive.notation import (
    H, P, R, ActionSum, StateSum, Sample, b, baseline, gamma, grad, pi, r, sum_t, t, unevaluated_mul, u,
)
from soundness_helpers import verdict

S_ = StateSum(sp.Integer(1))        # Σ_s 1 = S
A_ = ActionSum(sp.Integer(1), b)    # Σ_b 1 = A
# Zero on every MDP the battery can enumerate (S = 1, A = 1 or H ≤ 9), nonzero on both large ones.
LATE = sp.Mul(S_ - 1, A_ - 1, *[H - k for k in range(10)], evaluate=False)
SCORE = grad(sp.log(P()))
SCORE_SUM = sum_t(grad(sp.log(pi())))
T1, T2 = Sample(sp.Integer(1)), Sample(sp.Integer(2))


def _plus(rhs, extra):
    return sp.Add(rhs, extra, evaluate=False)


def _late(body):
    return sp.Mul(LATE, body, evaluate=False)


def _b_of(j):
    from derive.notation import Baseline

    return Baseline(sp.Integer(j))


def _battery(seed):
    return default_battery(n_random=2, seed=seed)


def _small_only(bat):
    return Battery([x for x in bat if x.mdp.n_trajectories <= 5_000_000], name=bat.name, seed=bat.seed)


# False claims about every τ that differ only on late steps of long trajectories of wide MDPs.
FALSE = {
    "score, plus a last-step score at H ≥ 10": (SCORE, _plus(SCORE_SUM, _late(grad(sp.log(pi(H)))))),
    # (b(0) − b(s_H)) is 0 unless s_H ≠ 0: the random baseline b tells the states apart.
    "score, plus a term alive only when s_H ≠ 0": (
        SCORE, _plus(SCORE_SUM, _late(_b_of(0) - baseline(H)))),
    "return, plus the last reward where s_H ≠ 0": (
        R(), _plus(sp.Sum(unevaluated_mul(gamma ** u, r(u)), (u, 0, H)),
                   _late(sp.Mul(r(H), _b_of(0) - baseline(H), evaluate=False)))),
}
TRUE = {
    "score": (SCORE, SCORE_SUM),
    "score, plus a vanishing late term": (SCORE, _plus(SCORE_SUM, sp.Mul(0, _late(grad(sp.log(pi(H)))),
                                                                        evaluate=False))),
    "return written out": (R(), sp.Sum(unevaluated_mul(gamma ** u, r(u)), (u, 0, H))),
}


def test_the_false_claims_pass_when_only_small_mdps_are_checked(monkeypatch):
    # The claims are adversarial: every enumerable instance misses the difference (the battery as drawn, without
    # the instances derive.size_reach adds past a line's constants, which catch some of them on their own).
    import derive.size_reach

    monkeypatch.setattr(derive.size_reach, "widened", lambda battery, lhs, rhs, seed: (battery, None))
    bat = _small_only(_battery(5))
    for name, (lhs, rhs) in FALSE.items():
        assert verdict(lhs, rhs, bat=bat).ok, name


@pytest.fixture
def large_route_only(monkeypatch):
    """Without the sizes beside a line's constants (LATE's H − 9 … puts (2, 2, 10) there, which catches these claims
    on its own, see test_the_false_claims_fail_on_the_sizes_added_for_their_constants): the large MDPs' route alone."""
    import derive.size_reach

    monkeypatch.setattr(derive.size_reach, "_near", lambda battery, breakpoints: ([], []))


def test_the_false_claims_fail_on_the_sizes_added_for_their_constants():
    bat = _small_only(_battery(5))
    for name, (lhs, rhs) in FALSE.items():
        report = verdict(lhs, rhs, bat=bat)
        where = report.counterexample.instance
        assert report.verdict == "failed" and where.startswith(("beside a constant", "past the constant")), name


def test_false_claims_about_every_trajectory_fail_on_the_large_mdps(large_route_only):
    for seed in (1, 2):
        bat = _battery(seed)
        for name, (lhs, rhs) in FALSE.items():
            report = verdict(lhs, rhs, bat=bat)
            assert report.verdict == "failed", (name, seed, report.verdict)
            assert "large #" in report.counterexample.instance, name


def test_true_twins_hold_on_every_instance_and_say_how(large_route_only):
    bat = _battery(3)
    for name, (lhs, rhs) in TRUE.items():
        report = verdict(lhs, rhs, bat=bat)
        assert report.ok, (name, report.verdict)
        assert report.instances == len(bat), name  # the large MDPs are counted, not excluded
        assert "excluded" not in report.verdict
        assert "random product-weight identity test" in report.verdict
        top = max(h for _, _, h in report.scope_data["product_weight_test"]["shapes"])
        assert f"≤ {top + 1}/p" in report.verdict  # (H + 1)/p for the longest large MDP, one free trajectory
        assert report.scope_data["product_weight_test"]["instances"] >= 2


def test_lines_in_two_sampled_trajectories_are_tested_with_a_degree_twice_as_high():
    bat = _battery(4)
    rt = lambda traj: sp.Sum(unevaluated_mul(gamma ** u, r(u, traj)), (u, 0, H))  # noqa: E731
    good = verdict(unevaluated_mul(R(T1), R(T2)), unevaluated_mul(rt(T1), R(T2)), bat=bat)
    top = max(h for _, _, h in good.scope_data["product_weight_test"]["shapes"])
    assert good.ok and f"≤ {2 * (top + 1)}/p" in good.verdict and "excluded" not in good.verdict, good.verdict
    wrong = [
        (unevaluated_mul(R(T1), R(T2)), _plus(unevaluated_mul(rt(T1), R(T2)), _late(unevaluated_mul(r(H, T1), r(H, T2))))),
        (R(T1) + R(T2), _plus(rt(T1) + rt(T2), _late(sp.Mul(r(H, T1), _b_of(0) - baseline(H, T2), evaluate=False)))),
        (unevaluated_mul(SCORE.subs(P(), P(T1)), R(T2)),
         _plus(unevaluated_mul(sum_t(grad(sp.log(pi(t, T1)))), R(T2)), _late(grad(sp.log(pi(H, T1)))))),
    ]
    for lhs, rhs in wrong:
        assert verdict(lhs, rhs, bat=bat).verdict == "failed", (lhs, rhs)


def test_a_factor_coupling_two_trajectories_is_not_covered_and_says_so():
    bat = _battery(4)
    line = sp.Pow(sp.Add(R(T1) ** 2, R(T2) ** 2, 1, evaluate=False), -1, evaluate=False)
    report = verdict(line, line, bat=bat)
    assert report.instances < len(bat)  # never counted as checked on the large MDPs
    assert "large MDPs with (S, A, H) = " in report.verdict and "excluded: too large to enumerate" in report.verdict
    assert "reads several trajectories in one factor" in report.verdict


@pytest.mark.slow  # the Hypothesis search over every size up to 3 comes first (about 15 s of CPU)
def test_a_failure_seen_only_on_a_large_mdp_still_gets_a_counterexample_with_its_trajectory(large_route_only):
    from derive.check import check_step
    from derive.symbolic import SymbolicResult

    bat = Battery([x for x in _battery(1) if x.name in ("one state", "large #2")], name="default", seed=1)
    lhs, rhs = FALSE["score, plus a last-step score at H ≥ 10"]
    report = check_step(lhs, rhs, battery=bat, symbolic=SymbolicResult("not attempted"), minimize=True)
    ce = report.counterexample
    assert report.verdict == "failed" and ce is not None
    # Nothing with S, A, H ≤ 3 fails: the large MDP itself, cut to the shortest horizon that fails (H = 10).
    assert "large #2" in ce.instance and "H=10" in ce.instance, ce.instance
    assert ce.bindings["τ"].startswith("(s0=") and "s11=" in ce.bindings["τ"]
    assert ce.lhs and ce.rhs and ce.lhs != ce.rhs


def test_product_weights_agree_with_listing_every_pair_on_small_mdps():
    # Two free samples: "equal for random product weights" exactly when equal on every pair (P > 0).
    import random
    from fractions import Fraction as F

    import numpy as np

    from derive.backends import ModPrime, random_prime
    from derive.free_identity import identity_on_every_tuple, split_by_trajectory
    from derive.semantics import Evaluator

    rng = random.Random(9)
    k1, k2 = ("sample", 1), ("sample", 2)
    # ∇ of a product of two trajectories' quantities is split by the product rule.
    assert len(split_by_trajectory(grad(unevaluated_mul(R(T1), sp.log(P(T2)))), [k1, k2])) == 2
    claims = {
        "product rule": (grad(unevaluated_mul(sp.log(P(T1)), sp.log(P(T2)))),
                         unevaluated_mul(grad(sp.log(P(T1))), sp.log(P(T2))) + unevaluated_mul(sp.log(P(T1)),
                                                                                            grad(sp.log(P(T2))))),
        "swapped samples": (unevaluated_mul(R(T1), r(0, T2)), unevaluated_mul(R(T2), r(0, T1))),
        "square of a sum": (sp.Pow(R(T1) + R(T2), 2), R(T1) ** 2 + 2 * unevaluated_mul(R(T1), R(T2)) + R(T2) ** 2),
    }
    for inst in _battery(6)[:6]:
        members = np.flatnonzero(inst.support())
        for name, (lhs, rhs) in claims.items():
            bk = ModPrime(random_prime(rng))
            ev = Evaluator(inst, bk, inst.policy.tangent([F(rng.randrange(1, 99)) for _ in range(inst.n_params)]))
            g1, g2 = (g.ravel() for g in np.meshgrid(members, members, indexing="ij"))
            slots = {k1: g1, k2: g2}
            try:
                left = ev.evaluate(lhs, slots=slots, batch=g1.size).val
                right = ev.evaluate(rhs, slots=slots, batch=g1.size).val
            except Exception:  # a log value mod p: this pair of claims is checked in exact numbers elsewhere
                continue
            if left is None or right is None:
                continue
            every = bool(np.all(np.broadcast_to(left, g1.shape) == np.broadcast_to(right, g1.shape)))
            assert identity_on_every_tuple(ev, lhs, rhs, [k1, k2], rng) is every, (name, inst.name)


def test_a_split_past_the_term_limit_is_refused_at_once_not_built():
    """(R(τ¹) − R(τ²))² ⋯ over 17 pairs distributes into 4^17 terms: refused, never filling memory."""
    import time

    import sympy as sp

    from derive.free_identity import MAX_TERMS, NotCovered, split_by_trajectory
    from derive.notation import R, Sample

    chain = sp.Mul(*[(R(Sample(k)) - R(Sample(k + 1))) ** 2 for k in range(1, 18)], evaluate=False)
    keys = [("sample", k) for k in range(1, 19)]
    start = time.perf_counter()
    try:
        split_by_trajectory(chain, keys)
    except NotCovered as exc:
        assert f"{MAX_TERMS:,} terms" in str(exc)
    else:
        raise AssertionError("a 4^17-term split was built")
    assert time.perf_counter() - start < 30
    # The true twin: a product of two sums splits into its four terms.
    two = sp.Mul(R(Sample(1)) - R(Sample(2)), R(Sample(1)) + R(Sample(2)), evaluate=False)
    assert len(split_by_trajectory(two, keys[:2])) == 4


def test_a_line_compiles_once_for_every_instance_of_one_horizon_and_keeps_its_verdicts():
    # The bound trajectory symbols are the same on every instance, so the DP plan of a body is
    # compiled once per horizon (not once per instance), and reusing it changes no verdict.
    import random
    from fractions import Fraction as F

    from derive import trajectory_dp
    from derive.backends import ModPrime, random_prime
    from derive.free_identity import identity_on_every_tuple
    from derive.semantics import Evaluator

    rng = random.Random(3)
    k1 = ("sample", 1)
    true_line = (R(T1), sp.Sum(unevaluated_mul(gamma ** u, r(u, T1)), (u, 0, H)))
    false_line = (R(T1), sp.Sum(unevaluated_mul(gamma ** u, r(u, T1)), (u, 1, H)))   # drops r_0
    insts = [x for x in _battery(4) if x.mdp.horizon == 1 and any(v != 0 for plane in x.mdp.rewards for row in plane for v in row)]
    assert len(insts) >= 2
    sizes = []
    for inst in insts:
        ev = Evaluator(inst, ModPrime(random_prime(rng)),
                       inst.policy.tangent([F(rng.randrange(1, 99)) for _ in range(inst.n_params)]))
        assert identity_on_every_tuple(ev, *true_line, [k1], rng) is True, inst.name
        assert identity_on_every_tuple(ev, *false_line, [k1], rng) is False, inst.name
        sizes.append(len(trajectory_dp._COMPILED))
    assert len(set(sizes[1:])) == 1 and sizes[0] == sizes[-1], sizes


def test_two_samples_keep_their_own_weights_when_their_sums_share_one_plan():
    # τ^(1) and τ^(2) share one compiled plan for R(·) but not its value: each has its own random weights.
    # Were the sum of one sample reused for the other, R(τ^(1)) − R(τ^(2)) would sum to 0 and this false line pass.
    bat = Battery([x for x in _battery(1) if x.name.startswith("large")], name="default", seed=1)
    assert len(bat) == 2
    wrong = verdict(R(T1), R(T2), bat=bat)
    assert wrong.verdict == "failed" and "large #" in wrong.counterexample.instance, wrong.verdict
    swapped = verdict(unevaluated_mul(R(T1), r(0, T2)), unevaluated_mul(R(T2), r(0, T1)), bat=bat)
    assert swapped.verdict == "failed", swapped.verdict
    # The true twin: the same two sums, in either order.
    good = verdict(_plus(R(T1), unevaluated_mul(2, R(T2))), _plus(unevaluated_mul(2, R(T2)), R(T1)), bat=bat)
    assert good.ok and good.instances == len(bat), good.verdict
