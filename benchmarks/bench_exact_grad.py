"""Exact ∇J for S=50, A=5, H=50 and S=2000, A=20, H=200: derive's DP against JAX jit(value_and_grad).

Run:  python benchmarks/bench_exact_grad.py      (peer: pip install jax)
Both are timed in alternating rounds in this one process; the ratio is of medians.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # 50×50 products: threads only add sync cost

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _problems import FloatMDP, interleaved_medians, random_mdp  # noqa: E402

from derive.exact import DynamicProgram  # noqa: E402
from derive.policies import TabularSoftmax  # noqa: E402


def jax_peer(mdp, theta):
    """(jitted call, compile seconds, (J, ∇J)) for value_and_grad through the backward DP, or None without JAX."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    mu, P, r = (jnp.asarray(x) for x in mdp.arrays())
    rbar = (P * r).sum(axis=2)
    gamma, S, A, T = float(mdp.discount), mdp.n_states, mdp.n_actions, mdp.horizon + 1

    def J(th):
        pi = jax.nn.softmax(th.reshape(S, A), axis=1)
        M = jnp.einsum("sa,sax->sx", pi, P)
        rpi = (pi * rbar).sum(axis=1)

        def step(V, _):
            return rpi + gamma * (M @ V), None

        V, _ = jax.lax.scan(step, jnp.zeros(S), None, length=T)
        return mu @ V

    f = jax.jit(jax.value_and_grad(J))
    th = jnp.asarray(theta)
    t = time.perf_counter()
    value, grad = f(th)
    grad.block_until_ready()
    compile_s = time.perf_counter() - t
    return (lambda: f(th)[1].block_until_ready()), compile_s, (float(value), np.asarray(grad))


def main() -> None:
    compare(random_mdp())
    compare(FloatMDP(2000, 20, 200), rounds=3, seconds=1.0)


def compare(mdp, *, rounds: int = 9, seconds: float = 0.15) -> None:
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
    theta = np.random.default_rng(1).normal(size=policy.n_params)
    t = time.perf_counter()
    dp = DynamicProgram(mdp, policy)
    setup_s = time.perf_counter() - t
    J, grad = dp.value_and_grad(theta)
    print(f"exact ∇J, {mdp.describe()}, tabular softmax ({policy.n_params} parameters)")
    peer = jax_peer(mdp, theta)
    fns = {"derive": lambda: dp.value_and_grad(theta)}
    if peer is not None:
        fns["jax"] = peer[0]
    med = interleaved_medians(fns, rounds=rounds, seconds=seconds)
    print(f"  derive DP (NumPy float64):     {med['derive'] * 1e3:7.3f} ms per J and ∇J  "
          f"(tables prepared once in {setup_s * 1e3:.0f} ms; no compile step)")
    if peer is None:
        print("  JAX peer skipped: JAX is not installed (pip install jax); no ratio")
        return
    _, compile_s, (jJ, jgrad) = peer
    scale = max(1.0, abs(J), float(np.max(np.abs(grad))))
    agree = abs(jJ - J) <= 1e-9 * scale and float(np.max(np.abs(jgrad - grad))) <= 1e-9 * scale
    print(f"  JAX jit(value_and_grad), CPU:  {med['jax'] * 1e3:7.3f} ms per call at steady state "
          f"(+{compile_s:.2f} s compile)")
    print(f"  same J and ∇J to 1e-9: {agree}")
    ratio = med["derive"] / med["jax"]
    print(f"  ratio derive/JAX time: {ratio:.2f} ({'derive faster' if ratio < 1 else 'JAX faster'})")


if __name__ == "__main__":
    main()
