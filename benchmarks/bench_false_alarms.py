"""False-alarm rate of derive's default tests for correct estimators, over many seeds, beside α.

For each MDP of ``tests/statistics_mdps.py`` (a chain, a rare reward, a near-deterministic
policy, heavy-tailed rewards, FrozenLake8x8) and each default test:

* ``estimate``: ``derive.stats.cross_check`` with its default test ("auto": exact covariance
  where the trajectories enumerate, else Student t on independent batch means), REINFORCE
  and reward-to-go;
* ``gradcheck``: ``derive.gradcheck.gradcheck`` on that one MDP with a correct user-style
  reward-to-go estimator (batch size 100, t on the batch estimates; a second, 16× larger
  round on fresh trajectories where components were untested),

it counts the seeds on which a correct estimator is called biased and prints the rate with
its exact binomial (Clopper–Pearson) 95% interval beside α. The level holds where α is
inside, or above, the interval's range. The rows ``wrong-sign`` (estimate) and
``gradcheck-flip`` measure power instead: the rate at which a sign-flipped estimator is
rejected. "undecided" is counted apart: it is neither an alarm nor a pass. A benchmark,
not a timed test; ``--jobs 2`` shares each row's seeds between two processes.

Run:  python benchmarks/bench_false_alarms.py [--seeds 1000] [--alpha 0.01] [--only NAME] [--tests T,...] [--jobs N]
      python benchmarks/bench_false_alarms.py --battery --seeds 200 [--first F] [--jobs N]   (the default battery)
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
# gradcheck's cap on a second round (max_samples), where not its default 16 × samples: FrozenLake8x8's second
# round would draw 100,000 more trajectories (20 M steps, ~6 s a seed), so its row runs one round at 10,000.
MAX_SAMPLES = {"FrozenLake8x8": 10_000}


def reward_to_go(tr):
    """A correct estimator returning the batch's estimate [K]: (1/m) Σ_i Σ_t ∇log π(a_t|s_t) Σ_{t'>=t} γ^{t'} r_{t'}.

    The weights are summed per (s, a) first (one bincount), then multiplied by derive's score table once:
    O(m·T + S·A·K) per batch instead of the [m, T, K] gather (256 parameters × 200 steps on FrozenLake8x8).
    """
    r = tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)
    to_go = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    table = tr.score_table  # [S, A, K], derive's table shared by every batch
    S, A, K = table.shape
    pair = tr.states[:, :-1] * A + tr.actions
    W = np.bincount(pair.ravel(), weights=to_go.ravel(), minlength=S * A)
    return W @ table.reshape(S * A, K) / tr.m


def sign_flip(tr):
    """A biased estimator of the gallery: the loss's minus sign carried into the gradient."""
    return -reward_to_go(tr)


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


def _count(name: str, test: str, seeds: range, alpha: float, samples: int) -> tuple[int, int, int]:
    """(rejected, warned, undecided) over ``seeds``: one process's share of a row."""
    mdp, policy, theta = statistics_mdps.ALL[name]()
    rejected = warned = undecided = 0
    for seed in seeds:
        if test.startswith("gradcheck"):
            est = sign_flip if test == "gradcheck-flip" else reward_to_go
            r = gradcheck(est, mdps=[(mdp, policy, theta)], samples=samples, seed=seed, alpha=alpha, minimize=False,
                          max_samples=MAX_SAMPLES.get(name))
            rejected += r.rejected  # "undecided" is no alarm (nor a pass): counted apart
            warned += bool(r.warnings)
            undecided += r.undecided
        else:
            v = cross_check(mdp, policy, theta, samples=samples, seed=seed, alpha=alpha, estimator=test).verdict
            rejected += v.rejected
            warned += bool(v.notes)
            undecided += v.verdict == "undecided"
    return rejected, warned, undecided


BIASED = ("wrong-sign", "gradcheck-flip")  # rows that measure power: the rate is of rejections of a biased estimator


def run(name: str, test: str, seeds: int, alpha: float, first: int = 0, samples: int | None = None,
        jobs: int = 1, block: int | None = None) -> None:
    """One row; with ``block``, a running line after every ``block`` seeds (so an interrupted row still counts)."""
    samples = samples or SAMPLES.get(name, DEFAULT_SAMPLES)
    t0 = time.perf_counter()
    block = block or seeds
    totals = [0, 0, 0]
    done = 0
    for start in range(first, first + seeds, block):
        everything = range(start, min(first + seeds, start + block))
        if jobs > 1:
            from joblib import Parallel, delayed

            parts = [everything[i::jobs] for i in range(jobs)]
            counts = Parallel(n_jobs=jobs)(delayed(_count)(name, test, part, alpha, samples) for part in parts)
        else:
            counts = [_count(name, test, everything, alpha, samples)]
        totals = [t + sum(c[i] for c in counts) for i, t in enumerate(totals)]
        done += len(everything)
        _line(name, test, samples, done, totals, alpha, time.perf_counter() - t0,
              final=done == seeds, span=range(first, first + done))


def _line(name, test, samples, seeds, totals, alpha, elapsed, *, final, span):
    rejected, warned, undecided = totals
    lo, hi = clopper_pearson(rejected, seeds)
    if test in BIASED:
        held = f"power (a biased estimator, rejected on {rejected / seeds:.0%} of seeds)"
    else:
        held = "holds" if lo <= alpha else "VIOLATED"
    if undecided == seeds:
        held += " (undecided on every seed: no verdict, no power)"
    cap = f" (max {MAX_SAMPLES[name]:,})" if test.startswith("gradcheck") and name in MAX_SAMPLES else ""
    r = span
    print(f"{'' if final else '… '}{name:>18}  {test:<14} {samples:>8,} traj.{cap}  {rejected:>4}/{seeds} = "
          f"{rejected / seeds:6.2%}  95% CI [{lo:6.2%}, {hi:6.2%}]  α = {alpha:g}: {held}; undecided on {undecided}, "
          f"warned on {warned} seeds  (seeds {r.start}..{r.stop - 1}, {elapsed:.0f} s)", flush=True)


