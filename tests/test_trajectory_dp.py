"""The DP route over time gives exactly the enumeration route's values, and refuses what it cannot do."""

import random
import zlib
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import trajectory_dp
from derive.backends import Exact, LogLinear, LogLinearNumber, ModPrime, NotRepresentable, random_prime
from derive.battery import BATTERIES, _with_random_rewards, stress_cases
from derive.check import check_step
from derive.loader import load_proofs, proof_files
from derive.mdp import FiniteMDP
from derive.notation import (
    H, J, P, QValue, R, Sample, TrajectorySum, Expectation, a, b, baseline, d, expectation, gamma, grad, mu, pi, r,
    reward_to_go, s, sum_t, sum_tau, t, tau, u, unevaluated_mul, x,
)
from derive.policies import TabularSoftmax
from derive.semantics import Evaluator, Instance, PointInstance, Undefined, trajectory_space
from derive.strategies import problems
from derive.trajectory_dp import NotCovered

ROOT = Path(__file__).resolve().parent.parent
LOGPI = grad(sp.log(pi()))

# Shapes the DP must cover: products of P(τ;θ), additive functionals, ∇ inside and outside.
COVERED = {
    "P R": sum_tau(unevaluated_mul(P(), R())),
    "∇P R": sum_tau(unevaluated_mul(grad(P()), R())),
    "∇(P R)": sum_tau(grad(unevaluated_mul(P(), R()))),
    "E[R]": expectation(R()),
    "E[R ∇log P]": expectation(unevaluated_mul(R(), grad(sp.log(P())))),
    "P R²": sum_tau(unevaluated_mul(P(), R(), R())),
    "E[Σ_t ∇log π · reward-to-go]": expectation(sum_t(unevaluated_mul(LOGPI, reward_to_go()))),
    "E[Σ_t ∇log π (rtg − b)]": expectation(sum_t(unevaluated_mul(LOGPI, reward_to_go() - baseline()))),
    "E[Σ_t r_t · Σ_t π_t]": expectation(unevaluated_mul(sum_t(r()), sum_t(pi()))),
    "E[r_0 r_H]": expectation(unevaluated_mul(r(0), r(H))),
    "Σ_τ P μ(s_0)": sum_tau(unevaluated_mul(P(), mu())),
    "Σ_τ P²": sum_tau(P() ** 2),
    "Σ_{P>0} P ∇log P": sum_tau(unevaluated_mul(P(), grad(sp.log(P()))), support=True),
    "E[Σ_t γ^t Q_t(s_t,a_t)]": expectation(sum_t(unevaluated_mul(gamma ** t, QValue(t, s(t), a(t))))),
    "E[Σ_t ∇log π Σ_{u>t} r_u]": expectation(sum_t(unevaluated_mul(LOGPI, sp.Sum(r(u), (u, t + 1, H))))),
    "E[Σ_t ∇log π Σ_{u<t} r_u]": expectation(sum_t(unevaluated_mul(LOGPI, sp.Sum(r(u), (u, 0, t - 1))))),
    "E[Σ_t b(s_{t+1}) ∇log π]": expectation(sum_t(unevaluated_mul(baseline(t + 1), LOGPI))),
    "Σ_{P>0} P log π_0": sum_tau(unevaluated_mul(P(), sp.log(pi(0))), support=True),
    "Σ_τ ∇P ∇P": sum_tau(unevaluated_mul(grad(P()), grad(P()))),
    "E[d_t(s_t) at t=1]": expectation(d(1, s(1))),
    "Σ_τ P (R − J)": sum_tau(unevaluated_mul(P(), R() - J())),
    "Σ_{P>0} R (no weight)": sum_tau(R(), support=True),
    "Σ_τ R (all τ, no weight)": sum_tau(R()),
    "Σ_τ P Π_t π_t": sum_tau(unevaluated_mul(P(), sp.Product(pi(), (t, 0, H)))),
    "Σ_τ P / Π_t π_t": sum_tau(unevaluated_mul(P(), sp.Pow(sp.Product(pi(), (t, 0, H)), -1, evaluate=False)),
                               support=True),
    "E[Σ_t Σ_{u=0}^{t} r_u π_t]": expectation(sum_t(unevaluated_mul(pi(), sp.Sum(r(u), (u, 0, t))))),
    "E[Σ_t ∇log π_t Σ_{u=t}^{H} ∇log π_u]": expectation(sum_t(unevaluated_mul(
        LOGPI, sp.Sum(grad(sp.log(pi(u))), (u, t, H))))),
    "E[s_{H+1} baseline]": expectation(baseline(H + 1)),
}

