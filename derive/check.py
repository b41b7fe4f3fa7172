"""Checking steps two independent ways: symbolically, and by meaning on concrete MDPs.

The instance check evaluates both sides of a step on each instance of a battery (see
:mod:`derive.semantics`) and compares them exactly: first in Z/pZ for a random prime p
along a random direction v (fast, a randomized identity test: a difference found there is
certain), then, for a failure, in exact rationals to report both sides' values. An
``unbiased`` step compares the exact expectation of the estimator over m = 1 and m = 2
i.i.d. samples with the line above.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp
from sympy import Derivative, Expr

from .backends import Exact, HighPrecision, ModPrime, NotRepresentable, random_prime
from .battery import default_battery
from .derivation import EQUAL, UNBIASED, Derivation, Proof, Step
from .notation import TrajectorySum, b, i, m, tau, x
from .report import (
    FAILED, PROVED, UNDECIDED, ConditionReport, instances_phrase, Counterexample, DerivationReport,
    ProofReport, StepReport,
)
from .semantics import (
    Evaluator, IllFormed, Instance, PointInstance, Undefined, Unsupported, at_point, trajectory_text,
)
from .symbolic import SymbolicResult, follows_from_lemma, prove, same_form

__all__ = ["InstanceOutcome", "check_instance", "check_step", "verify_derivation", "verify_proof"]

MAX_SAMPLE_TUPLES = 250_000  # m = 2 is checked only while |support|² stays below this


@dataclass(frozen=True)
class InstanceOutcome:
    status: str                   # "agree" | "differ" | "undefined" | "ill-formed" | "unsupported"
    reason: str = ""
    numeric: bool = False         # compared in 50-digit floats
    bindings: dict | None = None  # free variables at the first difference
    baseline: tuple = ()          # the b(s) drawn for this check


# -- binding free variables ------------------------------------------------------

def _free_structure(*exprs: Expr) -> tuple[bool, bool, bool]:
    """(τ free, τ^(i) with free i, m free) across the expressions."""
    free = set().union(*(e.free_symbols for e in exprs))
    return tau in free, i in free, m in free


def _bindings(instance: Instance, lhs: Expr, rhs: Expr, relation: str):
    """Yield (tags, slots, ints, batch, weighted) for every way to bind the free variables."""
    free = lhs.free_symbols | rhs.free_symbols
    # "For every state s" and "for every action b": one binding per value.
    states = range(instance.mdp.n_states) if x in free else [None]
    actions = range(instance.mdp.n_actions) if b in free else [None]
    for state in states:
        for action in actions:
            extra_tags, extra_ints = {}, {}
            if state is not None:
                extra_tags["s"], extra_ints[x] = str(state), state
            if action is not None:
                extra_tags["b"], extra_ints[b] = str(action), action
            for tags, slots, ints, batch, w in _trajectory_bindings(instance, lhs, rhs, relation):
                yield {**extra_tags, **tags}, slots, {**ints, **extra_ints}, batch, w


def _trajectory_bindings(instance: Instance, lhs: Expr, rhs: Expr, relation: str):
    support = np.flatnonzero(instance.support())
    n = support.size
    tau_free, i_free, m_free = _free_structure(lhs, rhs)
    sample_counts = [1, 2] if m_free else [None]
    for count in sample_counts:
        keys = []
        if tau_free:
            keys.append(tau)
        if count is not None:
            keys.extend(("sample", k) for k in range(1, count + 1))
        elif i_free:
            keys.append(("sample", 1))
        if n ** len(keys) > MAX_SAMPLE_TUPLES and count == 2:
            continue
        grids = np.meshgrid(*([support] * len(keys)), indexing="ij") if keys else []
        slots = {k: g.ravel() for k, g in zip(keys, grids)}
        batch = int(n ** len(keys)) if keys else 1
        ints = {}
        if count is not None:
            ints[m] = count
        if i_free and count is None:
            ints[i] = 1
        tags = {"m": str(count)} if count is not None else {}
        yield tags, slots, ints, batch, (relation == UNBIASED)


def _evaluate_pair(ev: Evaluator, lhs, rhs, relation, slots, ints, batch):
    """Both sides on one binding; for 'unbiased', the rhs is averaged over the sample tuples."""
    bk = ev.backend
    if relation == UNBIASED:
        left = ev.evaluate(lhs, ints=ints)
        right = ev.evaluate(rhs, slots=slots, ints=ints, batch=batch)
        weights = bk.one()
        p = ev._trajectory_prob().val
        for key, idx in slots.items():
            if isinstance(key, tuple) and key[0] == "sample":
                weights = bk.mul(weights, p[idx])
        if right.val is None:
            return left.val, None
        expectation = bk.sum(bk.mul(weights, np.broadcast_to(right.val, (batch,))))
        return left.val, expectation
    left = ev.evaluate(lhs, slots=slots, ints=ints, batch=batch)
    right = ev.evaluate(rhs, slots=slots, ints=ints, batch=batch)
    return left.val, right.val


def _check_point(lhs: Expr, rhs: Expr, relation: str, point: PointInstance) -> InstanceOutcome:
    """Compare lhs and rhs at one exact point (statements in ordinary symbols)."""
    if relation != EQUAL:
        return InstanceOutcome("unsupported", "an estimator relation needs trajectories, not a point")
    try:
        diff = sp.simplify(at_point(lhs, point) - at_point(rhs, point))
    except Exception as exc:  # SymPy could not evaluate: not a pass
        return InstanceOutcome("unsupported", f"SymPy could not evaluate at the point ({type(exc).__name__})")
    if diff == 0:
        return InstanceOutcome("agree")
    value = sp.N(diff, 60)
    if value.is_number and abs(value) > sp.Float("1e-40", 60):
        return InstanceOutcome("differ", "the two sides differ", False, {"point": point.describe()})
    return InstanceOutcome("agree", numeric=True)


def check_instance(lhs: Expr, rhs: Expr, relation: str, instance: Instance, rng: random.Random) -> InstanceOutcome:
    """Compare the meanings of lhs and rhs on one instance."""
    if isinstance(instance, PointInstance):
        return _check_point(lhs, rhs, relation, instance)
    direction = instance.policy.tangent([Fraction(rng.randrange(1, 2**30)) for _ in range(instance.n_params)])
    baseline = _baseline(instance, rng)
    backends = [ModPrime(random_prime(rng)), HighPrecision()]
    numeric = False
    for bk in backends:
        try:
            ev = Evaluator(instance, bk, direction, baseline=baseline)
            for tags, slots, ints, batch, _ in _bindings(instance, lhs, rhs, relation):
                left, right = _evaluate_pair(ev, lhs, rhs, relation, slots, ints, batch)
                if left is None or right is None:
                    raise NotRepresentable("a log value is needed")
                left_b, right_b = np.broadcast_arrays(np.asarray(left), np.asarray(right))
                same = bk.equal(left_b, right_b)
                if not np.all(same):
                    j = int(np.flatnonzero(~np.asarray(same).ravel())[0])
                    where = {_key_text(k): trajectory_text(instance.mdp, int(v[j])) for k, v in slots.items()}
                    where.update(tags)
                    return InstanceOutcome("differ", "the two sides differ", numeric, where, tuple(baseline))
            return InstanceOutcome("agree", numeric=numeric)
        except NotRepresentable:
            numeric = True
            continue
        except Undefined as u:
            where = {_key_text(k): trajectory_text(instance.mdp, v) for k, v in u.where.items()}
            return InstanceOutcome("undefined", f"{u} on the trajectory shown", False, where)
        except IllFormed as exc:
            return InstanceOutcome("ill-formed", str(exc))
        except Unsupported as exc:
            return InstanceOutcome("unsupported", str(exc))
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            # A checker error is never a pass: the instance counts as not evaluated.
            return InstanceOutcome("unsupported", f"the evaluator failed ({type(exc).__name__}: {exc})")
    return InstanceOutcome("unsupported", "no number system could hold the values")


def _baseline(instance: Instance, rng: random.Random) -> list[Fraction]:
    """A random b(s): a claim about 'any baseline' is tested on an arbitrary one."""
    return [Fraction(rng.randint(-20, 20), rng.randint(1, 7)) for _ in range(instance.mdp.n_states)]


def _key_text(key) -> str:
    if isinstance(key, tuple):
        return f"τ^({key[1]})"
    return "τ"


def _exact_sides(lhs, rhs, relation, instance: Instance, outcome: InstanceOutcome) -> tuple[tuple, tuple]:
    """Both sides' exact values (every gradient component) at the failing binding."""
    vector = lhs.has(Derivative) or rhs.has(Derivative)
    K = instance.n_params if vector else 1
    left_vals, right_vals = [], []
    wanted = outcome.bindings or {}
    for k in range(K):
        direction = instance.policy.tangent([Fraction(int(j == k)) for j in range(instance.n_params)])
        try:
            ev = Evaluator(instance, Exact(), direction, baseline=list(outcome.baseline) or None)
            picked = None
            for tags, slots, ints, batch, _ in _bindings(instance, lhs, rhs, relation):
                if any(wanted.get(k) != v for k, v in tags.items()):
                    continue
                left, right = _evaluate_pair(ev, lhs, rhs, relation, slots, ints, batch)
                if left is None or right is None:
                    raise NotRepresentable("log value")
                left_b, right_b = np.broadcast_arrays(np.asarray(left, dtype=object), np.asarray(right, dtype=object))
                j = 0
                if slots:
                    texts = {kk: [trajectory_text(instance.mdp, int(x)) for x in v] for kk, v in slots.items()}
                    for jj in range(batch):
                        if all(texts[kk][jj] == wanted.get(_key_text(kk)) for kk in slots):
                            j = jj
                            break
                picked = (left_b.ravel()[j], right_b.ravel()[j])
                break
            if picked is None:
                return (), ()
            left_vals.append(str(picked[0]))
            right_vals.append(str(picked[1]))
        except (NotRepresentable, Undefined, IllFormed, Unsupported) as exc:
            return (f"not exactly representable ({type(exc).__name__})",), ()
    return tuple(left_vals), tuple(right_vals)


