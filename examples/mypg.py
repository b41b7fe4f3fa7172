import numpy as np

def grad(tr):
    """REINFORCE with reward-to-go, as a user writes it."""
    T = tr.horizon + 1
    r = tr.rewards * tr.gamma ** np.arange(T)
    to_go = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    scores = tr.policy.float_scores(tr.theta)[tr.states[:, :-1], tr.actions]  # [m, T, K]
    return np.einsum("mt,mtk->mk", to_go, scores)

def buggy(tr):
    """Discounted reward-to-go measured from t: the γ^t factor is missing."""
    T = tr.horizon + 1
    r = tr.rewards * tr.gamma ** np.arange(T)
    to_go = np.cumsum(r[:, ::-1], axis=1)[:, ::-1] / tr.gamma ** np.arange(T)
    scores = tr.policy.float_scores(tr.theta)[tr.states[:, :-1], tr.actions]
    return np.einsum("mt,mtk->mk", to_go, scores)

def truncated(tr):
    """An n-step return without a bootstrap: a_t credited with r_t .. r_{t+3} only."""
    T = tr.horizon + 1
    r = tr.rewards * tr.gamma ** np.arange(T)
    c = np.concatenate([np.zeros((tr.m, 1)), np.cumsum(r, axis=1)], axis=1)
    w = c[:, np.minimum(np.arange(T) + 4, T)] - c[:, :T]
    return np.einsum("mt,mtk->mk", w, tr.scores())

def batch_baseline(tr):
    """REINFORCE minus the batch's mean return: biased by the factor 1 − 1/B."""
    r = (tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)).sum(axis=1)
    return tr.scores().sum(axis=1) * (r - r.mean())[:, None]
