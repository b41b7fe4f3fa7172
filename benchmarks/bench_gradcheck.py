"""Time of a gradcheck of a correct estimator on the default battery, against derive's own cross-check.

Peer, measured in the same run: ``derive.stats.cross_check`` (derive's built-in REINFORCE,
sampled and Holm-tested) on the same MDPs with the same number of trajectories.

The default battery is drawn afresh per run (five MDPs up to S=6, A=5, H=30); its time is
the one against the 10 s target.

Run:  python benchmarks/bench_gradcheck.py [--quick]   (--quick: skip the large MDP)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core: BLAS must not spread out

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _problems import random_mdp  # noqa: E402

from derive.gradcheck import DEFAULT_SAMPLES, default_battery, gradcheck  # noqa: E402
from derive.policies import TabularSoftmax  # noqa: E402
from derive.stats import cross_check  # noqa: E402


def user_reward_to_go(tr):
    """A correct estimator as a user writes it: Σ_t ∇log π(a_t|s_t) Σ_{t'>=t} γ^{t'} r_{t'}."""
    r = tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)
    to_go = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    return np.einsum("mt,mtk->mk", to_go, tr.scores())


def median_seconds(fn, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def compare(label: str, problems, samples: int, rounds: int) -> None:
    ours = median_seconds(lambda: gradcheck(user_reward_to_go, mdps=problems, samples=samples), rounds)
    peer = median_seconds(lambda: [cross_check(m, p, t, samples=samples, estimator="reward-to-go")
                                   for m, p, t in problems], rounds)
    print(f"{label}: {len(problems)} MDPs × {samples:,} trajectories")
    print(f"  derive.gradcheck, user's numpy reward-to-go:   {ours:7.3f} s")
    print(f"  derive.stats.cross_check, built-in estimator:  {peer:7.3f} s   (ratio {ours / peer:.1f}x)")


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    for _ in range(3):
        t = time.perf_counter()
        result = gradcheck(user_reward_to_go)
        print(f"default battery (seed {result.seed}), end to end: {time.perf_counter() - t:.3f} s, "
              f"passed={result.passed}")
    compare("default battery (seed 0)", default_battery(seed=0), DEFAULT_SAMPLES, rounds=3 if quick else 7)
    if quick:
        return
    mdp = random_mdp()
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
    theta = np.random.default_rng(1).normal(size=policy.n_params) * 0.3
    compare(f"large MDP ({mdp.describe()}, {policy.n_params} parameters)", [(mdp, policy, theta)],
            DEFAULT_SAMPLES, rounds=3)


if __name__ == "__main__":
    main()
