"""Symbolic checks in the general form (symbolic H, abstract μ, P(s'|s,a), π_θ).

A step is *proved symbolically* when SymPy reduces lhs − rhs to 0 after unfolding the
model's definitions (J(θ) = Σ_τ P(τ;θ)R(τ), and if needed the Markov factorisation of
P(τ;θ)), evaluating derivatives and expanding logs. SymPy cancels f/f without asking
whether f ≠ 0, so a divisor or log argument must be provably nonzero (positive) on its
range, unless it is a probability: P(τ;θ) > 0 is the step's side condition, which the
instance check tests separately.

The prover takes no shortcut the instance check would not: a log of a product is split only
where every factor is nonnegative (a probability, exp of a real), so that the log being
defined makes each factor positive; a sum over an empty range is the empty sum (SymPy's
Karr convention reads Σ_{t=a}^{b} with b < a − 1 as a negative sum, and a step whose truth
depends on that is not proved); the limits of a sum must be provably integers, and inside it the bound
variable is only what its range proves (an integer, ≥ 0 only if the lower limit is), never what the
symbol declares; a function derive does not define may depend on θ and γ; a factor leaves a sum only if it is free of every variable
the sum binds; Σ_b π_θ(b|s) = 1 only for a sum over actions of the policy at a state free
of b. The whole route (expand, derivatives, simplify) runs in a child process under the
time limit: a time-out is reported as undecided, never as a pass.
"""

from __future__ import annotations

import multiprocessing as mp
import numbers
import time
from dataclasses import dataclass

import sympy as sp
from sympy import Expr, Mul, Sum, Symbol
from sympy.core.function import AppliedUndef

from .derivation import UNBIASED
from .text import to_text
from .notation import (
    ActionSum, Expectation, Normal, Objective, Occupancy, Policy, QValue, Return, RewardProbability, StateSum,
    factorisation_with_rewards, marginal_sums, PathProbability, Sample, TrajectoryProbability, TrajectorySum, discounted_return, factorisation,
    gamma, i, m, nonnegative, PROBABILITIES, tau, theta,
)

__all__ = ["SymbolicResult", "prove", "expectation_of_sample_mean", "same_form", "follows_from_lemma", "Pending",
           "in_background", "possible_pole", "divides_by_probability"]

N_ALL = Symbol("N_tau", integer=True, positive=True)       # number of trajectories
N_SUPPORT = Symbol("N_tau+", integer=True, positive=True)  # those with P(τ;θ) > 0
N_ACTIONS = Symbol("N_a", integer=True, positive=True)     # number of actions
N_STATES = Symbol("N_s", integer=True, positive=True)      # number of states

@dataclass(frozen=True)
class SymbolicResult:
    status: str   # "proved" | "not proved" | "undecided"
    detail: str = ""
    residue: object = None  # lhs − rhs as SymPy reduced it, when not 0

    @property
    def proved(self) -> bool:
        return self.status == "proved"


def expectation_of_sample_mean(expr: Expr) -> Expr | None:
    """E[(1/m) Σ_{i=1}^{m} g(τ^(i))] for i.i.d. τ^(i) ∼ P(·;θ)  ->  Σ_{τ: P>0} P(τ;θ) g(τ); None if not a sample mean."""
    expr = _evaluated(expr)
    if not isinstance(expr, Mul):
        return None
    sums = [f for f in expr.args if isinstance(f, Sum)]
    rest = [f for f in expr.args if not isinstance(f, Sum)]
    if len(sums) != 1 or Mul(*rest) != 1 / m:
        return None
    *inner, (var, lo, hi) = sums[0].limits  # SymPy merges nested sums; the sample sum is outermost
    body = Sum(sums[0].function, *inner) if inner else sums[0].function
    if var != i or lo != 1 or hi != m or m in body.free_symbols:
        return None
    # The expectation binds a trajectory of its own: τ already in g (free, or bound by an inner Σ_τ)
    # must not be captured by it, so it is named τ only where g does not mention τ at all.
    fresh = tau if not body.has(tau) else sp.Dummy("tau")
    g = body.xreplace({Sample(i): fresh})
    if i in g.free_symbols or g.has(Sample):  # another sample τ^(k) in g is correlated with the k-th term
        return None
    return TrajectorySum(TrajectoryProbability(fresh, theta) * g, fresh, True)


def same_form(a: Expr, b: Expr, *, timeout: float = 4.0) -> bool:
    """Structural equality up to SymPy's automatic canonicalisation (order of terms and factors).

    Equal trees are compared without evaluating anything; otherwise the evaluation (which can take
    without bound: 3**(10**9) unevaluated) runs in a child under the time limit, and a time-out is "not the same".
    """
    if a == b:
        return True
    forms = [_evaluated_within(e, timeout) for e in (a, b)]
    if _TIMED_OUT in forms:
        return False
    if _FAILED in forms:  # a form that could not be sent back: compare the two in one child, as one question
        return _with_limit(_same_form, (a, b), timeout).proved
    return forms[0] == forms[1]