NOT_COVERED = {
    "∇ inside ∇": sum_tau(grad(unevaluated_mul(P(), grad(P())))),
    "a sample τ^(1)": sum_tau(unevaluated_mul(P(), R(Sample(1)))),
    "log of a sum": sum_tau(unevaluated_mul(P(), sp.log(R()))),
    "1/R": sum_tau(unevaluated_mul(P(), R() ** -1)),
    "nested Σ_τ": sum_tau(unevaluated_mul(P(), expectation(R()))),
    "γ^(u−t)": expectation(sum_t(unevaluated_mul(LOGPI, sp.Sum(unevaluated_mul(gamma ** (u - t), r(u)), (u, t, H))))),
    "time index 2t": expectation(sum_t(r(2 * t), upper=0)),
    "Σ_t up to H+1 of an action": expectation(sum_t(pi(), upper=H + 1)),
}


def _enumerated(ev, expr, ints=None):
    """The enumeration route alone (the DP hook switched off)."""
    orig = trajectory_dp.dp_or_none
    trajectory_dp.dp_or_none = lambda *args, **kw: None
    try:
        return ev.evaluate(expr, ints=ints)
    finally:
        trajectory_dp.dp_or_none = orig


def _same(x, y) -> bool:
    if x is None or y is None:
        return x is None and y is None
    return bool(np.all(np.asarray(x, dtype=object) == np.asarray(y, dtype=object)))


def _same_der(bk, dp, en) -> bool:
    # The one documented difference: with a ∇ inside the sum the DP leaves the outer derivative
    # unknown, where enumeration knows it is 0 because a whole batch of values is 0.
    if dp is None and en is not None:
        return bool(np.all(bk.is_zero(np.asarray(en))))
    return _same(dp, en)


def _compare(inst, expr, rng, *, must_cover: bool):
    direction = inst.policy.tangent([F(rng.randrange(1, 2**30)) for _ in range(inst.n_params)])
    base = [F(rng.randint(-9, 9), rng.randint(1, 4)) for _ in range(inst.mdp.n_states)]
    # LogLinear: its DP contracts by exact matrix products (flint), enumeration by plain sums.
    for bk in (ModPrime(random_prime(rng)), Exact(), LogLinear()):
        ev = Evaluator(inst, bk, direction, baseline=base)
        refused = False
        try:
            dp = trajectory_dp.evaluate(ev, expr)
        except NotCovered as exc:
            assert not must_cover or "division by zero" in str(exc), str(exc)
            dp = None
        except NotRepresentable:  # a product of two logs: enumeration must refuse it too
            dp, refused = None, True
        try:
            en = _enumerated(Evaluator(inst, bk, direction, baseline=base), expr)
        except Undefined:
            assert dp is None, "the DP gave a value where enumeration divides by zero"
            continue
        except NotRepresentable:
            assert dp is None, "the DP gave a value enumeration cannot represent"
            continue
        assert not refused, "the DP refused a value enumeration represents"
        if dp is not None:
            assert _same(dp.val, en.val), (bk.name, dp.val, en.val)
            assert _same_der(bk, dp.der, en.der), (bk.name, dp.der, en.der)


def _instance(mdp, policy, point, *, random_rewards: int | None):
    if random_rewards is not None:
        mdp = _with_random_rewards(mdp, random.Random(random_rewards))
    return Instance(mdp, policy, point, name="drawn")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(interior=False, max_states=3, max_actions=2, max_horizon=3), st.sampled_from(sorted(COVERED)),
       st.one_of(st.none(), st.integers(0, 1000)), st.integers(0, 2**32))
def test_dp_equals_enumeration_on_random_mdps(problem, shape, random_rewards, seed):
    mdp, policy, point = problem
    # Keep enumeration in exact rationals cheap: at most ~2,000 trajectories.
    while mdp.horizon and mdp.n_trajectories * (3 ** (mdp.horizon + 1) if random_rewards is not None else 1) > 2_000:
        mdp = FiniteMDP.from_tables(mdp.initial, mdp.transitions, mdp.rewards, horizon=mdp.horizon - 1,
                                    discount=mdp.discount)
    _compare(_instance(mdp, policy, point, random_rewards=random_rewards), COVERED[shape], random.Random(seed),
             must_cover=True)


@pytest.mark.parametrize("shape", sorted(COVERED))
def test_dp_equals_enumeration_on_stress_instances(shape):
    # μ and the dynamics depend on θ here: the DP carries dμ and dP like enumeration does.
    rng = random.Random(7)
    for inst in stress_cases(random.Random(3))[:4]:
        _compare(inst, COVERED[shape], rng, must_cover=True)


