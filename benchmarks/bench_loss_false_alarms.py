"""False-alarm rate of ``derive.gradcheck.loss`` at the defaults for a correct reward-to-go loss, over many seeds.

Each seed draws its own default battery and runs the check of ``tests/loss_gallery.py:reward_to_go``
(episodes layout, 400 batches × 64 episodes, α = 0.01, no minimisation). A run that is not a
pass is a false alarm when its verdict is ``biased``; ``undecided`` is counted apart (never a
pass, never an alarm). The count is printed with its exact binomial (Clopper–Pearson) 95%
interval beside α, and for each alarm the test that rejected: the direction test on one MDP,
or the one-constant test across MDPs (with the MDP whose c/ρ is farthest from the others').

Run:  python benchmarks/bench_loss_false_alarms.py [--seeds 0:200] [--jobs 2] [--loss reward_to_go]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from campaign_losscheck import clopper_pearson  # noqa: E402


def one(name: str, seed: int, alpha: float) -> tuple:
    """(seed, verdict, p, which test rejected, seconds) for one seed's default battery."""
    import loss_gallery as G
    from derive import gradcheck

    t = time.perf_counter()
    r = gradcheck.loss(getattr(G, name), seed=seed, alpha=alpha, minimize=False)
    direction = min(x.p_scaled_adj for x in r.results)
    if r.verdict != "biased":
        why = ""
    elif direction <= alpha:
        worst = min(r.results, key=lambda x: x.p_scaled_adj)
        why = f"direction on {worst.name} (S, A, H = {worst.size}), adjusted p = {direction:.3g}"
    elif r.p_one_rule <= alpha:
        ratios = ", ".join(f"{z:.4g}" for z in r.scale.ratios)
        far = min(r.results, key=lambda x: x.p_factor)
        why = (f"one constant, adjusted p = {r.p_one_rule:.3g}: c/({r.scale.rule}) = {ratios}; "
               f"farthest {far.name} (leave-one-out p = {far.p_factor:.3g})")
    else:
        why = r.reason
    return seed, r.verdict, r.p_value, why, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0:200")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--alpha", type=float, default=0.01)
    ap.add_argument("--loss", default="reward_to_go")
    args = ap.parse_args()
    a, b = (int(x) for x in args.seeds.split(":"))
    seeds = range(a, b)
    t0 = time.perf_counter()
    def show(row):
        seed, verdict, p, why, sec = row
        print(f"{args.loss} seed {seed}: {verdict} (p = {p:.3g}; {sec:.1f} s){': ' + why if why else ''}", flush=True)
        return row

    if args.jobs > 1:
        from joblib import Parallel, delayed

        rows = [show(r) for r in Parallel(n_jobs=args.jobs, return_as="generator")(
            delayed(one)(args.loss, s, args.alpha) for s in seeds)]
    else:
        rows = [show(one(args.loss, s, args.alpha)) for s in seeds]
    alarms = [r for r in rows if r[1] == "biased"]
    undecided = [r for r in rows if r[1] == "undecided"]
    n = len(rows)
    lo, hi = clopper_pearson(len(alarms), n)
    print(f"{args.loss}, default battery, seeds {a}..{b - 1} ({n} seeds), α = {args.alpha:g}: "
          f"false alarms (biased) {len(alarms)} of {n} = {len(alarms) / n:.2%} "
          f"(Clopper–Pearson 95%: [{lo:.2%}, {hi:.2%}]); undecided {len(undecided)}; "
          f"passed {n - len(alarms) - len(undecided)}; {time.perf_counter() - t0:.0f} s with {args.jobs} job(s)")
    print(f"  alarms on seeds {[r[0] for r in alarms]}; undecided on seeds {[r[0] for r in undecided]}")


if __name__ == "__main__":
    main()