# -- steps -------------------------------------------------------------------------

def check_step(lhs: Expr, rhs: Expr, *, relation: str = EQUAL, rule: str = "claim", why: str = "",
               index: int = 1, conditions=(), battery=None, symbolic: SymbolicResult | None = None,
               timeout: float = 2.0, seed: int = 0, minimize: bool = True) -> StepReport:
    """Check lhs (relation) rhs symbolically and on every instance of the battery.

    A failure is reported on the smallest instance Hypothesis finds (``minimize``), else on
    the smallest failing instance of the battery.
    """
    battery = default_battery() if battery is None else battery
    unit = "points" if battery and all(isinstance(inst, PointInstance) for inst in battery) else "MDPs"
    sym = symbolic if symbolic is not None else prove(lhs, rhs, relation=relation, timeout=timeout)
    rng = random.Random(seed)
    agreed, numeric, failures, undecided, undefined_count = 0, 0, [], [], 0
    for inst in battery:
        out = check_instance(lhs, rhs, relation, inst, rng)
        if out.status == "agree":
            agreed += 1
            numeric += out.numeric
        elif out.status in ("differ", "undefined", "ill-formed"):
            failures.append((inst, out))
            undefined_count += out.status == "undefined"
        else:
            undecided.append((inst, out))
    counterexample = None
    detail = ""
    if failures:
        inst, out = min(failures, key=_size)
        if minimize:
            inst, out = _minimized(lhs, rhs, relation, inst, out, seed)
        violated = _violated(conditions, inst, out)
        counterexample = _counterexample(lhs, rhs, relation, inst, out, violated)
        # Summing over all τ can be mended by keeping P(τ;θ) > 0; a line about one τ cannot.
        over_all = any(isinstance(e, TrajectorySum) and not e.support
                       for side in (lhs, rhs) for e in sp.preorder_traversal(side))
        undefined_hint = HINTS["positive-probability" if over_all else "undefined-on-trajectory"]
        detail = "; ".join(undefined_hint if c.code == "positive-probability" else HINTS[c.code]
                           for c in violated if c.code in HINTS)
        if not detail and out.status == "undefined":
            detail = undefined_hint
        if not detail and relation == EQUAL and (m in lhs.free_symbols) != (m in rhs.free_symbols):
            detail = HINTS["estimator-as-equality"]
        verdict = FAILED
    elif sym.proved and agreed:
        verdict = PROVED
    elif agreed:
        verdict = instances_phrase(agreed, unit)
    else:
        verdict = UNDECIDED
    if undecided:
        detail = (detail + "; " if detail else "") + (
            f"not evaluated on {len(undecided)} instance(s): {undecided[0][1].reason}")
    sym_text = sym.status + (f": {sym.detail}" if sym.detail else "")
    return StepReport(
        index=index, rule=rule, why=why, relation=relation, verdict=verdict, symbolic=sym_text,
        instances=agreed, numeric_instances=numeric, unit=unit,
        conditions=tuple(_condition_report(c, battery, undefined_count) for c in conditions),
        counterexample=counterexample, detail=detail, lhs=sp.sstr(lhs), rhs=sp.sstr(rhs),
    )


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
}


