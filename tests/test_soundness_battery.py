"""A narrow or fixed battery lets correction terms through: the battery is wide, random, seeded and said so."""

import re
from fractions import Fraction as F

import pytest
import sympy as sp

from derive.battery import BATTERIES, default_battery, scope_of
from derive.notation import H, J, P, R, StateSum, ActionSum, InitialDistribution, Policy, gamma, sum_tau, theta, \
    unevaluated_mul, x, b
from soundness_helpers import battery, holds, verdict

S_ = StateSum(sp.Integer(1))        # Σ_s 1 = S
A_ = ActionSum(sp.Integer(1), b)    # Σ_b 1 = A


def test_battery_reaches_wide_long_and_varied_instances():
    bat = default_battery(n_random=8)
    mdps = [inst.mdp for inst in bat]
    assert max(m.n_states for m in mdps) >= 5 and max(m.n_actions for m in mdps) >= 4
    assert max(m.horizon for m in mdps) >= 8
    gammas = {m.discount for m in mdps}
    assert len(gammas) >= 4 and all(0 < g <= 1 for g in gammas)
    rewards = {r for m in mdps for row in m.rewards for a in row for r in a}
    assert min(rewards) < 0 < max(rewards) and max(abs(r) for r in rewards) >= 100


def test_battery_is_fresh_per_run_and_replays_from_its_seed():
    a, b_ = default_battery(n_random=4), default_battery(n_random=4)
    assert a.seed != b_.seed or [i.describe() for i in a] != [i.describe() for i in b_]
    again = default_battery(n_random=4, seed=a.seed)
    assert [i.describe() for i in again] == [i.describe() for i in a]


@pytest.mark.parametrize("name", sorted(BATTERIES))
def test_every_battery_states_its_name_ranges_and_seed(name):
    bat = BATTERIES[name](seed=8341, n_random=4)
    scope = scope_of(bat)
    assert scope.text.startswith(f"{name}: ") and "seed 8341" in scope.text
    if scope.unit == "MDPs":
        # Never a box: the shapes (S, A, H) actually checked are listed, in text and JSON.
        shapes = sorted({(x.mdp.n_states, x.mdp.n_actions, x.mdp.horizon) for x in bat})
        kind = "the shapes" if len(shapes) > 1 else "the shape"
        assert f"only {kind} (S, A, H) = " + ", ".join(map(str, shapes)) + ";" in scope.text, scope.text
        assert "γ " in scope.text and "S ≤" not in scope.text and "H ≤" not in scope.text
        assert {"S", "A", "H", "gamma", "seed", "battery", "shapes"} <= set(scope.data)
        assert scope.data["shapes"] == [list(x) for x in shapes]


def test_narrow_batteries_read_as_narrow():
    text = scope_of(BATTERIES["bandits"](seed=5, n_random=4)).text
    assert "S = 1" in text and "H = 0" in text and text.startswith("bandits:")


def test_one_shape_is_named_once():
    from derive.battery import Battery

    one = [x for x in battery(seed=5) if x.mdp.n_states == 1][:1]
    text = scope_of(Battery(one, name="given", seed=None)).text
    S, A, H = one[0].mdp.n_states, one[0].mdp.n_actions, one[0].mdp.horizon
    assert text.startswith(f"given: only the shape (S, A, H) = ({S}, {A}, {H}); γ = "), text
    assert f"S = {S}" not in text, text


def test_verdict_quotes_the_scope():
    bat = battery(seed=8341)
    report = verdict(J(), sum_tau(unevaluated_mul(P(), R())), bat=bat)
    assert report.ok
    assert re.fullmatch(r"checked on \d+ MDPs \(default: only the shapes \(S, A, H\) = (\(\d+, \d+, \d+\)(, )?)+; "
                        r"γ ∈ \[\d+/\d+, 1\]; seed 8341\)",
                        report.verdict), report.verdict
    assert report.to_dict()["scope_data"]["seed"] == 8341


# -- correction terms that vanish on a narrow battery --------------------------------

def test_factor_vanishing_for_small_horizons_fails():
    assert not holds(J(), J() + H * (H - 1) * (H - 2) * (H - 3))


def test_factor_vanishing_for_few_states_fails():
    assert not holds(J(), J() + (S_ - 1) * (S_ - 2) * (S_ - 3))


def test_factor_vanishing_for_few_actions_fails():
    assert not holds(J(), J() + (A_ - 1) * (A_ - 2) * (A_ - 3))