@pytest.mark.parametrize("shape", sorted(NOT_COVERED))
def test_dp_refuses_what_it_does_not_cover(shape):
    inst = BATTERIES["default"]()[0]
    ev = Evaluator(inst, ModPrime(2**31 - 1), [1] * inst.n_params)
    with pytest.raises(NotCovered):
        trajectory_dp.evaluate(ev, NOT_COVERED[shape])
    assert trajectory_dp.evaluate_or_none(ev, NOT_COVERED[shape]) is None


def test_division_by_zero_falls_back_to_enumeration_which_reports_it():
    # Σ over all τ (not only P > 0) of ∇P/P: P = 0 on some τ, so the line is undefined.
    inst = next(i for i in BATTERIES["default"]() if i.name == "zero-probability transitions")
    expr = sum_tau(unevaluated_mul(grad(P()), P() ** -1, R()))
    ev = Evaluator(inst, ModPrime(2**31 - 1), [F(k + 1) for k in range(inst.n_params)])
    with pytest.raises(NotCovered, match="division by zero"):
        trajectory_dp.evaluate(ev, expr)
    with pytest.raises(Undefined):
        ev.evaluate(expr)
    # The same body over τ with P(τ;θ) > 0 is defined, and the DP covers it.
    supp = sum_tau(unevaluated_mul(grad(P()), P() ** -1, R()), support=True)
    value = trajectory_dp.evaluate(ev, supp).val
    assert value != 0 and _same(value, _enumerated(ev, supp).val)


def _bundled_sums():
    for script in proof_files([str(ROOT / "proofs")]):
        for proof in load_proofs(script):
            for der in proof.derivations:
                for line in (der.start, *(st_.expr for st_ in der.steps)):
                    for node in sp.preorder_traversal(line):
                        if isinstance(node, (TrajectorySum, Expectation)) and tau not in node.free_symbols:
                            yield script.name, proof.battery, node


BUNDLED = sorted({(name, bat, node) for name, bat, node in _bundled_sums()}, key=lambda z: (z[0], sp.sstr(z[2])))


def test_every_closed_trajectory_sum_of_the_bundled_proofs_is_covered():
    # The closed Σ_τ / E of every bundled line (19 distinct ones today); lines with a free τ are per-trajectory.
    assert len(BUNDLED) >= 19
    inst = BATTERIES["default"]()[5]
    for name, _, node in BUNDLED:
        ev = Evaluator(inst, ModPrime(2**31 - 1), [1] * inst.n_params, baseline=[1] * inst.mdp.n_states)
        trajectory_dp.evaluate(ev, node)  # raises NotCovered if not


@pytest.mark.parametrize("name, battery, node", BUNDLED, ids=lambda z: z if isinstance(z, str) else None)
def test_bundled_sums_equal_enumeration(name, battery, node):
    rng = random.Random(11)
    ints = {x: 0, b: 0}
    for inst in [i for i in BATTERIES[battery]() if not isinstance(i, PointInstance)][:6]:
        direction = inst.policy.tangent([F(rng.randrange(1, 2**30)) for _ in range(inst.n_params)])
        base = [F(rng.randint(-9, 9), 3) for _ in range(inst.mdp.n_states)]
        n = len(trajectory_space(inst.mdp)[0])
        for bk in (ModPrime(random_prime(rng)), Exact()) if n <= 600 else (ModPrime(random_prime(rng)),):
            ev = Evaluator(inst, bk, direction, baseline=base)
            dp = trajectory_dp.evaluate(ev, node, ints=ints)
            en = _enumerated(Evaluator(inst, bk, direction, baseline=base), node, ints)
            assert _same(dp.val, en.val) and _same_der(bk, dp.der, en.der), (name, inst.name, bk.name)


def _big(S=10, A=5, horizon=50, seed=0):
    rng = random.Random(seed)

    def dist(n):
        w = [rng.randint(0, 4) for _ in range(n)]
        w[rng.randrange(n)] += 1
        return [F(v, sum(w)) for v in w]

    mdp = FiniteMDP.from_tables(dist(S), [[dist(S) for _ in range(A)] for _ in range(S)],
                                [[[F(rng.randint(-3, 3), 2) for _ in range(S)] for _ in range(A)] for _ in range(S)],
                                horizon=horizon, discount=F(9, 10), name="big")
    pol = TabularSoftmax(S, A)
    return Instance(mdp, pol, tuple(F(rng.randint(1, 3), rng.randint(1, 3)) for _ in range(pol.n_params)), name="big")


