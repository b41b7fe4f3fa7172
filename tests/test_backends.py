"""Number systems: exact where they claim to be, and honest where they cannot represent a value."""

import random
from fractions import Fraction as F

import numpy as np
import pytest

from derive.backends import Exact, HighPrecision, ModPrime, NotRepresentable, random_prime


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


def test_high_precision_logs_and_tolerance():
    bk = HighPrecision()
    two = bk.const(F(2))
    lhs = bk.add(bk.log(np.array([two], dtype=object)), bk.log(np.array([bk.const(F(3))], dtype=object)))
    rhs = bk.log(np.array([bk.const(F(6))], dtype=object))
    assert bk.equal(lhs, rhs).all()
    wrong = bk.log(np.array([bk.const(F(6) + F(1, 10**20))], dtype=object))
    assert not bk.equal(lhs, wrong).any()
