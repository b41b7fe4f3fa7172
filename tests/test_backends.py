"""Number systems: exact where they claim to be, and honest where they cannot represent a value."""

import random
from fractions import Fraction as F

import numpy as np
from flint import fmpq
import pytest

from derive.backends import (
    Ball, Exact, LogLinear, LogLinearNumber, ModPrime, NotRepresentable, coprime_base, exact_rational, random_prime,
    sympy_ball,
)


def test_mod_prime_inverse_and_fractions():
    bk = ModPrime(1000003)
    x = bk.table([F(2, 3), F(-5, 7)])
    assert np.all(bk.mul(x, bk.inv(x)) == 1)
    assert bk.const(F(1, 3)) * 3 % bk.p == 1


def test_mod_prime_equality_detects_a_difference():
    bk = ModPrime(random_prime(random.Random(1)))
    assert bk.equal(bk.const(F(1, 3)), bk.const(F(1, 3)))
    assert not bk.equal(bk.const(F(1, 3)), bk.const(F(1, 3) + F(1, 10**9)))


def test_mod_prime_division_by_zero_is_reported():
    bk = ModPrime(101)
    with pytest.raises(ZeroDivisionError):
        bk.inv(np.array([1, 0, 3], dtype=np.int64))


def test_random_primes_are_prime_and_fit_int64_products():
    import sympy

    p = random_prime(random.Random(7))
    assert sympy.isprime(p) and 2**30 < p < 2**31


def test_exact_log_is_only_representable_at_one():
    bk = Exact()
    assert bk.log(np.array([F(1)], dtype=object))[0] == 0
    with pytest.raises(NotRepresentable):
        bk.log(np.array([F(2)], dtype=object))


def test_log_linear_decides_log_identities_exactly():
    bk = LogLinear()
    lhs = bk.add(bk.log(bk.table([F(2)])), bk.log(bk.table([F(3)])))
    assert bk.equal(lhs, bk.log(bk.table([F(6)]))).all()
    # A difference of 10^-20 inside the log is a difference, however large the common term.
    assert not bk.equal(lhs, bk.log(bk.table([F(6) + F(1, 10**20)]))).any()
    big = bk.mul(bk.const(F(10**50)), bk.log(bk.table([F(2)])))
    J = bk.const(F(7, 3))
    assert not bk.equal(bk.add(J, big), bk.add(bk.mul(bk.const(2), J), big)).any()


def test_log_linear_coprime_base_handles_large_cofactors():
    p, q = 2**61 - 1, 2**89 - 1  # primes past trial division
    x = LogLinearNumber(F(p * q)).log()
    y = LogLinearNumber(F(p)).log() + LogLinearNumber(F(q)).log()
    assert (x - y).is_zero()
    assert not (x - LogLinearNumber(F(p)).log() * 2).is_zero()
    base = coprime_base([p * q, p * p, q * 6])
    assert all(__import__("math").gcd(a, c) == 1 for a in base for c in base if a != c)


def test_coprime_base_is_pairwise_coprime_and_generates_every_input():
    import math
    import random

    rng = random.Random(4)
    primes = [2, 3, 1009, 1013, 10**6 + 3, 2**61 - 1, 2**89 - 1]
    for _ in range(40):
        nums = [math.prod(rng.choice(primes) ** rng.randint(0, 3) for _ in range(3)) for _ in range(rng.randint(1, 12))]
        base = coprime_base(nums)
        assert all(math.gcd(a, c) == 1 for a in base for c in base if a != c)
        for n in nums:
            for b_ in base:
                while n % b_ == 0:
                    n //= b_
            assert n == 1


def test_log_linear_zero_is_decided_exactly_past_any_ball():
    # Hundreds of logs whose cofactors share factors (c and c², and a common prime past trial division):
    # exactly zero, and a change of 10^-60 in one coefficient is exactly nonzero (no ball of 128 bits sees it).
    import random

    rng = random.Random(7)
    p = 2**61 - 1
    cs = [rng.randrange(10**40, 10**41) for _ in range(300)]
    log = lambda n: LogLinearNumber(F(n)).log()  # noqa: E731
    zero = LogLinear().sum(np.array([log(c * c * p) - log(c) * 2 - log(p) for c in cs], dtype=object))[()]
    assert zero.logs and zero.r == 0 and zero.is_zero()
    tiny = zero + LogLinearNumber(F(c := cs[0])).log() * F(1, 10**60) - LogLinearNumber(F(c)).log() * F(1, 10**60 + 1)
    assert not tiny.is_zero()
    assert LogLinearNumber.of(tiny - tiny).is_zero()


def test_log_linear_refuses_products_of_logs():
    two = LogLinearNumber(F(2)).log()
    with pytest.raises(NotRepresentable):
        two * two


def test_log_of_a_negative_number_is_not_a_value():
    from derive.backends import _NegativeEntries

    with pytest.raises(_NegativeEntries):
        LogLinear().log(LogLinear().table([F(-2)]))


def test_floats_convert_exactly():
    import sympy as sp

    assert exact_rational(0.5) == F(1, 2)
    assert exact_rational(0.1) == F(3602879701896397, 2**55) != F(1, 10)
    assert exact_rational(sp.Float(0.1)) == exact_rational(0.1)


def test_balls_prove_differences_and_never_equalities():
    import sympy as sp

    tiny = sp.Add(sp.exp(sp.Rational(1, 3)), -sp.exp(sp.Rational(1, 3) + sp.Rational(1, 10**70)), evaluate=False)
    assert not sympy_ball(tiny, 512).contains(0)       # separated at enough precision
    assert sympy_ball(tiny, 128).contains(0)           # too coarse: proves nothing
    bk = Ball(256)
    v = bk.log(bk.table([F(2)]))
    assert not bk.separated(bk.add(v, bk.neg(v))).any()
    assert not bk.is_zero(bk.add(v, bk.neg(v))).any()  # a zero-containing ball is not "equal"


def test_log_linear_rational_shortcut_equals_the_general_route():
    # a + b and a · b of two rationals are built directly; the values equal those with logs cancelled out.
    import random

    rng = random.Random(5)
    log2 = LogLinearNumber(F(2)).log()
    for _ in range(200):
        p, q = (F(rng.randint(-50, 50), rng.randint(1, 50)) for _ in range(2))
        x, y = LogLinearNumber(p), LogLinearNumber(q)
        q_ = fmpq(q.numerator, q.denominator)
        # (x + log 2) − log 2 takes the general route, and must equal the shortcut's value.
        assert x + y == LogLinearNumber(p + q) == (x + log2) + y - log2
        # A rational result is a bare fmpq (arrays of log-linear numbers hold their rationals so).
        assert x * y == LogLinearNumber(p * q) and type(x * y) is fmpq and x * y == fmpq(p.numerator, p.denominator) * q_
        assert LogLinearNumber.of(x * y).fraction == p * q and not LogLinearNumber.of(x * y).logs
        logs = LogLinearNumber.of(x * log2).logs
        assert {n: F(int(c.p), int(c.q)) for n, c in logs.items()} == ({2: p} if p else {}) and (x * y) + 1 == LogLinearNumber(p * q + 1)
        assert hash(x * y) == hash(LogLinearNumber(p * q))
    assert (LogLinearNumber(F(3)) * 2) == 6 and (2 * LogLinearNumber(F(3))) == 6