def test_long_horizon_agrees_with_backward_dynamic_programming():
    # H = 50, S = 10: ~10^85 trajectories. Σ_τ P R and its derivative against J(θ) by backward DP
    # (an independent computation), and the likelihood-ratio form against ∇J.
    inst = _big()
    ev = Evaluator(inst, ModPrime(2**31 - 1), [F(k % 7 + 1) for k in range(inst.n_params)])
    left = ev.evaluate(sum_tau(unevaluated_mul(P(), R())))
    j = ev.objective()
    assert _same(left.val, j.val) and _same(left.der, j.der)
    lr = ev.evaluate(expectation(unevaluated_mul(R(), grad(sp.log(P())))))
    assert _same(lr.val, j.der)
    # A wrong twin: the score without the last step differs.
    short = expectation(unevaluated_mul(R(), sum_t(LOGPI, upper=H - 1)))
    assert not _same(ev.evaluate(short).val, j.der)


def test_long_horizon_claims_are_checked_and_a_wrong_one_fails():
    inst = _big(S=4, A=3, horizon=20, seed=2)
    good = check_step(grad(J()), expectation(unevaluated_mul(R(), grad(sp.log(P())))), battery=[inst],
                      minimize=False)
    assert good.verdict != "failed", good
    wrong = check_step(grad(J()), expectation(unevaluated_mul(R(), sum_t(LOGPI, upper=H - 1))), battery=[inst],
                       minimize=False)
    assert wrong.verdict == "failed"


def test_the_evaluator_sums_by_dp_without_building_the_trajectory_table():
    inst = _big(S=6, A=3, horizon=30, seed=4)
    ev = Evaluator(inst, ModPrime(2**31 - 1), [1] * inst.n_params)  # 6·18^31 trajectories: no refusal up front
    ev.evaluate(grad(sum_tau(unevaluated_mul(P(), R()))))
    assert "states" not in ev.__dict__
    with pytest.raises(ValueError, match="budget"):  # a free τ still needs the table, and says so
        ev.evaluate(R(), slots={tau: np.arange(1)})


def test_small_instances_enumerate():
    # Below DP_MIN_TRAJECTORIES enumeration is cheaper; the hook leaves them to it.
    inst = BATTERIES["default"]()[0]
    assert inst.mdp.n_trajectories < trajectory_dp.DP_MIN_TRAJECTORIES
    ev = Evaluator(inst, ModPrime(2**31 - 1), [1] * inst.n_params)
    ev.evaluate(sum_tau(unevaluated_mul(P(), R())))
    assert "states" in ev.__dict__


FREE_TRUE = {
    "score of τ": (grad(sp.log(P())), sum_t(LOGPI)),
    "R written out": (R(), sp.Sum(unevaluated_mul(gamma ** u, r(u)), (u, 0, H))),
    "R ∇log P": (unevaluated_mul(R(), grad(sp.log(P()))), unevaluated_mul(R(), sum_t(LOGPI))),
}
FREE_FALSE = {
    "score one step short": (grad(sp.log(P())), sum_t(LOGPI, upper=H - 1)),
    "R without discount": (R(), sp.Sum(r(u), (u, 0, H))),
    "score with a wrong sign on the last step": (grad(sp.log(P())), sum_t(LOGPI) - 2 * grad(sp.log(pi(H)))),
}


@pytest.mark.parametrize("claim", sorted(FREE_TRUE))
def test_free_trajectory_lines_hold_by_random_product_weights(claim):
    lhs, rhs = FREE_TRUE[claim]
    rng = random.Random(5)
    for inst in [_big(S=4, A=3, horizon=20, seed=1), *BATTERIES["default"]()[:6]]:
        for bk in (ModPrime(random_prime(rng)), Exact()):
            ev = Evaluator(inst, bk, inst.policy.tangent([F(rng.randrange(1, 99)) for _ in range(inst.n_params)]))
            assert trajectory_dp.free_trajectory_identity(ev, lhs, rhs, rng) is True, (claim, inst.name)


@pytest.mark.parametrize("claim", sorted(FREE_FALSE))
def test_free_trajectory_slips_are_caught_by_random_product_weights(claim):
    lhs, rhs = FREE_FALSE[claim]
    rng = random.Random(6)
    inst = next(i for i in BATTERIES["default"]() if i.name == "discounted, γ = 1/2")
    for bk in (ModPrime(random_prime(rng)), Exact(), ModPrime(random_prime(rng))):
        ev = Evaluator(inst, bk, inst.policy.tangent([F(rng.randrange(1, 99)) for _ in range(inst.n_params)]))
        assert trajectory_dp.free_trajectory_identity(ev, lhs, rhs, rng) is False, claim
    big = _big(S=4, A=3, horizon=20, seed=1)
    # (a random direction: along (1, …, 1) every softmax score is 0 and the slip would not show)
    ev = Evaluator(big, ModPrime(random_prime(rng)), [F(rng.randrange(1, 99)) for _ in range(big.n_params)])
    assert trajectory_dp.free_trajectory_identity(ev, lhs, rhs, rng) is False, claim


