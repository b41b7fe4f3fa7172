"""Benchmark: exact instance checks by dynamic programming over time against enumeration of trajectories.

Run:  python benchmarks/bench_dp.py

1. The seed-000 proof (proofs/policy_gradient.py): every step's instance check on one MDP with
   S = 10, A = 5, H = 50 (about 10^87 trajectories), integers mod a random prime. Steps whose
   sides are closed sums go by DP; steps with a free τ or sampled τ^(i) still need enumeration,
   which refuses at this size ("unsupported"); the table says which.
2. The enumeration route (DP switched off) on the same proof, on the largest 2-state,
   2-action MDP its budget allows, and the DP on that MDP.
3. One step (Σ_τ ∇P R = Σ_τ P Σ_t ∇log π R) on a 2×2 MDP at H = 4, 6, 8: DP / enumeration time.
"""

from __future__ import annotations

import random
import statistics
import time
from contextlib import contextmanager
from fractions import Fraction as F
from pathlib import Path

import sympy as sp

from derive import trajectory_dp
from derive.check import check_instance
from derive.loader import load_proofs
from derive.mdp import FiniteMDP
from derive.notation import P, R, grad, pi, sum_t, sum_tau, unevaluated_mul
from derive.policies import TabularSoftmax
from derive.semantics import Instance

ROOT = Path(__file__).resolve().parent.parent
LHS = sum_tau(unevaluated_mul(grad(P()), R()))
RHS = sum_tau(unevaluated_mul(P(), sum_t(grad(sp.log(pi()))), R()))


def random_instance(S: int, A: int, horizon: int, seed: int = 0) -> Instance:
    rng = random.Random(seed)

    def dist(n):
        w = [rng.randint(0, 4) for _ in range(n)]
        w[rng.randrange(n)] += 1
        return [F(v, sum(w)) for v in w]

    mdp = FiniteMDP.from_tables(dist(S), [[dist(S) for _ in range(A)] for _ in range(S)],
                                [[[F(rng.randint(-3, 3), 2) for _ in range(S)] for _ in range(A)] for _ in range(S)],
                                horizon=horizon, discount=F(9, 10), name=f"S={S}, A={A}, H={horizon}")
    pol = TabularSoftmax(S, A)
    point = tuple(F(rng.randint(1, 3), rng.randint(1, 3)) for _ in range(pol.n_params))
    return Instance(mdp, pol, point, name=mdp.name)


@contextmanager
def enumeration_only():
    orig = trajectory_dp.dp_or_none
    trajectory_dp.dp_or_none = lambda *a, **k: None
    try:
        yield
    finally:
        trajectory_dp.dp_or_none = orig


@contextmanager
def dp_always():
    """The DP route even below the size where enumeration is cheaper (trajectory_dp.DP_MIN_TRAJECTORIES)."""
    orig = trajectory_dp.DP_MIN_TRAJECTORIES
    trajectory_dp.DP_MIN_TRAJECTORIES = 0
    try:
        yield
    finally:
        trajectory_dp.DP_MIN_TRAJECTORIES = orig


def proof_steps():
    (proof,) = load_proofs(ROOT / "proofs" / "policy_gradient.py")
    for der in proof.derivations:
        prev = der.start
        for k, step in enumerate(der.steps, 1):
            yield f"{der.name} {k}", prev, step.expr, step.relation
            prev = step.expr


def check_proof(inst: Instance):
    rows, t0 = [], time.perf_counter()
    for name, lhs, rhs, rel in proof_steps():
        t = time.perf_counter()
        out = check_instance(lhs, rhs, rel, inst, random.Random(1))
        rows.append((name, out.status, time.perf_counter() - t, out.reason))
    return rows, time.perf_counter() - t0


def median_seconds(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    big = random_instance(10, 5, 50)
    print(f"1. seed-000 proof, instance checks on one MDP: {big.mdp.describe()} "
          f"(~10^{len(str(big.mdp.n_trajectories)) - 1} trajectories), integers mod p")
    check_proof(random_instance(2, 2, 1))  # warm the caches of imports and SymPy
    with dp_always():
        rows, total = check_proof(big)
    closed = [r for r in rows if r[1] == "agree"]
    for name, status, sec, reason in rows:
        print(f"   {name:36s} {status:12s} {sec * 1e3:8.1f} ms  {reason[:60] if status != 'agree' else ''}")
    dp_seconds = sum(r[2] for r in closed)
    print(f"   {len(closed)} of {len(rows)} steps checked (by DP) in {dp_seconds:.2f} s; all steps incl. refusals "
          f"{total:.2f} s (target for the DP steps: < 2 s)")

    print("2. enumeration route (DP off) against DP-where-covered, the same proof on 2-state, 2-action MDPs "
          "(H grows until enumeration takes > 8 s):")
    for horizon in range(1, 10):
        inst = random_instance(2, 2, horizon)
        with enumeration_only():
            rows_e, sec_e = check_proof(inst)
        if any(r[1] != "agree" for r in rows_e):
            print(f"   H = {horizon}: enumeration no longer checks every step; stop")
            break
        with dp_always():
            _, sec_d = check_proof(inst)
        print(f"   H = {horizon}: {inst.mdp.n_trajectories:>9,} trajectories  enumeration {sec_e:7.2f} s  "
              f"DP for the closed sums {sec_d:7.2f} s (free-τ and sample steps still enumerate)")
        if sec_e > 8:
            break

    print("3. one step, Σ_τ ∇P R = Σ_τ P Σ_t ∇log π R, 2×2 MDP: DP / enumeration time")
    for horizon in (4, 6, 8):
        inst = random_instance(2, 2, horizon, seed=3)

        def run():
            out = check_instance(LHS, RHS, "=", inst, random.Random(0))
            assert out.status == "agree", out

        with dp_always():
            dp_s = median_seconds(run)
        with enumeration_only():
            en_s = median_seconds(run, repeats=3)
        print(f"   H = {horizon}: {inst.mdp.n_trajectories:>9,} trajectories  DP {dp_s * 1e3:8.1f} ms  "
              f"enumeration {en_s * 1e3:9.1f} ms  ratio DP/enumeration {dp_s / en_s:.3f} ({en_s / dp_s:.0f}× faster)")


if __name__ == "__main__":
    main()
