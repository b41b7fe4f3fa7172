"""How far past its own integer constants a line is checked in H, S and A.

A Σ_{t=201}^{H} is the empty sum on every MDP with H < 201, and Σ_s Π_{k=0}^{7}(s − k) is 0 while
S ≤ 8: a battery whose sizes stop short of a line's constants cannot fail such a line, whatever
its seed. So the constants that can meet a size are read off the line — the bounds of sums and
products, integer terms added to an integer-valued symbol (t − 201, s − 7, H + 3), the step of a
state, action or reward written as a number (r_{201}), and both sides of a comparison — and
the line is also checked on thin MDPs past the largest one: long ones (S, A ≤ 2, H past it) and
wide short ones (S or A past it, H ≤ 1), their sizes drawn from the check's seed — and one with
every size at once (the battery's largest S and A with H past the constant, or the like), since a
term such as (x² − x) d_t summed from t = 201 is 0 on thin MDPs and on short ones alike; where that
corner costs more than ``CORNER_COST`` it is said and the line is undecided. A constant past
what a check can reach (``CAPS``) is said: the line is then undecided, never a pass for every size.

Only the dimensions the battery itself varies are widened (a bandit battery keeps S = 1, H = 0).
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from dataclasses import dataclass

import sympy as sp

__all__ = ["size_constant", "size_constants", "size_breakpoints", "uncovered_indicators", "widened", "CAPS", "Widening",
           "MAX_BREAKPOINTS"]

CAPS = {"H": 1000, "S": 64, "A": 64}   # the largest sizes a line is widened to (DP cost ~ S²·A·H per table)
CORNER_COST = 2 ** 17                  # the largest S²·A·(H + 1) of the instance with every size at once
MAX_BREAKPOINTS = 24                   # the most sizes added beside a line's constants (more are said, not added)


@dataclass(frozen=True)
class Widening:
    """What widening a battery for a line did: the constant, the shapes added, what stays out of reach."""

    constant: int
    shapes: tuple = ()      # (S, A, H) of the instances added
    beyond: str = ""        # in words, the sizes past the caps the line's constants call for ('' if none)


def _shown(n: int) -> str | None:
    """n in digits, or None past 30 digits (a 10^6-digit constant is not printed)."""
    return str(n) if n.bit_length() <= 99 else None


def _digits(n: int) -> str:
    return f"of about {int(n.bit_length() * 0.30103) + 1:,} digits"


_BITS = 4096  # past this many bits a constant is past every cap anyway (it is then said, not computed)


class _TooLarge(Exception):
    pass


def _value(v) -> Fraction | None:
    """The rational value of arithmetic on numbers written unevaluated (2·250, 100 + 101, 2^8, 1000/2), else None."""
    if isinstance(v, sp.Rational):
        return Fraction(int(v.p), int(v.q))
    if isinstance(v, sp.Float):
        return Fraction(float(v)) if v.is_finite else None
    if isinstance(v, (sp.Add, sp.Mul)):
        parts = [_value(a) for a in v.args]
        if any(x is None for x in parts):
            return None
        out = Fraction(0) if isinstance(v, sp.Add) else Fraction(1)
        for x in parts:
            out = out + x if isinstance(v, sp.Add) else out * x
            if max(out.numerator.bit_length(), out.denominator.bit_length()) > _BITS:
                raise _TooLarge
        return out
    if isinstance(v, sp.Pow):
        base, ex = _value(v.args[0]), _value(v.args[1])
        if base is None or ex is None or ex.denominator != 1:
            return None
        if base == 0:
            return None if ex < 0 else Fraction(int(ex == 0))
        n = abs(int(ex))
        if max(base.numerator.bit_length(), base.denominator.bit_length()) * n > _BITS:
            raise _TooLarge
        return base ** int(ex)
    return None


def _number(v) -> int | None:
    """|v| rounded up where v is a number, or arithmetic on numbers the reader left unevaluated; None otherwise.

    Read by value, not by shape: Σ_{t=3·67}^{H} starts at 201 and r_{100+101} is the step 201 (read
    as shapes, 3·67 was no number at all and 100 + 101 was two constants of at most 101).
    """
    if isinstance(v, sp.Number) and v.is_finite and v.is_real:
        return int(math.ceil(abs(sp.Rational(v)))) if v.is_Rational else int(math.ceil(abs(float(v))))
    if not isinstance(v, (sp.Add, sp.Mul, sp.Pow)) or v.free_symbols:
        return None
    try:
        val = _value(v)
    except _TooLarge:
        return 1 << _BITS  # past every cap: the line is undecided, and says so
    return None if val is None else int(math.ceil(abs(val)))


def _terms(e) -> list[int]:
    """The integer constants among the additive terms of e (e itself when a number), and their sum when several.

    t − 250 − 250 left unevaluated meets t = 500: the sum of the constants' sizes bounds the constant they make.
    """
    e = sp.sympify(e)
    parts = e.args if isinstance(e, sp.Add) else (e,)
    out = [n for n in map(_number, parts) if n is not None]
    return out + [sum(out)] if len(out) > 1 else out


def _direct_symbols(e) -> set:
    """The symbols e adds up directly (t in t − 201 or 2t + 1), not those inside a value such as r_t + 18."""
    parts = e.args if isinstance(e, sp.Add) else (e,)
    out = set()
    for part in parts:
        for f in (part.args if isinstance(part, sp.Mul) else (part,)):
            if isinstance(f, sp.Symbol):
                out.add(f)
            elif _opaque(f):  # max(t, 250) − 250 meets t as t − 250 does
                out |= f.free_symbols
    return out


def _opaque(e) -> bool:
    """A function SymPy evaluates at integers but that is no arithmetic: max, min, floor, δ, Mod, |·| (not derive's notation)."""
    from .notation import __name__ as notation

    return isinstance(e, sp.core.function.Application) and type(e).__module__ != notation and bool(e.free_symbols)


def _opaque_constants(e) -> list[int]:
    """Every number inside such a function, and the denominators of its fractions: floor(t/251) breaks at t = 251."""
    out = []
    for a in sp.preorder_traversal(e):
        if isinstance(a, sp.Rational):
            out += [abs(int(a.p)), int(a.q)]
        elif (n := _number(a)) is not None and isinstance(a, sp.Number):
            out.append(n)
    return out


def _direct_sizes(e) -> set:
    """'S' or 'A' where e adds up Σ_s 1 or Σ_b 1 directly (Σ_s 1 − 7 meets S as s − 7 does)."""
    from .notation import ActionSum, StateSum

    out = set()
    for part in (e.args if isinstance(e, sp.Add) else (e,)):
        for f in (part.args if isinstance(part, sp.Mul) else (part,)):
            if isinstance(f, StateSum):
                out.add("S")
            elif isinstance(f, ActionSum):
                out.add("A")
    return out


def _kinds(syms, kinds) -> set:
    """The sizes (H, S, A) the integer-valued symbols stand for; an unknown one stands for each."""
    out = set()
    for sym in syms:
        if sym in kinds:
            out |= kinds[sym]
        elif sym.is_integer:
            out |= {"H", "S", "A"}
    return out


def size_constants(*sides) -> dict:
    """The largest integer constant in the sides meeting each size: {'H': 201, 'S': 7}, empty if none.

    A constant meets H when it sits by a time (t, u, H, a Σ index over steps) or is the step of a
    state, action or reward; S by a state (s, a Σ_s index); A by an action (b, c, a Σ_b index).
    """
    found, degrees, _ = _constants(*sides)
    out = {k: max(v) for k, v in found.items() if v}
    # A nonzero polynomial of degree d in an index has at most d roots (t(t−1)…(t−299) expanded has no
    # constant term): past the largest constant, d more index values are needed for one non-root.
    for k, deg in degrees.items():
        if deg > 1:
            out[k] = out.get(k, 0) + deg
    return out


def size_breakpoints(*sides) -> dict:
    """Every integer constant in the sides meeting each size: {'H': {200, 201, 202}}, empty if none.

    Near each the line may change its form (Σ_{k=200}^{H} starts, (H − 200)² is 0 and 0^{(H−200)²} is 1),
    so a line that is wrong only at H = 200 is checked there, not only past its largest constant.
    """
    found, _, roots = _constants(*sides)
    out = {k: set(v) for k, v in found.items() if v}
    for k, v in roots.items():
        out.setdefault(k, set()).update(v)
    return {k: v for k, v in out.items() if v}


_MAX_ROOT_DEGREE = 64  # past this degree a polynomial's roots are not sought (its degree still widens the line)


def _integers_at_roots(e, sym) -> set:
    """The integers at each real root of e, a polynomial in sym alone with rational coefficients (⌊r⌋ and ⌈r⌉).

    (H/200 − 1)² and ((H − 200)/7)² are 0 at H = 200 though no term of theirs is 200: their roots are read, exactly.
    """
    try:
        poly = sp.Poly(e, sym)
    except sp.PolynomialError:
        return set()
    if not (poly.domain.is_ZZ or poly.domain.is_QQ) or not 1 <= poly.degree() <= _MAX_ROOT_DEGREE:
        return set()
    out = set()
    for (lo, hi), _ in poly.intervals():  # isolating intervals with rational ends: exact, no float decides
        out.update({int(math.floor(lo)), int(math.ceil(hi))})
    return out


def _constants(*sides):
    """({size: every constant meeting it}, {size: the largest polynomial degree in an index meeting it},
    {size: the integers at the real roots of the polynomials in one index})."""
    from .notation import ActionSum, RewardProbability, Sample, StateSum, _StepOf, c as c2, i, m

    out: dict = {}
    degrees: dict = {}  # the largest polynomial degree in an index meeting each size
    roots: dict = {}

    def note_roots(e, kinds):
        for sym in e.free_symbols:
            meets = _kinds({sym}, kinds)
            if meets and e.free_symbols == {sym}:
                found = _integers_at_roots(e, sym)
                for k in meets:
                    roots.setdefault(k, set()).update(found)

    def note_degrees(e, kinds):
        for sym in e.free_symbols:
            for k in _kinds({sym}, kinds):
                degrees[k] = max(degrees.get(k, 0), _poly_degree(e, sym), _width(e, sym))

    def note(kinds, values):
        for k in kinds:
            out.setdefault(k, set()).update(values)

    def walk(e, kinds):
        if not isinstance(e, sp.Basic) or e.is_Atom:
            return
        if isinstance(e, Sample):
            return
        if isinstance(e, (sp.Sum, sp.Product)):
            inner = dict(kinds)
            for var, *bounds in e.args[1:]:
                syms = set().union(*(sp.sympify(bd).free_symbols for bd in bounds)) - {var}
                if syms & {m, i}:
                    inner[var] = set()  # a range over the samples: see derive.sample_degree
                    continue
                # The index is a time (state, action) when its bounds are; with constant bounds, what it meets in the body.
                kind = _kinds(syms, inner) or _kinds(e.args[0].free_symbols - {var}, inner)
                kind = kind | kinds.get(var, set())  # Σ_{t=0}^{10}: t is a time whatever its bounds
                inner[var] = kind
                note(kind, [n for bd in bounds for n in _terms(bd)])
                if len(bounds) == 2:  # Σ_{k=3H−3}^{H+39} is empty from H = 22 on: where hi − lo + 1 crosses 0
                    span = sp.expand(sp.sympify(bounds[1]) - sp.sympify(bounds[0]))
                    note_roots(span, inner)
                    note_roots(span + 1, inner)
            walk(e.args[0], inner)
            for _, *bounds in e.args[1:]:
                for bd in bounds:
                    walk(bd, inner)
            return
        if isinstance(e, StateSum):
            walk(e.args[0], {**kinds, e.args[1]: {"S"}})
            return
        if isinstance(e, ActionSum):
            walk(e.args[0], {**kinds, e.args[1]: {"A"}})
            return
        if isinstance(e, (sp.Add, sp.Mul, sp.Pow)):
            note_degrees(e, kinds)
        if isinstance(e, sp.Add):
            note(_kinds(_direct_symbols(e), kinds) | _direct_sizes(e), _terms(e))
            note_roots(e, kinds)
        elif isinstance(e, sp.Rel):
            note(_kinds(set().union(*map(_direct_symbols, e.args)), kinds),
                 [n for a in e.args if _number(a) is not None for n in _terms(a)])
        elif isinstance(e, sp.Piecewise):
            note(_kinds(e.free_symbols, kinds), [n for a in e.args if _number(a) is not None for n in _terms(a)])
        elif isinstance(e, (_StepOf, RewardProbability)):  # the step of s_k, a_k, r_k written as a number
            note({"H"}, [n for a in e.args[1:] if _number(a) is not None for n in _terms(a)])
        elif _opaque(e):
            # A breakpoint inside max(t, 250), floor(t/251) or δ(t, 250) is no term of a sum: every number there counts.
            note(_kinds(e.free_symbols, kinds), _opaque_constants(e))
        elif isinstance(e, sp.Function) and type(e).__module__ == __name__.rsplit(".", 1)[0] + ".notation":
            # μ(3), π(1|2): a state or action written as a number (log, exp and the like index nothing)
            note({"S", "A"}, [n for a in e.args if _number(a) is not None for n in _terms(a)])
        for a in e.args:
            walk(a, kinds)

    from .notation import H as H_, b as b_, t as t_, u as u_, x as x_

    base = {m: set(), i: set(), t_: {"H"}, u_: {"H"}, H_: {"H"}, x_: {"S"}, b_: {"A"}, c2: {"A"}}
    for side in sides:
        walk(side, base)
    return out, degrees, roots


def _poly_degree(e, sym) -> int:
    """A bound on the degree of e as a polynomial in sym, values indexed by it (r_t, d_t(x)) counting 0."""
    if e == sym:
        return 1
    if not isinstance(e, sp.Basic) or sym not in e.free_symbols:
        return 0
    if isinstance(e, sp.Add):
        return max(_poly_degree(a, sym) for a in e.args)
    if isinstance(e, sp.Mul):
        return sum(_poly_degree(a, sym) for a in e.args)
    if isinstance(e, sp.Pow) and e.args[1].is_Integer and e.args[1] >= 0:
        return int(e.args[1]) * _poly_degree(e.args[0], sym)
    return 0


_MAX_BASIS = 4096  # past this many basis terms the width is not tracked (one term past the caps says it)


def _basis(e, sym) -> dict | None:
    """e as Σ p_b(sym)·b^sym, as {b: degree of p_b}: the exponential polynomial it is, or None (not one)."""
    if not isinstance(e, sp.Basic) or sym not in e.free_symbols:
        return {sp.Integer(1): 0}
    if e == sym:
        return {sp.Integer(1): 1}
    if isinstance(e, sp.Add):
        out: dict = {}
        for a in e.args:
            part = _basis(a, sym)
            if part is None:
                return None
            for b_, d in part.items():
                out[b_] = max(out.get(b_, 0), d)
        return out if len(out) <= _MAX_BASIS else None
    if isinstance(e, sp.Mul):
        out = {sp.Integer(1): 0}
        for a in e.args:
            part = _basis(a, sym)
            if part is None:
                return None
            nxt: dict = {}
            for b1, d1 in out.items():
                for b2, d2 in part.items():
                    key = b1 * b2
                    nxt[key] = max(nxt.get(key, 0), d1 + d2)
            if len(nxt) > _MAX_BASIS:
                return None
            out = nxt
        return out
    if isinstance(e, sp.Pow):
        base, ex = e.args
        if sym not in base.free_symbols:  # c^(a·t + d): the base c^a
            a = sp.expand(ex).coeff(sym)
            if a.is_Integer and sym not in sp.expand(ex - a * sym).free_symbols:
                return {sp.Pow(base, a): 0}
            return None
        if ex.is_Integer and 0 <= ex <= 64:
            return _basis(sp.Mul(*[base] * int(ex), evaluate=False), sym) if ex > 0 else {sp.Integer(1): 0}
        return None
    return {sp.Integer(1): 0}  # a value indexed by sym (r_t, d_t(x)): degree 0, as in _poly_degree


def _width(e, sym) -> int:
    """How many values of sym past a breakpoint show an exponential polynomial Σ_j c_j j^t is not 0, less one.

    With n basis terms t^k b^t it has at most n − 1 zeros in a row (a recurrence of order n), so Σ_j
    (−1)^(K−j) C(K, j) j^t — 0 for every t < K, written with K bases and no K anywhere — needs n values.
    """
    basis = _basis(e, sym)
    if not basis:
        return 0
    return sum(d + 1 for d in basis.values()) - 1


def size_constant(*sides) -> int:
    """The largest integer constant in the sides that meets some size: 0 if none."""
    return max(size_constants(*sides).values(), default=0)


def _shapes(battery, constants: dict, rng: random.Random):
    """The (S, A, H) to add and the sizes beyond the caps, for a line whose constants meeting each size are ``constants``."""
    mdps = [x.mdp for x in battery if getattr(x, "mdp", None) is not None]
    if not mdps:
        return [], []
    dims = {"S": [x.n_states for x in mdps], "A": [x.n_actions for x in mdps], "H": [x.horizon for x in mdps]}
    # A step needs H ≥ c; a state or action numbered c + 1 (past s − c = 1) needs S ≥ c + 2.
    need = {k: v + (1 if k == "H" else 2) for k, v in constants.items()}
    fixed = {k: v[0] for k, v in dims.items() if min(v) == max(v)}
    shapes, beyond = [], []
    for dim in [d for d in ("H", "S", "A") if d in need]:
        if dim in fixed or max(dims[dim]) >= need[dim]:
            continue
        if need[dim] > CAPS[dim]:
            beyond.append(f"{dim} ≥ {_shown(need[dim])}" if _shown(need[dim]) else f"{dim} past it")
            continue
        for small in (1, 2):
            size = rng.randint(need[dim], min(CAPS[dim], need[dim] + max(4, need[dim] // 4)))
            shape = {"S": small, "A": small, "H": 0 if small == 1 else 1}
            shape[dim] = size
            shape.update(fixed)
            shapes.append((shape["S"], shape["A"], shape["H"]))
    corner = _corner(dims, need, fixed, rng) if shapes else None
    if corner is not None:
        if _cost(corner) <= CORNER_COST and all(corner[k] <= CAPS[d] for k, d in enumerate("SAH")):
            shapes.append(corner)
        else:  # a line may need every size at once (x² − x with t ≥ 201): not reached, said
            beyond.append(f"(S, A, H) = ({corner[0]}, {corner[1]}, {corner[2]}) together")
    return sorted(set(shapes)), beyond


def uncovered_indicators(*sides) -> list[str]:
    """Each 0^e of the sides whose e = 0 derive cannot place in the sizes: e in integer indices that is no polynomial
    with rational coefficients, or one in two or more of them other than ±v₁ ± v₂ … + c.

    0^e is 1 where e = 0 and 0 elsewhere: 1 − 0^{(H−15)(H−25)+25+t} is 0 at H = 20, t = 0 alone. In one index its
    roots are read exactly (size_breakpoints); ±v₁ ± v₂ … + c in several (0^{H−t}), its zeros move with the
    constants; past that (H + 1 − 17j: every 17th H) they may sit at sizes no finite battery is sure to meet: said,
    and the line is undecided.
    """
    from .notation import i, m

    out = []
    for side in sides:
        if not isinstance(side, sp.Basic):
            continue
        for x in sp.preorder_traversal(side):
            if isinstance(x, sp.Pow) and x.base.is_number and x.base.is_zero and not x.exp.is_number:
                what = [(x.exp, sp.sstr(x))]
            elif isinstance(x, (sp.Sum, sp.Product)):   # Σ_{k=17j}^{H+1} is empty or not as 0^{H+1−17j} is 1 or not
                what = [(sp.sympify(hi) - sp.sympify(lo), f"the range {sp.sstr(lo)} … {sp.sstr(hi)} of a sum")
                        for _, lo, hi in x.limits if not any(v in (m, i) for v in sp.sympify(hi - lo).free_symbols)]
            else:
                continue
            for e, shown in what:
                if not _placed(e, m, i) and shown not in out:
                    out.append(shown)
    return out


def _placed(e, m, i) -> bool:
    """Whether derive can place the zeros of e in the sizes: a number, a polynomial in one integer index, or ±v₁ ± v₂ … + c."""
    syms = sorted((v for v in e.free_symbols if v.is_integer and v not in (m, i)), key=str)
    if not syms:
        return True
    try:
        poly = sp.Poly(e, *syms)
    except sp.PolynomialError:
        return False
    return (poly.domain.is_ZZ or poly.domain.is_QQ) and (len(syms) == 1 or _unit_linear(poly))


def _unit_linear(poly) -> bool:
    """Whether poly is ±v₁ ± v₂ … + c: each index with coefficient ±1 (H − t − 200 is 0 along a run of t that
    starts and ends beside the constants; H + 1 − 17j is 0 at H = 16, 33, … alone, beside no constant)."""
    return poly.total_degree() <= 1 and all(abs(c) == 1 for mon, c in poly.terms() if any(mon))


def _near(battery, breakpoints):
    """Thin shapes at the sizes beside each constant c that the battery lacks: H = c − 1, c, c + 1 (a Σ_{k=c}^{H}
    starts, (H − c)² is 0), S or A = c − 1 … c + 2 (a state c exists from S = c + 1); and what is past the count."""
    mdps = [x.mdp for x in battery if getattr(x, "mdp", None) is not None]
    if not mdps:
        return [], []
    dims = {"S": {x.n_states for x in mdps}, "A": {x.n_actions for x in mdps}, "H": {x.horizon for x in mdps}}
    fixed = {k: min(v) for k, v in dims.items() if len(v) == 1}
    sizes = {}
    for dim, around in (("H", (-1, 0, 1)), ("S", (-1, 0, 1, 2)), ("A", (-1, 0, 1, 2))):
        if dim in fixed or dim not in breakpoints:
            continue
        # Never below the battery given: a caller that kept only H ≥ 3 (a line written with r_3) has said so.
        least = min(dims[dim])
        want = {c + d for c in breakpoints[dim] for d in around}
        sizes[dim] = sorted(v for v in want if least <= v <= CAPS[dim] and v not in dims[dim])
    total = sum(map(len, sizes.values()))
    if total > MAX_BREAKPOINTS:
        listed = "; ".join(f"{d} = {', '.join(map(str, v[:6]))}{', …' if len(v) > 6 else ''}" for d, v in sizes.items() if v)
        return [], [f"the {total} sizes beside its constants ({listed}; at most {MAX_BREAKPOINTS} are added)"]
    shapes = []
    for dim, values in sizes.items():
        for v in values:
            shape = {"S": 2, "A": 2, "H": 1}
            shape[dim] = v
            shape.update(fixed)
            shapes.append((shape["S"], shape["A"], shape["H"]))
    return shapes, []


def _cost(shape) -> int:
    S, A, H = shape
    return S * S * A * (H + 1)


def _corner(dims, need, fixed, rng):
    """The shape with every size at once: each dimension past its constant, or at the battery's largest (None: a battery shape is it)."""
    corner = {}
    for d in ("S", "A", "H"):
        top = max(dims[d])
        if d in fixed:
            corner[d] = fixed[d]
        elif need.get(d, 0) > top:
            corner[d] = rng.randint(need[d], need[d] + max(1, need[d] // 16))
        else:
            corner[d] = top
    shape = (corner["S"], corner["A"], corner["H"])
    return None if shape in set(zip(dims["S"], dims["A"], dims["H"])) else shape


def widened(battery, lhs, rhs, seed: int):
    """The battery with thin instances past the line's size constants (drawn from ``seed``), and the Widening (None: no constant past it)."""
    from .battery import Battery, _with_random_rewards, random_mdp, random_point
    from .policies import TabularSoftmax
    from .semantics import Instance, PointInstance

    if not battery or any(isinstance(x, PointInstance) for x in battery):
        return battery, None
    constants = size_constants(lhs, rhs)
    constant = max(constants.values(), default=0)
    rng = random.Random(f"size-reach {seed}")
    shapes, beyond = _shapes(battery, constants, rng)
    near, far = _near(battery, size_breakpoints(lhs, rhs))
    near = [x for x in near if x not in shapes]
    hidden = uncovered_indicators(lhs, rhs)
    if not shapes and not near and not beyond and not far and not hidden:
        return battery, None
    rewards = any(getattr(x.mdp, "reward_distribution", None) for x in battery)
    discount_one = any(x.mdp.discount == 1 for x in battery)
    added = []
    named = [(f"past the constant {_shown(constant) or _digits(constant)} #{k}", x) for k, x in enumerate(shapes, start=1)]
    named += [(f"beside a constant: (S, A, H) = {x}", x) for x in near]
    for k, (name, shape) in enumerate(named, start=1):
        mdp = random_mdp(rng, shape=shape, name=name, allow_discount_one=discount_one and k % 2 == 1)
        if rewards:
            mdp = _with_random_rewards(mdp, rng)
        policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
        added.append(Instance(mdp, policy, random_point(policy, rng), name=name))
    out = Battery(list(battery) + added, name=getattr(battery, "name", "given"), seed=getattr(battery, "seed", None))
    text = ""
    if beyond:
        text = (f"the line uses the integer constant {_shown(constant) or _digits(constant)}, which calls for MDPs with "
                f"{' and '.join(beyond)}, past the sizes this check reaches "
                f"({', '.join(f'{k} ≤ {v}' for k, v in CAPS.items())}; S²·A·(H + 1) ≤ {CORNER_COST:,} at once)")
    if far:
        text = "; ".join(x for x in (text, f"the line calls for MDPs at {far[0]}") if x)
    if hidden:
        text = "; ".join(x for x in (text, (
            f"{hidden[0]} changes (0^e is 1 exactly where e = 0; a sum is empty or not) at sizes derive cannot place "
            "(no polynomial in one size, nor ±v₁ ± v₂ … + c in several): no battery is sure to meet them")) if x)
    return out, Widening(constant, tuple(shapes) + tuple(near), text)