def test_random_product_weights_agree_with_per_trajectory_enumeration():
    # On small instances: the weighted test says "equal" exactly when every trajectory's two sides are equal.
    rng = random.Random(8)
    claims = {**FREE_TRUE, **FREE_FALSE}
    for inst in BATTERIES["default"]()[:8]:
        for name, (lhs, rhs) in claims.items():
            bk = ModPrime(random_prime(rng))
            ev = Evaluator(inst, bk, inst.policy.tangent([F(rng.randrange(1, 99)) for _ in range(inst.n_params)]))
            members = np.flatnonzero(inst.support())
            left = ev.evaluate(lhs, slots={tau: members}, batch=members.size).val
            right = ev.evaluate(rhs, slots={tau: members}, batch=members.size).val
            every = bool(np.all(np.broadcast_to(left, members.shape) == np.broadcast_to(right, members.shape)))
            assert trajectory_dp.free_trajectory_identity(ev, lhs, rhs, rng) is every, (name, inst.name)


# -- the stacked mod-p walk against the plain key-by-key walk ---------------------------------
# Mod p the DP runs as a batched product of all its key vectors with per-step S × S matrices
# (trajectory_dp._walk_mod_p); every other number system walks key by key (trajectory_dp._walk),
# which is the DP as the module docstring writes it. The two must give the same residues, the same
# unknowns (None) and the same refusals, on shapes far past what enumeration can check.

class _plain_walk:
    def __enter__(self):
        self.orig = trajectory_dp._walk_mod_p
        trajectory_dp._walk_mod_p = trajectory_dp._walk

    def __exit__(self, *exc):
        trajectory_dp._walk_mod_p = self.orig


def _outcome(run):
    try:
        d = run()
    except NotCovered as exc:
        return ("not covered", str(exc))
    return tuple(None if v is None else int(np.asarray(v)) for v in (d.val, d.der))


def _chain(S=4, A=2, horizon=30, seed=0):
    """A chain that reaches one more state per step (reachability settles only after S − 1 steps),
    with zero-probability transitions and a zero-probability action (a direct policy on the boundary)."""
    from derive.policies import DirectPolicy

    rng = random.Random(seed)
    tr = []
    for s_ in range(S):
        row = []
        for a_ in range(A):
            nxt = [F(0)] * S
            nxt[min(s_ + 1, S - 1)] += F(rng.randint(1, 3), 4)
            nxt[s_] += 1 - sum(nxt)
            row.append(nxt)
        tr.append(row)
    mdp = FiniteMDP.from_tables([F(1)] + [F(0)] * (S - 1), tr,
                                [[[F(rng.randint(-3, 3), 2) for _ in range(S)] for _ in range(A)] for _ in range(S)],
                                horizon=horizon, discount=F(rng.randint(1, 9), 10), name="chain")
    point = []
    for s_ in range(S):
        w = [rng.randint(1, 5) for _ in range(A)]
        if s_ == 1:
            w[0] = 0  # π(0|1) = 0: trajectories through it have P(τ;θ) = 0
        point += [F(v, sum(w)) for v in w]
    return Instance(mdp, DirectPolicy(S, A), tuple(point), name="chain")


def _fast_walk_instances():
    rng = random.Random(21)
    big = _big(S=3, A=2, horizon=45, seed=3)
    out = [big, _chain(), _chain(S=3, A=3, horizon=12, seed=1), _big(S=6, A=3, horizon=8, seed=5)]
    rewards = Instance(_with_random_rewards(big.mdp, rng), big.policy, big.point, name="random rewards")
    out.append(rewards)
    out += stress_cases(random.Random(3))[:3]   # μ and P(s'|s,a) depend on θ: dμ, dP carried
    return out


FAST_WALK_SHAPES = {**COVERED, "Σ_{P>0} R P ∇log P": sum_tau(unevaluated_mul(R(), P(), grad(sp.log(P()))),
                                                             support=True),
                    "Σ_{P>0} ∇P/P R": sum_tau(unevaluated_mul(grad(P()), P() ** -1, R()), support=True),
                    "Σ_τ ∇P/P R (undefined: refused)": sum_tau(unevaluated_mul(grad(P()), P() ** -1, R()))}