def _same_form(a: Expr, b: Expr) -> SymbolicResult:
    return SymbolicResult("proved" if _evaluated(a) == _evaluated(b) else "not proved")


_TIMED_OUT, _FAILED = object(), object()
_EVALUATED: dict = {}   # expression -> its evaluated form (or a marker): one child per expression, not per pair
_EVALUATED_MAX = 4096


def _evaluate_in_child(e: Expr) -> SymbolicResult:
    return SymbolicResult("proved", residue=_evaluated(e))


def _evaluated_within(e: Expr, timeout: float):
    """_evaluated(e) computed once in a child under ``timeout``; _TIMED_OUT or _FAILED where it gave no form."""
    try:
        return _EVALUATED[e]
    except KeyError:
        pass
    except TypeError:  # unhashable: not cached
        return _FAILED
    r = _with_limit(_evaluate_in_child, (e,), timeout)
    form = r.residue if r.proved else (_TIMED_OUT if r.status == "undecided" else _FAILED)
    if len(_EVALUATED) >= _EVALUATED_MAX:
        _EVALUATED.clear()
    _EVALUATED[e] = form
    return form


def follows_from_lemma(prev: Expr, step, *, timeout: float = 4.0) -> SymbolicResult:
    """Whether a step is exactly what its lemma licenses after ``prev`` (proved) or not (not proved).

    A citation ("by X") must go from X's left side (the same tree) to its right side with X's relation;
    a substitution's line must be ``prev`` with X's left side replaced by its right side, X an equality.
    Whether X itself was proved is the caller's to check.
    """
    lemma = step.lemma
    goal = lemma.goal
    if step.rule.startswith("by "):
        if prev != goal.lhs:
            return SymbolicResult("not proved", f"the line above is not the left side of {lemma.name}'s result")
        if step.expr != goal.rhs or step.relation != goal.relation:
            return SymbolicResult("not proved", f"the line is not the right side of {lemma.name}'s result "
                                                f"with its relation '{goal.relation}'")
        return SymbolicResult("proved", f"the result of {lemma.name}")
    if goal.relation != "=" or step.relation != "=":
        return SymbolicResult("not proved", f"only an equality can be substituted ({lemma.name}: '{goal.relation}')")
    return _with_limit(_is_substitution, (prev, step.expr, goal.lhs, goal.rhs, lemma.name), timeout)


def _is_substitution(prev, expr, old, new, name) -> SymbolicResult:
    from .derivation import _replace_instances

    if _replace_instances(prev, old, new) == expr:
        return SymbolicResult("proved", f"substitution of {name}")
    return SymbolicResult("not proved", f"the line is not the line above with {name}'s left side replaced by its right")


def prove(lhs: Expr, rhs: Expr, *, relation: str = "=", timeout: float = 4.0, rewards: bool = False) -> SymbolicResult:
    """Try to prove lhs (relation) rhs in the general form, within ``timeout`` seconds (else undecided).

    ``rewards``: trajectories record random rewards (P(τ;θ) has the factors P(r_t|a_t,s_t)).
    """
    try:
        lhs, rhs = _as_expr(lhs), _as_expr(rhs)
    except TypeError as exc:
        return SymbolicResult("not proved", str(exc))
    return _with_limit(_prove, (lhs, rhs, relation, rewards), timeout)


