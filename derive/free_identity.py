"""Lines about every trajectory on MDPs too large to list them: a random product-weight identity test.

A line g(τ_1, …, τ_n) = lhs − rhs = 0 claimed for every tuple of trajectories with P > 0 is
tested at once through

    Z = Σ_{τ_1..τ_n} Π_k W_k(τ_k) · g(τ_1, …, τ_n),    W_k(τ) = Π_{t=0}^{H} w_{k,t}(s_t, a_t, r_t, s_{t+1}),

every w_{k,t}(·) an independent uniform residue mod p (or integer in [1, 2^62) in exact numbers).
Why this decides "for every tuple": Z is a polynomial in the variables w_{k,t}(step), and a
tuple of trajectories is determined by its steps, so distinct tuples give distinct monomials
Π_k Π_t w_{k,t}(step_t of τ_k) (each of degree n(H+1)) and the coefficient of each is the
number g(τ_1, …, τ_n) — whatever g is, a log or a quotient included. So Z is the zero
polynomial exactly when g = 0 on every tuple, and a nonzero Z vanishes at a uniform random point
with probability at most n(H+1)/p (Schwartz–Zippel). The weights enter as factors of their own,
never inside a log or a quotient of g, so that is the polynomial the DP evaluates.

Z is computed without listing tuples: g is split (distributing products over sums, ∇ by the
product rule) into terms c · Π_k f_k(τ_k), each factor reading one trajectory; then
Z = Σ_terms c · Π_k Σ_τ W_k(τ) f_k(τ), each inner sum by dynamic programming over time. A factor
that reads two trajectories at once (log(R(τ^(1)) + R(τ^(2))), say) cannot be split that way:
the line is not covered (:class:`NotCovered`) and the caller says so.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy import Derivative, Expr

from .notation import Sample, TrajectorySum, tau, theta
from .trajectory_dp import NotCovered, random_weights, weighted_plan

__all__ = ["NotCovered", "MAX_TERMS", "split_by_trajectory", "identity_on_every_tuple", "witness", "steps_text", "trajectory_rows", "traj_of", "MAX_POWER"]

MAX_POWER = 8  # (f(τ^(1)) + f(τ^(2)))^n is written out as a product up to this n
# Distributing products over sums can grow without bound (m factors of m-term sums): past this
# many terms the line is not covered (refused at once, never a pass), instead of filling memory.
MAX_TERMS = 4096


def traj_of(key):
    """The trajectory a key of :func:`derive.check._free_keys` stands for: τ, or the sample τ^(k)."""
    return tau if key == tau else Sample(sp.Integer(key[1]))


def split_by_trajectory(e: Expr, keys) -> list[tuple[list, dict]]:
    """e as terms (constant factors, {key: factors reading only that trajectory}) whose sum is e."""
    terms = _split(e, keys)
    _within_limit(terms)
    return terms


def _within_limit(terms: list) -> list:
    if len(terms) > MAX_TERMS:
        raise NotCovered(f"splitting the line by trajectory gives more than {MAX_TERMS:,} terms")
    return terms


def _split(e: Expr, keys) -> list[tuple[list, dict]]:
    from .check import _free_keys  # lazily: check imports this module

    keys = set(keys)
    mine = _free_keys(e) & keys
    if not mine:
        return [([e], {})]
    if len(mine) == 1:
        return [([], {next(iter(mine)): [e]})]
    if isinstance(e, sp.Add):
        return _within_limit([t for a in e.args for t in _split(a, keys)])
    if isinstance(e, sp.Mul):
        terms = [([], {})]
        for a in e.args:
            parts = _split(a, keys)
            _within_limit(range(len(terms) * len(parts)))   # refused before the product is built
            terms = [(c1 + c2, _merge(p1, p2)) for c1, p1 in terms for c2, p2 in parts]
        return terms
    if isinstance(e, sp.Pow) and e.args[1].is_Integer and 1 <= int(e.args[1]) <= MAX_POWER:
        return _split(sp.Mul(*([e.args[0]] * int(e.args[1])), evaluate=False), keys)
    if isinstance(e, Derivative) and e.variable_count == ((theta, 1),):
        inner = e.expr
        if isinstance(inner, sp.Add):  # linearity
            return _within_limit([t for a in inner.args for t in _split(Derivative(a, theta), keys)])
        if isinstance(inner, sp.Mul):  # the product rule
            args = inner.args
            parts = [sp.Mul(*args[:k], Derivative(args[k], theta), *args[k + 1:], evaluate=False)
                     for k in range(len(args))]
            return _within_limit([t for p in parts for t in _split(p, keys)])
    from .text import to_text

    raise NotCovered(f"{to_text(e)} reads several trajectories in one factor")


def _merge(p1: dict, p2: dict) -> dict:
    out = {k: list(v) for k, v in p1.items()}
    for k, v in p2.items():
        out.setdefault(k, []).extend(v)
    return out


def identity_on_every_tuple(ev, lhs: Expr, rhs: Expr, keys, rng, *, ints: dict | None = None) -> bool | None:
    """Whether lhs = rhs for every tuple of the free trajectories ``keys`` with P > 0 (see the module docstring).

    ``False`` is certain; ``True`` is wrong with probability at most len(keys)·(H+1)/p (mod p) or
    len(keys)·(H+1)/(2^62 − 1) (exact numbers). None: a needed value is unknown in this number
    system (a log's value mod p). Raises NotCovered for shapes the split or the DP does not cover.
    """
    z = _Weighted(ev, lhs, rhs, keys, ints)
    total = z.total({k: random_weights(ev, rng) for k in z.keys})
    return None if total is None else _zero(ev.backend, total)


def witness(ev, lhs: Expr, rhs: Expr, keys, rng, *, ints: dict | None = None) -> dict | None:
    """A tuple of trajectories on which lhs ≠ rhs, as {key: [(s_t, a_t, outcome_t, s_{t+1}) for t = 0..H]}.

    Found without listing trajectories by self-reduction: step by step, the candidate steps are
    halved and the half whose restricted weighted sum is nonzero is kept (each answer certain
    when nonzero). None when no witness was found (the sums vanished, or a value is unknown).
    """
    z = _Weighted(ev, lhs, rhs, keys, ints)
    bk, mdp = ev.backend, ev.mdp
    masks = {k: [np.ones(w.shape, dtype=bool) for w in random_weights(ev, rng)] for k in z.keys}

    current: dict = {}

    def restricted(k):
        out = []
        for w, mask in zip(random_weights(ev, rng), masks[k]):
            w = w.copy()
            w[~mask] = bk.zero()
            out.append(w)
        return out

    def nonzero(changed=None) -> bool | None:
        # Fresh weights for the trajectory being narrowed; the others keep theirs (their sums are cached).
        for k in z.keys:
            if k not in current or k == changed or changed is None:
                current[k] = restricted(k)
        total = z.total(current)
        return None if total is None else not _zero(bk, total)

    if not nonzero():
        return None
    for k in z.keys:
        for t in range(mdp.horizon + 1):
            if t:  # step t starts where step t − 1 ended
                prev = np.unravel_index(int(np.flatnonzero(masks[k][t - 1].ravel())[0]), masks[k][t - 1].shape)
                masks[k][t][:] = False
                masks[k][t][prev[3]] = True
            cand = np.flatnonzero(masks[k][t].ravel())
            while cand.size > 1:
                half = cand[: cand.size // 2]
                flat = np.zeros(masks[k][t].size, dtype=bool)
                flat[half] = True
                keep = masks[k][t]
                masks[k][t] = flat.reshape(keep.shape)
                if nonzero(k):
                    cand = half
                    continue
                flat[:] = False
                flat[cand[cand.size // 2:]] = True
                masks[k][t] = flat.reshape(keep.shape)
                cand = cand[cand.size // 2:]
            if not nonzero(k):  # the kept half vanished at its random point: give up rather than guess
                return None
    return {k: [tuple(int(v) for v in np.unravel_index(int(np.flatnonzero(m.ravel())[0]), m.shape))
                for m in masks[k]] for k in z.keys}


def _zero(bk, total) -> bool:
    return bool(np.all(bk.is_zero(np.asarray(total))))


# One bound symbol for every key: each inner sum Σ_τ W_k(τ) f_k(τ) is over one trajectory of its own, so
# the name is immaterial, and equal bodies of different keys (and instances) share one compiled plan.
_BOUND = sp.Dummy("τ")
# The split of lhs − rhs by trajectory is symbolic only: done once per line, not once per instance.
_SPLITS: dict = {}


def _split_once(lhs, rhs, keys) -> tuple[list, list]:
    """(terms, bodies) of lhs − rhs split by trajectory, each body with ``_BOUND`` for its trajectory (cached)."""
    key = (lhs, rhs, tuple(keys))
    if key not in _SPLITS:
        if len(_SPLITS) > 256:
            _SPLITS.clear()
        diff = sp.Add(lhs, sp.Mul(sp.Integer(-1), rhs, evaluate=False), evaluate=False)
        try:
            terms = split_by_trajectory(diff, keys)
        except NotCovered as exc:
            _SPLITS[key] = exc
        else:
            with sp.evaluate(False):  # one block for every body, not one per substitution: each toggle clears SymPy's cache
                bodies = [{k: _body(k, parts.get(k, [])) for k in keys} for _, parts in terms]
            _SPLITS[key] = (terms, bodies)
    found = _SPLITS[key]
    if isinstance(found, NotCovered):
        raise NotCovered(str(found))
    return found


def _body(k, factors):
    from .check import _subst

    if not factors:
        return sp.Integer(1)
    return sp.Mul(*[_subst(f, {traj_of(k): _BOUND}) for f in factors], evaluate=False)


class _Weighted:
    """Z(weights) = Σ over tuples of Π_k W_k(τ_k) · (lhs − rhs), split by trajectory once."""

    def __init__(self, ev, lhs, rhs, keys, ints):
        self.ev, self.ints = ev, dict(ints or {})
        self.keys = sorted(keys, key=str)
        self.terms, self.bodies = _split_once(lhs, rhs, self.keys)
        self.plans: dict = {}
        self.seen: dict = {}

    def _sum(self, k, body, weights):
        """Σ_τ W_k(τ) body(τ); cached for the same weights object, one plan per body for every key's weights."""
        if body not in self.plans:
            self.plans[body] = weighted_plan(self.ev, TrajectorySum(body, _BOUND, True), ints=self.ints)
        key = (k, body)
        if key not in self.seen or self.seen[key][0] is not weights:
            self.seen[key] = (weights, self.plans[body](weights).val)
        return self.seen[key][1]

    def total(self, weights: dict):
        ev, bk = self.ev, self.ev.backend
        total = bk.zero()
        for (consts, _), bodies in zip(self.terms, self.bodies):
            value = bk.one()
            for c in consts:
                v = ev.evaluate(c, ints=self.ints).val
                if v is None:
                    return None
                value = bk.mul(value, v)
            for k in self.keys:
                v = self._sum(k, bodies[k], weights[k])
                if v is None:
                    return None
                value = bk.mul(value, v)
            total = bk.add(total, value)
        return total


def steps_text(mdp, steps) -> str:
    """A trajectory given by its steps, written as :func:`derive.semantics.trajectory_text` writes it."""
    parts = [f"s0={steps[0][0]}"]
    for k, (s_, a_, o, s2) in enumerate(steps):
        parts.append(f"a{k}={a_}")
        if mdp.reward_distribution:
            parts.append(f"r{k}={mdp.reward_distribution[s_][a_][o][0]}")
        parts.append(f"s{k + 1}={s2}")
    return "(" + ", ".join(parts) + ")"


def trajectory_rows(mdp, found: dict, keys) -> tuple:
    """Trajectory tables (states [n, H+2], actions [n, H+1], outcomes or None) holding one row per key, in order."""
    rows = [found[k] for k in keys]
    states = np.array([[st[0][0]] + [step[3] for step in st] for st in rows], dtype=np.int64)
    actions = np.array([[step[1] for step in st] for st in rows], dtype=np.int64)
    outcomes = np.array([[step[2] for step in st] for st in rows], dtype=np.int64) if mdp.reward_distribution else None
    return states, actions, outcomes