def _violated(conditions, inst: Instance, out: InstanceOutcome) -> list:
    """The step's side conditions that fail on this instance."""
    bad = []
    for c in conditions:
        if c.code == "positive-probability" and out.status == "undefined":
            bad.append(c)
        elif c.code == "positive-policy" and any(p == 0 for row in inst.probabilities() for p in row):
            bad.append(c)
        elif c.code == "theta-free-environment" and inst.environment_depends_on_theta:
            bad.append(c)
    return bad


def _minimized(lhs, rhs, relation, inst: Instance, out: InstanceOutcome, seed: int):
    """Search for a smaller instance of the same kind on which the step fails the same way."""
    from .minimize import kind_of, minimal_instance

    if isinstance(inst, PointInstance):
        return inst, out
    if inst.mdp.n_states == 1 and inst.mdp.horizon == 0 and inst.n_params <= 2:
        return inst, out
    rng = random.Random(seed)
    found: dict = {}

    def fails(candidate: Instance) -> bool:
        result = check_instance(lhs, rhs, relation, candidate, rng)
        if result.status == out.status:
            found[id(candidate)] = result
            return True
        return False

    kind = kind_of(inst)
    small = minimal_instance(fails, kind)
    if small is None:
        return inst, out
    result = found.get(id(small)) or check_instance(lhs, rhs, relation, small, rng)
    if result.status != out.status:  # randomized check disagreed on replay: keep the battery's one
        return inst, out
    size = lambda x: (x.mdp.n_trajectories, x.n_params)  # noqa: E731
    return (small, result) if size(small) <= size(inst) else (inst, out)


