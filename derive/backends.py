"""Number systems for evaluating expressions on an instance, vectorised over trajectories.

* ``ModPrime``: exact arithmetic in the field Z/pZ for a random prime p < 2^31 (int64
  arrays). Two values that differ mod p certainly differ as rationals; equal mod p means
  equal with probability ≥ 1 − (size of their difference)/p — a randomized exact identity
  test. Fast: one NumPy operation per node per batch.
* ``Exact``: Fractions in object arrays; slow, used to report exact values.
* ``HighPrecision``: 50-digit mpmath floats; used only when a log's *value* (not its
  derivative) is needed, which is not rational.
"""

from __future__ import annotations

import random
from fractions import Fraction

import mpmath
import numpy as np
import sympy

__all__ = ["Backend", "ModPrime", "Exact", "HighPrecision", "NotRepresentable", "random_prime"]


class NotRepresentable(ArithmeticError):
    """The value leaves the backend's number system (e.g. log 2 in the rationals)."""


class Backend:
    """The arithmetic one evaluation runs in; values are NumPy arrays (0-d for scalars)."""

    name = "backend"
    exact = True

    def const(self, q: Fraction):
        raise NotImplementedError

    def table(self, nested) -> np.ndarray:
        arr = np.array(nested, dtype=object)
        return np.vectorize(self.const, otypes=[self.dtype])(arr) if arr.size else arr.astype(self.dtype)

    def add(self, x, y):
        raise NotImplementedError

    def mul(self, x, y):
        raise NotImplementedError

    def neg(self, x):
        raise NotImplementedError

    def inv(self, x):
        """1/x; raises ZeroDivisionError with the flat indices of the zero entries."""
        raise NotImplementedError

    def log(self, x):
        raise NotRepresentable(f"log is not representable in {self.name}")

    def sum(self, x, axis=None):
        raise NotImplementedError

    def is_zero(self, x) -> np.ndarray:
        raise NotImplementedError

    def equal(self, x, y) -> np.ndarray:
        return self.is_zero(self.add(x, self.neg(y)))

    def zero(self):
        return self.const(Fraction(0))

    def one(self):
        return self.const(Fraction(1))


class _ZeroEntries(ZeroDivisionError):
    def __init__(self, where):
        super().__init__("division by zero")
        self.where = where  # flat indices of the zero entries


def random_prime(rng: random.Random) -> int:
    """A random prime in [2^30, 2^31): products of two residues fit in int64."""
    while True:
        c = rng.randrange(2**30 + 1, 2**31, 2)
        if sympy.isprime(c):
            return c


class ModPrime(Backend):
    """Exact arithmetic modulo a prime p (randomized identity testing)."""

    name = "integers mod p"
    dtype = np.int64

    def __init__(self, p: int):
        self.p = int(p)

    def const(self, q: Fraction):
        q = Fraction(q)
        den = q.denominator % self.p
        if den == 0:
            raise NotRepresentable(f"{q} has a denominator divisible by p={self.p}")
        return np.int64(q.numerator % self.p * pow(den, -1, self.p) % self.p)

    def table(self, nested):
        arr = np.array(nested, dtype=object)
        flat = [self.const(v) for v in arr.ravel()]
        return np.array(flat, dtype=np.int64).reshape(arr.shape)

    def add(self, x, y):
        return np.add(x, y) % self.p

    def mul(self, x, y):
        return np.multiply(x, y) % self.p

    def neg(self, x):
        return np.negative(x) % self.p

    def inv(self, x):
        x = np.asarray(x, dtype=np.int64)
        zero = x == 0
        if zero.any():
            raise _ZeroEntries(np.flatnonzero(zero))
        # Fermat: x^(p-2), square-and-multiply on the whole array.
        result = np.ones_like(x)
        base = x.copy()
        e = self.p - 2
        while e:
            if e & 1:
                result = result * base % self.p
            base = base * base % self.p
            e >>= 1
        return result

    def sum(self, x, axis=None):
        # Entries are < 2^31, so a sum of up to 2^32 of them fits in int64.
        return np.sum(x, axis=axis, dtype=np.int64) % self.p

    def is_zero(self, x):
        return np.asarray(x) == 0

    def __repr__(self):
        return f"ModPrime({self.p})"


