"""Number systems for evaluating expressions on an instance, vectorised over trajectories.

* ``ModPrime``: exact arithmetic in the field Z/pZ for a random prime p < 2^31 (int64
  arrays). Two values that differ mod p certainly differ as rationals; equal mod p means
  equal with probability ≥ 1 − (size of their difference)/p — a randomized exact identity
  test. Fast: one NumPy operation per node per batch.
* ``Exact``: Fractions in object arrays; slow, used to report exact values.
* ``LogLinear``: exact numbers r + Σ_j q_j log n_j (r, q_j rational, n_j positive integers):
  the values a log of a rational produces. Zero is decided exactly: the n_j are refined to a
  coprime base, whose logs are linearly independent over Q and (Lindemann) independent of 1.
* ``Ball``: rigorous ball arithmetic (python-flint ``arb``); used only where a value leaves
  the log-linear numbers (a product of two logs). A ball that excludes 0 proves a difference;
  a ball that contains 0 proves nothing — that is a weaker, numeric verdict.
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import sympy
from flint import fmpq as _fmpq

__all__ = [
    "Backend", "ModPrime", "Exact", "LogLinear", "LogLinearNumber", "Ball", "NotRepresentable", "Undecidable",
    "random_prime", "exact_rational", "coprime_base", "fraction_parts",
]


def number_text(q) -> str:
    """An exact rational as text; one with more than 60 digits abbreviated to its size (exact values are in the tables)."""
    q = Fraction(int(q.p), int(q.q)) if hasattr(q, "p") else Fraction(q)  # flint's fmpq or any rational
    big = max(abs(q.numerator), q.denominator)
    if big.bit_length() < 200:
        return str(q)
    digits = int(big.bit_length() * 0.30103)
    return f"({'negative ' if q < 0 else ''}rational of about {digits} digits)"


class NotRepresentable(ArithmeticError):
    """The value leaves the backend's number system (e.g. log 2 in the rationals)."""


class Undecidable(ArithmeticError):
    """A ball contains 0 where the evaluation needs to know whether it is 0 (e.g. to divide)."""


