"""Policy-gradient estimators as users write them: three correct ones and six classic bugs.

Each takes a ``derive.gradcheck.Trajectories`` and returns per-trajectory estimates [m, K].
"""

import numpy as np


def _discounted(tr):
    return tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)  # γ^t r_t


def _to_go(tr):
    r = _discounted(tr)
    return np.cumsum(r[:, ::-1], axis=1)[:, ::-1]  # Σ_{t'>=t} γ^{t'} r_{t'}


def _weighted(tr, w, scores=None):
    scores = tr.scores() if scores is None else scores  # [m, T, K]
    return np.einsum("mt,mtk->mk", w, scores)


# -- correct -----------------------------------------------------------------------------------


def reinforce(tr):
    """Σ_t ∇log π(a_t|s_t) R(τ)."""
    R = _discounted(tr).sum(axis=1)
    return tr.scores().sum(axis=1) * R[:, None]


def reward_to_go(tr):
    """Σ_t ∇log π(a_t|s_t) Σ_{t'>=t} γ^{t'} r_{t'}."""
    return _weighted(tr, _to_go(tr))


def state_baseline(tr):
    """Reward-to-go minus γ^t b(s_t) for a fixed, action-independent b."""
    b = 0.7 * tr.states[:, :-1] - 0.3
    return _weighted(tr, _to_go(tr) - tr.gamma ** np.arange(tr.horizon + 1) * b)


CORRECT = {"reinforce": reinforce, "reward-to-go": reward_to_go, "state baseline": state_baseline}

# -- buggy -------------------------------------------------------------------------------------


def sign_flip(tr):
    """The loss's minus sign carried into the gradient: −Σ_t ∇log π R(τ)."""
    return -reinforce(tr)


def mean_over_time(tr):
    """log-probabilities averaged over time instead of summed."""
    return reinforce(tr) / (tr.horizon + 1)


def shifted_reward_to_go(tr):
    """Reward-to-go off by one: a_t credited with r_{t+1}, … but not with r_t."""
    return _weighted(tr, _to_go(tr) - _discounted(tr))


def undiscounted_score(tr):
    """Discounted reward-to-go measured from t, Σ_{t'>=t} γ^{t'-t} r_{t'}: the score misses its γ^t."""
    return _weighted(tr, _to_go(tr) / tr.gamma ** np.arange(tr.horizon + 1))


def action_baseline(tr):
    """A 'baseline' that depends on the action taken: b(s_t, a_t)."""
    b = 1.0 + tr.actions.astype(float)
    return _weighted(tr, _to_go(tr) - tr.gamma ** np.arange(tr.horizon + 1) * b)


def wrong_action(tr):
    """∇log π of the wrong action: a_{t+1} (the action stored after the step) at s_t."""
    nxt = np.roll(tr.actions, -1, axis=1)
    scores = tr.policy.float_scores(tr.theta)[tr.states[:, :-1], nxt]
    return _weighted(tr, _to_go(tr), scores)


BUGGY = {
    "sign flip": sign_flip,
    "mean over time": mean_over_time,
    "reward-to-go shifted by one": shifted_reward_to_go,
    "missing discount on the score": undiscounted_score,
    "action-dependent baseline": action_baseline,
    "log-probability of the wrong action": wrong_action,
}


# -- biased only where the battery must reach: late steps, unlikely actions ----------------------


def late_scores_dropped(t0: int):
    """Reward-to-go with the score terms of steps t >= t0 dropped (a fixed-length buffer): biased once H >= t0."""
    def estimator(tr):
        scores = tr.scores().copy()
        scores[:, t0:] = 0
        return _weighted(tr, _to_go(tr), scores)
    estimator.__qualname__ = f"late_scores_dropped({t0})"
    return estimator


def unlikely_actions_zeroed(threshold: float):
    """Reward-to-go set to 0 on steps whose action had π(a_t|s_t) < threshold (a 'skip low-probability actions' bug)."""
    def estimator(tr):
        pi = tr.policy.float_probabilities(tr.theta)[tr.states[:, :-1], tr.actions]
        return _weighted(tr, np.where(pi < threshold, 0.0, _to_go(tr)))
    estimator.__qualname__ = f"unlikely_actions_zeroed({threshold:g})"
    return estimator
