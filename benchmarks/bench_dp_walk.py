"""Benchmark: the DP over time mod p, the stacked walk against the plain key-by-key walk and enumeration.

Run:  PYTHONPATH=. python benchmarks/bench_dp_walk.py

Mod p the DP runs as one batched product of all its key vectors with per-step S × S matrices,
built once for every step whose tables are the same (``trajectory_dp._walk_mod_p``); the peer is the
plain walk, key by key and placement by placement (``trajectory_dp._walk``, the DP as written in the
module docstring, which the exact rationals and log-linear numbers still use), measured in the same
run on the same sums, and, where it can, enumeration of every trajectory. Times are CPU seconds of
this process (``time.process_time``, less noisy than wall time on a shared machine), best of 3;
every pair of routes must give the same residues, else the benchmark stops.

1. Long thin MDPs (S = A = 2, H = 40 … 200: the default battery's long instance) and wide ones
   (S up to 8, H up to 40): the shapes of the bundled proofs' closed sums.
2. DP against enumeration at H = 4, 6, 8 on a 2 × 2 MDP (one sum, Σ_τ P Σ_t ∇log π R).
"""

from __future__ import annotations

import random
import time
from fractions import Fraction as F

import sympy as sp

from derive import trajectory_dp
from derive.backends import ModPrime
from derive.battery import random_mdp, random_point
from derive.notation import P, R, baseline, expectation, grad, pi, reward_to_go, sum_t, sum_tau, unevaluated_mul
from derive.policies import TabularSoftmax
from derive.semantics import Evaluator, Instance

LOGPI = grad(sp.log(pi()))
SUMS = {
    "Σ P R": sum_tau(unevaluated_mul(P(), R())),
    "Σ ∇P R": sum_tau(unevaluated_mul(grad(P()), R())),
    "E[R ∇log P]": expectation(unevaluated_mul(R(), grad(sp.log(P())))),
    "E[Σ_t ∇log π · rtg]": expectation(sum_t(unevaluated_mul(LOGPI, reward_to_go()))),
    "E[Σ_t ∇log π (R − b)]": expectation(sum_t(unevaluated_mul(LOGPI, R() - baseline()))),
    "Σ_{P>0} P ∇log P": sum_tau(unevaluated_mul(P(), grad(sp.log(P()))), support=True),
}
SHAPES = [(2, 2, 40), (2, 2, 100), (2, 2, 200), (4, 3, 20), (8, 3, 10), (5, 2, 40)]


def instance(S: int, A: int, horizon: int, seed: int = 1) -> Instance:
    rng = random.Random(seed)
    mdp = random_mdp(rng, shape=(S, A, horizon), name=f"S={S}, A={A}, H={horizon}", allow_discount_one=False)
    policy = TabularSoftmax(S, A)
    return Instance(mdp, policy, random_point(policy, rng), name=mdp.name)


class plain_walk:
    def __enter__(self):
        self.orig = trajectory_dp._walk_mod_p
        trajectory_dp._walk_mod_p = trajectory_dp._walk

    def __exit__(self, *exc):
        trajectory_dp._walk_mod_p = self.orig


def cpu_seconds(run, repeats: int = 3):
    best, value = None, None
    for _ in range(repeats):
        t = time.process_time()
        value = run()
        dt = time.process_time() - t
        best = dt if best is None else min(best, dt)
    return best, value


def evaluator(inst: Instance) -> Evaluator:
    direction = [F(k % 7 + 1) for k in range(inst.n_params)]
    return Evaluator(inst, ModPrime(2**31 - 1), direction, baseline=[F(k - 1, 2) for k in range(inst.mdp.n_states)])


def dp_value(inst, expr):
    d = trajectory_dp.evaluate(evaluator(inst), expr)  # a fresh evaluator: no table reused between runs
    return (d.val, d.der)


def enumerated_value(inst, expr):
    orig = trajectory_dp.dp_or_none
    trajectory_dp.dp_or_none = lambda *a, **k: None
    try:
        d = evaluator(inst).evaluate(expr)
    finally:
        trajectory_dp.dp_or_none = orig
    return (d.val, d.der)


def main() -> None:
    print("1. stacked walk / plain walk, integers mod p (CPU seconds, best of 3)")
    total_fast = total_plain = 0.0
    for S, A, horizon in SHAPES:
        inst = instance(S, A, horizon)
        fast_s = plain_s = 0.0
        for name, expr in SUMS.items():
            f_s, f_v = cpu_seconds(lambda: dp_value(inst, expr))
            with plain_walk():
                p_s, p_v = cpu_seconds(lambda: dp_value(inst, expr))
            if f_v != p_v:
                raise SystemExit(f"the walks disagree on {name} at {inst.name}: {f_v} vs {p_v}")
            fast_s += f_s
            plain_s += p_s
        total_fast += fast_s
        total_plain += plain_s
        print(f"   {inst.name:18s} {len(SUMS)} sums: stacked {fast_s * 1e3:8.1f} ms  plain {plain_s * 1e3:8.1f} ms  "
              f"ratio stacked/plain {fast_s / plain_s:.2f}")
    print(f"   all shapes: stacked {total_fast:.2f} s, plain {total_plain:.2f} s, ratio {total_fast / total_plain:.2f}")

    print("2. DP (stacked walk) / enumeration, Σ_τ P Σ_t ∇log π R on a 2×2 MDP (CPU seconds)")
    expr = sum_tau(unevaluated_mul(P(), sum_t(LOGPI), R()))
    for horizon in (4, 6, 8):
        inst = instance(2, 2, horizon, seed=3)
        d_s, d_v = cpu_seconds(lambda: dp_value(inst, expr))
        e_s, e_v = cpu_seconds(lambda: enumerated_value(inst, expr), repeats=1)
        if d_v != e_v:
            raise SystemExit(f"DP and enumeration disagree at H = {horizon}: {d_v} vs {e_v}")
        print(f"   H = {horizon}: {inst.mdp.n_trajectories:>9,} trajectories  DP {d_s * 1e3:7.1f} ms  "
              f"enumeration {e_s * 1e3:8.1f} ms  ratio DP/enumeration {d_s / e_s:.3f}")


if __name__ == "__main__":
    main()
