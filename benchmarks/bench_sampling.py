"""Sampling + REINFORCE throughput (environment steps per second, one core) against a Gymnasium loop.

Run:  python benchmarks/bench_sampling.py          (peer: pip install gymnasium)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core: BLAS must not spread out

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _problems import random_mdp  # noqa: E402

from derive.policies import TabularSoftmax  # noqa: E402
from derive.sampling import Sampler, estimate_gradient  # noqa: E402


def best_rate(fn, steps: int, *, rounds: int = 5) -> float:
    """Median steps per second over rounds."""
    rates = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        rates.append(steps / (time.perf_counter() - t))
    return float(np.median(rates))


def gym_loop_rate(steps: int = 100_000):
    """Steps per second of a plain FrozenLake-v1 env.step loop (random actions, reset on episode end)."""
    try:
        import gymnasium as gym
    except ImportError:
        return None
    env = gym.make("FrozenLake-v1")
    actions = np.random.default_rng(0).integers(0, 4, steps).tolist()

    def run():
        env.reset(seed=0)
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()

    rate = best_rate(run, steps, rounds=3)
    env.close()
    return rate


def main() -> None:
    mdp = random_mdp()
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
    theta = np.random.default_rng(1).normal(size=policy.n_params)
    m = 200_000
    steps = m * (mdp.horizon + 1)
    sampler = Sampler(mdp, policy, theta)
    rng = np.random.default_rng(0)
    chunk = 16_384
    draw = best_rate(lambda: [sampler.draw(rng, chunk) for _ in range(m // chunk)], (m // chunk) * chunk * (mdp.horizon + 1))
    est = best_rate(lambda: estimate_gradient(mdp, policy, theta, samples=m, seed=0), steps)
    print(f"sampling + REINFORCE, {mdp.describe()}, {m:,} trajectories = {steps:,} steps, one core")
    print(f"  derive sampling only (alias tables):        {draw / 1e6:6.1f} M steps/s")
    print(f"  derive sampling + REINFORCE ĝ + std errors: {est / 1e6:6.1f} M steps/s")
    lake = None
    try:
        from derive.mdpfile import load

        p = load("gym:FrozenLake-v1")
        m_lake = 100_000
        lake = best_rate(lambda: estimate_gradient(p.mdp, p.policy, p.theta, samples=m_lake, seed=0),
                         m_lake * (p.mdp.horizon + 1), rounds=3)
        print(f"  derive on gym:FrozenLake-v1 (H=99), same estimator: {lake / 1e6:6.1f} M steps/s")
    except Exception as e:  # the peer's tables need gymnasium too
        print(f"  derive on gym:FrozenLake-v1 skipped ({e})")
    gym_rate = gym_loop_rate()
    if gym_rate is None:
        print("  Gymnasium peer skipped: gymnasium is not installed (pip install gymnasium); no ratio")
        return
    print(f"  Gymnasium FrozenLake-v1 env.step loop:       {gym_rate / 1e6:6.3f} M steps/s")
    print(f"  ratio derive/Gymnasium steps per second: {est / gym_rate:.0f}x (S=50 MDP)"
          + (f", {lake / gym_rate:.0f}x (FrozenLake itself)" if lake else ""))


if __name__ == "__main__":
    main()
