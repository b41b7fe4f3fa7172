"""Symbolic checks in the general form (symbolic H, abstract μ, P(s'|s,a), π_θ).

A step is *proved symbolically* when SymPy reduces lhs − rhs to 0 after unfolding the
model's definitions (J(θ) = Σ_τ P(τ;θ)R(τ), and if needed the Markov factorisation of
P(τ;θ)), evaluating derivatives and expanding logs. SymPy cancels f/f without asking
whether f ≠ 0, so such a proof holds only under the step's side conditions, which the
instance check tests separately. ``simplify`` runs last, in a child process with a time
limit: a time-out is reported as undecided, never as a pass.
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass

import sympy as sp
from sympy import Expr, Mul, Sum, Symbol

from .derivation import UNBIASED
from .notation import (
    ActionSum, Expectation, Normal, Objective, Occupancy, Policy, QValue, Return, RewardProbability, StateSum,
    factorisation_with_rewards, Sample, TrajectoryProbability, TrajectorySum, discounted_return,
    factorisation, i, m, tau, theta,
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
    g = body.xreplace({Sample(i): tau})
    if i in g.free_symbols:
        return None
    return TrajectorySum(TrajectoryProbability(tau, theta) * g, tau, True)


def same_form(a: Expr, b: Expr) -> bool:
    """Structural equality up to SymPy's automatic canonicalisation (order of terms and factors)."""
    return _evaluated(a) == _evaluated(b)


def prove(lhs: Expr, rhs: Expr, *, relation: str = "=", timeout: float = 4.0) -> SymbolicResult:
    """Try to prove lhs (relation) rhs in the general form."""
    note = ""
    if relation == UNBIASED:
        expected = expectation_of_sample_mean(rhs)
        if expected is None:
            return SymbolicResult("not proved", "the estimator is not of the form (1/m) Σ_i g(τ^(i))")
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
        for unfold in (False, True):
            rewards = lhs.has(RewardProbability) or rhs.has(RewardProbability)
            diff = _canonical(lhs, unfold, rewards) - _canonical(rhs, unfold, rewards)
            diff = _merge_sums(sp.expand(diff))
            if diff == 0:
                how = ("after unfolding the definitions of P(τ;θ) and R(τ), and Σ_a π_θ(a|s) = 1"
                       if unfold else "")
                return SymbolicResult("proved", (how + note).strip())
    except Exception as exc:  # SymPy may refuse an operation on an abstract form
        return SymbolicResult("not proved", f"SymPy could not reduce the difference ({type(exc).__name__})")
    status, detail = _simplify_with_limit(diff, timeout)
    if status == "zero":
        return SymbolicResult("proved", ("by simplify" + note).strip())
    if status == "timeout":
        return SymbolicResult("undecided", f"simplify reached its {timeout:g} s time limit")
    return SymbolicResult("not proved", f"lhs − rhs reduces to {detail}")


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
        e = e.replace(lambda x: isinstance(x, ActionSum) and isinstance(x.body, Policy)
                      and x.body.args[0] == x.variable, lambda x: sp.Integer(1))
    e = _to_sums(e)
    e = sp.expand_log(e, force=True)  # log Π -> Σ log before ∇ meets the product
    # Evaluate the derivatives only: a full doit() would try to sum Σ_τ in closed form.
    e = e.replace(lambda x: isinstance(x, sp.Derivative), lambda x: x.doit(deep=False))
    e = sp.expand_log(e, force=True)
    e = _split_sums(sp.expand(e))
    return e


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
    """Σ (a + b) -> Σ a + Σ b and Σ c·f -> c Σ f, recursively (finite sums are linear)."""
    if not isinstance(e, sp.Basic) or e.is_Atom:
        return e
    args = [_split_sums(a) for a in e.args]
    if isinstance(e, Sum):
        body = sp.expand(args[0])
        limits = e.limits
        var = limits[0][0]
        terms = body.args if isinstance(body, sp.Add) else (body,)
        out = []
        for term in terms:
            coeff, rest = term.as_independent(var, as_Add=False)
            out.append(coeff * Sum(rest, *limits) if rest != 1 else coeff * Sum(1, *limits))
        return sp.Add(*out)
    return e.func(*args)


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


def _simplify_worker(expr, queue):
    try:
        result = sp.simplify(expr)
        queue.put(("done", result == 0, _short(result)))
    except Exception as exc:  # report, do not crash the checker
        queue.put(("error", repr(exc)))


def _simplify_with_limit(diff: Expr, timeout: float) -> tuple[str, str]:
    try:
        ctx = mp.get_context("fork")
    except ValueError:
        return "nonzero", sp.sstr(diff)
    queue = ctx.Queue()
    proc = ctx.Process(target=_simplify_worker, args=(diff, queue), daemon=True)
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return "timeout", ""
    try:
        kind, *payload = queue.get(timeout=1)
    except Exception:
        return "nonzero", _short(diff)
    if kind == "done":
        is_zero, text = payload
        return ("zero", "") if is_zero else ("nonzero", text)
    return "nonzero", _short(diff)


def _short(e: Expr, limit: int = 160) -> str:
    text = sp.sstr(e)
    if "Dummy" in text:  # SymPy's internal renaming makes the residue unreadable
        return "an expression SymPy does not reduce to 0"
    return text if len(text) <= limit else text[:limit] + " …"
