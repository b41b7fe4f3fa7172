"""Shared helpers for the soundness tests: a small battery drawn afresh, and 'verified' in one word."""

from derive.battery import default_battery
from derive.check import check_step
from derive.derivation import EQUAL


def battery(n_random: int = 4, seed: int | None = None):
    """A default battery with ``n_random`` random MDPs (fresh seed unless given; the seed is in every verdict)."""
    return default_battery(n_random=n_random, seed=seed)


def enumerable(bat):
    """The battery without its large MDPs: a line no DP covers is decided there (on the full one it is undecided)."""
    from derive.battery import Battery

    return Battery([x for x in bat if not x.name.startswith("large")], name=bat.name, seed=bat.seed)


# The soundness tests ask what a verdict is, not how fast it comes: an instance may take up to 30 × 10 s
# (the default guard is 30 × 2 s), so that a slow instance a fresh seed draws is not undecided under load.
TEST_TIMEOUT = 10.0


def verdict(lhs, rhs, *, relation=EQUAL, bat=None, **kw):
    """The step report of lhs (relation) rhs, without the symbolic prover's help and without minimising."""
    from derive.symbolic import SymbolicResult

    kw.setdefault("timeout", TEST_TIMEOUT)
    return check_step(lhs, rhs, relation=relation, battery=bat if bat is not None else battery(),
                      symbolic=SymbolicResult("not attempted"), minimize=False, **kw)


def holds(lhs, rhs, **kw) -> bool:
    return verdict(lhs, rhs, **kw).ok