@pytest.mark.parametrize("shape", sorted(FAST_WALK_SHAPES))
def test_stacked_walk_equals_the_plain_walk(shape):
    expr = FAST_WALK_SHAPES[shape]
    rng = random.Random(zlib.crc32(shape.encode()) % 1000)  # the same draws in every process
    for inst in _fast_walk_instances():
        direction = inst.policy.tangent([F(rng.randrange(1, 2**30)) for _ in range(inst.n_params)])
        base = [F(rng.randint(-9, 9), rng.randint(1, 4)) for _ in range(inst.mdp.n_states)]
        p = random_prime(rng)
        ints = {x: 0, b: 0}

        def run():
            return trajectory_dp.evaluate(Evaluator(inst, ModPrime(p), direction, baseline=base), expr, ints=ints)

        fast = _outcome(run)
        with _plain_walk():
            plain = _outcome(run)
        assert fast == plain, (shape, inst.name, fast, plain)


def test_stacked_walk_can_fail_a_wrong_value():
    # The comparison above is not vacuous: the walks' values differ for sums that differ by one step.
    inst = _big(S=3, A=2, horizon=45, seed=3)
    ev = Evaluator(inst, ModPrime(2**31 - 1), [F(k + 1) for k in range(inst.n_params)])
    full = _outcome(lambda: trajectory_dp.evaluate(ev, expectation(unevaluated_mul(R(), sum_t(LOGPI)))))
    slip = expectation(unevaluated_mul(R(), sum_t(LOGPI, upper=H - 1)))
    short = _outcome(lambda: trajectory_dp.evaluate(ev, slip))
    with _plain_walk():
        plain_short = _outcome(lambda: trajectory_dp.evaluate(ev, slip))
    assert full != short and short == plain_short


@pytest.mark.parametrize("claim", sorted({**FREE_TRUE, **FREE_FALSE}))
def test_stacked_walk_equals_the_plain_walk_under_product_weights(claim):
    # The weighted DP (lines about a free τ): a fresh weight table at every step, so nothing is reused.
    lhs, rhs = {**FREE_TRUE, **FREE_FALSE}[claim]
    body = sp.Add(lhs, sp.Mul(-1, rhs, evaluate=False), evaluate=False)
    for k, inst in enumerate(_fast_walk_instances()):
        for support in (True, False):
            rng = random.Random(100 + k)
            p = random_prime(rng)
            direction = [F(rng.randrange(1, 99)) for _ in range(inst.n_params)]
            weights = trajectory_dp.random_weights(Evaluator(inst, ModPrime(p), direction), rng)

            def run():
                ev = Evaluator(inst, ModPrime(p), direction)
                return trajectory_dp.weighted_sum(ev, TrajectorySum(body, tau, support), weights)

            fast = _outcome(run)
            with _plain_walk():
                plain = _outcome(run)
            assert fast == plain, (claim, inst.name, support, fast, plain)


def test_stacked_walk_equals_enumeration_where_reachability_grows():
    # The chain reaches one more state per step: tables built per reachable set, checked against every trajectory.
    inst = _chain(S=3, A=2, horizon=3, seed=2)  # 3,888 trajectories: enumeration in exact rationals stays cheap
    rng = random.Random(4)
    for shape in ("Σ_{P>0} P ∇log P", "Σ_{P>0} R (no weight)", "E[Σ_t ∇log π Σ_{u>t} r_u]", "Σ_τ P / Π_t π_t",
                  "E[Σ_t ∇log π_t Σ_{u=t}^{H} ∇log π_u]"):
        _compare(inst, COVERED[shape], rng, must_cover=True)


def _random_walk_instance(rng: random.Random, k: int) -> Instance:
    """A random MDP past enumeration's reach: softmax or direct policy (some with π = 0), some with reward outcomes."""
    from derive.battery import random_mdp
    from derive.policies import DirectPolicy

    mdp = random_mdp(rng, shape=(rng.randint(2, 5), rng.randint(2, 3), rng.randint(4, 40)), name=f"walk #{k}")
    if k % 3 == 2:
        mdp = _with_random_rewards(mdp, rng)
    S, A = mdp.n_states, mdp.n_actions
    if k % 2:
        point = []
        for s_ in range(S):
            w = [rng.randint(0 if s_ == 0 else 1, 4) for _ in range(A)]
            w[rng.randrange(A)] += 1
            point += [F(v, sum(w)) for v in w]
        return Instance(mdp, DirectPolicy(S, A), tuple(point), name=mdp.name)
    pol = TabularSoftmax(S, A)
    return Instance(mdp, pol, tuple(F(rng.randint(1, 5), rng.randint(1, 3)) for _ in range(pol.n_params)),  # z = e^θ > 0
                    name=mdp.name)