def truncation(seeds: int, first: int = 0) -> None:
    """n-step returns without a bootstrap on the battery's lanes slot, as the default run tests it (same seed
    stream): the default run rejects whenever 6 × the lanes MDP's p <= α (Holm across six MDPs)."""
    from test_statistics_battery import LANES, truncated

    from derive.gradcheck import _check_one, default_battery
    from gradcheck_gallery import CORRECT

    def p_of(est, s):
        mdp, pol, th = default_battery(seed=s)[LANES]
        return _check_one(est, mdp, pol, th, samples=100_000, seed=[s, LANES], alpha=0.01, variance=False,
                          name="lanes", batch_size=100).p_value

    t0 = time.perf_counter()
    everything = range(first, first + seeds)
    for n in (4, 8, 16, 24, 29):
        ps = [p_of(truncated(n), s) for s in everything]
        print(f"n={n}: battery rejects (6·p_lanes <= 0.01) on {sum(6 * p <= 0.01 for p in ps)}/{len(ps)}; lanes MDP "
              f"alone p <= 0.01 on {sum(p <= 0.01 for p in ps)}; max p {max(ps):.3g} ({time.perf_counter() - t0:.0f}s)",
              flush=True)
    for name in ("reward-to-go", "reinforce"):
        ps = [p_of(CORRECT[name], s) for s in range(first, first + 100)]
        print(f"{name} on the lanes MDP: p <= 0.01 on {sum(p <= 0.01 for p in ps)}/{len(ps)} "
              f"({time.perf_counter() - t0:.0f}s)", flush=True)


def battery(seeds: int, first: int = 0, jobs: int = 1, power_seeds: int | None = None) -> None:
    """The default battery (drawn from each seed, all its MDPs, Holm across them) at the defaults: the correct
    reward-to-go's false-alarm rate, and the power against two biases only some slots can show (late score
    terms dropped from t = 25 on; reward-to-go zeroed where π(a|s) < 0.05)."""
    from gradcheck_gallery import late_scores_dropped, unlikely_actions_zeroed

    rows = (("reward-to-go", reward_to_go, False), ("late-scores-25", late_scores_dropped(25), True),
            ("unlikely-0.05", unlikely_actions_zeroed(0.05), True))
    for label, est, biased in rows:
        t0 = time.perf_counter()
        n = power_seeds if biased and power_seeds is not None else seeds
        everything = range(first, first + n)
        if jobs > 1:
            from joblib import Parallel, delayed

            counts = Parallel(n_jobs=jobs)(delayed(_battery_count)(est, everything[i::jobs]) for i in range(jobs))
        else:
            counts = [_battery_count(est, everything)]
        rejected, undecided = (sum(c[i] for c in counts) for i in range(2))
        lo, hi = clopper_pearson(rejected, n)
        held = (f"power: rejected on {rejected / n:.0%}" if biased else "holds" if lo <= 0.01 else "VIOLATED")
        print(f"default battery  {label:<15} {rejected:>4}/{n} = {rejected / n:6.2%}  95% CI [{lo:6.2%}, "
              f"{hi:6.2%}]  α = 0.01: {held}; undecided on {undecided}  (seeds {first}..{first + n - 1}, "
              f"{time.perf_counter() - t0:.0f} s)", flush=True)


def _battery_count(est, seeds) -> tuple[int, int]:
    rejected = undecided = 0
    for seed in seeds:
        r = gradcheck(est, seed=seed, minimize=False)
        rejected += r.rejected
        undecided += r.undecided
    return rejected, undecided


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--first", type=int, default=0, help="first seed (to extend an earlier run)")
    ap.add_argument("--alpha", type=float, default=0.01)
    ap.add_argument("--only", action="append", choices=list(statistics_mdps.ALL))
    ap.add_argument("--tests", default="reinforce,reward-to-go,gradcheck")
    ap.add_argument("--samples", type=int, default=None, help="trajectories per seed (default: per MDP)")
    ap.add_argument("--jobs", type=int, default=1, help="processes (joblib) sharing the seeds of each row")
    ap.add_argument("--block", type=int, default=None,
                    help="print a running line (marked …) after every BLOCK seeds of a row")
    ap.add_argument("--truncation", action="store_true",
                    help="instead: truncated returns (n = 4..29) and correct estimators on gradcheck's lanes slot")
    ap.add_argument("--power-seeds", type=int, default=None, help="with --battery: seeds of the two power rows")
    ap.add_argument("--battery", action="store_true",
                    help="instead: gradcheck's default battery: the correct reward-to-go's alarms, and power")
    args = ap.parse_args()
    if args.battery:
        battery(args.seeds, args.first, args.jobs, args.power_seeds)
        return
    if args.truncation:
        truncation(args.seeds, args.first)
        return
    print("$ python " + " ".join(a if a.replace("-", "").replace(",", "").replace(".", "").isalnum() else repr(a)
                                 for a in sys.argv))
    print(f"false alarms of correct estimators, {args.seeds} seeds each "
          f"(seeds {args.first}..{args.first + args.seeds - 1}), α = {args.alpha:g}")
    for name in args.only or statistics_mdps.ALL:
        for test in args.tests.split(","):
            run(name, test, args.seeds, args.alpha, args.first, args.samples, args.jobs, args.block)


if __name__ == "__main__":
    main()