def _counterexample(lhs, rhs, relation, inst: Instance, out: InstanceOutcome, violated=()) -> Counterexample:
    if isinstance(inst, PointInstance):
        return Counterexample(instance=inst.describe(), mdp={}, theta=tuple(f"{k} = {v}" for k, v in inst.values),
                              lhs=(sp.sstr(at_point(lhs, inst)),), rhs=(sp.sstr(at_point(rhs, inst)),),
                              reason=out.reason, bindings=dict(out.bindings or {}))
    left, right = ((), ())
    if out.status == "differ":
        left, right = _exact_sides(lhs, rhs, relation, inst, out)
    theta = tuple(inst.policy.theta_of(inst.point))
    reason = out.reason
    if out.status == "differ" and relation == UNBIASED:
        reason = "the estimator's exact expectation differs from the line above"
    if violated:
        reason += "; side condition violated here: " + "; ".join(f"'{c.text}'" for c in violated)
    mdp = {**inst.mdp.to_dict(), "policy": inst.policy.describe(),
           "policy_probabilities": [[str(p) for p in row] for row in inst.probabilities()]}
    if inst.mdp.reward_distribution:
        mdp["reward_distribution"] = [[[[str(r), str(p)] for r, p in o] for o in row]
                                      for row in inst.mdp.reward_distribution]
    if inst.environment_depends_on_theta:
        env = inst.environment
        mdp["d_initial"] = [[str(x) for x in row] for row in env.d_initial]
        mdp["d_transitions"] = [[[[str(x) for x in k] for k in a] for a in s_] for s_ in env.d_transitions]
    return Counterexample(
        instance=inst.describe(), mdp=mdp,
        theta=theta, lhs=left, rhs=right, reason=reason, bindings=dict(out.bindings or {}),
    )


def _size(failure) -> tuple:
    inst = failure[0]
    return (0, 0) if isinstance(inst, PointInstance) else (inst.mdp.n_trajectories, inst.n_params)


def _condition_report(cond, battery, undefined_count: int) -> ConditionReport:
    n = len(battery)
    if any(isinstance(inst, PointInstance) for inst in battery):
        return ConditionReport(cond.text, "not tested: the instances are points, not MDPs")
    if cond.code == "finite-sum":
        biggest = max(inst.mdp.n_trajectories for inst in battery)
        return ConditionReport(cond.text, f"holds on all {n} instances (at most {biggest} trajectories)")
    if cond.code == "positive-probability":
        if undefined_count:
            return ConditionReport(cond.text, f"violated on {undefined_count} of {n} instances")
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


