"""Checking steps two independent ways: symbolically, and by meaning on concrete MDPs.

The instance check evaluates both sides of a step on each instance of a battery (see
:mod:`derive.semantics`) and compares them exactly: first in Z/pZ for a random prime p
along a random direction v (fast, a randomized identity test: a difference found there is
certain), then, where a log's value is needed or a division by zero was seen mod p, in exact
log-linear numbers (r + Σ q log n), and only where those cannot hold a value in rigorous
balls, raised from 256 to 4096 bits until they separate (a difference) — agreement to 60 digits
at the cap is a weaker, numeric verdict that is never a pass. No tolerance decides an equality.
An undefined value (log of a ball entirely ≤ 0, a division by an exact 0) is certain in balls
and fails the line; a value not evaluated leaves the line undecided.

Free sample variables are bound on every instance: m to 1, 2, 3, one random m in 4..9 (and for
'unbiased' steps one in 10..M_WIDE, see :func:`sample_counts`),
a free sample index i to 1..m (or to 1, 2, 3 and a random one). An ``unbiased`` step
compares exact expectations over i.i.d. samples τ^(k) ∼ P(·;θ) (a free τ too), computed by
linearity term by term; an '=' between estimators is checked for every tuple of samples
(a random subset, said so, past a size limit).

Where the expectation is shown to be a rational function of m of degree d past a threshold m₀
(see :mod:`derive.sample_degree`: Σ_{i=33}^{m} is 0 until m ≥ 32), d + 1 values of m at or past m₀
are drawn from the seed and every m below m₀ is checked one by one, or the verdict says which m
were. A line is also checked on thin MDPs past its own integer constants where they meet H, S or
A (:mod:`derive.size_reach`: Σ_{t=201}^{H} is empty while H ≤ 200), or is undecided and says so.

A line that agreed everywhere it was evaluated is still not a pass when that is less than it
claims: when large MDPs were excluded (too large to enumerate for this line), or when it speaks of
every m (or of a free i used as a number) but only some values were shown — unless the symbolic
route proved it. Then it is undecided, and says which instances or values it held on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import secrets
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np
import sympy as sp
from sympy import Derivative, Expr

from .backends import Ball, LogLinear, ModPrime, NotRepresentable, Undecidable, exact_rational, random_prime
from .battery import default_battery, large_prime, scope_of
from .mdp import TooManyTrajectories
from .derivation import EQUAL, UNBIASED, Derivation, MalformedProof, Proof, Step, check_arguments
from .notation import (Expectation, Sample, SampleExpectation, TrajectoryProbability, TrajectorySum, b, i, m, marginal_sums,
                       tau, theta, x)
from .notation import _Binder
from .report import (
    FAILED, PROVED, UNDECIDED, ConditionReport, agreement_phrase, Counterexample, DerivationReport,
    ProofReport, StepReport,
)
from .semantics import (
    MAX_TERMS, TRAJECTORY_BUDGET, Evaluator, IllFormed, Instance, PointInstance, Undefined, Unsupported, at_point,
    trajectory_text,
)
from .symbolic import (Pending, SymbolicResult, divides_by_probability, follows_from_lemma, in_background, prove,
                       same_form)
from .text import to_text

__all__ = ["InstanceOutcome", "check_instance", "check_step", "verify_derivation", "verify_proof",
           "sample_counts", "DIGITS", "fresh_seed", "records_rewards"]

MAX_TUPLES = 200_000      # sample tuples enumerated per binding; past it, random tuples (said so)
RANDOM_TUPLES = 4_096     # how many random tuples then
DIGITS = 60               # the numeric verdict: both sides agree to this many digits
M_WIDE = 32               # the largest sample count drawn for an 'unbiased' step
PREC_START, PREC_CAP = 256, 4096  # ball precision in bits: doubled until the balls separate or tighten


TOO_LARGE = "too large to enumerate for this line (no DP over time covers it)"
# An error inside the evaluator says nothing about the line: the instance is not counted, in words a reader can use.
EVALUATOR_FAILED = "undecided: derive's evaluator could not compute this line on this MDP (a limit of the evaluator, not a property of the line)"


def fresh_seed() -> int:
    """A seed from the operating system's random source (printed in every report, so runs replay)."""
    # 10^12 seeds: a document fitted to 10^5 seeds' batteries and primes passes one run in 10^7
    return secrets.randbelow(10**12)


@dataclass(frozen=True)
class InstanceOutcome:
    status: str                   # "agree" | "differ" | "undefined" | "ill-formed" | "unsupported"
    reason: str = ""
    numeric: bool = False         # agreement shown only to DIGITS digits (rigorous balls), not exactly
    bindings: dict | None = None  # free variables at the first difference
    baseline: tuple = ()          # the b(s) drawn for this check
    notes: tuple = ()             # what was not checked (a sample count past the limit), in words
    direction: tuple = ()         # the direction v of the check
    inherited: bool = False       # not evaluated because the line above is undefined here (that line is reported)
    weighted: str = ""            # agreement by the random product-weight test: its error bound, in words
    witness: dict | None = None   # on an instance too large to list: the failing trajectories' steps, by key


def sample_counts(rng: random.Random, *, wide: bool = False) -> tuple[int, ...]:
    """The sample counts m a step is checked at: 1, 2, 3, one drawn from 4..9, and (``wide``) one from 10..M_WIDE.

    Why a random m: an expectation E[estimator] − line above that is a nonzero rational function
    of m of degree d (numerator) vanishes at most at d values of m, so at an m drawn uniformly
    from 10..M_WIDE it vanishes with probability at most d / (M_WIDE − 9) (Schwartz–Zippel in one
    variable). The wide draw is made for 'unbiased' steps, whose expectations are computed by
    linearity in O(m) terms; an '=' between estimators enumerates sample tuples, exponential in m.
    """
    counts = (1, 2, 3, rng.randint(4, 9))
    return counts + (rng.randint(10, M_WIDE),) if wide else counts


# -- binding free variables ------------------------------------------------------

def _rebuild(e, args):
    with sp.evaluate(False):
        return e.func(*args)


def _subst(e, mapping: dict):
    """e with the free occurrences of the mapping's symbols replaced, nothing evaluated (P/P stays P/P)."""
    if not mapping or not isinstance(e, sp.Basic):
        return e
    # One evaluate(False) block for the whole walk, not one per rebuilt node: each toggle clears SymPy's cache.
    with sp.evaluate(False):
        return _subst_walk(e, mapping)


def _subst_walk(e, mapping: dict):
    if not mapping or not isinstance(e, sp.Basic):
        return e
    if e in mapping:
        return mapping[e]
    if not e.args:
        return e
    if isinstance(e, (sp.Sum, sp.Product)):
        bound = {lim[0] for lim in e.limits}
        body = _subst_walk(e.function, {k: v for k, v in mapping.items() if k not in bound})
        limits = [sp.Tuple(v, _subst_walk(lo, mapping), _subst_walk(hi, mapping)) for v, lo, hi in e.limits]
        return _rebuild(e, (body, *limits))
    if isinstance(e, _Binder) and e.variable in mapping:
        inner = {k: v for k, v in mapping.items() if k != e.variable}
        return _rebuild(e, (_subst_walk(e.args[0], inner), *e.args[1:]))
    args = tuple(_subst_walk(a, mapping) for a in e.args)
    return e if args == e.args else _rebuild(e, args)


def _mentions_sample_of(body, var) -> bool:
    return any(var in s.args[0].free_symbols for s in body.atoms(Sample))


def _unroll(e):
    """Sums over a sample index with concrete limits written out term by term (Σ_{i=1}^{3} f(τ^(i)))."""
    if not isinstance(e, sp.Basic) or not e.args:
        return e
    if isinstance(e, sp.Sum):
        for k, (var, lo, hi) in enumerate(e.limits):
            others = e.limits[:k] + e.limits[k + 1:]
            # Written out only when no other limit depends on it (then the order of summation is free).
            if (lo.is_Integer and hi.is_Integer and var.is_integer and _mentions_sample_of(e.function, var)
                    and int(hi) - int(lo) < MAX_TERMS
                    and not any(var in (o_lo.free_symbols | o_hi.free_symbols) for _, o_lo, o_hi in others)):
                terms = []
                for n in range(int(lo), int(hi) + 1):
                    body = _subst(e.function, {var: sp.Integer(n)})
                    terms.append(_unroll(_rebuild(e, (body, *others)) if others else body))
                return sp.Add(*terms, evaluate=False) if len(terms) > 1 else (terms[0] if terms else sp.Integer(0))
    args = tuple(_unroll(a) for a in e.args)
    return e if args == e.args else _rebuild(e, args)


def _key_of(traj):
    if isinstance(traj, Sample):
        k = traj.args[0]
        return ("sample", int(k)) if k.is_Integer else ("sample", k)
    return traj


_FREE_KEYS: dict = {}


def _free_keys(e) -> frozenset:
    """The trajectories e speaks of that no Σ_τ (or E) inside it binds: τ and samples τ^(k)."""
    # Memoised: every plan of every instance asks again about the same few expressions.
    if not isinstance(e, sp.Basic):
        return frozenset()
    try:
        return _FREE_KEYS[e]
    except KeyError:
        pass
    if len(_FREE_KEYS) > 65536:
        _FREE_KEYS.clear()
    out = _FREE_KEYS[e] = frozenset(_free_keys_walk(e))
    return out


def _free_keys_walk(e) -> set:
    if isinstance(e, (TrajectorySum, Expectation)):
        return _free_keys(e.body) - {_key_of(e.variable)}
    if isinstance(e, Sample):
        return {_key_of(e)}
    if e == tau:
        return {tau}
    if not e.args:
        return set()
    out = set()
    for a in e.args:
        out |= _free_keys(a)
    return out


def _key_order(k) -> str:
    return k.name if type(k) is sp.Symbol else str(k)  # str(k), without SymPy's printer for a plain symbol


def _has_free_sample(*sides) -> bool:
    """Whether a side speaks of a sample τ^(k) outside every E[…] that averages the samples."""
    for side in sides:
        if isinstance(side, sp.Basic):
            bare = side.replace(lambda n: isinstance(n, SampleExpectation), lambda n: sp.Integer(0))
            if any(k != tau for k in _free_keys(bare)):
                return True
    return False


def _bindable(keys) -> list:
    return sorted((k for k in keys if k == tau or isinstance(k[1], int)), key=_key_order)


_TERMS: dict = {}


def _terms(e) -> list:
    """e as terms whose sum is e: Add split, a constant factor distributed, ∇ of a sum split (linearity)."""
    if not isinstance(e, sp.Basic):
        return [e]
    if e not in _TERMS:  # memoised: the same line is split again on every instance
        if len(_TERMS) > 4096:
            _TERMS.clear()
        _TERMS[e] = tuple((t, _zero_factor(t)) for t in _split_terms(e))
    return [t for t, _ in _TERMS[e]]


def _nonzero_terms(e) -> list:
    """The terms of e (see :func:`_terms`) without those with a factor that is the number 0."""
    _terms(e)
    return [t for t, zero in _TERMS[e] if not zero] if isinstance(e, sp.Basic) else [e]