def _as_expr(value) -> Expr:
    """A SymPy expression, or a Python number made one; text is refused (it is never parsed)."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return sp.sympify(value, strict=True)
    raise TypeError(f"expected a SymPy expression or a number, got {type(value).__name__}")


def _prove(lhs: Expr, rhs: Expr, relation: str, rewards: bool = False) -> SymbolicResult:
    """``rewards``: trajectories record random rewards, so P(τ;θ) has the factors P(r_t|a_t,s_t) in every step."""
    note = ""
    # SymPy cancels (t − 100)/(t − 100) to 1; the line is undefined at t = 100 all the same.
    partial = _possible_pole(lhs) or _possible_pole(rhs)
    if partial:
        return SymbolicResult("not proved", partial)
    # A sum over paths (rewards marginalised) is the sum over whole trajectories it stands for.
    lhs, rhs = marginal_sums(lhs, rewards=rewards), marginal_sums(rhs, rewards=rewards)
    lhs, rhs = _opaque_functions(lhs), _opaque_functions(rhs)
    if relation == UNBIASED:
        if isinstance(lhs, sp.Basic) and (lhs.has(Sample) or _samples(lhs)):
            return SymbolicResult("not proved", "the estimated quantity depends on the samples; an estimator is "
                                                "unbiased for a quantity that does not")
        from .check import _free_keys

        if tau in _free_keys(lhs):
            return SymbolicResult("not proved", "the estimated quantity depends on a trajectory τ; an estimator is "
                                                "unbiased for a number, not for a value that varies with τ")
        expected = expectation_of_sample_mean(rhs)
        if expected is None:
            return SymbolicResult("not proved", "the estimator is not of the form (1/m) Σ_i g(τ^(i)), "
                                                "g in τ^(i) alone")
        rhs, note = expected, " (with E[(1/m) Σ_i g(τ^(i))] = Σ_τ P(τ;θ) g(τ) for i.i.d. samples)"
    if relation != UNBIASED and _samples(lhs) != _samples(rhs) and not any(
            isinstance(e, sp.Basic) and e.has(Sample) for e in (lhs, rhs)):
        return SymbolicResult(
            "not proved", "one side depends on the sample count m and the other does not; the prover does not "
                          "show an equality for every m (the instance check does, where it can)")
    if relation != UNBIASED and _samples(lhs) != _samples(rhs):
        return SymbolicResult(
            "not proved",
            "one side is a sample mean over τ^(1), …, τ^(m) and the other is not; as an equality it would "
            "have to hold for every sample (an estimator relation is written 'unbiased')",
        )
    dp = [isinstance(e, sp.Basic) and e.has(Occupancy, QValue) for e in (lhs, rhs)]
    if dp[0] != dp[1]:
        return SymbolicResult(
            "not proved",
            "one side uses d_t(s) or Q_t(s,a), which the model defines by dynamic programming; "
            "SymPy cannot unfold them into sums over trajectories",
        )
    domains = _domains(lhs), _domains(rhs)
    if domains[0] != domains[1] and domains[0] and domains[1]:
        return SymbolicResult(
            "not proved",
            "the two sides sum over different sets of trajectories (all τ, or only τ with P(τ;θ) > 0); "
            "their agreement depends on the model, not on algebra",
        )
    try:
        # Rebinding first: evaluation must already see a bound variable's range, not its declared assumptions.
        avoid = frozenset(lhs.free_symbols | rhs.free_symbols)
        lhs, rhs = _evaluated(_ranges(lhs, avoid=avoid)), _evaluated(_ranges(rhs, avoid=avoid))
    except _ReversedRange as exc:
        return SymbolicResult("not proved", str(exc))
    try:
        for unfold in (False, True):
            with_rewards = rewards or lhs.has(RewardProbability) or rhs.has(RewardProbability)
            diff = _canonical(lhs, unfold, with_rewards, avoid) - _canonical(rhs, unfold, with_rewards, avoid)
            diff = _merge_sums(sp.expand(diff))
            if diff == 0:
                how = ("after unfolding the definitions of P(τ;θ) and R(τ), and Σ_a π_θ(a|s) = 1"
                       if unfold else "")
                return SymbolicResult("proved", (how + note).strip())
        residue = sp.simplify(diff)
    except Exception as exc:  # SymPy may refuse an operation on an abstract form
        return SymbolicResult("not proved", f"SymPy could not reduce the difference of the two sides to 0 (it stopped with {type(exc).__name__})")
    if residue == 0:
        return SymbolicResult("proved", ("by simplify" + note).strip())
    words = "SymPy could not reduce the difference of the two sides to 0"
    if getattr(residue, "is_number", False):
        from .text import to_text

        words = f"the difference of the two sides reduces to the number {to_text(residue)}"
    return SymbolicResult("not proved", words, residue=residue)


# -- where a line may be undefined ----------------------------------------------------


def possible_pole(e: Expr, *, only: Symbol | None = None, at_least: int = 1, clear=None) -> str:
    """Why e may be undefined ('' if not): a divisor or log argument, other than a probability, that SymPy
    cannot show nonzero (positive) on the ranges of the indices in it; with ``only``, one that depends on it,
    for every integer value of ``only`` from ``at_least`` on. ``clear(f, context)`` may settle a divisor factor
    SymPy cannot (an exact root count): True when it is nonzero wherever the line is checked."""
    if only is None:
        return _possible_pole(e, clear=clear)
    k = sp.Dummy(only.name, integer=True, positive=True)
    return _possible_pole(e, (), only, {only: k + (at_least - 1)})


def divides_by_probability(e: Expr) -> bool:
    """Whether e divides by, or takes the log of, a probability (P(τ;θ), π, μ, P(s'|s,a)): where the support's
    side condition P(τ;θ) > 0 is what keeps it defined."""
    for x in sp.preorder_traversal(e):
        if isinstance(x, sp.Pow) and x.exp.is_number and x.exp.is_negative and _has_probability(x.base):
            return True
        if isinstance(x, sp.log) and _has_probability(x.args[0]):
            return True
    return False


def _has_probability(x) -> bool:
    return any(_probability(f) for f in sp.Mul.make_args(x.base if isinstance(x, sp.Pow) else x))


def _possible_pole(e, context: tuple = (), only: Symbol | None = None, shift: dict | None = None, clear=None) -> str:
    """Why the line may be undefined ('' if not): a divisor or log argument, other than a probability, that
    SymPy cannot show nonzero (positive) on the ranges of the indices in it.

    A probability's P(τ;θ) > 0 is the support's side condition, tested on every instance. Any other divisor
    may be 0 where no instance looks: t − 100 at t = 100 needs H ≥ 100, r_t − 5 needs a reward of 5.
    With ``only``, the divisors and log arguments that do not depend on it are not asked about, nor a divisor
    polynomial in it alone (whose integer roots the caller finds exactly).
    """
    if not isinstance(e, sp.Basic) or e.is_Atom:
        return ""
    if isinstance(e, (sp.Sum, sp.Product)):
        body, enclosing, renamed = e.function, context, {}
        for var, *bounds in reversed(e.limits):  # outermost limit last in SymPy's list
            if len(bounds) != 2:
                return ""
            lo, hi = (sp.sympify(z).xreplace(renamed) for z in bounds)
            found = _possible_pole(lo, enclosing, only, shift, clear) or _possible_pole(hi, enclosing, only, shift, clear)
            if found:
                return found
            fresh = _range_symbol(var, lo, enclosing, body.free_symbols | {var})
            renamed[var] = fresh
            enclosing = ((fresh, lo, hi),) + enclosing
        with sp.evaluate(False):  # keep (t − 100)/(t − 100) as written while renaming
            body = body.xreplace(renamed)
        return _possible_pole(body, enclosing, only, shift, clear)
    # An index whose range grows with ``only`` (i = 1..m) takes values that depend on it: i − 100 is 0 once m ≥ 100.
    asked = only is None or bool(e.free_symbols & _depending_on(only, context))
    if isinstance(e, sp.Pow) and e.exp.is_number and e.exp.is_negative:
        # With ``only``: a divisor polynomial in it alone is the caller's, whose integer roots are exact.
        asked = asked and not (only is not None and e.base.free_symbols == {only} and e.base.is_polynomial(only))
        return (asked and _nonzero_or_why(e.base, "divides by", context, shift=shift, clear=clear)) or \
            _possible_pole(e.base, context, only, shift, clear)
    if isinstance(e, sp.log):
        return (asked and _nonzero_or_why(e.args[0], "takes the log of", context, positive=True, shift=shift)) or \
            _possible_pole(e.args[0], context, only, shift, clear)
    for a in e.args:
        found = _possible_pole(a, context, only, shift, clear)
        if found:
            return found
    return ""


def _depending_on(only: Symbol, context: tuple) -> set:
    """only and every enclosing index whose range involves it (or an index that does), innermost last."""
    out = {only}
    for var, lo, hi in reversed(context):  # outermost first: an inner range may use an outer index
        if (sp.sympify(lo).free_symbols | sp.sympify(hi).free_symbols) & out:
            out.add(var)
    return out


def _nonzero_or_why(x: Expr, verb: str, context: tuple, *, positive: bool = False, shift: dict | None = None,
                    clear=None) -> str:
    """'' if every factor of x is a probability or provably nonzero (x positive); else why not.

    ``shift`` moves a symbol before asking (m -> k + 1 for m ≥ 2); the reason names the factor as written."""
    factors = sp.Mul.make_args(x) if not positive else (x,)
    for f in factors:
        if isinstance(f, sp.Pow) and f.exp.is_number:
            f = f.base
        if not isinstance(f, sp.Expr) or f.is_number and not positive:
            if f.is_number and f.is_zero:
                return f"the line {verb} 0"
            continue
        if _probability(f):
            continue  # a probability: P(τ;θ) > 0 is the support's side condition, tested on every instance
        value = _as_reals(f.xreplace(shift) if shift else f)  # evaluated only to ask; the line keeps its form
        ok = (value.is_positive if positive else value.is_zero is False) or _signed_on_ranges(f, context, positive, shift) \
            or (not positive and clear is not None and clear(f, context))
        if not ok:
            ranges = ", ".join(f"{to_text(v)} = {to_text(lo)}..{to_text(hi)}" for v, lo, hi in reversed(context)
                               if v in f.free_symbols)
            where = f" for {ranges}" if ranges else ""
            need = "positive" if positive else "nonzero"
            return (f"the line {verb} {to_text(f)}, which SymPy cannot show {need}{where}; a proof that "
                    "cancels it would hold only where it is, so the instance check decides")
    return ""


def _signed_on_ranges(f: Expr, context: tuple, positive: bool, shift: dict | None) -> bool:
    """Whether f, linear in the enclosing sums' indices, keeps one sign over their ranges (m − i + 1 ≥ 1 for
    i = 1..m): its least value positive, or (for a divisor) its greatest negative, by the ranges' ends."""
    if not any(v in f.free_symbols for v, _, _ in context):
        return False

    def shown(x, sign):
        if x is None:
            return False
        value = _as_reals(x.xreplace(shift) if shift else x)
        return bool(value.is_positive if sign > 0 else value.is_negative)

    return shown(_bound(f, context, upper=False), 1) or (not positive and shown(_bound(f, context, upper=True), -1))


def _as_reals(f: Expr) -> Expr:
    """f evaluated with each model quantity (r_t, R(τ), b(s), a sum) a real symbol and each probability a positive
    one, so that SymPy's assumptions can show 1 + R(τ)² > 0; symbols keep what their ranges proved."""
    if isinstance(f, Symbol) or f.is_Number or f.is_NumberSymbol:
        return f
    if _probability(f):
        return sp.Dummy("p", positive=True)
    if isinstance(f, sp.Pow) and f.base.is_zero and not f.exp.is_number:
        # 0^e is 0 or 1 where it is defined (e ≥ 0, a condition of its own, checked on every instance)
        return sp.Dummy("z", nonnegative=True)
    if isinstance(f, (sp.Add, sp.Mul, sp.Pow)) or (isinstance(f, sp.Function) and
                                                   not type(f).__module__.startswith("derive")):
        return f.func(*[_as_reals(a) for a in f.args])
    return sp.Dummy("x", real=True)


def _probability(f) -> bool:
    """A probability or density, or a product or power of them (positive on the support, by its side condition)."""
    if isinstance(f, PROBABILITIES):
        return True
    if isinstance(f, sp.Mul):
        return all(_probability(a) or a.is_positive for a in f.args)
    if isinstance(f, sp.Pow):
        return _probability(f.base) and bool(f.exp.is_extended_real)
    if isinstance(f, sp.Product):
        return _probability(f.function)
    return False


# -- undefined functions ------------------------------------------------------------

def _opaque_functions(e):
    """Every function derive (or SymPy) does not define, f(args) -> f(args, θ, γ): it may depend on θ and γ,
    so ∇ of it never vanishes by omission (V = Function("V") for a value function, or a Function subclass)."""
    if not isinstance(e, sp.Basic):
        return e
    undefined = {f for f in e.atoms(sp.Function) if _undefined(f)}
    if not undefined:
        return e
    return e.xreplace({f: _with_parameters(f) for f in undefined})


def _undefined(f) -> bool:
    return isinstance(f, AppliedUndef) or not type(f).__module__.startswith(("sympy.", "derive."))


def _with_parameters(f):
    if isinstance(f, AppliedUndef):
        try:
            return f.func(*f.args, theta, gamma)  # the same function (name and assumptions), two more arguments
        except TypeError:  # declared with a fixed number of arguments
            pass
    cls = type(f)
    return sp.Function(f"{cls.__module__}.{cls.__qualname__}/{len(f.args)}")(*f.args, theta, gamma)


# -- ranges of sums and products ---------------------------------------------------

class _ReversedRange(ValueError):
    """A sum or product whose range is not provably a range of integers that SymPy and the evaluator read alike."""


def _ranges(e: Expr, context: tuple = (), avoid: frozenset = frozenset()) -> Expr:
    """Σ/Π with each bound variable rebound to what its range proves; provably empty ranges -> 0 / 1.

    A bound variable's declared assumptions (t ≥ 0, i > 0) hold only where its range keeps it there:
    Σ_{t=−H}^{−1} log(t²) must not be split as if t ≥ 0. So inside the sum the variable is replaced by a
    symbol of the same name that is an integer, nonnegative (positive) only if the lower limit provably is.
    Limits must be provably integers (SymPy would sum Σ_{t=0}^{H/2} 1 in closed form as H/2 + 1).
    SymPy reads Σ_{t=a}^{b} f with b < a − 1 as −Σ_{t=b+1}^{a−1} f (Karr), derive's evaluator as the
    empty sum 0; they agree when b − a + 1 ≥ 0 (a range with b = a − 1 is empty in both); a range that may
    run backwards raises. ``context`` holds the ranges of the enclosing sums, innermost first; ``avoid``
    the free symbols of both sides of the step, which a renamed variable must not become.
    """
    if not isinstance(e, sp.Basic) or e.is_Atom:
        return e
    if isinstance(e, (sp.Sum, sp.Product)):
        body, limits, renamed = e.function, list(e.limits), {}
        enclosing = context
        for k in range(len(limits) - 1, -1, -1):  # outermost limit last in SymPy's list
            if len(limits[k]) != 3:
                raise _ReversedRange(f"the sum over {limits[k][0]} has no range")
            var, lo, hi = (x.xreplace(renamed) for x in limits[k])
            if not (lo.is_integer and hi.is_integer):
                raise _ReversedRange(
                    f"the range {var} = {sp.sstr(lo)}..{sp.sstr(hi)} does not provably run over integers; "
                    "SymPy would sum it in closed form all the same")
            count = hi - lo + 1
            high = _bound(count, enclosing, upper=True)
            if high is not None and high.is_nonpositive:
                return sp.Integer(0) if isinstance(e, sp.Sum) else sp.Integer(1)
            low = _bound(count, enclosing, upper=False)
            if low is None or not low.is_nonnegative:
                raise _ReversedRange(
                    f"the range {to_text(var)} = {to_text(lo)}..{to_text(hi)} may run backwards; SymPy (Karr's convention) "
                    f"reads such a sum as a negative sum, the instance check as the empty sum 0")
            fresh = _range_symbol(var, lo, enclosing, body.free_symbols | avoid)
            renamed[limits[k][0]] = fresh
            limits[k] = (fresh, lo, hi)
            enclosing = ((fresh, lo, hi),) + enclosing
        body = _ranges(body.xreplace(renamed), enclosing, avoid)
        return e.func(body, *limits)
    if isinstance(e, ActionSum):  # Σ_b and Σ_s run over 0..N−1 too: b is an integer ≥ 0 there, whatever it declares
        var, n = e.variable, (N_STATES if isinstance(e, StateSum) else N_ACTIONS)
        fresh = _range_symbol(var, sp.Integer(0), context, e.body.free_symbols | avoid)
        limit = (fresh, sp.Integer(0), n - 1)
        return type(e)(_ranges(e.body.xreplace({var: fresh}), (limit,) + context, avoid), fresh)
    args = [_ranges(a, context, avoid) for a in e.args]
    if all(x is y for x, y in zip(args, e.args)):
        return e
    if isinstance(e, TrajectorySum):
        return TrajectorySum(args[0], e.variable, e.support)
    return e.func(*args)


def _range_symbol(var: Symbol, lo: Expr, enclosing: tuple, taken: set) -> Symbol:
    """The symbol a bound variable stands for inside its sum: an integer, ≥ 0 or > 0 only as the lower limit proves."""
    least = _bound(lo, enclosing, upper=False)
    if least is not None and least.is_positive:
        facts = {"positive": True}
    elif least is not None and least.is_nonnegative:
        facts = {"nonnegative": True}
    else:
        facts = {}
    fresh = Symbol(var.name, integer=True, **facts)
    if var.is_integer and all(getattr(fresh, f"is_{k}") == v for k, v in var.assumptions0.items()):
        return var  # the range proves all the variable declares (t ≥ 0 over 0..H)
    name = var.name
    while fresh in taken:  # never capture another free symbol of that name
        name += "'"
        fresh = Symbol(name, integer=True, **facts)
    return fresh


def _bound(expr: Expr, enclosing: tuple, *, upper: bool) -> Expr | None:
    """A lower (or upper) bound of an expression linear in the enclosing sums' variables; None if not linear."""
    for var, lo, hi in enclosing:  # innermost first: a bound may involve the variables further out
        if not expr.has(var):
            continue
        slope = sp.diff(expr, var)
        if slope.has(var):
            return None
        if slope.is_nonnegative:
            expr = expr.subs(var, hi if upper else lo)
        elif slope.is_nonpositive:
            expr = expr.subs(var, lo if upper else hi)
        else:
            return None
    return sp.expand(expr)


# -- running under the time limit --------------------------------------------------

def _worker(fn, args, conn):
    try:
        conn.send(fn(*args))
    except Exception as exc:  # report, do not crash the checker
        conn.send(SymbolicResult("not proved", f"SymPy could not reduce the difference of the two sides to 0 (it stopped with {type(exc).__name__})"))
    finally:
        conn.close()


def _with_limit(fn, args, timeout: float) -> SymbolicResult:
    """fn(*args) in a child process, killed after ``timeout`` seconds (then: undecided)."""
    return Pending(fn, args, timeout).result()


class Pending:
    """fn(*args) running in a child process from now on; :meth:`result` waits for it, at most ``timeout``
    seconds after the start (then: undecided). Meanwhile the caller can do other work (the instance check)."""

    def __init__(self, fn, args, timeout: float, *, daemon: bool = True):
        try:
            ctx = mp.get_context("fork")  # no pickling of the expressions; spawn elsewhere
        except ValueError:
            ctx = mp.get_context("spawn")
        self.timeout = timeout
        self._done = None
        self._reader, writer = ctx.Pipe(duplex=False)
        # A daemon cannot start processes of its own: a check that runs limited checks inside is not one.
        self._proc = ctx.Process(target=_worker, args=(fn, args, writer), daemon=daemon)
        self._deadline = time.monotonic() + timeout
        self._proc.start()
        writer.close()

    def result(self) -> SymbolicResult:
        if self._done is not None:
            return self._done
        try:
            if self._reader.poll(max(0.0, self._deadline - time.monotonic())):
                try:
                    self._done = self._reader.recv()
                except EOFError:  # the child died without an answer (killed, out of memory)
                    self._done = SymbolicResult("undecided", "the symbolic check ended without an answer")
            else:
                self._done = SymbolicResult("undecided", f"the time limit of {self.timeout:g} s was reached before "
                                                         "SymPy reduced the difference of the two sides")
        finally:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join()
            self._reader.close()
        return self._done


def in_background(fn, args, *, timeout: float) -> Pending:
    """fn(*args), a check that runs its own parts under their own limits, started now in a child process.

    ``timeout`` only bounds the child as a whole (set it above the sum of the inner limits): the
    verdict is the one fn returns when run in place, only computed while the caller does other work.
    """
    return Pending(fn, args, timeout, daemon=False)


# -- canonical forms ------------------------------------------------------------

def _samples(e: Expr) -> bool:
    """Whether the expression is a sample mean over m samples (a random variable)."""
    return isinstance(e, sp.Basic) and m in e.free_symbols


def _domains(e: Expr) -> set:
    """Which trajectory sets the expression sums over: {"all"}, {"support"}, both or none."""
    out = set()
    for x in sp.preorder_traversal(e):
        if isinstance(x, TrajectorySum):
            out.add("support" if x.support else "all")
        elif isinstance(x, Expectation):
            out.add("support")
    if isinstance(e, sp.Basic) and any(isinstance(x, Objective) for x in sp.preorder_traversal(e)):
        out.add("all")
    return out


def _evaluated(e: Expr) -> Expr:
    """Rebuild with evaluation on (turns unevaluated P/P into 1 and sorts terms)."""
    if not isinstance(e, sp.Basic) or e.is_Atom:
        return e
    args = [_evaluated(a) for a in e.args]
    if isinstance(e, TrajectorySum):
        return TrajectorySum(args[0], e.variable, e.support)
    return e.func(*args)


def _canonical(e: Expr, unfold_probability: bool, rewards: bool = False, avoid: frozenset = frozenset()) -> Expr:
    e = _evaluated(e)
    e = e.replace(lambda x: isinstance(x, Normal), lambda x: x.explicit())
    if e.has(sp.Integral):  # integrals over a continuous action: let SymPy do them
        e = e.replace(lambda x: isinstance(x, sp.Integral), lambda x: x.doit())
    e = e.replace(lambda x: isinstance(x, Expectation), lambda x: _evaluated(x.as_sum()))
    e = e.replace(lambda x: isinstance(x, Objective),
                  lambda x: TrajectorySum(TrajectoryProbability(tau, x.args[0]) * Return(tau), tau))
    if unfold_probability:
        # Trajectories that record their rewards (seed 004) have the factors P(r_t|a_t,s_t) too.
        factor = factorisation_with_rewards if rewards else factorisation
        # P(τ;θ) of the states and actions alone has no reward factors, whatever τ records.
        e = e.replace(lambda x: isinstance(x, PathProbability), lambda x: factorisation(x.args[0]))
        e = e.replace(lambda x: isinstance(x, TrajectoryProbability), lambda x: factor(x.args[0]))
        e = e.replace(lambda x: isinstance(x, Return), lambda x: discounted_return(x.args[0]))
        # Π_t (a b) = Π_t a · Π_t b: a path sum's reward weight meets the reward factors of P(τ;θ).
        e = _split_products(e)
        # Σ_b π_θ(b|s) = 1: every policy is a distribution over actions, for every θ.
        e = e.replace(_is_normalisation, lambda x: sp.Integer(1))
    e = _ranges(_to_sums(e), avoid=avoid)  # the sums derive's binders stand for, their variables rebound to their ranges
    e = _expand_logs(e)  # log Π -> Σ log before ∇ meets the product
    # Evaluate the derivatives only: a full doit() would try to sum Σ_τ in closed form.
    e = e.replace(lambda x: isinstance(x, sp.Derivative), lambda x: x.doit(deep=False))
    e = _expand_logs(e)
    e = _split_sums(sp.expand(e))
    return e


def _split_products(e: Expr) -> Expr:
    """Π_v (f g …) -> Π_v f · Π_v g · … over the same limits (a finite product of products)."""
    def split(x):
        body, *limits = x.args
        if not isinstance(body, sp.Mul):
            return x
        return sp.Mul(*[sp.Product(f, *limits) for f in body.args])
    return e.replace(lambda x: isinstance(x, sp.Product) and isinstance(x.args[0], sp.Mul), split)


def _is_normalisation(e) -> bool:
    """Σ_b π_θ(b|s) over the actions, with a state s (and parameter) that does not involve b."""
    if type(e) is not ActionSum or not isinstance(e.body, Policy):  # a Σ_s over states is not one
        return False
    action, state, parameter = e.body.args
    return action == e.variable and e.variable not in state.free_symbols | parameter.free_symbols


def _log_of(arg: Expr) -> Expr:
    """log(arg), split over a product or power of nonnegative factors: where the log is defined each is positive."""
    if isinstance(arg, sp.Mul) and all(nonnegative(f) for f in arg.args):
        return sp.Add(*[_log_of(f) for f in arg.args])
    if isinstance(arg, sp.Pow) and arg.exp.is_extended_real:
        # p^e with p > 0, or p ≥ 0 and e ≠ 0 (log(0^0) = 0 but 0·log 0 is undefined).
        if arg.base.is_positive or (nonnegative(arg.base) and arg.exp.is_nonzero):
            return arg.exp * _log_of(arg.base)
    if isinstance(arg, sp.Product) and nonnegative(arg.function):
        return Sum(_log_of(arg.function), *arg.limits)
    if isinstance(arg, sp.exp) and arg.args[0].is_extended_real:
        return arg.args[0]
    return sp.log(arg)


def _expand_logs(e: Expr) -> Expr:
    """log of a product/power of nonnegative factors -> the sum of their logs, everywhere in e (never by force)."""
    return e.replace(lambda x: isinstance(x, sp.log), lambda x: _log_of(x.args[0]))


def _to_sums(e: Expr) -> Expr:
    if not isinstance(e, sp.Basic) or e.is_Atom:
        return e
    if isinstance(e, TrajectorySum):
        return Sum(_to_sums(e.body), (e.variable, 1, N_SUPPORT if e.support else N_ALL))
    if isinstance(e, StateSum):
        return Sum(_to_sums(e.body), (e.variable, 0, N_STATES - 1))
    if isinstance(e, ActionSum):
        return Sum(_to_sums(e.body), (e.variable, 0, N_ACTIONS - 1))
    return e.func(*[_to_sums(a) for a in e.args])


def _split_sums(e: Expr) -> Expr:
    """Σ (a + b) -> Σ a + Σ b and Σ_v c·f -> c Σ_v f for c free of v, recursively (finite sums are linear).

    A merged Σ_{v1} Σ_{v2} … is split one variable at a time, innermost first: a factor leaves the
    sum over v only if it does not involve v, so it never escapes a sum that binds it.
    """
    if not isinstance(e, sp.Basic) or e.is_Atom:
        return e
    args = [_split_sums(a) for a in e.args]
    if isinstance(e, Sum):
        out = args[0]
        for limit in e.limits:  # SymPy lists the innermost first
            out = _split_one(out, limit)
        return out
    return e.func(*args)


def _split_one(body: Expr, limit) -> Expr:
    """Σ_v body over one limit, with every factor of every term free of v moved in front."""
    out = []
    for term in sp.Add.make_args(sp.expand(body)):
        coeff, rest = term.as_independent(limit[0], as_Add=False)
        out.append(coeff * Sum(rest, limit))
    return sp.Add(*out)


def _merge_sums(e: Expr) -> Expr:
    """Σ a − Σ b -> Σ (a − b) for equal limits, then cancel inside."""
    if not isinstance(e, sp.Add):
        return e
    groups: dict = {}
    other = []
    for term in e.args:
        coeff, rest = term.as_coeff_Mul()
        if isinstance(rest, Sum):
            groups.setdefault(rest.limits, []).append(coeff * rest.function)
        else:
            other.append(term)
    merged = [Sum(sp.expand(sp.Add(*bodies)), *lim) for lim, bodies in groups.items()]
    merged = [x for x in merged if x.function != 0]
    return sp.Add(*other, *merged)