def test_stacked_walk_equals_the_plain_walk_on_random_lines_and_mdps():
    # A randomized battery of (line, MDP, prime, direction, baseline): residues and refusals identical.
    rng = random.Random(2027)
    shapes = sorted(FAST_WALK_SHAPES)
    claims = sorted({**FREE_TRUE, **FREE_FALSE})
    seen = set()
    for k in range(24):
        inst = _random_walk_instance(rng, k)
        p = random_prime(rng)
        direction = inst.policy.tangent([F(rng.randrange(1, 2**30)) for _ in range(inst.n_params)])
        base = [F(rng.randint(-9, 9), rng.randint(1, 4)) for _ in range(inst.mdp.n_states)]
        for shape in rng.sample(shapes, 3):
            def run(shape=shape):
                ev = Evaluator(inst, ModPrime(p), direction, baseline=base)
                return trajectory_dp.evaluate(ev, FAST_WALK_SHAPES[shape], ints={x: 0, b: 0})

            fast = _outcome(run)
            with _plain_walk():
                plain = _outcome(run)
            assert fast == plain, (shape, inst.name, fast, plain)
            seen.add(fast[0] if isinstance(fast[0], str) else "value")
        lhs, rhs = {**FREE_TRUE, **FREE_FALSE}[rng.choice(claims)]
        body = sp.Add(lhs, sp.Mul(-1, rhs, evaluate=False), evaluate=False)
        weights = trajectory_dp.random_weights(Evaluator(inst, ModPrime(p), direction), rng)
        support = bool(k % 2)

        def weighted():
            return trajectory_dp.weighted_sum(Evaluator(inst, ModPrime(p), direction), TrajectorySum(body, tau, support),
                                              weights)

        fast = _outcome(weighted)
        with _plain_walk():
            plain = _outcome(weighted)
        assert fast == plain, (inst.name, support, fast, plain)
    assert "value" in seen  # not vacuous: most cases were computed, not refused


def test_stacked_walk_gives_the_plain_walks_verdicts_on_a_late_failing_large_mdp():
    # The large MDP on which a line fails only from H = 10 on (tests/test_soundness_free_trajectories.py):
    # every instance check there (by product weights), uncut and cut to H = 10, 11, 20, gives the same outcome
    # with either walk.
    import test_soundness_free_trajectories as free
    from derive.check import check_instance

    big = next(z for z in free._battery(1) if z.name == "large #2")
    mdp = big.mdp
    cuts = [big] + [Instance(FiniteMDP.from_tables(mdp.initial, mdp.transitions, mdp.rewards, horizon=h,
                                                   discount=mdp.discount, name=f"cut to H = {h}"),
                             big.policy, big.point, name=f"cut to H = {h}") for h in (10, 11, 20)]
    statuses = []
    for name, (lhs, rhs) in {**free.FALSE, **free.TRUE}.items():
        for inst in cuts:
            fast = check_instance(lhs, rhs, "=", inst, random.Random(7), counts=(1,))
            with _plain_walk():
                plain = check_instance(lhs, rhs, "=", inst, random.Random(7), counts=(1,))
            assert fast == plain, (name, inst.name, fast, plain)
            statuses.append((name in free.FALSE, inst.mdp.horizon, fast.status))
    # The twins decide differently, as they should: the false lines fail, the true ones hold.
    assert all(st == ("differ" if bad else "agree") for bad, h, st in statuses), statuses


LOG_LINES = {
    "Σ_{P>0} P log P": sum_tau(unevaluated_mul(P(), sp.log(P())), support=True),
    "Σ_{P>0} P log π_0": sum_tau(unevaluated_mul(P(), sp.log(pi(0))), support=True),
    "E[R log μ(s_0)]": expectation(unevaluated_mul(R(), sp.log(mu()))),
    "E[Σ_t r_t log π_t]": expectation(sum_t(unevaluated_mul(r(), sp.log(pi())))),
}


def _log_linear_values(inst, expr, *, matrices: bool):
    ev = Evaluator(inst, LogLinear(), [F(k + 1) for k in range(inst.n_params)])
    if matrices:
        return trajectory_dp.evaluate(ev, expr)
    orig = trajectory_dp._Plan._rational_contract
    trajectory_dp._Plan._rational_contract = lambda self, vec, table: None
    try:
        return trajectory_dp.evaluate(ev, expr)
    finally:
        trajectory_dp._Plan._rational_contract = orig


