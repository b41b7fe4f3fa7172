"""Benchmark: the exact step check against sympy.simplify, and the cost of `derive verify`.

Run:  python benchmarks/bench_verify.py [--simplify-limit SECONDS] [--repeats N]

1. One step (the score-function form, Σ_τ ∇P(τ;θ) R(τ) = Σ_τ P(τ;θ) Σ_t ∇log π_θ(a_t|s_t) R(τ))
   on a 2-state, 2-action, H = 4 MDP: derive's exact check (integers mod a random prime,
   both sides evaluated by meaning) against the peer `sympy.simplify(lhs - rhs)` on the same
   instance, where lhs and rhs are the concrete expressions in θ (enumerated over
   trajectories and differentiated by SymPy, one gradient component). A step whose sides
   SymPy makes identical on construction (P·(∇P/P) -> ∇P) would give the peer nothing to
   do, so this one is chosen: its sides differ as expressions. Prints both times and the ratio.
2. How the exact check grows with H (trajectories = S (S A)^(H+1)).
3. `derive verify proofs/policy_gradient.py` end to end, imports included (target: under 2.5 s), and
4. `derive verify` (every bundled proof) end to end (target: under 12 s); both also as a ratio to
   the peer of part 1, `sympy.simplify` on one step of one instance, measured in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import time
from fractions import Fraction as F
from pathlib import Path

import sympy as sp

from derive.check import check_instance
from derive.mdp import FiniteMDP
from derive.notation import P, R, grad, pi, sum_t, sum_tau, unevaluated_mul
from derive.policies import TabularSoftmax
from derive.semantics import Instance

ROOT = Path(__file__).resolve().parent.parent
LHS = sum_tau(unevaluated_mul(grad(P()), R()))
RHS = sum_tau(unevaluated_mul(P(), sum_t(grad(sp.log(pi()))), R()))


def instance(horizon: int) -> Instance:
    mdp = FiniteMDP.from_tables(
        [F(1, 3), F(2, 3)],
        [[[F(1, 2), F(1, 2)], [F(1, 5), F(4, 5)]], [[F(1, 4), F(3, 4)], [F(2, 3), F(1, 3)]]],
        [[1, 2], [0, F(1, 2)]], horizon=horizon, name=f"2x2, H={horizon}")
    return Instance(mdp, TabularSoftmax(2, 2), (F(1), F(2), F(3, 2), F(1, 5)), name=mdp.name)


def exact_check_seconds(inst: Instance, repeats: int = 7) -> float:
    times = []
    for k in range(repeats):
        rng = random.Random(k)
        t0 = time.perf_counter()
        out = check_instance(LHS, RHS, "=", inst, rng)
        times.append(time.perf_counter() - t0)
        assert out.status == "agree", out
    return statistics.median(times)


def concrete_sides(inst: Instance):
    """lhs and rhs of the step as explicit SymPy expressions in θ (one gradient component)."""
    mdp = inst.mdp
    th = sp.symbols("theta0:4")
    pi = [[sp.exp(th[2 * s + a]) / (sp.exp(th[2 * s]) + sp.exp(th[2 * s + 1])) for a in range(2)] for s in range(2)]
    states, actions = mdp.trajectories()
    lhs_terms, rhs_terms = [], []
    for st, ac in zip(states, actions):
        p = sp.Rational(mdp.initial[st[0]])
        ret = sp.Integer(0)
        for k, act in enumerate(ac):
            p *= pi[st[k]][act] * sp.Rational(mdp.transitions[st[k]][act][st[k + 1]])
            ret += sp.Rational(mdp.rewards[st[k]][act][st[k + 1]])
        score = sp.Add(*[sp.diff(sp.log(pi[st[k]][act]), th[0]) for k, act in enumerate(ac)])
        lhs_terms.append(sp.diff(p, th[0]) * ret)
        rhs_terms.append(p * score * ret)
    return sp.Add(*lhs_terms), sp.Add(*rhs_terms)


def _simplify(queue, horizon):
    lhs, rhs = concrete_sides(instance(horizon))
    t0 = time.perf_counter()
    result = sp.simplify(lhs - rhs)
    queue.put((time.perf_counter() - t0, result == 0))


def simplify_seconds(horizon: int, limit: float) -> tuple[float, bool | None]:
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_simplify, args=(q, horizon))
    proc.start()
    proc.join(limit)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return limit, None
    return q.get()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--simplify-limit", type=float, default=300.0, help="seconds allowed to the peer")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each `derive verify` (the median is printed)")
    args = ap.parse_args()

    print("1. one step, 2 states, 2 actions, H = 4 (2048 trajectories)")
    exact = exact_check_seconds(instance(4))
    peer, zero = simplify_seconds(4, args.simplify_limit)
    print(f"   derive exact check (mod p, by meaning): {exact * 1e3:8.1f} ms (median of 7)")
    if zero is None:
        print(f"   sympy.simplify(lhs - rhs):            > {peer:.0f} s (stopped at the limit)")
        print(f"   ratio simplify / derive:              > {peer / exact:,.0f}x")
    else:
        print(f"   sympy.simplify(lhs - rhs):            {peer:8.2f} s (result is 0: {zero})")
        print(f"   ratio simplify / derive:              {peer / exact:,.0f}x")

    print("2. growth of the exact check with H (same MDP)")
    print("    H   trajectories   time (ms)   µs per trajectory")
    for h in range(0, 7):
        inst = instance(h)
        sec = exact_check_seconds(inst, repeats=3)
        n = inst.mdp.n_trajectories
        print(f"   {h:2d}   {n:12d}   {sec * 1e3:9.1f}   {sec * 1e6 / n:9.2f}")

    print("3. derive verify proofs/policy_gradient.py, end to end (imports included)")
    one = verify_seconds([str(ROOT / "proofs" / "policy_gradient.py")], repeats=args.repeats)
    print(f"   median {one:.2f} s over {args.repeats} runs (target: under 2.5 s); "
          f"ratio to simplify on one step: {one / peer:.2f}x{' (peer stopped at the limit)' if zero is None else ''}")

    print("4. derive verify (every bundled proof), end to end")
    every = verify_seconds([], repeats=args.repeats)
    print(f"   median {every:.2f} s over {args.repeats} runs (target: under 12 s); "
          f"ratio to simplify on one step: {every / peer:.2f}x{' (peer stopped at the limit)' if zero is None else ''}")


def verify_seconds(paths: list[str], *, repeats: int) -> float:
    """Median wall time of `derive verify PATHS` in a fresh interpreter (imports included); it must verify."""
    runs = []
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "derive", "verify", *paths], capture_output=True, text=True,
                           cwd=ROOT, env=env)
        runs.append(time.perf_counter() - t0)
        assert r.returncode == 0, r.stdout + r.stderr
    return statistics.median(runs)


if __name__ == "__main__":
    main()
