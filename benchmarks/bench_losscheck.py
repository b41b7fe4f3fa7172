"""Time of a gradcheck of a correct PyTorch loss on the default loss battery (target: under 10 s).

Peer, measured in the same run: derive's per-trajectory estimator gradcheck
(``derive.gradcheck(estimator, mdps=...)``) on the same MDPs with the same number of
episodes (batches × episodes per batch), its NumPy reward-to-go estimator. The loss check
pays one autograd call per batch; the peer one NumPy call per chunk of trajectories.

Run:  python benchmarks/bench_losscheck.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core: BLAS must not spread out

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import torch  # noqa: E402

import loss_gallery as G  # noqa: E402

from derive import gradcheck  # noqa: E402
from derive.losscheck import DEFAULT_BATCHES, loss_battery  # noqa: E402


def reward_to_go_loss(policy, batch):
    """A correct CleanRL-style loss: −(log π · γ^t G_t).mean() over the slots."""
    logp = policy.log_prob(batch.obs, batch.actions)
    T = batch.steps
    disc = batch.gamma ** torch.arange(T, dtype=torch.float64)[:, None]
    r = batch.rewards * disc
    to_go = torch.flip(torch.cumsum(torch.flip(r, [0]), 0), [0])  # Σ_{t'>=t} γ^{t'} r_{t'}
    return -(logp * to_go * batch.mask).mean()


def user_reward_to_go(tr):
    """The same estimator, per trajectory, for the estimator gradcheck."""
    r = tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)
    to_go = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    return np.einsum("mt,mtk->mk", to_go, tr.scores())


def median_seconds(fn, rounds: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(rounds):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def main(rounds: int = 3) -> None:
    t = time.perf_counter()
    first = gradcheck.loss(reward_to_go_loss, seed=0)
    print(f"default loss battery, end to end (first call, torch {torch.__version__}): "
          f"{time.perf_counter() - t:.2f} s, verdict: {first.verdict}")
    n_envs = first.results[0].batch_envs
    episodes = DEFAULT_BATCHES * n_envs
    print(f"default loss battery: {len(first.results)} MDPs × {DEFAULT_BATCHES} batches × {n_envs} episodes "
          f"= {episodes:,} episodes per MDP")
    cpu = time.process_time()
    ours, _ = median_seconds(lambda: gradcheck.loss(reward_to_go_loss, seed=0), rounds)
    cpu = (time.process_time() - cpu) / rounds  # this process's CPU time: less moved by other jobs than wall time
    problems = [(p.mdp, p.policy, p.theta) for p in loss_battery(seed=0)]
    peer, _ = median_seconds(lambda: gradcheck(user_reward_to_go, mdps=problems, samples=episodes), rounds)
    vec, vres = median_seconds(lambda: gradcheck.loss(G.reward_to_go_vector, layout="vector", seed=0), 1)
    print(f"  derive.gradcheck.loss, PyTorch loss (episodes):   {ours:7.3f} s   (target < 10 s; CPU {cpu:.3f} s a round, "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"  derive.gradcheck, NumPy per-trajectory estimator: {peer:7.3f} s   (ratio {ours / peer:.1f}x)")
    print(f"  derive.gradcheck.loss, vector layout (1 round):   {vec:7.3f} s   verdict: {vres.verdict} "
          "(loss_gallery.reward_to_go_vector, Python loops over T)")


if __name__ == "__main__":
    main()