def _split_terms(e) -> list:
    if isinstance(e, sp.Add):
        return [t for a in e.args for t in _split_terms(a)]
    if isinstance(e, sp.Mul):
        random_parts = [k for k, a in enumerate(e.args) if _free_keys(a)]
        if len(random_parts) == 1:
            k = random_parts[0]
            inner = _split_terms(e.args[k])
            if len(inner) > 1:
                others = e.args[:k] + e.args[k + 1:]
                return [sp.Mul(*others, t, evaluate=False) for t in inner]
        return [e]
    if isinstance(e, Derivative) and isinstance(e.expr, sp.Add):
        return [Derivative(t, *e.variable_count) for t in _split_terms(e.expr)]
    if isinstance(e, Derivative) and isinstance(e.expr, sp.Mul) and len(e.variable_count) == 1:
        # ∇ (c X) = c ∇X for a number c: ∇ of a sample mean splits into one term per sample, each
        # coupling one sample (else every tuple of m samples is listed for one term).
        consts = [a for a in e.expr.args if isinstance(a, sp.Basic) and a.is_number]
        rest = [a for a in e.expr.args if not (isinstance(a, sp.Basic) and a.is_number)]
        if consts and rest:
            inner = sp.Mul(*rest, evaluate=False) if len(rest) > 1 else rest[0]
            parts = _split_terms(Derivative(inner, *e.variable_count))
            if len(parts) > 1:
                return [sp.Mul(*consts, t, evaluate=False) for t in parts]
    return [e]


@dataclass(frozen=True)
class _Plan:
    """One way to bind the free variables: the step's two lines with m and i substituted, sums over i written out."""

    tags: dict
    lhs: Expr
    rhs: Expr
    ints: dict = field(default_factory=dict)
    kinds: dict = field(default_factory=dict)


_SYMBOLS: dict = {}


def _symbols_of(lhs, rhs) -> frozenset:
    """lhs.free_symbols | rhs.free_symbols, memoised (asked again on every instance)."""
    key = (lhs, rhs)
    if key not in _SYMBOLS:
        if len(_SYMBOLS) > 4096:
            _SYMBOLS.clear()
        _SYMBOLS[key] = frozenset(lhs.free_symbols | rhs.free_symbols)
    return _SYMBOLS[key]


def _sample_substitutions(lhs, rhs, counts) -> list[tuple[dict, dict]]:
    free = _symbols_of(lhs, rhs)
    if m in free:
        out = []
        for M in counts:
            if i in free:  # a free sample index ranges over 1..m
                out.extend(({"m": str(M), "i": str(I)}, {m: sp.Integer(M), i: sp.Integer(I)}) for I in range(1, M + 1))
            else:
                out.append(({"m": str(M)}, {m: sp.Integer(M)}))
        return out
    if i in free:
        return [({"i": str(I)}, {i: sp.Integer(I)}) for I in counts]
    return [({}, {})]


_EXPANDED: dict = {}


def _expanded(e, subs: dict):
    key = (e, frozenset(subs.items()))
    if key not in _EXPANDED:
        if len(_EXPANDED) > 4096:
            _EXPANDED.clear()
        # One evaluate(False) block for the whole rebuild: each toggle of it clears SymPy's cache.
        with sp.evaluate(False):
            _EXPANDED[key] = _averaged(_unroll(_subst(e, subs)))
    return _EXPANDED[key]


def _averaged(e):
    """Each E[…] over every sample written as sums: E[f] = Σ_k E over the samples term k speaks of.

    By linearity term by term; a term's samples are i.i.d. ∼ P(·;θ) and independent of τ, so its
    expectation is Σ_{τ^(k1)} P(τ^(k1);θ) … E_τ[term] over the samples it names (the others average
    to 1). The sizes are bounded where the sums are evaluated (trajectories^samples, see semantics).
    """
    if not isinstance(e, sp.Basic) or not e.has(SampleExpectation):
        return e
    if isinstance(e, SampleExpectation):
        from .free_identity import NotCovered, split_by_trajectory, traj_of

        inner = _averaged(e.inner.body)
        try:   # independent samples: E of a product of factors, one sample each, is the product of their E's
            pieces = split_by_trajectory(inner, _bindable(_free_keys(inner)))
        except NotCovered:
            pieces = None
        if pieces is not None:
            out = []
            for consts, parts in pieces:
                factors = list(consts)
                for key, fs in sorted(parts.items(), key=lambda kv: _key_order(kv[0])):
                    traj = traj_of(key)
                    factors.append(TrajectorySum(sp.Mul(TrajectoryProbability(traj, theta), *fs, evaluate=False),
                                                 traj, True))
                out.append(factors[0] if len(factors) == 1 else sp.Mul(*factors, evaluate=False))
            return sp.Add(*out, evaluate=False) if len(out) > 1 else (out[0] if out else sp.Integer(0))
        out = []
        for term in _nonzero_terms(inner):
            keys = _free_keys(term)
            value = Expectation(term, tau) if tau in keys else term
            for key in sorted((k for k in keys if k != tau), key=_key_order, reverse=True):
                smp = Sample(sp.Integer(key[1]) if isinstance(key[1], int) else key[1])
                value = TrajectorySum(sp.Mul(TrajectoryProbability(smp, theta), value, evaluate=False), smp, True)
            out.append(value)
        return sp.Add(*out, evaluate=False) if len(out) > 1 else (out[0] if out else sp.Integer(0))
    args = tuple(_averaged(a) for a in e.args)
    return e if args == e.args else _rebuild(e, args)


def _plans(instance: Instance, lhs: Expr, rhs: Expr, counts) -> list[_Plan]:
    free = _symbols_of(lhs, rhs)
    # "For every state s" and "for every action b": one binding per value.
    states = range(instance.mdp.n_states) if x in free else [None]
    actions = range(instance.mdp.n_actions) if b in free else [None]
    out = []
    for tags, subs in _sample_substitutions(lhs, rhs, counts):
        left, right = _expanded(lhs, subs), _expanded(rhs, subs)
        for state in states:
            for action in actions:
                t, ints, kinds = dict(tags), {}, {}
                if state is not None:
                    t["s"], ints[x], kinds[x] = str(state), state, "state"
                if action is not None:
                    t["b"], ints[b], kinds[b] = str(action), action, "action"
                out.append(_Plan(t, left, right, ints, kinds))
    return out


class _TooMany(Exception):
    """A term couples too many samples to enumerate their tuples exactly."""