@pytest.mark.parametrize("line", sorted(LOG_LINES))
def test_log_linear_contraction_by_matrices_equals_the_plain_sums(line):
    # The exact log-linear DP contracts a step by flint matrix products; the plain sums give the same numbers,
    # on long horizons where the rationals run to thousands of digits.
    calls = {"vec logs": 0, "table logs": 0}
    orig = trajectory_dp._Plan._rational_contract

    def counted(self, vec, table):
        out = orig(self, vec, table)
        if out is not None:
            block = vec if isinstance(vec, trajectory_dp._Block) else trajectory_dp._Block.of(vec)
            calls["vec logs"] += bool(block.keys)
            calls["table logs"] += any(LogLinearNumber.of(v).logs for v in np.ravel(np.asarray(table, dtype=object)))
        return out

    for inst in (_big(S=3, A=2, horizon=12, seed=3), _chain(S=3, A=3, horizon=8, seed=1)):
        trajectory_dp._Plan._rational_contract = counted
        try:
            fast = _log_linear_values(inst, LOG_LINES[line], matrices=True)
        finally:
            trajectory_dp._Plan._rational_contract = orig
        plain = _log_linear_values(inst, LOG_LINES[line], matrices=False)
        assert _same(fast.val, plain.val) and _same(fast.der, plain.der), (line, inst.name)
    assert calls["vec logs"] > 0 and calls["table logs"] > 0, ("the matrix route was not taken on both kinds of log", calls)


def test_log_linear_contraction_by_matrices_tells_a_slip_and_refuses_a_product_of_logs():
    inst = _big(S=3, A=2, horizon=12, seed=3)
    full = _log_linear_values(inst, LOG_LINES["E[Σ_t r_t log π_t]"], matrices=True)
    short = _log_linear_values(inst, expectation(sum_t(unevaluated_mul(r(), sp.log(pi())), upper=H - 1)), matrices=True)
    assert not _same(full.val, short.val)
    both = sum_tau(unevaluated_mul(P(), sp.log(pi(0)), sp.log(pi(1))))  # log times log: not log-linear
    for matrices in (True, False):
        with pytest.raises(NotRepresentable):
            _log_linear_values(inst, both, matrices=matrices)


# -- a weighted plan run again and again (a witness search) keeps its weight-free structures ---------------
# trajectory_dp._Plan keeps each term's placements, choice products and mod-p transitions across runs; only the
# weights change between runs. Each run must give what a plan built fresh for those weights gives.

@pytest.mark.parametrize("claim", sorted({**FREE_TRUE, **FREE_FALSE}))
def test_a_weighted_plan_reused_over_many_weights_equals_a_fresh_plan_for_each(claim):
    lhs, rhs = {**FREE_TRUE, **FREE_FALSE}[claim]
    body = sp.Add(lhs, sp.Mul(-1, rhs, evaluate=False), evaluate=False)
    values = set()
    for k, inst in enumerate(_fast_walk_instances()[:4] + [_chain(S=3, A=2, horizon=90, seed=4)]):
        rng = random.Random(300 + k)
        p = random_prime(rng)
        direction = [F(rng.randrange(1, 99)) for _ in range(inst.n_params)]
        for support in (True, False):
            e = TrajectorySum(body, tau, support)
            reused = trajectory_dp.weighted_plan(Evaluator(inst, ModPrime(p), direction), e)
            for _ in range(4):
                weights = trajectory_dp.random_weights(Evaluator(inst, ModPrime(p), direction), rng)
                again = _outcome(lambda: reused(weights))
                fresh = _outcome(lambda: trajectory_dp.weighted_sum(Evaluator(inst, ModPrime(p), direction), e, weights))
                assert again == fresh, (claim, inst.name, support, again, fresh)
                values.add(again)
    # Not vacuous: the false lines' sums are nonzero and vary with the weights (a stale table would repeat one).
    computed = {v for v in values if not isinstance(v[0], str)}
    if claim in FREE_FALSE:
        assert len(computed) > 10, values
    else:
        assert computed and computed <= {(0, None), (0, 0)}, values


def test_a_witness_search_finds_the_same_trajectory_as_with_fresh_plans(monkeypatch):
    """free_identity.witness reruns one plan per body thousands of times; with a fresh plan every run, the same answer."""
    from derive import free_identity

    inst = _chain(S=3, A=2, horizon=40, seed=6)
    lhs, rhs = FREE_FALSE["score with a wrong sign on the last step"]
    direction = [F(k + 2) for k in range(inst.n_params)]
    found = free_identity.witness(Evaluator(inst, ModPrime(2**31 - 1), direction), lhs, rhs, [tau], random.Random(9))
    real = trajectory_dp.weighted_plan

    def fresh(ev, e, *, ints=None):
        return lambda weights: real(ev, e, ints=ints)(weights)

    monkeypatch.setattr(free_identity, "weighted_plan", fresh)
    free_identity._SPLITS.clear()
    old = free_identity.witness(Evaluator(inst, ModPrime(2**31 - 1), direction), lhs, rhs, [tau], random.Random(9))
    assert found is not None and found == old
    assert len(found[tau]) == inst.mdp.horizon + 1
