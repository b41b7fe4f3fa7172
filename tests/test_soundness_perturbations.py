"""A property of every bundled proof: a perturbed line (negated, doubled, H → H−1, …) is never verified.

Each perturbation changes a line's meaning, except where the line's value happens not to depend
on what was changed; those few are listed in SEMANTIC_NO_OPS with the reason, and a perturbation
counts as caught only if the checker fails the step.
"""

import random
from pathlib import Path

import pytest
import sympy as sp

from derive.battery import BATTERIES
from derive.check import _subst, check_step, fresh_seed
from derive.loader import load_proofs, proof_files
from derive.notation import H, Sample, gamma, i, m
from derive.symbolic import SymbolicResult

ROOT = Path(__file__).resolve().parent.parent


def _mul(*args):
    return sp.Mul(*args, evaluate=False)


def _first(e, pred, change):
    """e with the first subexpression (preorder) satisfying pred replaced by change(sub)."""
    for sub in sp.preorder_traversal(e):
        if pred(sub):
            new = change(sub)
            if new is not None and new != sub:
                with sp.evaluate(False):
                    return e.xreplace({sub: new})
    return e


def _sum_from_one(s):
    (var, lo, hi), *rest = s.limits[::-1]
    return sp.Sum(s.function, *s.limits[:-1], (var, lo + 1, hi)) if lo == 0 else None


def _drop_term(a):
    return sp.Add(*a.args[1:], evaluate=False) if len(a.args) > 1 else None


def _factor_i(s):
    if any(v == i for v, _, _ in s.limits):
        return sp.Sum(_mul(i - 1, s.function), *s.limits)
    return None


PERTURBATIONS = {
    "negate": lambda e: _mul(-1, e),
    "scale by 2": lambda e: _mul(2, e),
    "H → H−1": lambda e: _subst(e, {H: H - 1}),
    "γ → γ²": lambda e: _subst(e, {gamma: gamma ** 2}),
    "sum from 1": lambda e: _first(e, lambda s: isinstance(s, sp.Sum), _sum_from_one),
    "drop a term": lambda e: _first(e, lambda s: isinstance(s, sp.Add), _drop_term),
    "log f → f": lambda e: _first(e, lambda s: isinstance(s, sp.log), lambda s: s.args[0]),
    "factor (i−1)": lambda e: (_mul(i - 1, e) if i in e.free_symbols
                               else _first(e, lambda s: isinstance(s, sp.Sum), _factor_i)),
    "factor (m−1)(m−2)": lambda e: _mul((m - 1) * (m - 2), e) if m in e.free_symbols else e,
}

# (proof, derivation, step, perturbation): the perturbed line has the same value, for a stated reason.
SEMANTIC_NO_OPS = {
    # E[∇log π] = 0: these lines are 0, so −0 and 2·0 are still 0.
    *(("baseline", "the score has mean zero", k, p) for k in (1, 2, 3) for p in ("negate", "scale by 2")),
    # The dropped term is k0 of the reward k0 + k1 a + k2 a²: ∫ k0 ∇_θ N da = k0 ∇_θ 1 = 0.
    *(("gaussian", "one-step Gaussian policy gradient", k, "drop a term") for k in (1, 2, 3)),
}


def _applicable(name, e) -> bool:
    """The perturbation changes the line as written (H and γ only where they occur in it).

    R(τ), J, d_t and Q_t depend on γ without showing it: substituting γ² leaves them as they are,
    so a line where γ is only implicit is not perturbed at all, and is skipped.
    """
    if name == "H → H−1" and H not in e.atoms(sp.Symbol):
        return False
    if name == "γ → γ²" and gamma not in e.atoms(sp.Symbol):  # atoms: as written, not free_symbols
        return False
    return PERTURBATIONS[name](e) != e


def _lines():
    out = []
    for script in proof_files([str(ROOT / "proofs")]):
        for proof in load_proofs(script):
            for d in proof.derivations:
                prev = d.start
                for k, step in enumerate(d.steps, start=1):
                    out.append((proof, d.name, k, prev, step))
                    prev = step.expr
    return out


LINES = _lines()
_BATTERIES: dict = {}


def _battery(name, seed):
    if (name, seed) not in _BATTERIES:
        _BATTERIES[name, seed] = BATTERIES[name](seed=seed, n_random=1)
    return _BATTERIES[name, seed]


def _caught(proof, dname, k, prev, step, name, seed) -> bool | None:
    new = PERTURBATIONS[name](step.expr)
    if not _applicable(name, step.expr) or (proof.name, dname, k, name) in SEMANTIC_NO_OPS:
        return None  # nothing changed, or a listed identity
    report = check_step(prev, new, relation=step.relation, battery=_battery(proof.battery, seed),
                        symbolic=SymbolicResult("not attempted"), minimize=False, seed=seed)
    return not report.ok


def test_random_perturbations_of_every_bundled_line_are_rejected():
    seed = fresh_seed()
    rng = random.Random(seed)
    missed, tried = [], 0
    for proof, dname, k, prev, step in LINES:
        names = [n for n in PERTURBATIONS if _applicable(n, step.expr)
                 and (proof.name, dname, k, n) not in SEMANTIC_NO_OPS]
        for name in rng.sample(names, min(1, len(names))):
            caught = _caught(proof, dname, k, prev, step, name, seed)
            tried += caught is not None
            if caught is False:
                missed.append((proof.name, dname, k, name))
    assert tried >= len(LINES) // 2, tried
    print(f"\nseed {seed}: {tried} perturbed lines, none verified")
    assert not missed, f"seed {seed}: perturbed lines verified: {missed}"


@pytest.mark.slow
def test_every_perturbation_of_every_bundled_line_is_rejected():
    seed = fresh_seed()
    missed = []
    for proof, dname, k, prev, step in LINES:
        for name in PERTURBATIONS:
            if _caught(proof, dname, k, prev, step, name, seed) is False:
                missed.append((proof.name, dname, k, name))
    assert not missed, f"seed {seed}: perturbed lines verified: {missed}"
