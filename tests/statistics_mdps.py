"""MDPs on which a plug-in statistical test loses its level: rare rewards, near-deterministic
policies, heavy-tailed rewards, and long sparse-reward gridworlds (a plain module, shared with
``benchmarks/bench_false_alarms.py``)."""

from fractions import Fraction as F

import numpy as np

from derive.mdp import FiniteMDP
from derive.policies import TabularSoftmax


def rare_reward():
    """One step, two actions; action 0 pays 1 with probability 1e-4 (uniform policy)."""
    mdp = FiniteMDP.from_tables([1], [[[1], [1]]], None, horizon=0, name="rare reward",
                                reward_distribution=[[[(1, F(1, 10_000)), (0, F(9_999, 10_000))], [(0, 1)]]])
    return mdp, TabularSoftmax(1, 2), np.zeros(2)


def near_deterministic():
    """One state, two actions, H = 1: the policy takes action 1 with probability about 1e-4; rewards 1 and 2."""
    mdp = FiniteMDP.from_tables([1], [[[1], [1]]], [[1, 2]], horizon=1, discount=F(9, 10), name="near-deterministic")
    return mdp, TabularSoftmax(1, 2), np.array([4.6, -4.6])


def heavy_tailed():
    """One step, two actions; action 0 pays 2^k with probability ∝ 2^(-1.5k), k = 0..20 (a Pareto tail, index 1.5)."""
    w = [F(2 ** (30 - 3 * k // 2)) for k in range(21)]  # 2^(30 - ⌊1.5k⌋)
    total = sum(w)
    dist = [(2 ** k, x / total) for k, x in enumerate(w)]
    mdp = FiniteMDP.from_tables([1], [[[1], [1]]], None, horizon=0, name="heavy-tailed",
                                reward_distribution=[[dist, [(1, 1)]]])
    return mdp, TabularSoftmax(1, 2), np.zeros(2)


def heavy_chain(length: int = 40, q=F(33, 100)):
    """State 0: action 0 enters a chain that goes on with probability q per step and pays 2^(k−1) on its k-th step,
    action 1 pays 1 and ends (terminal state S − 1); H = length, γ = 1, θ = 0. P(return >= 2^d) ≈ q^d: a Pareto
    tail of index log(1/q)/log 2 (1.6 at q = 0.33: a finite mean, an infinite variance in the limit), and far
    too many trajectories to enumerate."""
    S, end = length + 2, length + 1
    P = [[[0] * S for _ in range(2)] for _ in range(S)]
    R = [[[0] * S for _ in range(2)] for _ in range(S)]
    P[0][0][1] = 1
    P[0][1][end], R[0][1][end] = 1, 1
    for k in range(1, length + 1):
        for a in range(2):
            if k < length:
                P[k][a][k + 1], P[k][a][end], R[k][a][k + 1] = q, 1 - q, 2 ** (k - 1)
            else:
                P[k][a][end] = 1
    P[end][0][end] = P[end][1][end] = 1
    mdp = FiniteMDP.from_tables([1] + [0] * (S - 1), P, R, horizon=length, discount=1, name="heavy chain")
    return mdp, TabularSoftmax(S, 2), np.zeros(2 * S)


def chain():
    """examples/chain.json: four states, H = 5, γ = 9/10."""
    from pathlib import Path

    from derive.mdpfile import load

    p = load(str(Path(__file__).resolve().parents[1] / "examples" / "chain.json"))
    return p.mdp, p.policy, np.array([float(x) for x in p.theta])


def frozen_lake_8x8():
    """Gymnasium's FrozenLake8x8-v1 (H = 199), uniform policy: a reward on about 0.2% of episodes."""
    from derive.mdpfile import load

    p = load("gym:FrozenLake8x8-v1")
    return p.mdp, p.policy, np.zeros(p.policy.n_params)


ALL = {"chain": chain, "rare reward": rare_reward, "near-deterministic": near_deterministic,
       "heavy-tailed": heavy_tailed, "FrozenLake8x8": frozen_lake_8x8}