def _grid(support: np.ndarray, keys: list, rng: random.Random | None):
    """Index arrays binding each key to the support: every tuple, or random tuples past the limit."""
    n = support.size
    if not keys:
        return {}, 1, ""
    total = n ** len(keys)
    if total <= MAX_TUPLES:
        # Every tuple, key j as digit j of the tuple's number in base n (a meshgrid stops at 64 keys).
        flat = np.arange(int(total))
        return ({k: support[(flat // n ** (len(keys) - 1 - j)) % n] for j, k in enumerate(keys)},
                int(total), "")
    if rng is None:
        raise _TooMany(f"{total:,} sample tuples")
    picks = np.random.default_rng(rng.getrandbits(64)).integers(0, n, size=(RANDOM_TUPLES, len(keys)))
    return ({k: support[picks[:, j]] for j, k in enumerate(keys)}, RANDOM_TUPLES,
            f"{RANDOM_TUPLES:,} random tuples of {total:,}")


def _expectation(ev: Evaluator, expr: Expr, plan: _Plan, support: np.ndarray):
    """E[expr] over i.i.d. τ^(k) ∼ P(·;θ) (and a free τ), exactly, term by term."""
    bk = ev.backend
    if support is None:  # too many trajectories to list
        return _expectation_by_dp(ev, expr, plan)
    prob = ev._trajectory_prob().val
    total = bk.zero()
    for term in _nonzero_terms(expr):  # (m − 1)·X at m = 1: the term is 0, whatever X couples
        keys = _bindable(_free_keys(term))
        slots, batch, _ = _grid(support, keys, None)
        value = ev.evaluate(term, slots=slots, ints=plan.ints, batch=batch, kinds=plan.kinds).val
        if value is None:
            raise NotRepresentable("a log value is needed")
        if keys:
            weight = bk.one()
            for k in keys:
                weight = bk.mul(weight, prob[slots[k]])
            value = bk.sum(bk.mul(weight, np.broadcast_to(value, (batch,))))
        total = bk.add(total, value)
    return _array(bk, total), {}


_SAMPLED = sp.Dummy("τ")


def _expectation_by_dp(ev: Evaluator, expr: Expr, plan: _Plan):
    """E[expr] over i.i.d. samples without listing trajectories: each term split into factors of one sample
    each (independent, so E of the product is the product of E's), each E f = Σ_τ P(τ;θ) f(τ) by DP over time.

    A term the split does not cover, or a sum the DP does not cover, needs the trajectories listed and
    raises TooManyTrajectories (the instance is then left out, and the verdict says so).
    """
    bk = ev.backend
    memo = ev._traj_cache.setdefault("expectations by DP", {})  # τ-free values: safe to keep per evaluator
    total = bk.zero()
    for term in _terms(expr):
        if _zero_factor(term):
            continue
        for factors in _factors_by_sample(term):
            value = bk.one()
            for f in factors:
                key = (f, tuple(sorted(plan.ints.items(), key=str)))
                if key not in memo:
                    memo[key] = ev.evaluate(f, ints=plan.ints, kinds=plan.kinds).val
                v = memo[key]
                if v is None:
                    raise NotRepresentable("a log value is needed")
                value = bk.mul(value, v)
            total = bk.add(total, value)
    return _array(bk, total), {}


_BY_SAMPLE: dict = {}


def _factors_by_sample(term) -> tuple:
    """The term as a sum of products of factors, each constant or E f over one sample (symbolic: cached by term).

    Raises TooManyTrajectories where the split by sample does not cover the term.
    """
    from .free_identity import NotCovered, split_by_trajectory, traj_of

    found = _BY_SAMPLE.get(term)
    if found is None:
        if len(_BY_SAMPLE) > 4096:
            _BY_SAMPLE.clear()
        try:
            pieces = split_by_trajectory(term, _bindable(_free_keys(term)))
        except NotCovered as exc:
            found = TooManyTrajectories(f"too many trajectories to list, and {exc}")
        else:
            out = []
            for consts, parts in pieces:
                factors = list(consts)
                for k, fs in parts.items():
                    # One symbol for every sample: E f(τ^(1)) and E f(τ^(2)) are one sum, computed once.
                    body = sp.Mul(TrajectoryProbability(_SAMPLED, theta),
                                  *[_subst(f, {traj_of(k): _SAMPLED}) for f in fs], evaluate=False)
                    factors.append(TrajectorySum(body, _SAMPLED, True))
                out.append(tuple(factors))
            found = tuple(out)
        _BY_SAMPLE[term] = found
    if isinstance(found, TooManyTrajectories):
        raise TooManyTrajectories(str(found))
    return found


def _zero_factor(term) -> bool:
    """Whether a term is a product with a factor that is the number 0 (after the substitution m = 1, say)."""
    factors = term.args if isinstance(term, sp.Mul) else (term,)
    for f in factors:
        if isinstance(f, sp.Expr) and not f.free_symbols and not _free_keys(f) and f.is_number:
            try:
                if f.doit() == 0:
                    return True
            except (TypeError, ValueError, ArithmeticError):
                continue
    return False


def _pointwise(ev: Evaluator, expr: Expr, plan: _Plan, slots: dict, batch: int):
    value = ev.evaluate(expr, slots=slots, ints=plan.ints, batch=batch, kinds=plan.kinds).val
    if value is None:
        raise NotRepresentable("a log value is needed")
    value = _array(ev.backend, value)
    return np.broadcast_to(value, (batch,)) if batch > 1 or slots else value


def _array(bk, value) -> np.ndarray:
    """value as an array of the backend's numbers (never converted to floats on the way)."""
    if bk.dtype is not object:
        return np.asarray(value)
    if isinstance(value, np.ndarray):
        return value.astype(object, copy=False)
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def _sides(ev: Evaluator, plan: _Plan, relation: str, support, rng):
    """Both sides' values on one plan: (left, right, slots, note); raises _Side on an undefined side."""
    if relation == UNBIASED:
        evaluate = lambda e: _expectation(ev, e, plan, support)[0]  # noqa: E731
        slots, note = {}, ""
    else:
        keys = _bindable(_free_keys(plan.lhs) | _free_keys(plan.rhs))
        slots, batch, note = _grid(support, keys, rng)
        evaluate = lambda e: _pointwise(ev, e, plan, slots, batch)  # noqa: E731
    try:
        left = evaluate(plan.lhs)
    except Undefined as u:
        raise _Side("lhs", u) from None
    try:
        right = evaluate(plan.rhs)
    except Undefined as u:
        raise _Side("rhs", u) from None
    left, right = np.broadcast_arrays(_array(ev.backend, left), _array(ev.backend, right))
    return left.ravel(), right.ravel(), slots, note


class _Closer(Exception):
    """Balls agree to DIGITS digits but the precision cap is not reached: look closer."""


class _Side(Exception):
    def __init__(self, side, undefined):
        super().__init__(str(undefined))
        self.side, self.undefined = side, undefined


def _compare(bk, left, right):
    """("agree" | "differ" | "close" | "unsure", index): exact backends decide; balls prove only a difference."""
    if isinstance(bk, Ball):
        diff = bk.add(left, bk.neg(right))
        sep = bk.separated(diff)
        if sep.any():
            return "differ", int(np.flatnonzero(sep)[0])
        from flint import arb

        tight = all(d.rad() <= arb(10) ** (-DIGITS) * max(arb(1), abs(lv.mid()) + abs(rv.mid()))
                    for d, lv, rv in zip(diff.ravel(), left.ravel(), right.ravel()))
        return ("close" if tight else "unsure"), -1
    same = np.asarray(bk.equal(left, right)).ravel()
    if not same.all():
        return "differ", int(np.flatnonzero(~same)[0])
    return "agree", -1


def _backends(rng: random.Random):
    # One prime per instance, fresh from the run's seed: a nonzero difference d passes it with
    # probability at most (bits of d / 30) / 5·10^7, and a false line must pass on every instance
    # it differs on. (A second prime per instance costs most of a second evaluation of every true line.)
    yield ModPrime(random_prime(rng))
    yield LogLinear()
    prec = PREC_START
    while prec <= PREC_CAP:
        yield Ball(prec)
        prec *= 2


INSTANCE_TIME_FACTOR = 30   # one instance may take this many times the time limit (a guard against hangs, far above any battery instance, so verdicts do not move with load); past it, undecided


class _OutOfTime(Exception):
    """An instance's evaluation ran past its time limit."""


_BUDGET: list = []   # (deadline on time.monotonic(), seconds) of the time budgets in force, innermost last


@contextlib.contextmanager
def time_budget(seconds: float):
    """A total time budget for the checks in this block (a document's): past it, every instance is undecided.

    An instance evaluated when the budget runs out is cut short (its time limit is the budget left);
    an instance started after it is not evaluated. A budget inside another keeps the earlier deadline.
    """
    deadline = time.monotonic() + seconds
    if _BUDGET:
        deadline = min(deadline, _BUDGET[-1][0])
    _BUDGET.append((deadline, seconds))
    try:
        yield
    finally:
        _BUDGET.pop()


def budget_spent() -> float | None:
    """The seconds of the time budget in force when it is spent, else None (no budget, or time left)."""
    if _BUDGET and time.monotonic() >= _BUDGET[-1][0]:
        return _BUDGET[-1][1]
    return None


def budget_text(seconds: float) -> str:
    return f"the document's time budget of {seconds:g} s was spent"


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise _OutOfTime in this block after ``seconds`` or when the time budget runs out, whichever is first.

    Main thread with SIGALRM only; elsewhere no limit. Spent already: _OutOfTime at once.
    """
    import signal
    import threading

    if _BUDGET:
        left = _BUDGET[-1][0] - time.monotonic()
        if left <= 0:
            raise _OutOfTime()
        seconds = min(seconds, left)
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread() \
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def _ring(signum, frame):
        raise _OutOfTime()

    old = signal.signal(signal.SIGALRM, _ring)
    # Rings again every second (or every `seconds`) until the block ends: an alarm raised where Python
    # swallows exceptions (a gc callback: "Exception ignored in …") must not leave the block unguarded.
    signal.setitimer(signal.ITIMER_REAL, seconds, min(seconds, 1.0))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_instance(lhs: Expr, rhs: Expr, relation: str, instance: Instance, rng: random.Random, *,
                   counts: tuple | None = None, lhs_is_start: bool = False) -> InstanceOutcome:
    """Compare the meanings of lhs and rhs on one instance (``counts``: the sample counts m to bind).

    A side undefined here fails the step when the line above is defined, or when the line above
    is the derivation's first line (then the derivation itself speaks of an undefined value).
    """
    if isinstance(instance, PointInstance):
        return _check_point(lhs, rhs, relation, instance)
    if relation == UNBIASED and tau in _free_keys(lhs):
        # R(τ) ≈ (1/m) Σ_i R(τ^(i)): averaging the estimand's τ too would check E_τ[R(τ)] = E[mean], another claim.
        return InstanceOutcome("unsupported", ESTIMAND_WITH_TAU)
    counts = sample_counts(rng) if counts is None else counts
    direction = instance.policy.tangent([Fraction(rng.randrange(1, 2**30)) for _ in range(instance.n_params)])
    baseline = tuple(_baseline(instance, rng))
    try:
        plans = _plans(instance, lhs, rhs, counts)
        # Enumerated only when a line binds a trajectory: closed lines go by DP over time at any size.
        bound = any(_bindable(_free_keys(p.lhs) | _free_keys(p.rhs)) for p in plans)
        support = np.flatnonzero(instance.support()) if bound else np.arange(0)
    except TooManyTrajectories:
        if relation == EQUAL:  # a line about every trajectory: tested at once by random product weights
            return _by_product_weights(instance, plans, rng, direction, baseline)
        support = None  # expectations over the samples by DP over time, term by term (see _expectation)
    except (IllFormed, ValueError) as exc:
        return InstanceOutcome("unsupported", f"the instance could not be prepared ({exc})")
    if relation == EQUAL and bound and any(
            support.size ** len(_bindable(_free_keys(p.lhs) | _free_keys(p.rhs))) > MAX_TUPLES for p in plans):
        # Too many tuples of samples to list: every tuple at once by product weights, where that covers the line.
        out = _by_product_weights(instance, plans, rng, direction, baseline)
        if out.status != "too large":
            return out
    notes: list = []
    last = "no number system could hold the values"
    numeric = False
    for bk in _backends(rng):
        try:
            ev = Evaluator(instance, bk, direction, baseline=list(baseline))
            state = "agree"
            notes = []
            for plan in plans:
                try:
                    try:
                        left, right, slots, note = _sides(ev, plan, relation, support, rng)
                    except _TooMany as too:
                        if relation != UNBIASED or support is None:
                            raise
                        # Too many sample tuples over a listed support: the exact expectations by DP instead,
                        # and where the DP does not cover the line either, it stays "not checked" (never left out).
                        try:
                            left, right, slots, note = _sides(ev, plan, relation, None, rng)
                        except TooManyTrajectories:
                            raise too from None
                except _TooMany as too:
                    notes.append(f"{_plan_label(plan)} not checked ({too} past the limit)")
                    continue
                if note:
                    notes.append(f"{_plan_label(plan)} on {RANDOM_TUPLES:,} random sample tuples")
                verdict, j = _compare(bk, left, right)
                if verdict == "differ":
                    where = {_key_text(k): trajectory_text(instance.mdp, int(v[j])) for k, v in slots.items()}
                    where.update(plan.tags)
                    return InstanceOutcome("differ", "the two sides differ", isinstance(bk, Ball), where, baseline,
                                           direction=tuple(direction))
                if verdict == "unsure":
                    raise Undecidable("balls too wide")
                if verdict == "close":
                    if bk.prec < PREC_CAP:
                        raise _Closer()  # not separated yet: try more bits before settling for agreement
                    state = "close"
            if len(notes) and all("not checked" in n for n in notes) and len(notes) == len(plans):
                return InstanceOutcome("unsupported", "; ".join(dict.fromkeys(notes)), notes=tuple(notes))
            return InstanceOutcome("agree", numeric=state == "close", baseline=baseline,
                                   notes=tuple(dict.fromkeys(notes)), direction=tuple(direction))
        except _Side as side:
            # A ball raises Undefined only when certain (an exact 0, or a ball entirely ≤ 0 under a log);
            # mod p a nonzero rational can vanish, so that one is rechecked in exact numbers.
            if isinstance(bk, ModPrime):
                last = f"{side.undefined} (seen in {bk.name}; rechecking exactly)"
                continue  # mod p, a nonzero rational can vanish: recheck in exact numbers
            u = side.undefined
            where = {_key_text(k): trajectory_text(instance.mdp, v) for k, v in u.where.items()}
            if side.side == "lhs" and lhs_is_start:
                return InstanceOutcome("undefined", f"{u} in the derivation's first line, on the trajectory shown",
                                       False, where, baseline)
            if side.side == "lhs":
                return InstanceOutcome("unsupported", f"the line above is undefined here ({u})", bindings=where,
                                       inherited=True)
            return InstanceOutcome("undefined", f"{u} on the trajectory shown, where the line above is defined",
                                   False, where, baseline)
        except _Closer:
            last = f"the balls do not separate by {PREC_CAP} bits"
            continue
        except (NotRepresentable, Undecidable) as exc:
            last = f"{exc} ({bk.name})"
            continue
        except TooManyTrajectories:
            return InstanceOutcome("too large", TOO_LARGE)
        except IllFormed as exc:
            return InstanceOutcome("ill-formed", str(exc))
        except Unsupported as exc:
            return InstanceOutcome("unsupported", str(exc))
        except (ArithmeticError, ValueError, TypeError, RecursionError, IndexError):
            # A checker error is never a pass: the instance counts as not evaluated.
            return InstanceOutcome("unsupported", EVALUATOR_FAILED)
    return InstanceOutcome("unsupported", f"undecided: {last}")


def _by_product_weights(instance: Instance, plans, rng: random.Random, direction, baseline) -> InstanceOutcome:
    """Every plan's line, for every tuple of its free trajectories, by :mod:`derive.free_identity`; else 'too large'."""
    from .free_identity import NotCovered, identity_on_every_tuple

    H_ = instance.mdp.horizon
    degree = 0
    last = ""
    for plan in plans:
        keys = _bindable(_free_keys(plan.lhs) | _free_keys(plan.rhs))
        for bk in (ModPrime(random_prime(rng)), LogLinear()):
            try:
                ev = Evaluator(instance, bk, direction, baseline=list(baseline))
                same = identity_on_every_tuple(ev, plan.lhs, plan.rhs, keys, rng, ints=plan.ints)
            except NotCovered as exc:
                last = str(exc)
                same = None
                if "division by zero" not in last:
                    return InstanceOutcome("too large", f"{TOO_LARGE}: {last}")
            except (NotRepresentable, Undecidable, Undefined, ZeroDivisionError) as exc:
                last, same = f"{type(exc).__name__}: {exc}", None
            except TooManyTrajectories as exc:
                return InstanceOutcome("too large", f"{TOO_LARGE}: {exc}")
            except IllFormed as exc:
                return InstanceOutcome("ill-formed", str(exc))
            except Unsupported as exc:
                return InstanceOutcome("unsupported", str(exc))
            except (ArithmeticError, ValueError, TypeError, IndexError):
                return InstanceOutcome("unsupported", EVALUATOR_FAILED)
            if same is False:  # certain; which trajectory is found later, for the reported failure only
                return InstanceOutcome("differ", WEIGHTED_DIFFER, False, dict(plan.tags), baseline,
                                       direction=tuple(direction))
            if same is True:
                degree = max(degree, len(keys) * (H_ + 1))
                break
        else:
            if "division by zero" in last:
                # Certain in exact numbers: a step divides by 0 (or takes log 0). The MDP is not too large to
                # check, only to list the trajectory: never left out as if it were, the line is not shown here.
                return InstanceOutcome("unsupported", f"the line divides by 0 or takes the log of a number ≤ 0 on a "
                                       f"step of this MDP ({last}), and the MDP has too many trajectories to list "
                                       "the one where it does")
            return InstanceOutcome("too large", f"{TOO_LARGE}: {last}")
    return InstanceOutcome("agree", baseline=baseline, direction=tuple(direction),
                           weighted=f"{degree}/p with p ≥ 2^30" if degree else "")


ESTIMAND_WITH_TAU = ("the estimated side depends on a trajectory τ: an estimator estimates a number (J(θ), ∇J(θ)), "
                     "and derive does not check E[estimator] = a value that varies with τ")

WEIGHTED_DIFFER = ("the two sides differ on some trajectory: the sum over every trajectory of lhs − rhs under "
                   "random product weights is not 0 (no single trajectory singled out)")


def _located(lhs, rhs, inst: Instance, out: InstanceOutcome, counts, seed: int) -> InstanceOutcome:
    """A difference shown by product weights, with a trajectory (tuple) on which it holds, found by self-reduction."""
    from .free_identity import NotCovered, steps_text, witness

    plans = [p for p in _plans(inst, lhs, rhs, counts) if all((out.bindings or {}).get(k) == v
                                                               for k, v in p.tags.items())]
    if not plans:
        return out
    plan, rng = plans[0], random.Random(seed)
    keys = _bindable(_free_keys(plan.lhs) | _free_keys(plan.rhs))
    for bk in (ModPrime(random_prime(rng)), ModPrime(random_prime(rng)), LogLinear()):
        try:
            ev = Evaluator(inst, bk, list(out.direction), baseline=list(out.baseline))
            found = witness(ev, plan.lhs, plan.rhs, keys, rng, ints=plan.ints)
        except (NotCovered, NotRepresentable, Undecidable, ArithmeticError, ValueError):
            continue
        if found is not None:
            where = {**{_key_text(k): steps_text(inst.mdp, v) for k, v in found.items()}, **plan.tags}
            return replace(out, reason="the two sides differ (on the trajectory shown, found without listing the "
                                       "trajectories, by random product weights)", bindings=where, witness=found)
    return out


def _value_text(v) -> str:
    from .backends import number_text

    if isinstance(v, (int, Fraction)) or type(v).__name__ == "fmpq":
        return number_text(v)
    if type(v).__name__ == "arb":  # not exactly representable (a product of logs): a rigorous enclosure
        return f"{v} (a rigorous ball)"
    return str(v)


def _expr_text(e) -> str:
    return to_text(e)


def _tag_text(tags: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in tags.items()) or "the step"


def _check_point(lhs: Expr, rhs: Expr, relation: str, point: PointInstance) -> InstanceOutcome:
    """Compare lhs and rhs at one exact point: exactly when the difference is a rational, else in balls."""
    from .backends import sympy_ball

    if relation != EQUAL:
        return InstanceOutcome("unsupported", "an estimator relation needs trajectories, not a point")
    try:
        diff = at_point(lhs, point) - at_point(rhs, point)
        if diff == 0 or sp.expand(diff) == 0:
            return InstanceOutcome("agree")
    except Unsupported as exc:  # a size limit refused the line at once: not a pass
        return InstanceOutcome("unsupported", str(exc))
    except Exception as exc:  # SymPy could not evaluate: not a pass
        return InstanceOutcome("unsupported", f"SymPy could not evaluate at the point ({type(exc).__name__})")
    if diff.is_Rational:
        return InstanceOutcome("differ", "the two sides differ", False, {"point": point.describe()})
    prec = PREC_START
    while prec <= PREC_CAP:
        try:
            ball = sympy_ball(diff, prec)
        except NotRepresentable as exc:
            return InstanceOutcome("unsupported", f"undecided: the difference is not a number here ({exc})")
        except Undecidable:
            prec *= 2
            continue
        if not ball.contains(0):
            return InstanceOutcome("differ", "the two sides differ (proved in ball arithmetic)", True,
                                   {"point": point.describe()})
        from flint import arb

        if ball.rad() <= arb(10) ** (-DIGITS) and prec * 2 > PREC_CAP:
            return InstanceOutcome("agree", numeric=True)  # never separated up to the cap: the weaker verdict
        prec *= 2
    return InstanceOutcome("unsupported", f"undecided: the balls neither separate nor tighten by {PREC_CAP} bits")


def _baseline(instance: Instance, rng: random.Random) -> list[Fraction]:
    """A random b(s), zero at one state: a claim about 'any baseline' is tested on an arbitrary one.

    'Any baseline' includes one that vanishes somewhere: a claim that divides by b, or takes the
    log of a product with b, is undefined there, and is found so on every instance with S ≥ 2
    rather than on the one in 41 where a draw happens to be 0.
    """
    q = large_prime(rng)  # values over a large prime: a claim cannot be fitted to the baselines drawn
    values = [Fraction(rng.randint(-20 * q, 20 * q), q) for _ in range(instance.mdp.n_states)]
    if len(values) >= 2:
        values[rng.randrange(len(values))] = Fraction(0)
    return values


def _key_text(key) -> str:
    if isinstance(key, tuple):
        return f"τ^({key[1]})"
    return "τ"


def _exact_sides(lhs, rhs, relation, instance: Instance, outcome: InstanceOutcome, counts) -> tuple[tuple, tuple]:
    """Both sides' exact values (every gradient component) at the failing binding."""
    vector = lhs.has(Derivative) or rhs.has(Derivative)
    K = instance.n_params if vector else 1
    left_vals, right_vals = [], []
    wanted = outcome.bindings or {}
    plans = [p for p in _plans(instance, lhs, rhs, counts) if all(wanted.get(k) == v for k, v in p.tags.items())]
    if not plans:
        return (), ()
    plan = plans[0]
    bound = _bindable(_free_keys(plan.lhs) | _free_keys(plan.rhs))
    if outcome.witness is not None:
        return _witness_sides(plan, instance, outcome, K, bound)
    try:
        support = np.flatnonzero(instance.support()) if bound else np.arange(0)
    except TooManyTrajectories:
        if relation != UNBIASED:
            return ("not shown: too many trajectories to list, and no single trajectory was singled out",), ()
        support = None  # exact expectations by DP over time
    for k in range(K):
        direction = instance.policy.tangent([Fraction(int(j == k)) for j in range(instance.n_params)])
        # Exact where the sides are log-linear; a product of logs is shown as a rigorous ball (the verdict's own route).
        for bk in (LogLinear(), Ball(256)):
            try:
                picked = _sides_at(bk, instance, direction, outcome, plan, relation, support, wanted)
            except Unsupported as exc:
                return (f"not printed: {str(exc).removeprefix('undecided: ')}",), ()
            except NotRepresentable:
                continue
            except (Undefined, IllFormed, ArithmeticError, Undecidable) as exc:
                return (f"not exactly representable ({type(exc).__name__})",), ()
            if picked is None:
                return (), ()
            left_vals.append(_value_text(picked[0]))
            right_vals.append(_value_text(picked[1]))
            break
        else:
            return ("not exactly representable (NotRepresentable)",), ()
    return tuple(left_vals), tuple(right_vals)



def _sides_at(bk, instance: Instance, direction, outcome: InstanceOutcome, plan, relation, support, wanted):
    """Both sides' values in the backend at the failing binding (None: the binding's trajectory is not found)."""
    ev = Evaluator(instance, bk, direction, baseline=list(outcome.baseline) or None)
    if relation == UNBIASED:
        left, right = _exact_expectation(ev, plan.lhs, plan, support), _exact_expectation(ev, plan.rhs, plan, support)
        return left.ravel()[0], right.ravel()[0]
    keys = _bindable(_free_keys(plan.lhs) | _free_keys(plan.rhs))
    texts = {kk: wanted.get(_key_text(kk)) for kk in keys}
    chosen = []
    for kk in keys:
        idx = next((int(t) for t in support if trajectory_text(instance.mdp, int(t)) == texts[kk]), None)
        if idx is None:
            return None
        chosen.append(idx)
    slots = {kk: np.array([c], dtype=np.int64) for kk, c in zip(keys, chosen)}
    left = _pointwise(ev, plan.lhs, plan, slots, 1)
    right = _pointwise(ev, plan.rhs, plan, slots, 1)
    return np.asarray(left).ravel()[0], np.asarray(right).ravel()[0]


def _exact_expectation(ev: Evaluator, expr: Expr, plan: _Plan, support) -> np.ndarray:
    """E[expr] in exact numbers for a counterexample: by DP over time where it covers expr, else over the support.

    Both routes are exact, so they give the same number; listing tens of thousands of trajectories in
    log-linear numbers takes minutes where the DP over time takes a fraction of a second.
    """
    if support is not None:
        try:
            return _expectation_by_dp(ev, expr, plan)[0]
        except (TooManyTrajectories, Unsupported, NotRepresentable, Undefined, IllFormed, ArithmeticError):
            pass  # not covered by the DP (or not defined off the support): the old route decides
    return _expectation(ev, expr, plan, support)[0]


def _witness_sides(plan, instance: Instance, outcome: InstanceOutcome, K: int, keys) -> tuple[tuple, tuple]:
    """Both sides' exact values on the trajectories found by self-reduction (a table of just those rows)."""
    from .free_identity import trajectory_rows

    left_vals, right_vals = [], []
    rows = trajectory_rows(instance.mdp, outcome.witness, keys)
    slots = {kk: np.array([j], dtype=np.int64) for j, kk in enumerate(keys)}
    for k in range(K):
        direction = instance.policy.tangent([Fraction(int(j == k)) for j in range(instance.n_params)])
        try:
            ev = Evaluator(instance, LogLinear(), direction, baseline=list(outcome.baseline) or None)
            ev.states, ev.actions, ev.outcomes = rows
            left = _pointwise(ev, plan.lhs, plan, slots, 1)
            right = _pointwise(ev, plan.rhs, plan, slots, 1)
        except (NotRepresentable, Undefined, IllFormed, Unsupported, ArithmeticError, ValueError) as exc:
            return (f"not exactly representable ({type(exc).__name__})",), ()
        left_vals.append(_value_text(np.asarray(left).ravel()[0]))
        right_vals.append(_value_text(np.asarray(right).ravel()[0]))
    return tuple(left_vals), tuple(right_vals)


# -- steps -------------------------------------------------------------------------

def check_step(lhs: Expr, rhs: Expr, *, relation: str = EQUAL, rule: str = "claim", why: str = "",
               index: int = 1, conditions=(), battery=None, symbolic: SymbolicResult | None = None,
               timeout: float = 2.0, seed: int | None = None, minimize: bool = True,
               root_seed: int | None = None, lhs_is_start: bool = True) -> StepReport:
    """Check lhs (relation) rhs symbolically and on every instance of the battery.

    ``seed`` drives this check's primes, directions, baselines and sample counts (fresh from the
    operating system when None, and printed); ``root_seed`` is the seed that replays the whole
    run (the battery's), shown in the verdict. A failure is reported on the smallest instance
    Hypothesis finds (``minimize``), else on the smallest failing instance of the battery.
    """
    check_arguments("check_step", expressions=(("lhs", lhs), ("rhs", rhs)), relation=relation, seed=seed,
                    timeout=timeout, battery=battery)
    battery = default_battery() if battery is None else battery
    # Trajectories that record random rewards: the prover's P(τ;θ) has the reward factors too, as the instances' has.
    rewards = records_rewards(battery)
    # A sum over paths is the same sum over whole trajectories for every route (prover, enumeration, DP).
    lhs, rhs = marginal_sums(lhs, rewards=rewards), marginal_sums(rhs, rewards=rewards)
    derived = seed is None and getattr(battery, "seed", None) is not None
    if seed is None:
        seed = battery.seed * 1000 + index if derived else fresh_seed()
    # The battery's seed replays a check seeded from it; any other check seed is shown beside it.
    scope = scope_of(battery, check_seed=None if root_seed is not None or derived else seed)
    unit = scope.unit
    # The symbolic route runs in its own process while the instances are checked; its verdict is read after.
    pending = symbolic if symbolic is not None else Pending(_prove_step, (lhs, rhs, relation, timeout, rewards),
                                                            timeout)
    # Sizes past the line's own integer constants (Σ_{t=201}^{H} is empty while H ≤ 200): thin MDPs added, or said.
    from .size_reach import widened

    battery, widening = widened(battery, lhs, rhs, seed)
    if widening is not None and widening.shapes:
        scope = scope_of(battery, check_seed=None if root_seed is not None or derived else seed)
        unit = scope.unit
    beyond = widening.beyond if widening is not None else ""
    rng = random.Random(seed)
    counts = sample_counts(rng, wide=relation == UNBIASED)
    # An m where the line divides by 0 whatever the samples (1/(m − 1) at m = 1) is no case of it: left out, and said.
    poles, poles_why = _m_poles_of(lhs, rhs)
    hole = _m_hole(lhs, rhs, relation, poles)
    if hole is not None:
        return _hole_report(lhs, rhs, relation, rule, why, index, battery, scope, unit, hole, pending)
    counts = _off_poles(counts, poles, rng)
    # A divisor that may be 0 where no instance looks (H = 40, γ = 9/10, a reward of 5): agreement is no pass.
    pole_doubt = _pole_doubt(lhs, rhs, battery)
    if pole_doubt:
        beyond = (beyond + "; " if beyond else "") + pole_doubt
    every_m = _every_m_degree(lhs, rhs, relation)
    m_from, m_why = 1, ""
    doubt = _m_divisor_doubt(lhs, rhs, start=max(poles) + 1 if poles else 1) if every_m is not None else ""
    if doubt:
        every_m, m_why = None, doubt
    if every_m is not None:  # d + 1 values of m past the line's threshold decide a rational function of degree d
        counts, m_from, m_why = _counts_for_every_m(lhs, rhs, counts, every_m, seed, poles=poles)
        if m_from is None:
            every_m, m_from = None, 1
    agreed, numeric, failures, undecided, undefined_count, notes = 0, 0, [], [], 0, []
    # Undefined where a reward or a baseline is 0 is no breach of P(τ;θ) > 0: said so, never that hint.
    at_probability = divides_by_probability(lhs) or divides_by_probability(rhs)
    excluded: list = []  # instances this line cannot be evaluated on without listing every trajectory
    excluded_reasons: list = []
    weighted: list = []  # instances where the line held by the random product-weight test
    for inst in battery:
        try:
            with _time_limit(INSTANCE_TIME_FACTOR * timeout):
                out = check_instance(lhs, rhs, relation, inst, rng, counts=counts, lhs_is_start=lhs_is_start)
        except _OutOfTime:
            spent = budget_spent()
            out = InstanceOutcome("unsupported", budget_text(spent) if spent is not None else
                                  f"not evaluated within {INSTANCE_TIME_FACTOR * timeout:g} s "
                                  f"({INSTANCE_TIME_FACTOR} × the time limit, --timeout)")
        notes.extend(out.notes)
        if out.status == "agree":
            agreed += 1
            numeric += out.numeric
            if out.weighted:
                weighted.append((inst, out.weighted))
        elif out.status == "too large":
            excluded.append(inst)
            excluded_reasons.append(out.reason)
        elif out.status in ("differ", "undefined", "ill-formed"):
            failures.append((inst, out))
            undefined_count += out.status == "undefined"
        else:
            undecided.append((inst, out))
    sym = pending.result() if isinstance(pending, Pending) else pending
    if _limited_text(notes):
        every_m = None  # some m not checked on every tuple: no claim for every m
    if every_m is not None:
        scope = dataclasses.replace(scope, data={**scope.data, "every_m": {"numerator_degree": every_m,
                                                                            "m_checked": list(counts), "from_m": m_from}})
    # Instances where the line above is undefined are that line's failure, reported there.
    missing = [(inst, out) for inst, out in undecided if not out.inherited]
    if excluded:
        # The scope is that of the instances actually checked, and says which were left out and why.
        from .battery import Battery

        kept = Battery([x for x in battery if all(x is not y for y in excluded)],
                       name=getattr(battery, "name", "given"), seed=getattr(battery, "seed", None))
        scope = scope_of(kept, check_seed=None if root_seed is not None or derived else seed)
        shapes = ", ".join(sorted({f"({x.mdp.n_states}, {x.mdp.n_actions}, {x.mdp.horizon})" for x in excluded}))
        scope = dataclasses.replace(scope, text=scope.text + f"; {len(excluded)} large MDPs with (S, A, H) = {shapes} "
                                    "excluded: too large to enumerate for this line",
                                    data={**scope.data, "excluded_too_large": len(excluded)})
    if weighted:
        scope = _weighted_scope(scope, weighted)
    if excluded:
        reasons = sorted({r.split(": ", 1)[1] for r in excluded_reasons if ": " in r})
        if reasons:
            scope = dataclasses.replace(scope, text=scope.text + " (" + "; ".join(reasons) + ")")
    if poles:
        # Said first: the line is a claim for these m only.
        scope = dataclasses.replace(scope, text=f"for m ≥ {max(poles) + 1} only (the line divides by 0 "
                                    f"whatever the samples: {poles_why}); " + scope.text,
                                    data={**scope.data, "m_excluded": list(poles), "m_from_defined": max(poles) + 1})
    counterexample = None
    detail = ""
    contradiction = False
    if failures:
        inst, out = min(failures, key=_size)
        if minimize:
            inst, out = _minimized(lhs, rhs, relation, inst, out, seed, counts, lhs_is_start)
        if out.reason == WEIGHTED_DIFFER:
            out = _located(lhs, rhs, inst, out, counts, seed)
        by_probability = out.status != "undefined" or at_probability
        violated = _violated(conditions, inst, out, by_probability=by_probability)
        counterexample = _counterexample(lhs, rhs, relation, inst, out, violated, counts)
        # Summing over all τ can be mended by keeping P(τ;θ) > 0; a line about one τ cannot.
        over_all = any(isinstance(e, TrajectorySum) and not e.support
                       for side in (lhs, rhs) for e in sp.preorder_traversal(side))
        undefined_hint = HINTS["positive-probability" if over_all and by_probability else
                               "undefined-on-trajectory" if by_probability else "undefined-model-quantity"]
        detail = "; ".join(undefined_hint if c.code == "positive-probability" else HINTS[c.code]
                           for c in violated if c.code in HINTS)
        if not detail and out.status == "undefined":
            detail = undefined_hint
        if not detail and relation == EQUAL and (m in lhs.free_symbols) != (m in rhs.free_symbols) \
                and _has_free_sample(lhs, rhs):
            # A free sample only: Σ_{i=10}^{m} ∇J alone is no sample mean, and E[(1/m) Σ_i R(τ^(i))] is a number.
            detail = HINTS["estimator-as-equality"]
        differ = [x for x, o in failures if o.status == "differ"]
        if sym.proved and any(not x.environment_depends_on_theta for x in differ):
            # Two of derive's own checks disagree: one of them is wrong. Never pick one; fail and say so.
            contradiction = True
            detail = CONTRADICTION + ("; " + detail if detail else "")
        elif sym.proved and differ:
            # The symbolic proof is in the general form, where μ and P(s'|s,a) are θ-free: a failed side condition.
            detail = ENVIRONMENT_ASSUMED + ("; " + detail if detail and detail != HINTS["theta-free-environment"] else "")
            sym = dataclasses.replace(sym, detail=ENVIRONMENT_SCOPE)
        verdict = FAILED
    elif sym.proved and agreed:
        verdict = PROVED
    elif _nonzero_number(sym):
        # The symbolic route reduced lhs − rhs to a number other than 0: that proves a difference.
        verdict = FAILED
        detail = f"lhs − rhs reduces symbolically to the nonzero number {_expr_text(sym.residue)}"
        if agreed:
            contradiction = True
            detail = CONTRADICTION_NUMBER + "; " + detail
    elif agreed and missing:
        # Instances not evaluated are never a pass: the step is undecided, and says how far it got.
        verdict = (f"{UNDECIDED} on {len(missing)} of {len(battery) - len(excluded)} {unit}; "
                   + agreement_phrase(agreed - numeric, numeric, unit, scope.text + _samples_text(lhs, rhs, counts, every_m, m_from, first=max(poles, default=0) + 1)))
    elif agreed and (excluded or beyond or _sample_gap(lhs, rhs, counts, every_m, m_from)):
        # Fewer instances than the battery holds, some m (i) only, or sizes short of the line's constants:
        # less than the line claims, never a pass.
        verdict = (f"{UNDECIDED}: " + _gap_text(lhs, rhs, counts, every_m, battery, excluded, m_from, beyond, m_why) + "; "
                   + agreement_phrase(agreed - numeric, numeric, unit, scope.text + _samples_text(lhs, rhs, counts, every_m, m_from, first=max(poles, default=0) + 1),
                                      total=len(battery) - len(excluded)))
    elif agreed:
        verdict = agreement_phrase(agreed - numeric, numeric, unit, scope.text + _samples_text(lhs, rhs, counts, every_m, m_from, first=max(poles, default=0) + 1),
                                   total=len(battery) - len(excluded))
    else:
        verdict = UNDECIDED
        if not undecided and not detail:
            # Nothing was evaluated: say why, and that a symbolic proof alone is not passed unconfirmed.
            detail = (f"no instance was evaluated: the {len(excluded)} {unit} that have the line's steps are too large "
                      "to enumerate for it" if excluded else "no instance was evaluated")
            if sym.proved:
                detail += "; the symbolic proof is not confirmed by any instance, and a proof passes only with that check"
    if undecided:
        detail = (detail + "; " if detail else "") + (
            f"not evaluated on {len(undecided)} of the {len(battery) - len(excluded)} {unit} checked: {undecided[0][1].reason}"
            + (f" ({len(excluded)} more excluded: too large to enumerate for this line)" if excluded else ""))
    skipped = [n for n in notes if "not checked" in n]  # sampled tuples are said in the verdict itself
    if skipped:
        counted = {n: skipped.count(n) for n in dict.fromkeys(skipped)}
        detail = (detail + "; " if detail else "") + "; ".join(
            f"{n} (on {k} of {len(battery)} instances)" for n, k in counted.items())
    sym_text = sym.status + (f": {sym.detail}" if sym.detail else "")
    limited = _limited_text(notes)
    if limited and verdict != FAILED and verdict != UNDECIDED and verdict != PROVED:
        verdict = verdict[:-1] + limited + ")"
        # Not every tuple, or not every m: a weaker verdict, said first.
        if "not checked" in limited and not verdict.startswith(UNDECIDED):
            verdict = f"{UNDECIDED} (some sample counts not checked); " + verdict
        elif "random sample tuples" in limited and not verdict.startswith(UNDECIDED):
            verdict = "not verified (random sample tuples only); " + verdict
    return StepReport(
        index=index, rule=rule, why=why, relation=relation, verdict=verdict, symbolic=sym_text,
        instances=agreed, numeric_instances=numeric, unit=unit,
        conditions=tuple(_condition_report(c, battery, undefined_count if at_probability else 0,
                                           elsewhere=0 if at_probability else undefined_count) for c in conditions),
        counterexample=counterexample, detail=detail, lhs=_expr_text(lhs), rhs=_expr_text(rhs),
        scope=scope.text + _samples_text(lhs, rhs, counts, every_m, m_from, first=max(poles, default=0) + 1) + limited, scope_data=scope.data,
        contradiction=contradiction,
    )


ENVIRONMENT_ASSUMED = ("this step assumes μ and P(s'|s,a) do not depend on θ; this instance breaks that "
                       "(a failed side condition, not a contradiction)")
ENVIRONMENT_SCOPE = "only where μ and P(s'|s,a) do not depend on θ"
def _weighted_scope(scope, weighted):
    """The scope, saying which instances held the line for every trajectory (tuple) by random product weights, and the bound."""
    shapes = ", ".join(sorted({f"({x.mdp.n_states}, {x.mdp.n_actions}, {x.mdp.horizon})" for x, _ in weighted}))
    bounds = sorted(set(b_ for _, b_ in weighted), key=lambda t: int(t.split("/")[0]))
    text = (f"; on {len(weighted)} MDPs with (S, A, H) = {shapes}, too many trajectories or sample tuples to list, "
            f"every one at once by a random product-weight identity test (a false line passes with probability ≤ {bounds[-1]} each, "
            "Schwartz–Zippel, besides p dividing every difference)")
    data = {**scope.data, "product_weight_test": {
        "instances": len(weighted), "shapes": sorted({(x.mdp.n_states, x.mdp.n_actions, x.mdp.horizon)
                                                       for x, _ in weighted}),
        "error_bound_each": bounds[-1]}}
    return dataclasses.replace(scope, text=scope.text + text, data=data)


CONTRADICTION_NUMBER = ("derive contradicts itself: the instance check found the two sides equal, but the "
                        "symbolic route reduces their difference to a nonzero number; the step is failed — "
                        "please report this")


def _nonzero_number(sym: SymbolicResult) -> bool:
    """Whether the symbolic residue lhs − rhs is a number certainly other than 0 (exact, or a ball excluding 0)."""
    from .backends import sympy_ball

    r = getattr(sym, "residue", None)
    if r is None or not isinstance(r, sp.Expr) or r.free_symbols or not r.is_number or r.has(sp.Sum, sp.Product):
        return False
    if r.is_Rational:
        return r != 0
    try:
        return not sympy_ball(r, PREC_CAP).contains(0)
    except (NotRepresentable, Undecidable, ValueError, TypeError):
        return False


CONTRADICTION = ("derive contradicts itself: its symbolic prover proved this step, but the instance check "
                 "shows the two sides differ; one of derive's checks is wrong, so the step is failed — "
                 "please report this")


def _plan_label(plan: _Plan) -> str:
    return f"m = {plan.tags['m']}" if "m" in plan.tags else "the samples"


def _limited_text(notes) -> str:
    """Which sample counts were checked only on random tuples, or not at all (past the limit), in the verdict."""
    def counts(marker):
        labels = {n.split(" on ")[0].split(" not checked")[0] for n in notes if marker in n}
        ms = sorted((x[4:] for x in labels if x.startswith("m = ")), key=lambda v: int(v) if v.isdigit() else 0)
        return ("m = " + ", ".join(ms)) if ms else ("the samples" if labels else "")

    sampled, skipped = counts("random sample tuples"), counts("not checked")
    out = ""
    if sampled:
        out += (f"; {sampled} on {RANDOM_TUPLES:,} random sample tuples where there are more than {MAX_TUPLES:,} "
                "(not every tuple: a weaker verdict)")
    if skipped:
        out += f"; {skipped} not checked on some instances (past {MAX_TUPLES:,} tuples)"
    return out


M_EVERY_CAP = 256  # the largest m checked for the degree argument (an 'unbiased' m costs O(m) terms per instance)
M_BELOW_CAP = 48   # below a threshold m₀ up to this, every m is checked one by one


def _m_poles_of(lhs, rhs) -> tuple[tuple[int, ...], str]:
    """The m the line is never defined at, whatever the samples (see :func:`derive.sample_degree.m_poles`)."""
    from .sample_degree import m_poles

    if m not in lhs.free_symbols | rhs.free_symbols:
        return (), ""
    return m_poles(lhs, rhs)


def _m_hole(lhs, rhs, relation: str, poles) -> tuple[int, str] | None:
    """The m the line fails at because a side divides by 0 there whatever the samples, and why; None when none does.

    A claim for a sample count holds for every m from its first on, so only poles 1..k are a
    domain (1/(m − 1): m ≥ 2, said in the verdict). A pole past a defined m (1/(m − 7)) is a
    value of m where the line fails. So is one on a side alone, where the other side depends on m
    and is defined, in a relation other than 'unbiased': an identity cannot drop a case of the
    line above (… = … (m − 1)/(m − 1) after (1/m) Σ_i …). Between two estimators (≈) each
    expectation is a claim where both are defined, and a side free of m is defined at every m.
    """
    from .sample_degree import m_poles

    if not poles:
        return None
    first = next(k for k in range(1, max(poles) + 2) if k not in poles)
    late = [k for k in poles if k > first]
    if late:
        return late[0], (f"the line divides by 0 at m = {late[0]} whatever the samples, though it is defined at "
                         f"m = {first}: a claim for every m from {first} on fails at m = {late[0]} ({_pole_words(lhs, rhs, late[0])})")
    if relation == UNBIASED:
        return None
    for side, other, name in ((lhs, rhs, "left"), (rhs, lhs, "right")):
        if m not in other.free_symbols:
            continue
        own, _ = m_poles(side)
        theirs, _ = m_poles(other)
        for k in own:
            if k not in theirs:
                return k, (f"at m = {k} the {name} side divides by 0 whatever the samples ({_pole_words(lhs, rhs, k)}), "
                           f"and the other side is defined: the line drops the case m = {k}")
    return None


def _m_divisor_doubt(lhs, rhs, *, start: int) -> str:
    """Why the degree argument cannot claim every m ≥ start ('' if it can): a divisor in m and other symbols
    (m − H − 100, m − t) that SymPy cannot show nonzero for every m ≥ start, where the line may be undefined.

    Agreement at d + 1 values of m decides a rational function of m only where its denominator is
    nonzero: a divisor 0 at an m no check looks at (m = H + 100) leaves that m unshown.
    """
    from .symbolic import possible_pole

    for side in (lhs, rhs):
        why = possible_pole(side, only=m, at_least=start)
        if why:
            return why.split("; a proof")[0] + f" for every m ≥ {start}"
    return ""


def _pole_doubt(lhs, rhs, battery) -> str:
    """Why agreement on the instances cannot pass the line ('' if it can): a divisor (other than a probability)
    that SymPy cannot show nonzero on the line's ranges, so that it may be 0 at an H, a γ, a reward no
    instance takes ((H − 40)/(H − 40) is undefined at H = 40, (10γ − 9)/(10γ − 9) at γ = 9/10).

    Settled exactly: a polynomial in m alone (its roots are a domain or a failure, see
    :func:`derive.sample_degree.m_poles`), in H alone (no integer root H ≥ 0) and in γ alone (no root in
    (0, 1], or (0, 1) on a battery whose γ are all below 1: its claim is for those).
    """
    from .notation import H, gamma
    from .sample_degree import positive_integer_roots
    from .symbolic import possible_pole

    with_one = any(getattr(getattr(x, "mdp", None), "discount", 0) == 1 for x in battery)

    def clear(f, context) -> bool:
        syms = f.free_symbols
        try:
            if syms == {m} and f.is_polynomial(m):
                return True
            if syms == {H} and f.is_polynomial(H):
                roots = positive_integer_roots(f, symbol=H, least=0)
                found.extend(f"{to_text(f)} = 0 at H = {k}" for k in roots[:3])
                return not roots
            if syms == {gamma} and f.is_polynomial(gamma):
                poly = sp.Poly(f, gamma).sqf_part()
                n = poly.count_roots(0, 1) - (poly.eval(0) == 0) - (poly.eval(1) == 0 and not with_one)
                if n:
                    found.append(f"{to_text(f)} has {n} root{'s' if n > 1 else ''} γ in (0, 1{']' if with_one else ')'}")
                return n == 0
        except (sp.PolynomialError, sp.GeneratorsNeeded, TypeError, ValueError, NotImplementedError):
            return False
        return False

    found: list = []
    for side in (lhs, rhs):
        why = possible_pole(side, clear=clear)
        if why:
            exact = f" ({'; '.join(dict.fromkeys(found))})" if found else ""
            return why.split("; a proof")[0] + exact + ": where it is 0 (under a log, not positive) the line is undefined, and no instance need meet it"
    return ""


def _pole_words(lhs, rhs, k: int) -> str:
    """The divisors that are 0 at m = k, in words ('1/(m - 7)')."""
    from .sample_degree import m_poles

    words = []
    for side in (lhs, rhs):
        _, w = m_poles(side)
        words += [x.split(" at m = ")[0] for x in w.split("; ") if x and str(k) in x.split(" at m = ")[1].split(", ")]
    return ", ".join(dict.fromkeys(words))


def _hole_report(lhs, rhs, relation, rule, why, index, battery, scope, unit, hole, pending) -> StepReport:
    """The step failed at the m where it divides by 0 whatever the samples, on the smallest instance for definiteness."""
    k, text = hole
    sym = pending.result() if isinstance(pending, Pending) else pending
    inst = min(battery, key=lambda x: _size((x, None)))
    out = InstanceOutcome("undefined", reason=f"at m = {k} the line divides by 0, whatever the MDP and the samples",
                          bindings={"m": k})
    counterexample = _counterexample(lhs, rhs, relation, inst, out)
    if sym.proved:
        # The prover cancelled the divisor (f/f = 1): its proof does not reach the m where the line is undefined.
        sym = dataclasses.replace(sym, status="not proved", detail=f"the line is undefined at m = {k}")
    return StepReport(
        index=index, rule=rule, why=why, relation=relation, verdict=FAILED, symbolic=sym.status + (
            f": {sym.detail}" if sym.detail else ""), instances=0, numeric_instances=0, unit=unit,
        conditions=(), counterexample=counterexample, detail=text, lhs=_expr_text(lhs), rhs=_expr_text(rhs),
        scope=scope.text, scope_data={**scope.data, "m_undefined": k},
    )


def _off_poles(counts, poles, rng: random.Random) -> tuple:
    """The counts with each pole replaced by the next m that is none (and not already counted)."""
    if not poles:
        return counts
    out = set()
    for k in counts:
        while k in poles or k in out:
            k += 1
        out.add(k)
    return tuple(sorted(out))


def _counts_for_every_m(lhs, rhs, counts, degree: int, seed: int, *, poles=()) -> tuple[tuple, int | None, str]:
    """The m to check for the degree argument, the threshold m₀ past which they decide every m (None: not shown), and why not.

    Below m₀ (see :func:`derive.sample_degree.m_threshold`) the line is a different function of m,
    so the d + 1 values that decide it are drawn at or past m₀, from the check's seed (values an
    author cannot know in advance); the m below m₀ that are checked are said, never extrapolated.
    With m₀ past ``M_EVERY_CAP`` the drawn values are out of budget: no claim for every m.
    """
    from .sample_degree import threshold_and_reason

    m0, why = threshold_and_reason(lhs, rhs)
    if m0 is None:
        return counts, None, why
    # Agreement decides N ≡ 0 only at m where both sides are defined (D ≠ 0): the poles are no values.
    if m0 <= 1:
        first = [k for k in range(1, degree + 2 + len(poles)) if k not in poles][:degree + 1]
        return tuple(sorted(set(counts) | set(first))), 1, ""
    span = max(2 * (degree + 1), M_WIDE - 9)
    if m0 + span > M_EVERY_CAP:
        return counts, None, (f"which samples coincide changes with m up to m = {m0}; the degree argument needs "
                              f"{degree + 1} values past it, beyond the m ≤ {M_EVERY_CAP} this check reaches")
    past = random.Random(f"every-m {seed}").sample([k for k in range(m0, m0 + span + len(poles)) if k not in poles],
                                                   degree + 1)
    # Below m₀ every m is its own case: each is checked while there are few (else the verdict says which were).
    below = [k for k in range(1, m0) if k not in poles] if m0 <= M_BELOW_CAP else ()
    return tuple(sorted(set(counts) | set(past) | set(below))), m0, ""


def _every_m_degree(lhs, rhs, relation) -> int | None:
    """The numerator degree in m of E[lhs − rhs] when it is shown (see :mod:`derive.sample_degree`), else None.

    Only for expectations ('unbiased') and lines without samples: an '=' between estimators holds for
    every tuple of samples, a set that grows with m, which no degree in m bounds.
    """
    from .sample_degree import MAX_DEGREE, difference_degree

    if m not in lhs.free_symbols | rhs.free_symbols:
        return None
    if relation != UNBIASED and (lhs.has(Sample) or rhs.has(Sample)):
        return None
    d = difference_degree(lhs, rhs)
    return d if d is not None and d + 1 <= MAX_DEGREE else None


def _fixed_indices(e) -> set:
    """The sample indices written as numbers (τ^(1), τ^(2), …) in e."""
    return {int(x.args[0]) for x in sp.preorder_traversal(e) if isinstance(x, Sample) and x.args[0].is_Integer}


def _i_is_a_name(lhs, rhs, counts) -> bool:
    """Whether a free i (without m) only names a sample τ^(i), and the i checked cover every case.

    Samples are i.i.d. and an '=' is checked for every tuple, so τ^(i) for an i not written as a
    number elsewhere is the same claim for every such i: one value outside the numbered samples,
    plus each numbered one (i may coincide with it), decide every i.
    """
    stripped = [side.replace(Sample(i), Sample(sp.Symbol("_sample_name"))) for side in (lhs, rhs)]
    if any(i in side.free_symbols for side in stripped):
        return False  # i is used as a number too (a factor, an index arithmetic, a bound)
    fixed = _fixed_indices(lhs) | _fixed_indices(rhs)
    return fixed <= set(counts) and bool(set(counts) - fixed)


def _sample_gap(lhs, rhs, counts, every_m, m_from: int = 1) -> str:
    """'m ∈ {1, 2, 3, 7}' (or the same for i) when the line speaks of every m (i) but only these were shown; else ''."""
    free = lhs.free_symbols | rhs.free_symbols
    if m in free and every_m is None:
        return "m ∈ {" + ", ".join(map(str, counts)) + "}"
    below = [k for k in range(1, m_from) if k not in counts]
    if m in free and below:  # m below the threshold not checked one by one: not every m
        return (f"m ∈ {{{', '.join(map(str, [k for k in counts if k < m_from]))}}} and every m ≥ {m_from}, "
                f"not m = {_m_spans(below)}")
    if i in free and m not in free and not _i_is_a_name(lhs, rhs, counts):
        return "i ∈ {" + ", ".join(map(str, counts)) + "}"
    return ""


def _m_spans(values) -> str:
    """1..9 for a run of consecutive m, else the values."""
    return f"{values[0]}..{values[-1]}" if len(values) > 2 and values[-1] - values[0] == len(values) - 1 else \
        ", ".join(map(str, values))


def _gap_text(lhs, rhs, counts, every_m, battery, excluded, m_from: int = 1, beyond: str = "", m_why: str = "") -> str:
    """Why a line that agreed everywhere it was evaluated is still not a pass, in words."""
    parts = [beyond] if beyond else []
    if excluded:
        kept = [x for x in battery if all(x is not y for y in excluded) and not isinstance(x, PointInstance)]
        h = max((x.mdp.horizon for x in kept), default=0)
        shapes = ", ".join(sorted({f"({x.mdp.n_states}, {x.mdp.n_actions}, {x.mdp.horizon})" for x in excluded}))
        parts.append(f"held on the {len(kept)} smaller MDPs (H ≤ {h}); the large MDPs with (S, A, H) = {shapes} "
                     "are too large to enumerate for this line")
    gap = _sample_gap(lhs, rhs, counts, every_m, m_from)
    if gap:
        parts.append(f"held for {gap} only ({m_why or 'no argument here covers every value'})")
    return "; ".join(parts) + ": not a pass"


def _samples_text(lhs, rhs, counts, every_m: int | None = None, m_from: int = 1, *, first: int = 1) -> str:
    """The sample counts checked, in words; ``first`` is the least m where the line is defined (its domain)."""
    free = lhs.free_symbols | rhs.free_symbols
    if m in free and every_m is not None and m_from > 1:
        what = "E[lhs − rhs]" if lhs.has(Sample) or rhs.has(Sample) else "lhs − rhs"
        below = [k for k in counts if k < m_from]
        past = [k for k in counts if k >= m_from]
        every = len(below) == m_from - 1
        return (f"; for every m{'' if every else f' ≥ {m_from}'} (from m = {m_from} on, where every range over the "
                f"samples is non-empty or just empty, {what} is a rational function of m with numerator degree ≤ "
                f"{every_m}, and {len(past)} ≥ {every_m + 1} values past it were checked: m = " + ", ".join(map(str, past))
                + (f"; below it each m is its own case, checked one by one: m = {_m_spans(below)}" if every else
                   f"; below it only m = {', '.join(map(str, below))}")
                + (" with i = 1..m" if i in free else "") + ")")
    if m in free and every_m is not None:
        what = "E[lhs − rhs]" if lhs.has(Sample) or rhs.has(Sample) else "lhs − rhs"
        return (f"; for every m{f' ≥ {first}' if first > 1 else ''} ({what} is a rational function of m with numerator degree ≤ {every_m}, and "
                f"{len(counts)} ≥ {every_m + 1} values were checked: m = " + ", ".join(map(str, counts))
                + (" with i = 1..m" if i in free else "") + ")")
    if m in free:
        return "; m = " + ", ".join(map(str, counts)) + (" with i = 1..m" if i in free else "")
    if i in free:
        return "; i = " + ", ".join(map(str, counts))
    return ""


HINTS = {
    "positive-probability": "restore it by summing only over trajectories with P(τ;θ) > 0 "
                            "(the rule 'restrict to the support', valid while π_θ > 0)",
    "positive-policy": "where π_θ(a|s) = 0, trajectories outside the support can still have ∇P(τ;θ) ≠ 0; "
                       "the step holds for policies with full support, such as softmax",
    "theta-free-environment": "on this instance μ or the dynamics depend on θ, so their log-gradients are "
                              "not 0 and those terms cannot be dropped",
    "estimator-as-equality": "a sample mean is a random variable and equals this only in expectation: "
                             "write the step with relation 'unbiased'",
    "undefined-on-trajectory": "the line divides by 0 or takes log 0 on a trajectory of positive probability, "
                               "so it is not defined for every trajectory it speaks of",
    "undefined-model-quantity": "the line divides by 0 or takes log 0 where a quantity of the model (a reward, a "
                                "baseline, a return) is 0, which no side condition excludes: it is not defined "
                                "on every MDP it speaks of",
}


def _violated(conditions, inst: Instance, out: InstanceOutcome, *, by_probability: bool = True) -> list:
    """The step's side conditions that fail on this instance (P(τ;θ) > 0 only where a probability is divided by)."""
    bad = []
    for c in conditions:
        if c.code == "positive-probability" and out.status == "undefined" and by_probability:
            bad.append(c)
        elif c.code == "positive-policy" and any(p == 0 for row in inst.probabilities() for p in row):
            bad.append(c)
        elif c.code == "theta-free-environment" and inst.environment_depends_on_theta:
            bad.append(c)
    return bad


def _minimized(lhs, rhs, relation, inst: Instance, out: InstanceOutcome, seed: int, counts, lhs_is_start=True):
    """Search for a smaller instance of the same kind on which the step fails the same way."""
    from .minimize import kind_of, minimal_instance

    if isinstance(inst, PointInstance):
        return inst, out
    if inst.mdp.n_states == 1 and inst.mdp.horizon == 0 and inst.n_params <= 2:
        return inst, out
    rng = random.Random(seed)
    found: dict = {}

    def fails(candidate: Instance) -> bool:
        result = check_instance(lhs, rhs, relation, candidate, rng, counts=counts, lhs_is_start=lhs_is_start)
        if result.status == out.status:
            found[id(candidate)] = result
            return True
        return False

    kind = kind_of(inst)
    small = minimal_instance(fails, kind)
    if small is None and inst.mdp.n_trajectories > 5_000_000:
        small = _shorter(inst, fails)  # none small: the same large MDP with the shortest failing horizon
    if small is None:
        return inst, out
    result = found.get(id(small)) or check_instance(lhs, rhs, relation, small, rng, counts=counts,
                                                    lhs_is_start=lhs_is_start)
    if result.status != out.status:  # randomized check disagreed on replay: keep the battery's one
        return inst, out
    size = lambda x: (x.mdp.n_trajectories, x.n_params)  # noqa: E731
    return (small, result) if size(small) <= size(inst) else (inst, out)


# The search for a shorter horizon is bounded by work counted, not by seconds: a wall-clock budget
# made the counterexample reported depend on the machine's load (the same step and seed gave the
# large MDP cut to H = 10 on a quiet machine and the uncut one on a busy machine).
SHORTER_WORK = 64_000_000  # trajectory-steps (trajectories × (H + 2)) enumerated, summed over the horizons tried
SHORTER_HORIZONS = 256     # horizons tried at most (each DP-route candidate costs ~50 ms; the battery's H ≤ 200)


def _shorter_cost(mdp) -> int:
    """The work a cut MDP is charged: its trajectory-steps where it can be enumerated, else one DP pass."""
    n = mdp.n_trajectories
    if mdp.reward_distribution:  # each trajectory once per sequence of reward outcomes (as it is enumerated)
        n *= max(len(o) for row in mdp.reward_distribution for o in row) ** (mdp.horizon + 1)
    if n <= TRAJECTORY_BUDGET:
        return n * (mdp.horizon + 2)
    return mdp.n_states ** 2 * mdp.n_actions * (mdp.horizon + 1)  # by DP over time: S × S·A per step


def _shorter(inst: Instance, fails) -> Instance | None:
    """The large MDP cut to the shortest horizon (tried from 1 up, within a work budget) on which the step fails.

    The budget is a count (``SHORTER_WORK``, ``SHORTER_HORIZONS``), so the same step and seed report
    the same counterexample on any machine; a horizon whose cost would pass it ends the search.
    """
    from .mdp import FiniteMDP

    mdp, spent = inst.mdp, 0
    for h in range(1, min(mdp.horizon, SHORTER_HORIZONS + 1)):
        cut = FiniteMDP.from_tables(mdp.initial, mdp.transitions, None if mdp.reward_distribution else mdp.rewards,
                                    reward_distribution=mdp.reward_distribution or None, horizon=h,
                                    discount=mdp.discount, name=f"{mdp.name}, cut to H = {h}")
        spent += _shorter_cost(cut)
        if spent > SHORTER_WORK:
            return None
        cand = Instance(cut, inst.policy, inst.point, name=cut.name, environment=inst.environment)
        if fails(cand):
            return cand
    return None


def _counterexample(lhs, rhs, relation, inst: Instance, out: InstanceOutcome, violated=(), counts=(1,)) -> Counterexample:
    if isinstance(inst, PointInstance):
        return Counterexample(instance=inst.describe(), mdp={}, theta=tuple(f"{k} = {v}" for k, v in inst.values),
                              lhs=(to_text(at_point(lhs, inst)),), rhs=(to_text(at_point(rhs, inst)),),
                              reason=out.reason, bindings=dict(out.bindings or {}))
    left, right = ((), ())
    if out.status == "differ":
        left, right = _exact_sides(lhs, rhs, relation, inst, out, counts)
    theta = tuple(inst.policy.theta_of(inst.point))
    reason = out.reason
    if out.status == "differ" and relation == UNBIASED:
        reason = "the estimator's exact expectation differs from the line above"
    if violated:
        reason += "; side condition violated here: " + "; ".join(f"'{c.text}'" for c in violated)
    from .mdpfile import to_document

    # A valid MDP file (with the policy and the exact θ): `derive gradient` and `derive verify --mdp` replay it.
    mdp = to_document(inst.mdp, inst.policy, inst.point, name=inst.name or "counterexample")
    environment = {}
    if inst.environment_depends_on_theta:
        env = inst.environment
        environment = {"d_initial": [[str(x) for x in row] for row in env.d_initial],
                       "d_transitions": [[[[str(x) for x in k] for k in a] for a in s_] for s_ in env.d_transitions]}
    probabilities = tuple(tuple(str(p) for p in row) for row in inst.probabilities())
    return Counterexample(
        instance=inst.describe(), mdp=mdp,
        theta=theta, lhs=left, rhs=right, reason=reason, bindings=dict(out.bindings or {}),
        probabilities=probabilities, environment=environment,
    )


def _size(failure) -> tuple:
    inst = failure[0]
    return (0, 0) if isinstance(inst, PointInstance) else (inst.mdp.n_trajectories, inst.n_params)


def _condition_report(cond, battery, undefined_count: int, *, elsewhere: int = 0) -> ConditionReport:
    """How a side condition fared; ``elsewhere``: instances undefined at a divisor that is no probability."""
    n = len(battery)
    if any(isinstance(inst, PointInstance) for inst in battery):
        return ConditionReport(cond.text, "not tested: the instances are points, not MDPs")
    if cond.code == "finite-sum":
        biggest = max(inst.mdp.n_trajectories for inst in battery)
        return ConditionReport(cond.text, f"holds on all {n} instances (at most {biggest} trajectories)")
    if cond.code == "positive-probability":
        if undefined_count:
            return ConditionReport(cond.text, f"violated on {undefined_count} of {n} instances")
        if elsewhere:
            return ConditionReport(cond.text, f"holds on all {n} instances (the line divides by 0 on {elsewhere}, "
                                   "but not by a probability)")
        return ConditionReport(cond.text, f"holds on all {n} instances (no division by zero)")
    if cond.code == "positive-policy":
        bad = sum(any(p == 0 for row in inst.probabilities() for p in row) for inst in battery)
        status = f"violated on {bad} of {n} instances" if bad else f"holds on all {n} instances"
        return ConditionReport(cond.text, status)
    if cond.code == "discount-below-one":
        bad = sum(inst.mdp.discount >= 1 for inst in battery)
        status = f"violated on {bad} of {n} instances" if bad else f"holds on all {n} instances"
        return ConditionReport(cond.text, status)
    if cond.code == "theta-free-environment":
        bad = sum(inst.environment_depends_on_theta for inst in battery)
        status = f"violated on {bad} of {n} instances" if bad else f"holds on all {n} instances"
        return ConditionReport(cond.text, status)
    return ConditionReport(cond.text, "not tested")


def _lemma_status(proved_chains: dict, lemma: Derivation) -> tuple[bool, str]:
    """Whether this very derivation (by identity, not by name) was checked earlier and proved symbolically."""
    entry = proved_chains.get(id(lemma))
    if entry is None or entry[0] is not lemma:
        return False, "not checked earlier in this proof"
    return entry[1], entry[2]


def records_rewards(battery) -> bool:
    """Whether some instance of the battery draws random rewards (its trajectories record them)."""
    return any(getattr(getattr(inst, "mdp", None), "reward_distribution", None) for inst in battery or ())


def _prove_step(lhs, rhs, relation, timeout, rewards=False):
    """:func:`prove` as run in place (the caller already is the child process with the time limit)."""
    from .symbolic import _as_expr, _prove

    try:
        lhs, rhs = _as_expr(lhs), _as_expr(rhs)
    except TypeError as exc:
        return SymbolicResult("not proved", str(exc))
    return _prove(lhs, rhs, relation, rewards=rewards)


def _step_symbolic(prev: Expr, step: Step, proved_chains: dict, timeout: float,
                   rewards: bool = False) -> SymbolicResult:
    if step.lemma is not None:  # the line must be exactly what the lemma licenses, whatever built the step
        licensed = follows_from_lemma(prev, step, timeout=timeout)
        if not licensed.proved:
            return SymbolicResult("not proved", f"relies on {step.lemma.name}: {licensed.detail}")
    if step.lemma is not None and step.rule.startswith("by "):
        ok, why = _lemma_status(proved_chains, step.lemma)
        if ok:
            return SymbolicResult("proved", f"by {step.lemma.name}, proved symbolically")
        return SymbolicResult("not proved", f"relies on {step.lemma.name}: {why}")
    result = prove(prev, step.expr, relation=step.relation, timeout=timeout, rewards=rewards)
    if step.lemma is not None and result.proved:
        ok, why = _lemma_status(proved_chains, step.lemma)
        if not ok:
            return SymbolicResult("not proved", f"relies on {step.lemma.name}: {why}")
    return result


def verify_derivation(d: Derivation, *, battery=None, proved_chains: dict | None = None,
                      timeout: float = 2.0, seed: int | None = None, minimize: bool = True,
                      root_seed: int | None = None) -> DerivationReport:
    """Check every step of a derivation, then its stated result (``seed``: see :func:`check_step`)."""
    if seed is None:
        root_seed = fresh_seed() if root_seed is None else root_seed
        seed = root_seed * 1000
    battery = default_battery(seed=root_seed if root_seed is not None else seed) if battery is None else battery
    proved_chains = {} if proved_chains is None else proved_chains
    rewards = records_rewards(battery)   # the prover reads P(τ;θ) as the instances do
    reports, prev = [], d.start
    relation_so_far = EQUAL
    for k, step in enumerate(d.steps, start=1):
        # After an unbiased step the lines are estimators: '=' then means equal for every sample.
        # At most two limited checks (the lemma's licence, the proof) run inside; the outer bound is a backstop.
        sym = in_background(_step_symbolic, (prev, step, proved_chains, timeout, rewards), timeout=2 * timeout + 30)
        reports.append(check_step(
            prev, step.expr, relation=step.relation, rule=step.rule, why=step.why, index=k,
            conditions=step.conditions, battery=battery, symbolic=sym, timeout=timeout, seed=seed + k,
            minimize=minimize, root_seed=root_seed, lhs_is_start=k == 1,
        ))
        if step.relation == UNBIASED:
            relation_so_far = UNBIASED
        prev = step.expr
    structure = []
    if not same_form(d.start, d.goal.lhs, timeout=timeout):
        structure.append(f"the derivation starts at {to_text(d.start)}, not at the stated {to_text(d.goal.lhs)}")
    if not same_form(d.last, d.goal.rhs, timeout=timeout):
        structure.append(f"the derivation ends at {to_text(d.last)}, not at the stated {to_text(d.goal.rhs)}")
    if relation_so_far != d.goal.relation:
        structure.append(f"the chain's relation is '{relation_so_far}' but the stated result says '{d.goal.relation}'")
    unproved = [r for r in reports if not r.symbolic.startswith("proved")]
    if not reports:  # no chain: the stated result is proved (or not) on its own
        goal_sym = prove(d.goal.lhs, d.goal.rhs, relation=d.goal.relation, timeout=timeout, rewards=rewards)
    elif structure:  # the steps prove something, but not the stated result
        goal_sym = SymbolicResult("not proved", f"the chain does not reach the stated result: {structure[0]}")
    elif not unproved:
        goal_sym = SymbolicResult("proved", "every step is proved symbolically")
    else:
        # A failed step is the reason the chain does not prove the result, not the first unproved one.
        first = next((r for r in reports if r.verdict == FAILED), unproved[0])
        why = "failed" if first.verdict == FAILED else "is not proved symbolically"
        goal_sym = SymbolicResult("not proved", f"step {first.index} ({first.rule}) {why}")
    result = check_step(
        d.goal.lhs, d.goal.rhs, relation=d.goal.relation, rule="stated result",
        why=f"{d.name}: the result the derivation sets out to prove", index=0,
        battery=battery, symbolic=goal_sym, timeout=timeout, seed=seed, minimize=minimize, root_seed=root_seed,
    )
    broken = [r for r in reports if not r.ok]
    if broken:
        said = ", ".join(f"step {r.index} ({r.rule}) {'failed' if r.verdict == FAILED else 'is ' + r.verdict}"
                         for r in broken)
        result = replace(result, detail=f"the chain does not establish it: {said}" + (
            "; " + result.detail if result.detail else ""))
    chain_ok = not unproved and not structure
    # Keyed by identity (the object keeps its id alive): two derivations with one name stay apart.
    proved_chains[id(d)] = (d, chain_ok, "every step proved symbolically" if chain_ok else
                            (f"step {unproved[0].index} ({unproved[0].rule}) is not proved symbolically"
                             if unproved else "; ".join(structure)))
    return DerivationReport(d.name, tuple(reports), result, tuple(structure))


def verify_proof(proof: Proof, *, path: str = "", battery=None, timeout: float = 2.0, seed: int | None = None,
                 minimize: bool = True) -> ProofReport:
    """Check every derivation of a proof on the battery (the one the proof declares unless given).

    ``seed`` replays a run exactly: it draws the battery (when none is given) and every prime,
    direction and sample count; without it the battery's seed is used, or a fresh one.
    """
    from .battery import BATTERIES, Battery

    if not isinstance(proof, Proof):
        got = f"the string {proof!r} (load a script with derive.loader.load_proofs)" if isinstance(proof, str) else \
            type(proof).__name__ + (" (wrap it: Proof(name, title, (d,)))" if isinstance(proof, Derivation) else "")
        raise MalformedProof(f"verify_proof: expected a derive Proof, got {got}")
    check_arguments("verify_proof", seed=seed, timeout=timeout, battery=battery)
    start = time.perf_counter()
    if seed is None:
        seed = getattr(battery, "seed", None)
        seed = fresh_seed() if seed is None else seed
    if battery is None:
        battery = BATTERIES[proof.battery](seed=seed)
    elif not isinstance(battery, Battery):
        battery = Battery(battery, name="given", seed=None)
    proved_chains: dict = {}
    reports = tuple(
        verify_derivation(d, battery=battery, proved_chains=proved_chains, timeout=timeout,
                          seed=seed * 1000 + 100 * k, minimize=minimize, root_seed=seed)
        for k, d in enumerate(proof.derivations)
    )
    return ProofReport(
        name=proof.name, title=proof.title, path=path, derivations=reports,
        instances=tuple(inst.describe() for inst in battery), seconds=time.perf_counter() - start,
        notes=tuple(proof.notes), seed=seed, scope=scope_of(battery, check_seed=None if battery.seed == seed else seed).text,
    )



