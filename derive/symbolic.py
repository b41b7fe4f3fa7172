"""Symbolic checks in the general form (symbolic H, abstract μ, P(s'|s,a), π_θ).

A step is *proved symbolically* when SymPy reduces lhs − rhs to 0 after unfolding the
model's definitions (J(θ) = Σ_τ P(τ;θ)R(τ), and if needed the Markov factorisation of
P(τ;θ)), evaluating derivatives and expanding logs. SymPy cancels f/f without asking
whether f ≠ 0, so such a proof holds only under the step's side conditions, which the
instance check tests separately.

The prover takes no shortcut the instance check would not: a log of a product is split only
where every factor is nonnegative (a probability, exp of a real), so that the log being
defined makes each factor positive; a sum over an empty range is the empty sum (SymPy's
Karr convention reads Σ_{t=a}^{b} with b < a − 1 as a negative sum, and a step whose truth
depends on that is not proved); a factor leaves a sum only if it is free of every variable
the sum binds; Σ_b π_θ(b|s) = 1 only for a sum over actions of the policy at a state free
of b. The whole route (expand, derivatives, simplify) runs in a child process under the
time limit: a time-out is reported as undecided, never as a pass.
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass

import sympy as sp
from sympy import Expr, Mul, Sum, Symbol

from .derivation import UNBIASED
from .notation import (
    ActionSum, Expectation, Normal, Objective, Occupancy, Policy, QValue, Return, RewardProbability, StateSum,
    factorisation_with_rewards, Sample, TrajectoryProbability, TrajectorySum, discounted_return, factorisation,
    i, m, nonnegative, tau, theta,
)

__all__ = ["SymbolicResult", "prove", "expectation_of_sample_mean", "same_form"]

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


def same_form(a: Expr, b: Expr) -> bool:
    """Structural equality up to SymPy's automatic canonicalisation (order of terms and factors)."""
    return _evaluated(a) == _evaluated(b)


def prove(lhs: Expr, rhs: Expr, *, relation: str = "=", timeout: float = 4.0) -> SymbolicResult:
    """Try to prove lhs (relation) rhs in the general form, within ``timeout`` seconds (else undecided)."""
    return _with_limit(_prove, (lhs, rhs, relation), timeout)


def _prove(lhs: Expr, rhs: Expr, relation: str) -> SymbolicResult:
    note = ""
    if relation == UNBIASED:
        if isinstance(lhs, sp.Basic) and (lhs.has(Sample) or _samples(lhs)):
            return SymbolicResult("not proved", "the estimated quantity depends on the samples; an estimator is "
                                                "unbiased for a quantity that does not")
        expected = expectation_of_sample_mean(rhs)
        if expected is None:
            return SymbolicResult("not proved", "the estimator is not of the form (1/m) Σ_i g(τ^(i)), "
                                                "g in τ^(i) alone")
        rhs, note = expected, " (with E[(1/m) Σ_i g(τ^(i))] = Σ_τ P(τ;θ) g(τ) for i.i.d. samples)"
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
        lhs, rhs = _empty_ranges(_evaluated(lhs)), _empty_ranges(_evaluated(rhs))
    except _ReversedRange as exc:
        return SymbolicResult("not proved", str(exc))
    try:
        for unfold in (False, True):
            rewards = lhs.has(RewardProbability) or rhs.has(RewardProbability)
            diff = _canonical(lhs, unfold, rewards) - _canonical(rhs, unfold, rewards)
            diff = _merge_sums(sp.expand(diff))
            if diff == 0:
                how = ("after unfolding the definitions of P(τ;θ) and R(τ), and Σ_a π_θ(a|s) = 1"
                       if unfold else "")
                return SymbolicResult("proved", (how + note).strip())
        residue = sp.simplify(diff)
    except Exception as exc:  # SymPy may refuse an operation on an abstract form
        return SymbolicResult("not proved", f"SymPy could not reduce the difference ({type(exc).__name__})")
    if residue == 0:
        return SymbolicResult("proved", ("by simplify" + note).strip())
    return SymbolicResult("not proved", f"lhs − rhs reduces to {_short(residue)}", residue=residue)


