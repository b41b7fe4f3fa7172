"""Rejections and false alarms of ``derive.gradcheck.loss`` at the defaults, over many battery seeds.

* the truncated-return family: the return summed over only the next n steps (no bootstrap),
  n = 1..8, which must be rejected on every seed;
* the correct REINFORCE and reward-to-go losses of ``tests/loss_gallery.py`` and 0.5 × REINFORCE
  (a constant factor), which must pass
  (a non-pass is a false alarm; its count is given with a Clopper–Pearson 95% interval).

Run:  python benchmarks/campaign_losscheck.py [--seeds 0:20] [--n 1:9]
Each line is one run; the summary is printed last. Episodes layout, 400 batches × 64 episodes, α = 0.01.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import mpmath  # noqa: E402
import torch  # noqa: E402

import loss_gallery as G  # noqa: E402
from derive import gradcheck  # noqa: E402


def lookahead(n: int):
    """−Σ_t log π(a_t|s_t) · γ^t Σ_{k=t}^{t+n−1} γ^{k−t} r_k, a mean over episodes: a return cut after n steps."""
    def loss(policy, batch):
        r = batch.rewards * G.discounts(batch) * batch.mask
        T = batch.steps
        before = torch.cat([torch.zeros_like(r[:1]), torch.cumsum(r, 0)])  # before[t] = Σ_{k<t} γ^k r_k
        window = before[torch.clamp(torch.arange(T) + n, max=T)] - before[:T]
        logp = policy.log_prob(batch.obs, batch.actions) * batch.mask
        return -(logp * window).sum(0).mean()

    loss.__name__ = f"lookahead_{n}"
    return loss


def half_reinforce(policy, batch):
    """0.5 × REINFORCE: unbiased up to the constant factor 0.5 beside the mean over the episodes."""
    return 0.5 * G.reinforce(policy, batch)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(mpmath.findroot(lambda p: mpmath.betainc(k, n - k + 1, 0, p, regularized=True) - a,
                                                  (1e-12, 1 - 1e-12), solver="bisect"))
    hi = 1.0 if k == n else float(mpmath.findroot(lambda p: mpmath.betainc(k + 1, n - k, 0, p, regularized=True)
                                                  - (1 - a), (1e-12, 1 - 1e-12), solver="bisect"))
    return lo, hi


def _span(text: str) -> range:
    a, b = text.split(":")
    return range(int(a), int(b))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0:20")
    ap.add_argument("--n", default="1:9")
    ap.add_argument("--correct-only", action="store_true")
    args = ap.parse_args()
    seeds, ns = _span(args.seeds), _span(args.n)
    missed = []
    if not args.correct_only:
        for n in ns:
            for s in seeds:
                t = time.perf_counter()
                r = gradcheck.loss(lookahead(n), seed=s, minimize=False)
                direction = min(x.p_scaled_adj for x in r.results)
                print(f"lookahead {n} seed {s}: {r.verdict} (p = {r.p_value:.3g}; direction p = {direction:.3g}, "
                      f"one constant p = {r.p_one_rule:.3g}; {time.perf_counter() - t:.1f} s)", flush=True)
                if r.verdict != "biased":
                    missed.append((n, s))
    alarms = {}
    for name, fn in (("reinforce", G.reinforce), ("reward_to_go", G.reward_to_go), ("half_reinforce", half_reinforce)):
        alarms[name] = []
        for s in seeds:
            r = gradcheck.loss(fn, seed=s, minimize=False)
            print(f"{name} seed {s}: {r.verdict} (p = {r.p_value:.3g})", flush=True)
            if not r.passed:
                alarms[name].append((s, r.reason or r.verdict))
    print(f"seeds {seeds.start}..{seeds.stop - 1} ({len(seeds)} seeds), defaults, α = 0.01:")
    if not args.correct_only:
        print(f"  truncated returns n = {ns.start}..{ns.stop - 1}: rejected in {len(ns) * len(seeds) - len(missed)} "
              f"of {len(ns) * len(seeds)} runs; not rejected: {missed or 'none'}")
    total = sum(len(v) for v in alarms.values())
    runs = len(alarms) * len(seeds)
    lo, hi = clopper_pearson(total, runs)
    for name, v in alarms.items():
        print(f"  {name}: {len(v)} of {len(seeds)} not passed {v or ''}")
    print(f"  false alarms on the correct losses: {total} of {runs} (Clopper–Pearson 95%: [{lo:.2%}, {hi:.2%}])")


if __name__ == "__main__":
    main()