def _step_symbolic(prev: Expr, step: Step, proved_chains: dict, timeout: float) -> SymbolicResult:
    if step.lemma is not None:  # the line must be exactly what the lemma licenses, whatever built the step
        licensed = follows_from_lemma(prev, step, timeout=timeout)
        if not licensed.proved:
            return SymbolicResult("not proved", f"relies on {step.lemma.name}: {licensed.detail}")
    if step.lemma is not None and step.rule.startswith("by "):
        ok, why = _lemma_status(proved_chains, step.lemma)
        if ok:
            return SymbolicResult("proved", f"by {step.lemma.name}, proved symbolically")
        return SymbolicResult("not proved", f"relies on {step.lemma.name}: {why}")
    result = prove(prev, step.expr, relation=step.relation, timeout=timeout)
    if step.lemma is not None and result.proved:
        ok, why = _lemma_status(proved_chains, step.lemma)
        if not ok:
            return SymbolicResult("not proved", f"relies on {step.lemma.name}: {why}")
    return result


def verify_derivation(d: Derivation, *, battery=None, proved_chains: dict | None = None,
                      timeout: float = 2.0, seed: int = 0, minimize: bool = True) -> DerivationReport:
    """Check every step of a derivation, then its stated result."""
    battery = default_battery() if battery is None else battery
    proved_chains = {} if proved_chains is None else proved_chains
    reports, prev = [], d.start
    relation_so_far = EQUAL
    for k, step in enumerate(d.steps, start=1):
        # After an unbiased step the lines are estimators: '=' then means equal for every sample.
        sym = _step_symbolic(prev, step, proved_chains, timeout)
        reports.append(check_step(
            prev, step.expr, relation=step.relation, rule=step.rule, why=step.why, index=k,
            conditions=step.conditions, battery=battery, symbolic=sym, timeout=timeout, seed=seed + k,
            minimize=minimize,
        ))
        if step.relation == UNBIASED:
            relation_so_far = UNBIASED
        prev = step.expr
    structure = []
    if not same_form(d.start, d.goal.lhs, timeout=timeout):
        structure.append(f"the derivation starts at {sp.sstr(d.start)}, not at the stated {sp.sstr(d.goal.lhs)}")
    if not same_form(d.last, d.goal.rhs, timeout=timeout):
        structure.append(f"the derivation ends at {sp.sstr(d.last)}, not at the stated {sp.sstr(d.goal.rhs)}")
    if relation_so_far != d.goal.relation:
        structure.append(f"the chain's relation is '{relation_so_far}' but the stated result says '{d.goal.relation}'")
    unproved = [r for r in reports if not r.symbolic.startswith("proved")]
    if not reports:  # no chain: the stated result is proved (or not) on its own
        goal_sym = prove(d.goal.lhs, d.goal.rhs, relation=d.goal.relation, timeout=timeout)
    elif structure:  # the steps prove something, but not the stated result
        goal_sym = SymbolicResult("not proved", f"the chain does not reach the stated result: {structure[0]}")
    elif not unproved:
        goal_sym = SymbolicResult("proved", "every step is proved symbolically")
    else:
        first = unproved[0]
        goal_sym = SymbolicResult("not proved", f"step {first.index} ({first.rule}) is not proved symbolically")
    result = check_step(
        d.goal.lhs, d.goal.rhs, relation=d.goal.relation, rule="stated result",
        why=f"{d.name}: the result the derivation sets out to prove", index=0,
        battery=battery, symbolic=goal_sym, timeout=timeout, seed=seed, minimize=minimize,
    )
    chain_ok = not unproved and not structure
    # Keyed by identity (the object keeps its id alive): two derivations with one name stay apart.
    proved_chains[id(d)] = (d, chain_ok, "every step proved symbolically" if chain_ok else
                            (f"step {unproved[0].index} ({unproved[0].rule}) is not proved symbolically"
                             if unproved else "; ".join(structure)))
    return DerivationReport(d.name, tuple(reports), result, tuple(structure))


def verify_proof(proof: Proof, *, path: str = "", battery=None, timeout: float = 2.0, seed: int = 0,
                 minimize: bool = True) -> ProofReport:
    """Check every derivation of a proof on the battery (the one the proof declares unless given)."""
    from .battery import BATTERIES

    start = time.perf_counter()
    battery = BATTERIES[proof.battery]() if battery is None else tuple(battery)
    proved_chains: dict = {}
    reports = tuple(
        verify_derivation(d, battery=battery, proved_chains=proved_chains, timeout=timeout, seed=seed + 100 * k,
                          minimize=minimize)
        for k, d in enumerate(proof.derivations)
    )
    return ProofReport(
        name=proof.name, title=proof.title, path=path, derivations=reports,
        instances=tuple(inst.describe() for inst in battery), seconds=time.perf_counter() - start,
        notes=tuple(proof.notes),
    )



