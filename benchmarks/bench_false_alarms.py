"""False-alarm rate of derive's default tests for correct estimators, over many seeds, beside α.

For each MDP of ``tests/statistics_mdps.py`` (a chain, a rare reward, a near-deterministic
policy, heavy-tailed rewards, FrozenLake8x8) and each default test:

* ``estimate``: ``derive.stats.cross_check`` with its default test ("auto": exact covariance
  where the trajectories enumerate, else Student t on independent batch means), REINFORCE
  and reward-to-go;
* ``gradcheck``: ``derive.gradcheck.gradcheck`` on that one MDP with a correct user-style
  reward-to-go estimator (batch size 100, t on the batch estimates),

it counts the seeds on which a correct estimator is called biased and prints the rate with
its exact binomial (Clopper–Pearson) 95% interval beside α. The level holds where α is
inside, or above, the interval's range. A benchmark, not a timed test.

Run:  python benchmarks/bench_false_alarms.py [--seeds 1000] [--alpha 0.01] [--only NAME]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import mpmath  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))
import statistics_mdps  # noqa: E402

from derive.gradcheck import gradcheck  # noqa: E402
from derive.sampling import Batch, per_trajectory_gradients, step_weights  # noqa: E402
from derive.stats import cross_check  # noqa: E402

SAMPLES = {"FrozenLake8x8": 10_000}  # 2 M trajectory-steps a seed; the others use the default 100,000
DEFAULT_SAMPLES = 100_000


def reward_to_go(tr):
    """A correct estimator, vectorised: Σ_t ∇log π(a_t|s_t) Σ_{t'>=t} γ^{t'} r_{t'} per trajectory."""
    b = Batch(tr.states, tr.actions, tr.rewards)
    return per_trajectory_gradients(tr.policy, tr.theta, b, step_weights("reward-to-go", tr.rewards, tr.gamma))


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for k successes in n trials."""
    a = (1 - level) / 2

    def quantile(q, x, y):  # inverse of the regularized incomplete beta I_p(x, y) = q, by bisection
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if mpmath.betainc(x, y, 0, mid, regularized=True) < q:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    lower = 0.0 if k == 0 else quantile(a, k, n - k + 1)
    upper = 1.0 if k == n else quantile(1 - a, k + 1, n - k)
    return lower, upper


def run(name: str, test: str, seeds: int, alpha: float, first: int = 0, samples: int | None = None) -> None:
    mdp, policy, theta = statistics_mdps.ALL[name]()
    samples = samples or SAMPLES.get(name, DEFAULT_SAMPLES)
    alarms = 0
    warned = 0
    undecided = 0
    t0 = time.perf_counter()
    for seed in range(first, first + seeds):
        if test == "gradcheck":
            r = gradcheck(reward_to_go, mdps=[(mdp, policy, theta)], samples=samples, seed=seed, alpha=alpha,
                          minimize=False)
            alarms += r.rejected  # "undecided" is no alarm (nor a pass): counted apart
            warned += bool(r.warnings)
            undecided += r.undecided
        else:
            v = cross_check(mdp, policy, theta, samples=samples, seed=seed, alpha=alpha, estimator=test).verdict
            alarms += v.rejected  # "undecided" is no alarm (nor a pass): counted apart
            warned += bool(v.notes)
            undecided += v.verdict == "undecided"
    lo, hi = clopper_pearson(alarms, seeds)
    held = "holds" if lo <= alpha else "VIOLATED"
    if undecided == seeds:
        held += " (undecided on every seed: no verdict, no power)"
    print(f"{name:>18}  {test:<13} {samples:>8,} traj.  {alarms:>4}/{seeds} = {alarms / seeds:6.2%}  "
          f"95% CI [{lo:6.2%}, {hi:6.2%}]  α = {alpha:g}: {held}; undecided on {undecided}, warned on {warned} seeds  "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--first", type=int, default=0, help="first seed (to extend an earlier run)")
    ap.add_argument("--alpha", type=float, default=0.01)
    ap.add_argument("--only", action="append", choices=list(statistics_mdps.ALL))
    ap.add_argument("--tests", default="reinforce,reward-to-go,gradcheck")
    ap.add_argument("--samples", type=int, default=None, help="trajectories per seed (default: per MDP)")
    args = ap.parse_args()
    print(f"false alarms of correct estimators, {args.seeds} seeds each "
          f"(seeds {args.first}..{args.first + args.seeds - 1}), α = {args.alpha:g}")
    for name in args.only or statistics_mdps.ALL:
        for test in args.tests.split(","):
            run(name, test, args.seeds, args.alpha, args.first, args.samples)


if __name__ == "__main__":
    main()
