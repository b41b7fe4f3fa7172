"""Where a number as written is defined: a Σ or Π with numeric limits is decided by its exact value."""

import pytest
import sympy as sp

from derive.read.defined import numbers_shown_defined, undefined_number

k = sp.Symbol("k", integer=True)


def _sum(body, lo, hi):
    return sp.Sum(body, (k, lo, hi))


CASES = [
    (lambda: sp.Mul(_sum(k - 3, 0, 6), sp.Pow(_sum(k - 3, 0, 6), -1, evaluate=False), evaluate=False), False),  # 0/0
    (lambda: sp.Mul(_sum(k + 3, 0, 6), sp.Pow(_sum(k + 3, 0, 6), -1, evaluate=False), evaluate=False), True),
    (lambda: sp.log(_sum(k - 2, 0, 0), evaluate=False), False),       # log(−2)
    (lambda: sp.log(_sum(k - 2, 0, 4), evaluate=False), False),       # log 0
    (lambda: sp.log(_sum(k + 1, 0, 4), evaluate=False), True),
    (lambda: sp.Pow(0, _sum(k - 3, 0, 0), evaluate=False), False),    # 0^{−3}
    (lambda: sp.Pow(0, _sum(k + 3, 0, 0), evaluate=False), True),
    (lambda: sp.Pow(sp.Product(k - 3, (k, 0, 5)), -1, evaluate=False), False),   # Π is 0 from k = 3 on
    (lambda: sp.Pow(_sum(sp.log(k + 1), 0, 0), -1, evaluate=False), False),       # 1/log 1
    (lambda: sp.Pow(_sum(sp.log(k + 2), 0, 2), -1, evaluate=False), True),
]


@pytest.mark.parametrize("build, shown", CASES, ids=[f"case{j}" for j in range(len(CASES))])
def test_a_number_under_a_divisor_log_or_zero_power_counts_as_defined_only_when_its_value_shows_it(build, shown):
    e = build()
    assert numbers_shown_defined(e) is shown, e


def test_a_literal_zero_divisor_or_negative_log_is_undefined_wherever_it_is():
    assert undefined_number(sp.Pow(sp.Mul(0, sp.Symbol("t"), evaluate=False), -1, evaluate=False))
    assert undefined_number(sp.log(-7, evaluate=False))
    assert not undefined_number(sp.log(7, evaluate=False))