class _ObjectBackend(Backend):
    dtype = object

    def table(self, nested):
        arr = np.array(nested, dtype=object)
        out = np.empty(arr.shape, dtype=object)
        for idx, v in np.ndenumerate(arr):
            out[idx] = self.const(v)
        return out

    def add(self, x, y):
        return np.add(x, y, dtype=object)

    def mul(self, x, y):
        return np.multiply(x, y, dtype=object)

    def neg(self, x):
        return np.negative(np.asarray(x, dtype=object))

    def inv(self, x):
        x = np.asarray(x, dtype=object)
        zero = np.array([v == 0 for v in x.ravel()], dtype=bool).reshape(x.shape)
        if zero.any():
            raise _ZeroEntries(np.flatnonzero(zero))
        one = self.one()
        return np.vectorize(lambda v: one / v, otypes=[object])(x) if x.ndim else np.asarray(one / x[()], dtype=object)

    def sum(self, x, axis=None):
        x = np.asarray(x, dtype=object)
        if x.size == 0:
            shape = () if axis is None else x.shape[:axis] + x.shape[axis + 1:]
            out = np.empty(shape, dtype=object)
            out[...] = self.zero()
            return out
        return np.asarray(np.sum(x, axis=axis), dtype=object)

    def is_zero(self, x):
        x = np.asarray(x, dtype=object)
        return np.array([v == 0 for v in x.ravel()], dtype=bool).reshape(x.shape)


class Exact(_ObjectBackend):
    """Exact rationals (Fractions in object arrays)."""

    name = "exact rationals"

    def const(self, q):
        return Fraction(q)

    def log(self, x):
        x = np.asarray(x, dtype=object)
        if all(v == 1 for v in x.ravel()):
            out = np.empty(x.shape, dtype=object)
            out[...] = Fraction(0)
            return out
        raise NotRepresentable("log of a rational other than 1 is irrational")


class HighPrecision(_ObjectBackend):
    """mpmath floats with 50 significant digits (only where a log value is needed)."""

    name = "50-digit floats"
    exact = False
    digits = 50

    def __init__(self):
        self.ctx = mpmath.MPContext()
        self.ctx.dps = self.digits

    def const(self, q):
        q = Fraction(q)
        return self.ctx.mpf(q.numerator) / q.denominator

    def log(self, x):
        x = np.asarray(x, dtype=object)
        zero = np.array([v == 0 for v in x.ravel()], dtype=bool)
        if zero.any():
            raise _ZeroEntries(np.flatnonzero(zero))
        if any(v < 0 for v in x.ravel()):
            raise NotRepresentable("log of a negative number")
        return np.vectorize(self.ctx.log, otypes=[object])(x) if x.ndim else np.asarray(self.ctx.log(x[()]), dtype=object)

    def is_zero(self, x, *, scale=None):
        x = np.asarray(x, dtype=object)
        tol = self.ctx.mpf(10) ** (-(self.digits - 15))
        return np.array([abs(v) <= tol for v in x.ravel()], dtype=bool).reshape(x.shape)

    def equal(self, x, y):
        x = np.asarray(x, dtype=object)
        y = np.asarray(y, dtype=object)
        tol = self.ctx.mpf(10) ** (-(self.digits - 15))
        diff = np.subtract(x, y, dtype=object)
        scale = np.add(np.abs(x), np.abs(y), dtype=object) + 1
        d, sc = np.broadcast_arrays(diff, scale)
        return np.array([abs(a) <= tol * b for a, b in zip(d.ravel(), sc.ravel())], dtype=bool).reshape(d.shape)