def exact_rational(value) -> Fraction:
    """The exact rational a Python or SymPy number stands for: 0.5 is 1/2, 0.1 is 3602879701896397/2^55."""
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(*value.as_integer_ratio())
    if isinstance(value, sympy.Float):
        sign, man, exp, _ = value._mpf_
        q = Fraction(int(man)) * (Fraction(2) ** int(exp))
        return -q if sign else q
    if isinstance(value, sympy.Rational):
        return Fraction(int(value.p), int(value.q))
    raise TypeError(f"{value!r} is not a rational number")


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

    def all_zero(self, x) -> bool:
        """Whether every entry of x is 0."""
        return bool(np.all(self.is_zero(x)))

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
        self._zero, self._one = np.int64(0), np.int64(1)
        self._residues: dict = {}

    def zero(self):
        return self._zero  # np.int64 is immutable: one object serves every use

    def one(self):
        return self._one

    def const(self, q: Fraction):
        if type(q) is int:
            return np.int64(q % self.p)
        try:
            return self._residues[q]  # tables repeat a few values: each one's inverse mod p is taken once
        except (KeyError, TypeError):
            pass
        r = Fraction(q)
        den = r.denominator % self.p
        if den == 0:
            raise NotRepresentable(f"{r} has a denominator divisible by p={self.p}")
        out = np.int64(r.numerator % self.p * pow(den, -1, self.p) % self.p)
        if len(self._residues) < 65536:
            self._residues[q] = out
        return out

    def table(self, nested):
        arr = np.array(nested, dtype=object)
        flat = [self.const(v) for v in arr.ravel()]
        return np.array(flat, dtype=np.int64).reshape(arr.shape)

    def fraction_table(self, parts: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The table whose entries are num/den (object arrays of Python ints, see :func:`fraction_parts`), mod p."""
        num, den = parts
        if num.size == 0:
            return num.astype(np.int64)
        d = (den % self.p).astype(np.int64)
        if not d.all():
            j = int(np.flatnonzero(d == 0)[0])
            raise NotRepresentable(f"{Fraction(int(num.ravel()[j]), int(den.ravel()[j]))} has a denominator "
                                   f"divisible by p={self.p}")
        uniq, back = np.unique(d, return_inverse=True)
        inv = np.array([pow(int(u), -1, self.p) for u in uniq], dtype=np.int64)[back].reshape(d.shape)
        return (num % self.p).astype(np.int64) * inv % self.p

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
        if x.size <= 16:  # a few values: Python's modular inverse, not 60 array operations
            out = np.array([pow(int(v), -1, self.p) for v in x.ravel()], dtype=np.int64)
            return out.reshape(x.shape)
        if x.size > 64:  # values gathered from small tables repeat: invert each distinct one once
            uniq, back = np.unique(x, return_inverse=True)
            if uniq.size * 4 < x.size:
                return self.inv(uniq)[back].reshape(x.shape)
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

    def all_zero(self, x) -> bool:
        return x is self._zero or not np.any(x)

    def __repr__(self):
        return f"ModPrime({self.p})"


def fraction_parts(nested) -> tuple[np.ndarray, np.ndarray]:
    """A nested table of rationals as two object arrays of Python ints: numerators and denominators."""
    arr = np.array(nested, dtype=object)
    num = np.empty(arr.shape, dtype=object)
    den = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        q = Fraction(v)  # as ModPrime.const reads an entry
        num[idx], den[idx] = q.numerator, q.denominator
    return num, den


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

# -- exact log-linear numbers ---------------------------------------------------------

MAX_FACTOR_BITS = 4096  # integers written as products of primes exactly; larger ones go to balls
_SMALL_PRIMES = tuple(int(q) for q in sympy.primerange(2, 1000))


_SPLITS: dict = {}


def _split(n: int) -> dict:
    """n > 0 as {factor: exponent}: small primes by trial division, the rest as one cofactor (memoised)."""
    found = _SPLITS.get(n)
    if found is not None:
        return found
    if n.bit_length() > MAX_FACTOR_BITS:
        raise NotRepresentable(f"an integer of {n.bit_length():,} bits is past the limit of {MAX_FACTOR_BITS:,} "
                               "bits for exact factoring")
    key, out = n, {}
    for q in _SMALL_PRIMES:
        if n == 1 or q * q > n:
            break
        if n % q == 0:
            e = 0
            while n % q == 0:
                n //= q
                e += 1
            out[q] = e
    if n > 1:
        root, e = _perfect_root(n)  # (R+c)² and R+c then share one base element, not two that need refining
        out[root] = out.get(root, 0) + e
    if len(_SPLITS) > 1 << 16:
        _SPLITS.clear()
    _SPLITS[key] = out
    return out


def _perfect_root(n: int) -> tuple[int, int]:
    """(r, e) with n = r^e and e as large as possible (n > 1)."""
    from flint import fmpz

    x, e = fmpz(n), 1
    while x > 1 and x.is_perfect_power():
        k = 2
        while k <= x.bit_length():  # the least k with x a k-th power
            r = x.root(k)
            if r ** k == x:
                x, e = r, e * k
                break
            k += 1
        else:
            break
    return int(x), e


def _isolated(numbers: list[int]) -> list[bool]:
    """For distinct integers > 1: whether each is coprime to the product of all the others (batch gcd).

    A product tree and a remainder tree over it (Bernstein): n is coprime to P/n exactly when
    gcd(n, (P mod n²)/n) = 1; in flint's integers, quasi-linear in the total size.
    """
    from math import gcd

    from flint import fmpz

    if len(numbers) < 2:
        return [True] * len(numbers)
    tree = [[fmpz(n) for n in numbers]]
    while len(tree[-1]) > 1:
        level = tree[-1]
        tree.append([level[i] * level[i + 1] if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)])
    rems = tree[-1]
    for level in reversed(tree[:-1]):
        rems = [rems[i // 2] % (x * x) for i, x in enumerate(level)]
    return [gcd(n, int(r) // n) == 1 for n, r in zip(numbers, rems)]


def _refine(numbers) -> list[int]:
    """A coprime base of the given integers > 1, by inserting one at a time into a pairwise coprime set.

    Inserting x: where it shares g > 1 with a base element b, b leaves the base and g, b/g, x/g are
    inserted in turn (the product of base and pending numbers drops by g at each split, so this ends).
    """
    from math import gcd

    base: list[int] = []
    for n in numbers:
        pending = [int(n)]
        while pending:
            x = pending.pop()
            if x == 1:
                continue
            for j, b_ in enumerate(base):
                g = gcd(x, b_)
                if g > 1:
                    base[j] = base[-1]
                    base.pop()
                    pending.extend((g, b_ // g, x // g))
                    break
            else:
                base.append(x)
    return base


def coprime_base(numbers) -> list[int]:
    """Pairwise coprime integers > 1 of which every given integer > 1 is a product of powers."""
    nums = sorted({int(n) for n in numbers if n > 1})
    alone = _isolated(nums)
    return sorted([n for n, a in zip(nums, alone) if a] + _refine([n for n, a in zip(nums, alone) if not a]))


def _exponents(n: int, base: list[int]) -> dict:
    out = {}
    for q in base:
        e = 0
        while n % q == 0:
            n //= q
            e += 1
        if e:
            out[q] = e
    if n != 1:  # cannot happen for a coprime base of a set containing n
        raise ArithmeticError(f"{n} is not a product of the base")
    return out


def _logs_vanish(logs: dict) -> bool:
    """Whether Σ q_n log n = 0, exactly: over a coprime base the logs are independent over Q.

    An n coprime to every other n is its own base element, so its coefficient must be 0 itself;
    only the n that share a factor with another are rewritten over a base of theirs.
    """
    nums = [n for n, q in logs.items() if q != 0]
    alone = _isolated(nums)
    if any(alone):
        return False
    shared = nums
    base = _refine(shared)
    total: dict = {}
    for n in shared:
        for b_, e in _exponents(n, base).items():
            total[b_] = total.get(b_, 0) + logs[n] * e
    return all(v == 0 for v in total.values())


BALL_BITS = 128  # precision of the ball that may prove a log-linear number nonzero before the exact test


def _ball_excludes_zero(x: "LogLinearNumber") -> bool:
    """True when a rigorous ball around r + Σ q log n excludes 0 (a proof that it is nonzero); never proves 0."""
    from flint import arb, ctx

    saved = ctx.prec
    ctx.prec = BALL_BITS
    try:
        out = arb(x.r)
        for n, q in x.logs.items():
            out += arb(q) * arb(n).log()
        return not out.contains(0)
    finally:
        ctx.prec = saved


def _q(value):
    """The exact rational a number stands for, as flint's fmpq (its arithmetic is several times faster than Fraction's)."""
    if type(value) is _fmpq:
        return value
    if isinstance(value, int):
        return _fmpq(value)
    q = exact_rational(value)
    return _fmpq(q.numerator, q.denominator)


def _rational(r):
    """A rational result of log-linear arithmetic: the bare fmpq r. Arrays of log-linear numbers hold rationals
    as fmpq (flint's arithmetic on them, no wrapper per entry) and the rest as LogLinearNumber."""
    return r


def _wrap(r) -> "LogLinearNumber":
    """LogLinearNumber(r) for an fmpq r, without the conversions of __init__."""
    x = object.__new__(LogLinearNumber)
    x.r = r
    x.logs = {}
    return x


class LogLinearNumber:
    """r + Σ_n q_n log n, exactly (n > 1 Python integers, r and q_n rationals held as flint's fmpq).

    fmpq never equals a Fraction (3/4 == Fraction(3, 4) is False): compare r with ints or fmpq, or use .fraction.
    """

    __slots__ = ("r", "logs")

    def __init__(self, r=0, logs=None):
        self.r = _q(r)
        self.logs = {int(n): q for n, q in ((n, _q(q)) for n, q in (logs or {}).items()) if q != 0}

    @staticmethod
    def of(x) -> "LogLinearNumber":
        return x if isinstance(x, LogLinearNumber) else _wrap(_q(x))

    @staticmethod
    def _made(r, logs: dict) -> "LogLinearNumber":
        """From an fmpq and a dictionary of fmpq coefficients (zeros dropped), without converting."""
        logs = {n: q for n, q in logs.items() if q != 0}
        if not logs:
            return r
        x = object.__new__(LogLinearNumber)
        x.r = r
        x.logs = logs
        return x

    @property
    def is_rational(self) -> bool:
        return not self.logs

    @property
    def fraction(self) -> Fraction:
        """The rational part r as a Fraction."""
        return Fraction(int(self.r.p), int(self.r.q))

    def __add__(self, other):
        o = other if isinstance(other, LogLinearNumber) else LogLinearNumber.of(other)
        if not self.logs and not o.logs:  # the common case: two rationals, no dictionaries built
            return _rational(self.r + o.r)
        logs = dict(self.logs)
        for n, q in o.logs.items():
            logs[n] = logs[n] + q if n in logs else q
        return LogLinearNumber._made(self.r + o.r, logs)

    __radd__ = __add__

    def __neg__(self):
        return LogLinearNumber._made(-self.r, {n: -q for n, q in self.logs.items()})

    def __sub__(self, other):
        return self + (-LogLinearNumber.of(other))

    def __rsub__(self, other):
        return LogLinearNumber.of(other) + (-self)

    def __mul__(self, other):
        o = other if isinstance(other, LogLinearNumber) else LogLinearNumber.of(other)
        if not self.logs and not o.logs:
            return _rational(self.r * o.r)
        if self.logs and o.logs:
            raise NotRepresentable("a product of two logarithms is not log-linear")
        if self.logs:
            c = o.r
            return LogLinearNumber._made(self.r * c, {n: q * c for n, q in self.logs.items()})
        c = self.r
        return LogLinearNumber._made(o.r * c, {n: q * c for n, q in o.logs.items()})

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = LogLinearNumber.of(other)
        if o.logs:
            raise NotRepresentable("division by a logarithm is not log-linear")
        if o.r == 0:
            raise ZeroDivisionError("division by zero")
        return self * _rational(1 / o.r)

    def __rtruediv__(self, other):
        return LogLinearNumber.of(other) / self

    def log(self) -> "LogLinearNumber":
        if self.logs:
            raise NotRepresentable("the log of a logarithm is not log-linear")
        if self.r <= 0:
            raise ValueError("log of a non-positive number")
        logs: dict = {}
        for part, sign in ((int(self.r.p), 1), (int(self.r.q), -1)):
            for n, e in _split(part).items():
                logs[n] = logs.get(n, 0) + sign * e
        return LogLinearNumber(0, logs)

    def is_zero(self) -> bool:
        """Exact: the logs are rewritten over a coprime base, independent over Q and of 1."""
        if self.r != 0:
            return False
        if not self.logs:
            return True
        if _ball_excludes_zero(self):  # most differences are far from 0: a ball proves them at once
            return False
        return _logs_vanish(self.logs)

    def __eq__(self, other):
        try:
            return LogLinearNumber.of(self - LogLinearNumber.of(other)).is_zero()
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return hash(self.r) if not self.logs else hash(tuple(sorted(self.logs.items())))

    def ball(self):
        """This number as an arb ball at the current precision."""
        from flint import arb

        out = arb(self.r)
        for n, q in self.logs.items():
            out += arb(q) * arb(n).log()
        return out

    def __str__(self):
        if not self.logs:
            return number_text(self.r)
        parts = [] if self.r == 0 else [number_text(self.r)]
        parts += [f"{number_text(q)}·log {number_text(n)}" if q != 1 else f"log {number_text(n)}"
                  for n, q in sorted(self.logs.items())]
        return " + ".join(parts)

    __repr__ = __str__


class LogLinear(_ObjectBackend):
    """Exact numbers r + Σ q_n log n: logs of positive rationals, exactly."""

    name = "exact log-linear numbers"

    def const(self, q):
        return _q(q)

    def inv(self, x):
        x = np.asarray(x, dtype=object)
        zero = np.array([LogLinearNumber.of(v).is_zero() for v in x.ravel()], dtype=bool).reshape(x.shape)
        if zero.any():
            raise _ZeroEntries(np.flatnonzero(zero))
        out = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            out[idx] = LogLinearNumber(1) / x[idx]
        return out

    def log(self, x):
        x = np.asarray(x, dtype=object)
        flat = [LogLinearNumber.of(v) for v in x.ravel()]
        zero = np.array([v.is_zero() for v in flat], dtype=bool)
        if zero.any():
            raise _ZeroEntries(np.flatnonzero(zero))
        negative = [j for j, v in enumerate(flat) if v.is_rational and v.r < 0]
        if negative:
            raise _NegativeEntries(np.array(negative))
        out = np.empty(x.shape, dtype=object)
        for idx, v in zip(np.ndindex(x.shape), flat):
            out[idx] = v.log()
        return out

    def is_zero(self, x):
        x = np.asarray(x, dtype=object)
        return np.array([LogLinearNumber.of(v).is_zero() for v in x.ravel()], dtype=bool).reshape(x.shape)

    def sum(self, x, axis=None):
        # One dictionary per total: adding pairwise would copy a growing dictionary of logs at every term.
        x = np.asarray(x, dtype=object)
        if axis is None:
            out = np.empty((), dtype=object)
            out[()] = _total(x.ravel())
            return out
        x = np.moveaxis(x, axis, -1)
        out = np.empty(x.shape[:-1], dtype=object)
        for idx in np.ndindex(out.shape):
            out[idx] = _total(x[idx])
        return out


def _total(values) -> LogLinearNumber:
    """The sum of log-linear numbers (or rationals), accumulated in place."""
    r = _q(0)
    logs: dict = {}
    for v in values:
        if isinstance(v, LogLinearNumber):
            r += v.r
            for n, q in v.logs.items():
                logs[n] = logs[n] + q if n in logs else q
        else:
            r += _q(v)
    return LogLinearNumber._made(r, logs) if logs else _rational(r)


class _NegativeEntries(ValueError):
    def __init__(self, where):
        super().__init__("log of a negative number")
        self.where = where


class Ball(_ObjectBackend):
    """Rigorous balls (arb) at ``prec`` bits: a nonzero ball proves a difference, a zero-containing one does not."""

    exact = False

    def __init__(self, prec: int = 256):
        self.prec = prec
        self.name = f"{prec}-bit balls"

    def _ctx(self):
        from flint import ctx

        return _Precision(ctx, self.prec)

    def const(self, q):
        from flint import arb, fmpq

        q = exact_rational(q)
        with self._ctx():
            return arb(fmpq(q.numerator, q.denominator))

    def add(self, x, y):
        with self._ctx():
            return np.add(x, y, dtype=object)

    def mul(self, x, y):
        with self._ctx():
            return np.multiply(x, y, dtype=object)

    def neg(self, x):  # arb rounds even a negation to the working precision
        with self._ctx():
            return np.negative(np.asarray(x, dtype=object))

    def sum(self, x, axis=None):
        with self._ctx():
            return super().sum(x, axis=axis)

    def inv(self, x):
        x = np.asarray(x, dtype=object)
        flat = list(x.ravel())
        zero = [j for j, v in enumerate(flat) if v == 0]  # exactly zero (radius 0, midpoint 0)
        if zero:
            raise _ZeroEntries(np.array(zero))
        if any(v.contains(0) for v in flat):
            raise Undecidable("a ball to divide by contains 0")
        out = np.empty(x.shape, dtype=object)
        with self._ctx():
            for idx, v in zip(np.ndindex(x.shape), flat):
                out[idx] = 1 / v
        return out

    def log(self, x):
        x = np.asarray(x, dtype=object)
        flat = list(x.ravel())
        zero = [j for j, v in enumerate(flat) if v == 0]
        if zero:
            raise _ZeroEntries(np.array(zero))
        negative = [j for j, v in enumerate(flat) if v < 0]
        if negative:
            raise _NegativeEntries(np.array(negative))
        if not all(v > 0 for v in flat):
            raise Undecidable("the sign of a ball to take the log of is unknown")
        out = np.empty(x.shape, dtype=object)
        with self._ctx():
            for idx, v in zip(np.ndindex(x.shape), flat):
                out[idx] = v.log()
        return out

    def is_zero(self, x):
        """True only for an exact zero ball; use :meth:`separated` to prove a difference."""
        x = np.asarray(x, dtype=object)
        return np.array([v == 0 for v in x.ravel()], dtype=bool).reshape(x.shape)

    def separated(self, x) -> np.ndarray:
        """True where the ball certainly excludes 0 (a proved difference)."""
        x = np.asarray(x, dtype=object)
        return np.array([not v.contains(0) for v in x.ravel()], dtype=bool).reshape(x.shape)


class _Precision:
    """Set arb's working precision for a block, and restore it."""

    def __init__(self, ctx, prec):
        self.ctx, self.prec = ctx, prec

    def __enter__(self):
        self.saved = self.ctx.prec
        self.ctx.prec = self.prec

    def __exit__(self, *exc):
        self.ctx.prec = self.saved


def sympy_ball(expr, prec: int):
    """A SymPy number expression as an arb ball at ``prec`` bits, rigorously (every operation bounds its error).

    Raises NotRepresentable for anything that is not a number built from rationals, π, e, +, ×,
    powers, exp, log and sqrt; Undecidable where a sign needed on the way is unknown at this precision.
    """
    from flint import arb, ctx, fmpq

    def walk(e):
        if e.is_Rational or e.is_Float:
            q = exact_rational(e)
            return arb(fmpq(q.numerator, q.denominator))
        if e is sympy.pi:
            return arb.pi()
        if e is sympy.E:
            return arb(1).exp()
        if isinstance(e, sympy.Add):
            out = arb(0)
            for a in e.args:
                out += walk(a)
            return out
        if isinstance(e, sympy.Mul):
            out = arb(1)
            for a in e.args:
                out *= walk(a)
            return out
        if isinstance(e, sympy.Pow):
            base, ex = e.args
            x = walk(base)
            if ex.is_Integer:
                n = int(ex)
                if n < 0:
                    if x.contains(0):
                        raise Undecidable("a ball to divide by contains 0")
                    return (1 / x) ** (-n)
                return x ** n
            if not x > 0:
                raise Undecidable("the sign of a base is unknown") if x.contains(0) or not x < 0 else \
                    NotRepresentable("a fractional power of a negative number")
            return (walk(ex) * x.log()).exp()
        if isinstance(e, sympy.exp):
            return walk(e.args[0]).exp()
        if isinstance(e, sympy.log):
            x = walk(e.args[0])
            if not x > 0:
                raise Undecidable("the sign of a log's argument is unknown") if x.contains(0) else \
                    NotRepresentable("log of a negative number")
            return x.log()
        raise NotRepresentable(f"{type(e).__name__} is not a number derive can bound")

    saved = ctx.prec
    ctx.prec = prec
    try:
        return walk(sympy.sympify(expr))
    finally:
        ctx.prec = saved