def test_polynomial_in_gamma_with_the_old_values_as_roots_fails():
    assert not holds(J(), J() + (gamma - 1) * (gamma - sp.Rational(1, 2)) * (gamma - sp.Rational(9, 10)))


def test_constant_divisible_by_many_primes_fails():
    N = sp.Integer(1)
    for p in sp.primerange(2**30, 2**30 + 40_000):  # ~1,900 primes of the range the check draws from
        N *= p
    assert not holds(J(), J() + N)


def test_true_twins_pass():
    assert holds(J(), sum_tau(unevaluated_mul(P(), R())))
    assert holds(sp.Integer(1), StateSum(InitialDistribution(x)))
    assert holds(sp.Integer(1), ActionSum(Policy(b, x, theta), b))
    N = sp.prod(sp.primerange(2**30, 2**30 + 4000))
    assert holds(J() + N, sum_tau(unevaluated_mul(P(), R() + N)))


def test_large_instances_catch_a_term_vanishing_on_small_shapes():
    # H(H−1)…(H−4)(S−1)(A−1) is 0 on every instance small enough to enumerate; the large ones go by DP.
    from derive.notation import H, J, StateSum, ActionSum
    from soundness_helpers import verdict as _verdict

    S, A = StateSum(sp.Integer(1)), ActionSum(sp.Integer(1))
    term = sp.Mul(*[H - k for k in range(5)], S - 1, A - 1, evaluate=False)
    for seed in (1, 2, 3):
        bat = default_battery(n_random=2, seed=seed)
        assert sum(x.mdp.n_states >= 2 and x.mdp.n_actions >= 2 and x.mdp.horizon >= 5 for x in bat) >= 2
        assert _verdict(J(), sp.Add(J(), term, evaluate=False), bat=bat).verdict == "failed"
        assert _verdict(J(), sp.Add(J(), sp.Mul(0, term, evaluate=False), evaluate=False), bat=bat).ok


def test_lines_in_a_free_trajectory_are_checked_on_the_large_instances_too_and_say_how():
    from derive.notation import R, P, Sample, sum_tau
    from soundness_helpers import verdict as _verdict

    bat = default_battery(n_random=2, seed=4)
    line = sp.Mul(P(), R(), evaluate=False)  # a free τ: every trajectory at once, by random product weights
    report = _verdict(sp.Mul(2, line, evaluate=False), sp.Add(line, line, evaluate=False), bat=bat)
    assert report.ok, report.verdict
    assert "excluded" not in report.verdict and "only the shapes (S, A, H) = " in report.verdict
    assert "random product-weight identity test" in report.verdict and report.instances == len(bat)
    # A shape the product weights do not cover still leaves the large instances out, and says so.
    T1, T2 = Sample(sp.Integer(1)), Sample(sp.Integer(2))
    coupled = sp.Pow(sp.Add(R(T1) ** 2, R(T2) ** 2, 1, evaluate=False), -1, evaluate=False)
    report = _verdict(sp.Mul(2, coupled, evaluate=False), sp.Add(coupled, coupled, evaluate=False), bat=bat)
    assert "excluded: too large to enumerate" in report.verdict and report.instances < len(bat)
    assert not _verdict(sp.Mul(2, line, evaluate=False), sp.Add(line, line, R(), evaluate=False), bat=bat).ok


# -- values: a claim fitted to every value a battery could draw ------------------------

def _small_rewards():
    """Every reward the battery could draw when rewards were k/d·s with |k| ≤ 9, d ≤ 7 (413 values)."""
    scales = (F(1, 1000), F(1, 10), F(1), F(10), F(10**4))
    return sorted({F(k, d) * s for s in scales for k in range(-9, 10) for d in range(1, 8)})


def _small_random(seed: int):
    """The battery's random MDPs with S ≥ 2 and at most 100 trajectories: an exact counterexample of a
    degree-300 claim costs seconds per thousand trajectories, and these suffice to show the values."""
    from derive.battery import Battery

    bat = battery(seed=seed, n_random=12)
    few = [x for x in bat if x.name.startswith("random") and x.mdp.n_states >= 2
           and x.mdp.n_states * (x.mdp.n_states * x.mdp.n_actions) ** (x.mdp.horizon + 1) <= 100]
    assert few, "the battery draws small random MDPs with two states or more"
    return Battery(few, name=bat.name, seed=bat.seed)


def _vanishing_on(symbol, values):
    return sp.Mul(*[symbol - sp.Rational(v.numerator, v.denominator) for v in values], evaluate=False)