# -- empty ranges -----------------------------------------------------------------

class _ReversedRange(ValueError):
    """A sum or product whose range may run backwards by more than one (Karr's convention differs there)."""


def _empty_ranges(e: Expr, context: tuple = ()) -> Expr:
    """Σ/Π over a range that is provably empty -> 0 / 1 (the evaluator's meaning); raise where it may be reversed.

    SymPy reads Σ_{t=a}^{b} f with b < a − 1 as −Σ_{t=b+1}^{a−1} f (Karr), derive's evaluator as the
    empty sum 0; they agree when b − a + 1 ≥ 0 (a range with b = a − 1 is empty in both). ``context``
    holds the ranges of the enclosing sums, innermost first: t ≤ H inside Σ_{t=0}^{H}.
    """
    if not isinstance(e, sp.Basic) or e.is_Atom:
        return e
    if isinstance(e, (sp.Sum, sp.Product)):
        limits = list(e.limits)
        for k in range(len(limits) - 1, -1, -1):  # outermost limit last in SymPy's list
            var, lo, hi = limits[k]
            enclosing = tuple(limits[k + 1:]) + context
            count = hi - lo + 1
            high = _bound(count, enclosing, upper=True)
            if high is not None and high.is_nonpositive:
                return sp.Integer(0) if isinstance(e, sp.Sum) else sp.Integer(1)
            low = _bound(count, enclosing, upper=False)
            if low is None or not low.is_nonnegative:
                raise _ReversedRange(
                    f"the range {var} = {sp.sstr(lo)}..{sp.sstr(hi)} may run backwards; SymPy (Karr's convention) "
                    f"reads such a sum as a negative sum, the instance check as the empty sum 0")
        body = _empty_ranges(e.function, tuple(limits) + context)
        return e.func(body, *limits) if body != e.function else e
    args = [_empty_ranges(a, context) for a in e.args]
    if all(x is y for x, y in zip(args, e.args)):
        return e
    if isinstance(e, TrajectorySum):
        return TrajectorySum(args[0], e.variable, e.support)
    return e.func(*args)


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
        conn.send(SymbolicResult("not proved", f"SymPy could not reduce the difference ({type(exc).__name__})"))
    finally:
        conn.close()


def _with_limit(fn, args, timeout: float) -> SymbolicResult:
    """fn(*args) in a child process, killed after ``timeout`` seconds (then: undecided)."""
    try:
        ctx = mp.get_context("fork")  # no pickling of the expressions; spawn elsewhere
    except ValueError:
        ctx = mp.get_context("spawn")
    reader, writer = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(fn, args, writer), daemon=True)
    proc.start()
    writer.close()
    try:
        if reader.poll(timeout):
            try:
                return reader.recv()
            except EOFError:  # the child died without an answer (killed, out of memory)
                return SymbolicResult("undecided", "the symbolic check ended without an answer")
        return SymbolicResult("undecided", f"the symbolic check reached its {timeout:g} s time limit")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        reader.close()


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


def _canonical(e: Expr, unfold_probability: bool, rewards: bool = False) -> Expr:
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
        e = e.replace(lambda x: isinstance(x, TrajectoryProbability), lambda x: factor(x.args[0]))
        e = e.replace(lambda x: isinstance(x, Return), lambda x: discounted_return(x.args[0]))
        # Σ_b π_θ(b|s) = 1: every policy is a distribution over actions, for every θ.
        e = e.replace(_is_normalisation, lambda x: sp.Integer(1))
    e = _to_sums(e)
    e = _expand_logs(e)  # log Π -> Σ log before ∇ meets the product
    # Evaluate the derivatives only: a full doit() would try to sum Σ_τ in closed form.
    e = e.replace(lambda x: isinstance(x, sp.Derivative), lambda x: x.doit(deep=False))
    e = _expand_logs(e)
    e = _split_sums(sp.expand(e))
    return e


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


def _short(e: Expr, limit: int = 160) -> str:
    text = sp.sstr(e)
    if "Dummy" in text:  # SymPy's internal renaming makes the residue unreadable
        return "an expression SymPy does not reduce to 0"
    return text if len(text) <= limit else text[:limit] + " …"
