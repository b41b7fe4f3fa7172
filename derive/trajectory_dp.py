"""Σ_τ by dynamic programming over time instead of enumerating the trajectories.

A trajectory sum Σ_τ f(τ) whose body is built from per-step quantities is a product of
per-step transfer matrices over states. The body is first compiled into *terms*; a term is

    Σ_{x_1..x_K (bounds)}  c · Π_j g_j(step of x_j) · Π_p h(p) · Π_{fixed k} l_k

with c constant in τ, each g_j a *local* factor that reads only s, a, the drawn reward and
s' of one step (π_θ(a_t|s_t), γ^u r_u, b(s_t), Q_t(s_t, a_t), ∇log π_θ(a_t|s_t), …), h a factor
present at every step of a range (P(τ;θ) = μ(s_0) Π_t π_θ P(s'|s,a) P(r|s,a) and its powers,
the indicator of P(τ;θ) > 0 for Σ_{τ: P>0}), and l fixed-time factors (μ(s_0), r_H). R(τ),
reward-to-go and log P(τ;θ) become sums over a fresh time variable; products of sums
distribute. ∇_θ of a non-local part is a nilpotent symbol δ_j (δ_j² = 0): each factor
inside its scope is val + δ_j·der, and the term keeps the coefficient of δ_j — the product
rule without division. The outer directional derivative (what an enclosing ∇ needs) is
one more nilpotent δ_0. Time variables are nilpotent markers too: the DP state is
(which time variables are placed, which δ's are used) × state, carried forward over
t = 0..H in the evaluator's own number system (ModPrime or Exact), at cost
O((H+1) · S² · A · |outcomes| · 2^(K+D)) per term instead of S·(S·A)^(H+1).

Every table entry is computed by :class:`derive.semantics.Evaluator` itself on a
synthetic batch holding one row per (s, a, outcome, s') of a step, so the DP multiplies
exactly the numbers enumeration multiplies; only the order of the sums differs, which
exact arithmetic does not see. Shapes outside this plan raise :class:`NotCovered`, and
the caller enumerates. A division by zero anywhere a table is evaluated also raises
NotCovered, so enumeration reports it with the offending trajectory.

Known difference: where enumeration knows a derivative is 0 only because a whole batch of
values happens to be 0 (a product with an unknown derivative), the DP says "unknown" (None).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy import Derivative, Expr

from .backends import LogLinear, LogLinearNumber, ModPrime
from .notation import (
    Action, Expectation, InitialDistribution, Policy, Return, Reward, RewardProbability, Sample, State,
    PathProbability, TrajectoryProbability, TrajectorySum, Transition, H, gamma, tau, theta,
)

__all__ = ["NotCovered", "UndefinedOnStep", "evaluate", "evaluate_or_none", "covers", "dp_or_none", "DP_MIN_TRAJECTORIES",
           "free_trajectory_identity", "random_weights", "weighted_sum", "weighted_plan"]

_READS = (State, Action, Reward, RewardProbability)
_MAX_MARKERS = 8
# Below this many trajectories enumeration is cheaper than the DP's fixed cost (benchmarks/bench_dp.py:
# 2×2, H = 4, 2,048 trajectories: DP 23 ms, enumeration 7 ms; H = 6, 32,768: DP 27 ms, enumeration 102 ms).
DP_MIN_TRAJECTORIES = 10_000  # time variables + derivative symbols per term: 2^8 DP keys at most


class NotCovered(Exception):
    """The dynamic-programming route has no plan for this expression; enumerate instead."""


class UndefinedOnStep(NotCovered):
    """The line divides by 0 (or takes log 0) on a step the DP reached: enumeration finds the trajectory."""


@dataclass(frozen=True)
class _Factor:
    expr: Expr | None          # a local expression the evaluator computes on a step batch
    var: object                # the time variable it belongs to, or None (fixed time / constant)
    delta: int                 # which nilpotent δ its derivative feeds (0: the outer one)
    candidates: frozenset | None  # step offsets (relative to var, or absolute) it can be read at; None: any
    kind: str = "expr"         # "expr" or "support" (the indicator of P(τ;θ) > 0)


@dataclass
class _Term:
    consts: list = field(default_factory=list)     # factors without τ or time variables
    locals: list = field(default_factory=list)     # factors at a time variable or a fixed step
    products: list = field(default_factory=list)   # (factor, lo, hi): present at every step of a range
    variables: list = field(default_factory=list)  # (var, lo, hi)
    deltas: frozenset = frozenset()                # inner ∇ symbols the term must use

    def times(self, other: "_Term") -> "_Term":
        return _Term(self.consts + other.consts, self.locals + other.locals, self.products + other.products,
                     self.variables + other.variables, self.deltas | other.deltas)


class _Compiler:
    """Expression -> list of terms (see the module docstring)."""

    def __init__(self, tau, ints: dict, outcomes: bool):
        self.tau = tau
        self.ints = {k: sp.Integer(v) for k, v in ints.items()}
        self.vars: set = set()
        self.n_deltas = 0
        self.outcomes = outcomes

    # -- classification ---------------------------------------------------------------
    def _time(self, k):
        """A time index as (var, offset), (None, absolute) or 'bound' (a symbol bound inside)."""
        kk = sp.sympify(k).xreplace(self.ints)
        if kk.is_Integer:
            return None, int(kk)
        syms = kk.free_symbols
        mine = syms & self.vars
        if syms - self.vars:
            return "bound"
        if len(mine) == 1:
            (w,) = mine
            c = sp.expand(kk - w)
            if c.is_Integer:
                return w, int(c)
        raise NotCovered(f"time index {kk} is not a time variable plus a constant")

    def local(self, e: Expr):
        """(var, candidate offsets) when e reads one step of τ (or none), else None."""
        for node in sp.preorder_traversal(e):
            if isinstance(node, (TrajectorySum, Expectation)):
                return None
            if isinstance(node, Sample):
                raise NotCovered("a sampled trajectory τ^(i) inside the sum")
            if isinstance(node, (TrajectoryProbability, Return)):
                if node.args[0] != self.tau:
                    raise NotCovered(f"{node} is not about the summed trajectory")
                return None
        reads = []
        for node in sp.preorder_traversal(e):
            if isinstance(node, _READS):
                traj, k = node.args
                if traj != self.tau:
                    raise NotCovered(f"{node} is not about the summed trajectory")
                where = self._time(k)
                if where == "bound":
                    return None
                reads.append((type(node), where))
        named = (e.free_symbols & self.vars) | {w for _, (w, _) in reads if w is not None}
        if len(named) > 1:
            return None
        var = next(iter(named), None)
        if any(w is None for _, (w, _) in reads) and var is not None:
            return None  # a fixed step and a variable step in one factor
        return var, _candidates(reads)

    # -- compilation --------------------------------------------------------------------
    def compile(self, e: Expr, delta: int = 0) -> list[_Term]:
        info = self.local(e)
        if info is not None and info[1] is not None and not info[1]:  # reads several steps: split it
            if not isinstance(e, (sp.Add, sp.Mul, sp.Pow, sp.log)):
                raise NotCovered(f"{_text(e)} reads more than one step of τ")
            info = None
        if info is not None:
            var, cand = info
            if delta and e.has(Derivative):
                raise NotCovered("a derivative inside a derivative")
            f = _Factor(e, var, delta, cand)
            if var is None and cand is None:
                return [_Term(consts=[f])]
            return [_Term(locals=[f])]
        if isinstance(e, sp.Add):
            return [t for a in e.args for t in self.compile(a, delta)]
        if isinstance(e, sp.Mul):
            terms = [_Term()]
            for a in e.args:
                part = self.compile(a, delta)
                terms = [x.times(y) for x in terms for y in part]
            return terms
        if isinstance(e, sp.Pow):
            base, ex = e.args
            n = sp.sympify(ex).xreplace(self.ints)
            if not n.is_Integer:
                raise NotCovered(f"exponent {ex} is not an integer")
            n = int(n)
            if isinstance(base, TrajectoryProbability):
                return self.compile(self._factorised(base, n), delta)
            if isinstance(base, sp.Product) and len(base.args) == 2:  # (Π_t f_t)^n = Π_t f_t^n
                return self.compile(sp.Product(sp.Pow(base.args[0], n, evaluate=False), base.args[1]), delta)
            if isinstance(base, sp.Mul):  # (a b)^n = a^n b^n, zero exactly when a product is
                return self.compile(sp.Mul(*[sp.Pow(a, n, evaluate=False) for a in base.args], evaluate=False),
                                    delta)
            if n < 1:
                raise NotCovered(f"{_text(e)}: a negative power of a sum over time")
            return self.compile(sp.Mul(*([base] * n), evaluate=False), delta)
        if isinstance(e, TrajectoryProbability):
            return self.compile(self._factorised(e, 1), delta)
        if isinstance(e, Return):
            u = sp.Dummy("u", integer=True)
            return self.compile(sp.Sum(sp.Mul(gamma ** u, Reward(self.tau, u), evaluate=False),
                                       (u, 0, self.ints_value(H))),
                                delta)
        if isinstance(e, sp.Sum):
            body, *limits = e.args
            if len(limits) > 1:  # SymPy lists the innermost limit first
                return self.compile(sp.Sum(sp.Sum(body, *limits[:-1]), limits[-1]), delta)
            (v, lo, hi), = limits
            w = sp.Dummy(str(v), integer=True)
            self.vars.add(w)
            with sp.evaluate(False):  # renaming must not cancel (t − 100)/(t − 100): it is undefined at t = 100
                body = body.xreplace({v: w})
            terms = self.compile(body, delta)
            for term in terms:
                term.variables.append((w, lo, hi))
            return terms
        if isinstance(e, sp.Product):
            body, *limits = e.args
            if len(limits) != 1:
                raise NotCovered("a product over several indices")
            (v, lo, hi), = limits
            w = sp.Dummy(str(v), integer=True)
            self.vars.add(w)
            with sp.evaluate(False):
                inner = body.xreplace({v: w})
            info = self.local(inner)
            if info is None or info[0] not in (w, None) or (info[1] is not None and not info[1]):
                raise NotCovered(f"the body of {_text(e)} is not one step of τ")
            lo_i, hi_i = (sp.sympify(z).xreplace(self.ints) for z in (lo, hi))
            if not (lo_i.is_Integer and hi_i.is_Integer):
                raise NotCovered(f"the range of {_text(e)} is not fixed")
            if delta and inner.has(Derivative):
                raise NotCovered("a derivative inside a derivative")
            return [_Term(products=[(_Factor(inner, w, delta, info[1]), int(lo_i), int(hi_i))])]
        if isinstance(e, sp.log):
            split = self._split_log(e.args[0])
            if split == e:
                raise NotCovered(f"log of {_text(e.args[0])}: not a product of steps")
            return self.compile(split, delta)
        if isinstance(e, Derivative):
            if len(e.variable_count) != 1 or e.variable_count[0] != (theta, 1):
                raise NotCovered(f"{_text(e)} is not a first derivative in θ")
            if delta:
                raise NotCovered("a derivative inside a derivative")
            self.n_deltas += 1
            j = self.n_deltas
            terms = self.compile(e.expr, j)
            for term in terms:
                term.deltas = term.deltas | {j}
            return terms
        raise NotCovered(f"no dynamic-programming plan for {type(e).__name__}: {_text(e)}")

    def ints_value(self, sym):
        if sym not in self.ints:
            raise NotCovered("the horizon H has no value")
        return self.ints[sym]

    def _factorised(self, p: TrajectoryProbability, n: int) -> Expr:
        """P(τ;θ)^n = μ(s_0)^n Π_{t=0}^{H} (π_θ(a_t|s_t) P(s_{t+1}|s_t,a_t) P(r_t|a_t,s_t))^n."""
        traj, par = p.args
        if traj != self.tau:
            raise NotCovered(f"{p} is not about the summed trajectory")
        if par != theta:
            raise NotCovered(f"{p}: parameter is not θ")
        t = sp.Dummy("t", integer=True)
        step = sp.Mul(Policy(Action(traj, t), State(traj, t), theta), Transition(State(traj, t + 1), State(traj, t),
                      Action(traj, t)), evaluate=False)
        if self.outcomes and not isinstance(p, PathProbability):   # the marginal has no reward factors
            step = sp.Mul(step, RewardProbability(traj, t), evaluate=False)
        H_ = self.ints_value(H)
        mu0 = InitialDistribution(State(traj, 0))
        return sp.Mul(sp.Pow(mu0, n, evaluate=False), sp.Product(sp.Pow(step, n, evaluate=False), (t, 0, H_)),
                      evaluate=False)

    def _split_log(self, x: Expr) -> Expr:
        """log of a product -> sum of logs (the same derivative x'/x; a log's value is never needed here)."""
        if isinstance(x, TrajectoryProbability):
            return self._split_log(self._factorised(x, 1))
        if isinstance(x, sp.Mul):
            return sp.Add(*[self._split_log(a) for a in x.args], evaluate=False)
        if isinstance(x, sp.Pow) and sp.sympify(x.args[1]).xreplace(self.ints).is_Integer:
            return sp.Mul(x.args[1], self._split_log(x.args[0]), evaluate=False)
        if isinstance(x, sp.Product) and len(x.args) == 2:
            (v, lo, hi) = x.args[1]
            return sp.Sum(self._split_log(x.args[0]), (v, lo, hi))
        return sp.log(x, evaluate=False)  # compiled as one step's factor, or refused there


_COMPILED: dict = {}


def _compiled(body: Expr, tau, ints: dict, outcomes: bool):
    """The terms of a body (fresh copies: a plan appends to them), compiled once per body and integer values."""
    key = (body, tau, tuple(sorted(ints.items(), key=lambda kv: str(kv[0]))), outcomes)
    if key not in _COMPILED:
        if len(_COMPILED) > 4096:
            _COMPILED.clear()
        comp = _Compiler(tau, ints, outcomes)
        try:
            _COMPILED[key] = (comp.compile(body, 0), comp.n_deltas)
        except NotCovered as exc:
            _COMPILED[key] = exc
    found = _COMPILED[key]
    if isinstance(found, NotCovered):
        raise NotCovered(str(found))
    terms, n_deltas = found
    return [_Term(list(t.consts), list(t.locals), list(t.products), list(t.variables), t.deltas) for t in terms], n_deltas


def _candidates(reads) -> frozenset | None:
    """Step offsets at which a factor with these reads can be evaluated (s and s' of one step)."""
    if not reads:
        return None
    anchored, states = set(), set()
    for kind, (_, k) in reads:
        if kind is State:
            states.add(k)
        else:  # a_k, r_k (needs s_k, s_{k+1}), P(r_k|a_k,s_k)
            anchored.add(k)
            states.add(k)
            if kind is Reward:
                states.add(k + 1)
    if len(anchored) > 1:
        return frozenset()
    if anchored:
        (k,) = anchored
        return frozenset({k}) if states <= {k, k + 1} else frozenset()
    lo, hi = min(states), max(states)
    if hi - lo > 1:
        return frozenset()
    return frozenset({lo}) if hi > lo else frozenset({lo, lo - 1})


class _Columns:
    """Stands in for the trajectory table: column k holds the value of s_k (or a_k) on the step batch."""

    def __init__(self, cols: dict):
        self.cols = cols

    def __getitem__(self, key):
        idx, k = key
        if k not in self.cols:
            raise _OutsideStep(k)
        return self.cols[k][idx]


class _OutsideStep(LookupError):
    pass


class _Plan:
    """The DP for one trajectory sum on one evaluator."""

    def __init__(self, ev, e: TrajectorySum, ints: dict, *, weights=None):
        self.ev, self.bk, self.mdp = ev, ev.backend, ev.mdp
        self.ints = dict(ints)
        self.H = self.mdp.horizon
        self.support = e.support
        mdp = self.mdp
        self.S, self.A = mdp.n_states, mdp.n_actions
        self.O = max(len(o) for row in mdp.reward_distribution for o in row) if mdp.reward_distribution else 1
        self.terms, self.n_deltas = _compiled(e.body, e.variable, {**self.ints, H: self.H},
                                              bool(mdp.reward_distribution))
        self.tau = e.variable
        if self.support:
            ind = _Factor(None, None, 0, None, kind="support")
            for term in self.terms:
                term.products.append((ind, 0, self.H))
                term.locals.append(_Factor(None, None, 0, frozenset({0}), kind="support0"))
        self.weights = weights  # [H+1] random tables over (s, a, outcome, s'), or None
        self._summed: dict = {}  # id(table) -> (table, its S × S matrix Σ_{a,o} table as flint's fmpq_mat, or None)
        if weights is not None:
            w = _Factor(None, None, 0, None, kind="weight")
            for term in self.terms:
                term.products.append((w, 0, self.H))
        # The outer δ is tracked only when no ∇ is taken inside the sum (else its derivative is unknown).
        self.track_outer = self.n_deltas == 0
        self._grid()
        self._cache: dict = {}
        self._timed: dict = {}
        self._steps: dict = {}  # id(term) -> (term, its _Steps), kept for every run of the plan

    # -- the step batch -------------------------------------------------------------------
    def _grid(self):
        S, A, O = self.S, self.A, self.O
        s, a, o, s2 = np.meshgrid(np.arange(S), np.arange(A), np.arange(O), np.arange(S), indexing="ij")
        self.g_s, self.g_a, self.g_o, self.g_s2 = (x.ravel() for x in (s, a, o, s2))
        self.N = S * A * O * S
        mdp = self.mdp
        pi = np.array([[v > 0 for v in row] for row in self.ev.instance.probabilities()])
        tr = np.array([[[v > 0 for v in d_] for d_ in row] for row in mdp.transitions])
        pos = pi[self.g_s, self.g_a] & tr[self.g_s, self.g_a, self.g_s2]
        if mdp.reward_distribution:
            rp = np.zeros((S, A, O), dtype=bool)
            for si, row in enumerate(mdp.reward_distribution):
                for ai, outs in enumerate(row):
                    for k, (_, p) in enumerate(outs):
                        rp[si, ai, k] = p > 0
            pos &= rp[self.g_s, self.g_a, self.g_o]
        self.step_positive = pos
        self.mu_positive = np.array([v > 0 for v in mdp.initial])
        # States reachable at step p along trajectories with P(τ;θ) > 0 (every such prefix extends).
        reach = [self.mu_positive]
        for _ in range(self.H + 1):
            cur = reach[-1]
            nxt = np.zeros(S, dtype=bool)
            nxt[self.g_s2[pos & cur[self.g_s]]] = True
            reach.append(nxt)
        self.reach = reach
        # Steps whose reachable states are the same share their tables: one small id per distinct set
        # (reachability settles after a few steps), not the set's bytes rebuilt on every look-up.
        seen: dict = {}
        self.reach_class = [seen.setdefault(r.tobytes(), len(seen)) for r in reach]
        self._member_rows: dict = {}

    def _members(self, p: int) -> np.ndarray:
        if not self.support:
            return np.arange(self.N)
        cls = self.reach_class[p]
        if cls not in self._member_rows:
            self._member_rows[cls] = np.flatnonzero(self.step_positive & self.reach[p][self.g_s])
        return self._member_rows[cls]

    def _zeros(self):
        return self.bk.mul(self.bk.zero(), np.zeros(self.N, dtype=np.int64))

    def table(self, f: _Factor, x, p: int):
        """(val, der) of a local factor over the step batch of step p ([S, A, O, S'] arrays; None = unknown)."""
        bk = self.bk
        if f.kind == "weight":
            return self.weights[p], bk.zero()
        if f.kind in ("support", "support0"):
            if f.kind not in self._cache:
                if f.kind == "support":
                    ind = bk.table(self.step_positive.astype(int).tolist()).reshape(self.S, self.A, self.O, self.S)
                else:
                    ind = bk.table(self.mu_positive.astype(int).tolist()).reshape(self.S, 1, 1, 1)
                self._cache[f.kind] = (ind, bk.zero())
            return self._cache[f.kind]
        if (f.expr, f.var) not in self._timed:
            self._timed[(f.expr, f.var)] = f.var is not None and _depends_on_time(f.expr, f.var)
        timed = self._timed[(f.expr, f.var)]
        key = (f.expr, x if timed else None, p if (timed or f.var is None) else None,
               self.reach_class[p] if self.support else None)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._evaluate(f, x, p, self._members(p))
        return found

    def _evaluate(self, f: _Factor, x, p: int, members):
        from .semantics import IllFormed, Undefined, Unsupported, _Env

        ev, bk = self.ev, self.bk
        step = _StepView(ev, {p: self.g_s[members], p + 1: self.g_s2[members]}, {p: self.g_a[members]},
                         {p: self.g_o[members]} if self.mdp.reward_distribution else None)
        ints = dict(self.ints)
        ints[H] = self.H
        if f.var is not None:
            ints[f.var] = x
        n = members.size
        try:
            d = step._eval(f.expr, _Env(n, {self.tau: np.arange(n)}, ints))
        except (Undefined, ZeroDivisionError) as exc:
            raise UndefinedOnStep(f"division by zero on a step ({exc})") from None
        except _OutsideStep as exc:
            raise NotCovered(f"the line reads step {exc} of a trajectory outside the step the DP is at") from None
        except (IllFormed, Unsupported, IndexError) as exc:
            raise NotCovered(str(exc)) from None

        def spread(v):
            if v is None:
                return None
            v = np.broadcast_to(np.asarray(v), (n,))
            if not self.support:
                return np.asarray(v).reshape(self.S, self.A, self.O, self.S)
            out = self._zeros()
            out[members] = v
            return out.reshape(self.S, self.A, self.O, self.S)

        return spread(d.val), spread(d.der)

    # -- the dynamic programme ---------------------------------------------------------
    def run(self):
        from .semantics import Dual

        bk = self.bk
        val = der = bk.zero()
        for term in self.terms:
            v, d = self._run_term(term)
            val = _add(bk, val, v)
            der = _add(bk, der, d)
        return Dual(val, der if self.track_outer else None)

    def _tracked(self, delta: int) -> bool:
        return delta > 0 or self.track_outer

    def _run_term(self, term: _Term):
        bk, H, S = self.bk, self.H, self.S
        variables = term.variables
        K = len(variables)
        if K + self.n_deltas + 1 > _MAX_MARKERS:
            raise NotCovered("too many time variables and derivatives in one term")
        index = {w: j for j, (w, _, _) in enumerate(variables)}
        # Every local factor belongs to a time variable of the term or to a fixed step.
        by_var: dict = {w: [] for w in index}
        fixed: dict = {}
        for f in term.locals:
            if f.var is None:
                fixed.setdefault(self._fixed_step(f), []).append(f)
            elif f.var in index:
                by_var[f.var].append(f)
            else:
                raise NotCovered(f"time variable {f.var} of a factor is not summed in its term")
        offsets = {w: self._offset(by_var[w]) for w in index}
        lower, upper, constraints = self._bounds(variables, index, offsets)
        self._check_ranges(variables, index, lower, upper, offsets)
        prods = []
        for f, lo, hi in term.products:
            if f.candidates is None and lo <= hi and (lo < 0 or hi > self.H):
                raise NotCovered(f"a product over {lo}..{hi}, outside the steps 0..{self.H}")
            off = 0 if f.candidates is None else self._product_offset(f, lo, hi)
            prods.append((f, lo, hi, off))

        full = (1 << K) - 1
        need = sum(1 << j for j in term.deltas)
        ones = bk.mul(bk.one(), np.ones(S, dtype=np.int64))
        start = {}
        for mask, c in self._choices([self._const(f) for f in term.consts], 0):
            start[(0, mask)] = bk.mul(ones, c) if c is not None else None
        # A weighted plan runs once for every set of weights (a witness search, thousands of times): what does not
        # depend on the weights (placements, choice products, the mod-p transitions) is built on its first run.
        steps = self._steps.get(id(term))
        if steps is None or steps[0] is not term:
            steps = self._steps[id(term)] = (term, _Steps(self, index, by_var, fixed, offsets, lower, upper,
                                                          constraints, prods))
        steps = steps[1]
        walk = _walk_mod_p if type(bk) is ModPrime and S < 2**14 else _walk
        final = walk(self, steps, start)
        v = final((full, need))
        d = final((full, need | 1)) if self.track_outer else None
        return self._total(v), self._total(d)

    def _total(self, vec):
        if isinstance(vec, str):
            return self.bk.zero()
        if isinstance(vec, _Block):
            return vec.total()
        return None if vec is None else self.bk.sum(vec)

    def _contract(self, vec, table):
        if vec is None or table is None:
            return None
        bk, S = self.bk, self.S
        if type(bk) is LogLinear:
            fast = self._rational_contract(vec, table)
            if fast is not None:
                return fast
        if isinstance(vec, _Block):
            vec = vec.values()
        t = np.broadcast_to(np.asarray(table), (S, self.A, self.O, S))
        return bk.sum(bk.mul(np.asarray(vec)[:, None, None, None], t).reshape(-1, S), axis=0)

    def _rational_contract(self, vec, table):
        """Σ_{s,a,o} vec[s]·table[s,a,o,s'] for log-linear numbers as one integer matrix product over a common
        denominator (a _Block: no gcd per term, none per step); None (the plain sum) when both vec and the table
        carry logs, whose product the plain sum refuses. The same numbers as the plain sum."""
        S = self.S
        found = self._summed.get(id(table))
        if found is None or found[0] is not table:
            t = np.broadcast_to(np.asarray(table, dtype=object), (S, self.A, self.O, S))
            cells = np.empty((S, self.A * self.O, S), dtype=object)
            cells.reshape(-1)[:] = [LogLinearNumber.of(x) for x in t.ravel()]
            summed = np.empty((S, S), dtype=object)
            for i_ in range(S):
                for j in range(S):
                    summed[i_, j] = self.bk.sum(cells[i_, :, j])[()]
            found = self._summed[id(table)] = (table, _Block.of(summed))  # the table kept: its id stays unique
        matrix = found[1]
        block = vec if isinstance(vec, _Block) else _Block.of(np.broadcast_to(np.asarray(vec, dtype=object), (S,)))
        if block.keys and matrix.keys:
            return None
        return block.times(matrix)

    def _entry(self, f: _Factor, *, x, p):
        val, der = self.table(f, x, p)
        return val, der, f.delta

    def _const(self, f: _Factor):
        from .semantics import IllFormed, Undefined, Unsupported

        ints = {**self.ints, H: self.H}
        try:
            d = self.ev.evaluate(f.expr, ints=ints)
        except (Undefined, ZeroDivisionError, IllFormed, Unsupported) as exc:
            raise NotCovered(f"{type(exc).__name__}: {exc}") from None
        return d.val, d.der, f.delta

    def _choices(self, factors, dm):
        """Products of the factors, each taken as its value or (once per δ) its derivative: [(δ mask, product)]."""
        bk = self.bk
        opts = {dm: bk.one()}
        for val, der, delta in factors:
            nxt: dict = {}
            for mask, acc in opts.items():
                cand = [(mask, val)]
                bit = 1 << delta
                if self._tracked(delta) and not mask & bit and not _known_zero(bk, der):
                    cand.append((mask | bit, der))
                for m2, x in cand:
                    y = _mul(bk, acc, x)
                    nxt[m2] = y if m2 not in nxt else _add(bk, nxt[m2], y)
            opts = nxt
        return list(opts.items())

    # -- where factors sit ---------------------------------------------------------------
    def _fixed_step(self, f: _Factor) -> int:
        if f.kind == "support0":
            return 0
        ok = sorted(k for k in f.candidates if 0 <= k <= self.H)
        if not ok:
            raise NotCovered(f"{_text(f.expr)} reads outside the trajectory's steps")
        return ok[-1]

    def _offset(self, factors) -> int:
        cand = None
        for f in factors:
            if f.candidates is not None:
                cand = set(f.candidates) if cand is None else cand & f.candidates
        if cand is None:
            return 0
        if not cand:
            raise NotCovered("the factors of one time variable read different steps")
        return max(cand)

    def _product_offset(self, f: _Factor, lo: int, hi: int) -> int:
        ok = [c for c in f.candidates if lo > hi or (0 <= lo + c and hi + c <= self.H)]
        if not ok:
            raise NotCovered(f"the product over {_text(f.expr)} reads outside the trajectory's steps")
        return max(ok)

    def _bounds(self, variables, index, offsets):
        """Constant bounds on each variable and order constraints (first, second, strict) on step positions."""
        ints = {k: sp.Integer(v) for k, v in self.ints.items()}
        ints[H] = sp.Integer(self.H)
        lower, upper, constraints = {}, {}, []
        for w, lo, hi in variables:
            for side, bound in (("lo", lo), ("hi", hi)):
                bb = sp.sympify(bound).xreplace(ints)
                if bb.is_Integer:
                    (lower if side == "lo" else upper)[w] = int(bb)
                    continue
                syms = bb.free_symbols
                if len(syms) != 1 or next(iter(syms)) not in index:
                    raise NotCovered(f"bound {bound} is not a constant or another time variable plus a constant")
                (z,) = syms
                c = sp.expand(bb - z)
                if not c.is_Integer:
                    raise NotCovered(f"bound {bound} is not linear")
                c2 = int(c) + offsets[w] - offsets[z]  # in step positions
                if side == "lo":   # p_w >= p_z + c2
                    if c2 not in (0, 1):
                        raise NotCovered(f"lower bound {bound}: only z or z + 1 is handled")
                    constraints.append((z, w, c2 == 1))
                else:              # p_w <= p_z + c2
                    if c2 not in (0, -1):
                        raise NotCovered(f"upper bound {bound}: only z or z - 1 is handled")
                    constraints.append((w, z, c2 == -1))
                (lower if side == "lo" else upper)[w] = (z, int(c))
        return lower, upper, constraints

    def _check_ranges(self, variables, index, lower, upper, offsets):
        """Every value a variable can take must be a step 0..H, else the DP would miss terms."""
        def extreme(w, table, pick, seen=()):
            b = table[w]
            if isinstance(b, int):
                return b
            z, c = b
            if z in seen:
                raise NotCovered("circular bounds")
            return extreme(z, table, pick, seen + (w,)) + c

        for w, _, _ in variables:
            lo, hi = extreme(w, lower, min), extreme(w, upper, max)
            if lo > hi:
                continue  # empty: contributes nothing
            if lo + offsets[w] < 0 or hi + offsets[w] > self.H:
                raise NotCovered(f"time variable {w} runs over {lo}..{hi}, outside the steps 0..{self.H}")


class _StepView:
    """An evaluator whose trajectory table is one step's batch (every other attribute shared)."""

    def __new__(cls, ev, states: dict, actions: dict, outcomes: dict | None):
        view = object.__new__(type(ev))
        view.__dict__.update(ev.__dict__)
        view.states = _Columns(states)
        view.actions = _Columns(actions)
        view.outcomes = None if outcomes is None else _Columns(outcomes)
        view._traj_cache = ev._traj_cache  # Q_t, d_t, J: τ-free tables, safe to share
        return view


# -- walking the steps ----------------------------------------------------------------------
#
# Both walks compute, for p = 0..H, new[(vm | E, mask)] += Σ_{s,a,o} vec[s] · Π factors[s, a, o, s'] over
# every DP key (vm, dm), every placement E of time variables valid at p and every choice of
# derivative parts (``_Plan._choices``), exactly as written out in the module docstring. What they
# avoid is recomputing what does not change with p: which placements are valid (a p-free part and
# a bit mask of the variables placeable at p), and the choice products, which depend only on the
# factors' tables (cached by identity: a time-invariant factor gives the same table object at every
# step once reachability has settled) and on dm, not on vm.

class _Steps:
    """The step-independent parts of one term's DP: valid placements, factor lists, cached choice products."""

    def __init__(self, plan, index, by_var, fixed, offsets, lower, upper, constraints, prods):
        self.plan, self.index, self.by_var, self.fixed, self.offsets = plan, index, by_var, fixed, offsets
        self.constraints, self.prods = constraints, prods
        self.names = {j: w for w, j in index.items()}
        self.full = (1 << len(index)) - 1
        # Variable j is placeable at step p when x = p − offset lies within its constant bounds.
        self.window = {}
        for w, j in index.items():
            lo, hi = lower[w], upper[w]
            self.window[j] = (lo + offsets[w] if isinstance(lo, int) else None,
                              hi + offsets[w] if isinstance(hi, int) else None)
        self._allowed: dict = {}
        self._choice: dict = {}
        # The stacked mod-p walk's per-step structures, kept across runs (their keys hold no weights).
        self.layouts: dict = {}
        self.ops: dict = {}

    def placeable(self, p: int) -> int:
        bits = 0
        for j, (lo, hi) in self.window.items():
            if (lo is None or p >= lo) and (hi is None or p <= hi):
                bits |= 1 << j
        return bits

    def allowed(self, vm: int) -> list:
        """The placements E (in the order ``_subsets`` gives them) that the order constraints allow after vm."""
        found = self._allowed.get(vm)
        if found is None:
            found = self._allowed[vm] = [E for E in _subsets(self.full & ~vm) if self._ordered(E, vm)]
        return found

    def _ordered(self, E: int, vm: int) -> bool:
        placed_now = {self.names[j] for j in self.names if E >> j & 1}
        before = {self.names[j] for j in self.names if vm >> j & 1}
        for first, second, strict in self.constraints:
            if second in placed_now and not (first in before or (first in placed_now and not strict)):
                return False
            if first in placed_now and second in before:
                return False
        return True

    def common(self, p: int, *, skip_weight: bool = False) -> list:
        """The entries present at every placement of step p: products over ranges holding p, fixed-step factors."""
        plan = self.plan
        out = [plan._entry(f, x=p - off, p=p) for f, lo, hi, off in self.prods if lo <= p - off <= hi
               and not (skip_weight and f.kind == "weight")]
        out += [plan._entry(f, x=None, p=p) for f in self.fixed.get(p, [])]
        return out

    def at(self, w, p: int) -> list:
        return [self.plan._entry(f, x=p - self.offsets[w], p=p) for f in self.by_var[w]]

    def choices(self, factors: list, dm: int) -> list:
        """``_Plan._choices(factors, dm)``, computed once per list of tables (by identity) and dm."""
        key = (tuple((id(v), id(d), delta) for v, d, delta in factors), dm)
        found = self._choice.get(key)
        if found is None:
            if len(self._choice) > 4096:  # the plain walk's keys hold each run's weight tables: bounded
                self._choice.clear()
            found = self._choice[key] = (factors, self.plan._choices(factors, dm))  # factors kept: ids stay unique
        return found[1]


def _walk(plan, steps: _Steps, alpha: dict):
    """The DP in any exact number system, key by key, in the order the keys arise (so that the first
    error, a value a number system cannot represent, is the one a plain walk meets first)."""
    for p in range(plan.H + 1):
        common = steps.common(p)
        place = steps.placeable(p)
        at: dict = {}
        new: dict = {}
        for (vm, dm), vec in alpha.items():
            for E in steps.allowed(vm):
                if E & ~place:
                    continue
                factors = list(common)
                for w, j in steps.index.items():
                    if E >> j & 1:
                        if w not in at:
                            at[w] = steps.at(w, p)
                        factors += at[w]
                for mask, table in steps.choices(factors, dm):
                    contrib = plan._contract(vec, table)
                    key = (vm | E, mask)
                    new[key] = contrib if key not in new else _add(plan.bk, new[key], contrib)
        alpha = new
    return lambda key: alpha.get(key, "zero")


def _walk_mod_p(plan, steps: _Steps, start: dict):
    """The same DP mod p with the keys stacked: each step is one batched product of the key vectors with
    the S × S matrices Σ_{a,o} table[s, a, o, s'] of its transitions, the transitions built once for
    every step whose tables are the same objects. Unknown values (None) are carried as a flag per key."""
    bk, S, A, O = plan.bk, plan.S, plan.A, plan.O
    p_mod = bk.p
    nb = plan.n_deltas + 1
    n_keys = 1 << (len(steps.index) + nb)
    V = np.zeros((n_keys, S), dtype=np.int64)
    unknown = np.zeros(n_keys, dtype=bool)
    order = []
    for (vm, dm), vec in start.items():
        k = vm << nb | dm
        order.append(k)
        if vec is None:
            unknown[k] = True
        else:
            V[k] = np.broadcast_to(np.asarray(vec, dtype=np.int64), (S,))
    order = tuple(order)
    weighted = plan.weights is not None
    layouts, ops = steps.layouts, steps.ops
    for p in range(plan.H + 1):
        common = steps.common(p, skip_weight=True)
        place = steps.placeable(p)
        layout = layouts.get((order, place))
        if layout is None:
            layout = layouts[(order, place)] = _layout(steps, order, place, nb)
        first_seen, pairs = layout
        at = {w: steps.at(w, p) for w in first_seen}  # the tables a plain walk would read, in its order
        sig = (order, place, tuple((id(v), id(d), delta) for v, d, delta in common),
               tuple(tuple((id(v), id(d), delta) for v, d, delta in at[w]) for w in first_seen))
        op = ops.get(sig)
        if op is None:
            if len(ops) > 8 * (plan.H + 1) + 64:  # a few per step (timed tables differ by step), kept across runs
                ops.clear()
            # (common, at) kept with the op: the ids in its key stay those of live tables.
            op = ops[sig] = _transitions(steps, pairs, common, at, nb, (S, A, O, S), p_mod, weighted) + ((common, at),)
        k1, k2, t_of, tables, mats, table_unknown, next_order, _ = op
        if weighted:  # every product carries the step's weight w_p(s, a, o, s′) (its derivative is 0)
            w = np.asarray(plan.weights[p], dtype=np.int64)
            mats = (np.multiply(tables, w) % p_mod).sum(axis=(2, 3)) % p_mod
        X = V[k1]
        M = mats[t_of]
        # X < 2^31 split into 16-bit halves: each product < 2^47, so a sum of S of them fits in int64.
        hi = np.matmul((X >> 16)[:, None, :], M)[:, 0, :] % p_mod
        lo = np.matmul((X & 0xFFFF)[:, None, :], M)[:, 0, :]
        C = (hi * 65536 + lo) % p_mod
        V = np.zeros((n_keys, S), dtype=np.int64)
        np.add.at(V, k2, C)
        V %= p_mod
        spread = unknown[k1] | table_unknown
        unknown = np.zeros(n_keys, dtype=bool)
        unknown[k2[spread]] = True
        order = next_order
    present = set(order)

    def final(key):
        vm, dm = key
        k = vm << nb | dm
        if k not in present:
            return "zero"
        return None if unknown[k] else V[k]

    return final


def _layout(steps: _Steps, order: tuple, place: int, nb: int):
    """For keys ``order`` at a step where the variables ``place`` are placeable: the variables whose
    tables are read, in the order a plain walk first reads them, and the (key, vm, dm, E) it visits."""
    low = (1 << nb) - 1
    first_seen, pairs = [], []
    for k in order:
        vm, dm = k >> nb, k & low
        for E in steps.allowed(vm):
            if E & ~place:
                continue
            pairs.append((k, vm, dm, E))
            for w, j in steps.index.items():
                if E >> j & 1 and w not in first_seen:
                    first_seen.append(w)
    return first_seen, pairs


def _transitions(steps: _Steps, pairs, common, at, nb: int, shape, p_mod: int, weighted: bool):
    """One step's transitions key → key as index arrays, with their product tables (stacked, full shape)
    and, unweighted, their S × S matrices Σ_{a,o} table; plus which are unknown and the next keys' order."""
    k1, k2, t_of = [], [], []
    tables, slot = [], {}
    next_order: dict = {}
    for k, vm, dm, E in pairs:
        factors = list(common)
        for w, j in steps.index.items():
            if E >> j & 1:
                factors += at[w]
        for mask, table in steps.choices(factors, dm):
            key = (vm | E) << nb | mask
            if id(table) not in slot:
                slot[id(table)] = len(tables)
                tables.append(table)
            k1.append(k)
            k2.append(key)
            t_of.append(slot[id(table)])
            next_order.setdefault(key, None)
    table_unknown = np.array([tables[t] is None for t in t_of], dtype=bool)
    full = np.zeros((max(len(tables), 1),) + shape, dtype=np.int64)
    for t, table in enumerate(tables):
        if table is not None:
            full[t] = np.broadcast_to(np.asarray(table, dtype=np.int64), shape)
    mats = None if weighted else full.sum(axis=(2, 3)) % p_mod  # A·O entries < 2^31 each: no overflow
    return (np.array(k1, dtype=np.intp), np.array(k2, dtype=np.intp), np.array(t_of, dtype=np.intp), full, mats,
            table_unknown, tuple(next_order))


_TIMED: dict = {}
_MARK = sp.Dummy("read")  # a neutral stand-in: 0 would erase γ^t in γ^t·r_t


def _depends_on_time(e: Expr, w) -> bool:
    """Whether e's value depends on the time variable beyond which step it reads (γ^t, Q_t, d_t, t).

    A pure function of (e, w), memoised across plans: compiled bodies (hence e and w) recur on every instance.
    """
    key = (e, w)
    found = _TIMED.get(key)
    if found is None:
        if len(_TIMED) > 8192:
            _TIMED.clear()
        found = _TIMED[key] = _reads_beyond_steps(e, w)
    return found


def _reads_beyond_steps(e: Expr, w) -> bool:
    """Whether w occurs in e outside a read of a step; walked as written, since rebuilding e (replace, xreplace)
    would cancel (w − 100)/(w − 100), which is undefined at w = 100."""
    if e == w:
        return True
    if isinstance(e, _READS) or not isinstance(e, sp.Basic) or e.is_Atom:
        return False
    if isinstance(e, (sp.Sum, sp.Product)) and any(lim[0] == w for lim in e.limits):
        return any(_reads_beyond_steps(z, w) for lim in e.limits for z in lim[1:])
    return any(_reads_beyond_steps(a, w) for a in e.args)


def _subsets(mask: int):
    sub = mask
    while True:
        yield sub
        if sub == 0:
            return
        sub = (sub - 1) & mask


def _known_zero(bk, x) -> bool:
    return x is not None and bool(np.all(bk.is_zero(np.asarray(x))))


def _mul(bk, x, y):
    return None if x is None or y is None else bk.mul(x, y)


def _add(bk, x, y):
    if x is None or y is None:
        return None
    if isinstance(x, _Block) or isinstance(y, _Block):
        return _Block.of(x).plus(_Block.of(y))
    return bk.add(x, y)


class _Block:
    """Log-linear numbers (a vector, or an S × S matrix) as integer rows over one positive denominator: entry j is
    (num[0][j] + Σ_k num[1+k][j] log keys[k]) / den. The exact log-linear DP adds and contracts these with flint's
    integer matrices, with no gcd per entry; the canonical numbers come back only at the end (values, total)."""

    __slots__ = ("keys", "num", "den", "shape")

    def __init__(self, keys: tuple, num: list, den, shape: tuple):
        self.keys, self.num, self.den, self.shape = keys, num, den, shape  # num: 1 + len(keys) fmpz_mat

    @staticmethod
    def of(x) -> "_Block":
        """An array of log-linear numbers (or rationals) as a block (a block as itself)."""
        from flint import fmpq, fmpz, fmpz_mat

        if isinstance(x, _Block):
            return x
        arr = np.asarray(x, dtype=object)
        shape = arr.shape if arr.ndim == 2 else (1, arr.size)
        flat = [LogLinearNumber.of(v) for v in arr.ravel()]
        keys = tuple(sorted({n for v in flat for n in v.logs}))
        den = fmpz(1)
        for v in flat:
            for q in (v.r, *v.logs.values()):
                den = den.lcm(q.q) if q.q != 1 else den
        zero = fmpq(0)
        rows = [[v.r for v in flat]] + [[v.logs.get(n, zero) for v in flat] for n in keys]
        num = [fmpz_mat(shape[0], shape[1], [int(_times(q, den)) for q in row]) for row in rows]
        return _Block(keys, num, den, shape)

    def plus(self, other: "_Block") -> "_Block":
        from flint import fmpz_mat

        g = self.den.gcd(other.den)
        a_, b_ = other.den // g, self.den // g   # self's rows times a_, other's times b_, over den·a_
        keys = tuple(sorted(set(self.keys) | set(other.keys)))
        zero = fmpz_mat(self.shape[0], self.shape[1])
        mine, theirs = dict(zip(self.keys, self.num[1:])), dict(zip(other.keys, other.num[1:]))
        num = [self.num[0] * a_ + other.num[0] * b_]
        num += [mine.get(n, zero) * a_ + theirs.get(n, zero) * b_ for n in keys]
        return _Block(keys, num, self.den * a_, self.shape)

    def times(self, matrix: "_Block") -> "_Block":
        """This row vector times an S × S block; one of the two has no logs (log times log is not log-linear)."""
        if not self.keys:
            num = [self.num[0] * m for m in matrix.num]
            keys = matrix.keys
        else:
            num = [row * matrix.num[0] for row in self.num]
            keys = self.keys
        return _Block(keys, num, self.den * matrix.den, (1, matrix.shape[1]))

    def values(self) -> np.ndarray:
        """The entries as (canonical) log-linear numbers, a vector."""
        from flint import fmpq

        out = np.empty(self.shape[1], dtype=object)
        for j in range(self.shape[1]):
            logs = {n: fmpq(row[0, j], self.den) for n, row in zip(self.keys, self.num[1:])}
            out[j] = LogLinearNumber._made(fmpq(self.num[0][0, j], self.den), logs)
        return out

    def total(self):
        """The sum of the entries, as the backend's 0-d array."""
        from flint import fmpq

        def row_sum(m):
            return fmpq(sum((m[0, j] for j in range(self.shape[1])), start=m[0, 0] * 0), self.den)

        out = np.empty((), dtype=object)
        out[()] = LogLinearNumber._made(row_sum(self.num[0]),
                                        {n: row_sum(row) for n, row in zip(self.keys, self.num[1:])})
        return out


def _times(q, den):
    """q · den for an fmpq q whose denominator divides den: an integer."""
    return q.p * (den // q.q)


# -- entry points ---------------------------------------------------------------------------

def evaluate(ev, e: Expr, *, ints: dict | None = None):
    """Σ_τ e (a TrajectorySum or Expectation) on the evaluator's instance by DP over time; raises NotCovered."""
    if isinstance(e, Expectation):
        e = e.as_sum()
    if not isinstance(e, TrajectorySum):
        raise NotCovered(f"not a sum over trajectories: {type(e).__name__}")
    if not ev.backend.exact:
        raise NotCovered(f"{ev.backend.name}: the DP route runs only in exact number systems")
    ints = {k: v for k, v in (ints or {}).items() if k != H}
    return _Plan(ev, e, ints).run()


def evaluate_or_none(ev, e: Expr, *, ints: dict | None = None):
    """The DP value of Σ_τ e, or None when the DP route does not cover it (enumerate then)."""
    try:
        return evaluate(ev, e, ints=ints)
    except NotCovered:
        return None


def covers(ev, e: Expr, *, ints: dict | None = None) -> bool:
    """Whether the DP route evaluates Σ_τ e on this evaluator's instance."""
    return evaluate_or_none(ev, e, ints=ints) is not None


def dp_or_none(ev, e: Expr, *, ints: dict | None = None, refusals: list | None = None):
    """The evaluator's hook: the DP value of Σ_τ e when the DP covers e and beats enumeration, else None
    (``refusals``, if given, receives the NotCovered that says why the DP did not cover e)."""
    mdp = ev.mdp
    n = mdp.n_trajectories
    if mdp.reward_distribution:
        n *= max(len(o) for row in mdp.reward_distribution for o in row) ** (mdp.horizon + 1)
    if n < DP_MIN_TRAJECTORIES:
        return None
    try:
        return evaluate(ev, e, ints=ints)
    except NotCovered as exc:
        if refusals is not None:
            refusals.append(exc)
        return None


def free_trajectory_identity(ev, lhs: Expr, rhs: Expr, rng, *, traj=None, ints: dict | None = None,
                             support: bool = True):
    """Whether lhs(τ) = rhs(τ) for every trajectory (with P(τ;θ) > 0 when ``support``), tested at once.

    Σ_τ W(τ) (lhs(τ) − rhs(τ)) with product-form weights W(τ) = Π_{t=0}^{H} w_t(s_t, a_t, r_t, s_{t+1}),
    each w_t(·) an independent uniform residue mod p (ModPrime) or integer in [1, 2^62) (Exact).
    As a polynomial in the w's this sum is multilinear with one distinct monomial per trajectory
    (two trajectories differ at some step t, hence in the variable w_t they use) and coefficient
    lhs(τ) − rhs(τ); its degree is H + 1. If the two sides differ on some τ the polynomial is
    nonzero, and by Schwartz–Zippel it vanishes at the random point with probability at most
    (H + 1)/p (resp. (H + 1)/2^62). So ``True`` is wrong with probability ≤ (H+1)/p; ``False`` is
    certain (in ModPrime: the two sides differ mod p, hence as rationals). Returns None when a
    needed value is unknown (a log's value); raises NotCovered for shapes the DP does not cover.
    """
    traj = traj if traj is not None else tau
    weights = random_weights(ev, rng)
    body = sp.Add(lhs, sp.Mul(sp.Integer(-1), rhs, evaluate=False), evaluate=False)
    d = weighted_sum(ev, TrajectorySum(body, traj, support), weights, ints=ints)
    bk = ev.backend
    if d.val is None:
        return None
    return bool(np.all(bk.is_zero(np.asarray(d.val))))


def random_weights(ev, rng) -> list:
    """H + 1 independent uniform tables w_t(s, a, outcome, s′): residues mod p, or integers in [1, 2^62) when exact."""
    from .backends import ModPrime

    bk, mdp = ev.backend, ev.mdp
    if not bk.exact:
        raise NotCovered(f"{bk.name}: the DP route runs only in exact number systems")
    S, A = mdp.n_states, mdp.n_actions
    O = max(len(o) for row in mdp.reward_distribution for o in row) if mdp.reward_distribution else 1
    shape = (S, A, O, S)
    if isinstance(bk, ModPrime):
        draw = lambda: np.array([rng.randrange(bk.p) for _ in range(S * A * O * S)], dtype=np.int64)  # noqa: E731
    else:
        draw = lambda: bk.table([rng.randrange(1, 2**62) for _ in range(S * A * O * S)])  # noqa: E731
    return [draw().reshape(shape) for _ in range(mdp.horizon + 1)]


def weighted_sum(ev, e: TrajectorySum, weights, *, ints: dict | None = None):
    """Σ_τ W(τ) body(τ) with W(τ) = Π_t weights[t](step t of τ), by DP over time; raises NotCovered."""
    return weighted_plan(ev, e, ints=ints)(weights)


def weighted_plan(ev, e: TrajectorySum, *, ints: dict | None = None):
    """weights -> Σ_τ W(τ) body(τ), compiled once: the step tables are evaluated once for every weights given."""
    if not ev.backend.exact:
        raise NotCovered(f"{ev.backend.name}: the DP route runs only in exact number systems")
    ints = {k: v for k, v in (ints or {}).items() if k != H}
    plan = _Plan(ev, e, ints, weights=[])

    def run(weights):
        plan.weights = weights
        return plan.run()

    return run


def _text(e) -> str:
    from .text import to_text  # lazily: the printer imports the notation

    return to_text(e)