def test_a_claim_true_only_for_rewards_in_a_small_set_fails():
    from derive.notation import r, sum_t, t

    # J = Σ_τ P Σ_t γ^t r_t (1 + Π_v (r_t − v)): true exactly when every reward is one of the 413.
    f = 1 + _vanishing_on(r(), _small_rewards() + [F(1, 2), F(5, 2), F(1, 3)])
    bad = sum_tau(unevaluated_mul(P(), sum_t(gamma**t * r() * f)))
    assert not holds(J(), bad, bat=_small_random(12))


def test_the_same_polynomials_cancelling_exactly_still_hold():
    from derive.notation import r, sum_t, t

    g = _vanishing_on(r(), _small_rewards()[:60])
    true = sum_tau(unevaluated_mul(P(), sum_t(gamma**t * r() * (1 + g)))) \
        - sum_tau(unevaluated_mul(P(), sum_t(gamma**t * r() * g)))
    assert holds(J(), true, bat=_small_random(12))


def _small_probabilities():
    """Every probability a random table could hold when its weights were 0..6 on at most 8 points (x/W, W ≤ 48)."""
    return sorted({F(k, W) for W in range(1, 49) for k in range(0, min(6, W) + 1)})


def _probability(which: str):
    from derive.notation import dynamics, mu

    return mu() if which == "mu" else dynamics(0)


@pytest.mark.parametrize("which", ["mu", "dynamics"])
def test_a_claim_true_only_for_probabilities_in_a_small_set_fails(which):
    # J = Σ_τ P R (1 + Π_v (μ(s_0) − v)), v over every value μ could take from small weights: true on such a battery.
    f = 1 + _vanishing_on(_probability(which), _small_probabilities())
    bad = sum_tau(unevaluated_mul(P(), R(), f))
    assert not holds(J(), bad, bat=_small_random(12))


@pytest.mark.parametrize("which", ["mu", "dynamics"])
def test_the_same_probability_polynomials_cancelling_exactly_still_hold(which):
    g = _vanishing_on(_probability(which), _small_probabilities())
    true = sum_tau(unevaluated_mul(P(), R(), 1 + g)) - sum_tau(unevaluated_mul(P(), R(), g))
    assert holds(J(), true, bat=_small_random(12))


def _prime_past(n: int, lo: int = 10**6) -> bool:
    return any(p >= lo for p in sp.factorint(n))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_random_value_has_a_large_prime_in_its_denominator(seed):
    # The mechanism behind the failure above: no value set a claim could list in advance.
    import random

    from derive.check import _baseline

    for inst in default_battery(seed=seed):
        if not inst.name.startswith(("random", "large")):
            continue  # the hand-made edge cases are fixed on purpose
        m = inst.mdp
        # Rewards, γ, baselines, μ, the dynamics and the point (z = e^θ, or a direct policy's θ).
        values = [r_ for row in m.rewards for acts in row for r_ in acts]
        if m.discount != 1:
            values.append(m.discount)
        values += _baseline(inst, random.Random(seed))
        values += list(m.initial) + [p for row in m.transitions for dist in row for p in dist] + list(inst.point)
        strange = [v for v in values if v not in (0, 1) and not _prime_past(F(v).denominator)]
        assert not strange, (inst.name, strange[:5])


def _trial_division_prime(rng, lo, hi):
    """The old _prime_between, by trial division: the reference the fast primality test must match."""
    n = rng.randrange(lo, hi)
    while n < 4 or any(n % d == 0 for d in range(2, int(n ** 0.5) + 1)):
        n += 1
    return n


def test_the_primes_drawn_are_those_trial_division_finds():
    # The same seed draws the same primes as before (batteries replay), and every one is prime.
    import random

    from derive.battery import LARGE_PRIMES, _prime_between

    for lo, hi in (LARGE_PRIMES, (2, 60), (10**6 - 50, 10**6 + 50)):
        fast, slow = random.Random(lo), random.Random(lo)
        drawn = [_prime_between(fast, lo, hi) for _ in range(400)]
        assert drawn == [_trial_division_prime(slow, lo, hi) for _ in range(400)]
        assert all(sp.isprime(q) and q >= 4 for q in drawn)
    # Not vacuous: a start on a composite moves to the next prime, not to itself.
    class At:
        def __init__(self, n):
            self.n = n

        def randrange(self, lo, hi):
            return self.n
    assert _prime_between(At(10**6), 10**6, 2 * 10**6) == 1000003 == _trial_division_prime(At(10**6), 0, 1)
    assert _prime_between(At(2), 2, 9) == 5  # n < 4 skipped, as trial division's loop skipped it
