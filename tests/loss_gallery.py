"""Training losses as people write them (PyTorch, and a few in JAX): correct ones and classic bugs.

Each is ``loss_fn(policy, batch)`` for ``derive.gradcheck.loss``. ``policy.log_prob(obs, a)``
gives log π(a|s); ``batch`` is time-major [T, N] (see docs/gradcheck.md). J is the
discounted return from the episode's start, so the correct weight of step t's score is
γ^t times the reward-to-go (t counted from the episode's start).
"""

import torch

# -- helpers users write ---------------------------------------------------------------------


def discounts(batch):
    """γ^t for slot t of the episodes layout (every episode starts at slot 0): [T, 1]."""
    return batch.gamma ** torch.arange(batch.steps, dtype=torch.float64)[:, None]


def rewards_to_go(rewards, gamma, done=None):
    """G_t = r_t + γ G_{t+1} (1 − done_t), backwards over time."""
    G = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        keep = 1.0 if done is None else (~done[t]).double()
        running = rewards[t] + gamma * running * keep
        G[t] = running
    return G


def episode_clock(batch):
    """Vector layout: (k, live, complete) [T, N]: steps since the episode began, a real (not reset)
    step, and a step of an episode that began early enough (slot <= T − (H+1)) to finish in the window.

    Keeping only episodes that *began* early enough is unbiased; keeping those that *ended* in
    the window would select short episodes.
    """
    T, N = batch.steps, batch.n_envs
    k = torch.zeros(T, N, dtype=torch.long)
    start = torch.zeros(T, N, dtype=torch.long)
    live = torch.ones(T, N, dtype=torch.bool)
    cur_k = torch.zeros(N, dtype=torch.long)
    cur_start = torch.zeros(N, dtype=torch.long)
    reset = torch.zeros(N, dtype=torch.bool)
    for t in range(T):
        live[t] = ~reset
        k[t], start[t] = cur_k, cur_start
        done = (batch.terminated[t] | batch.truncated[t]) & ~reset
        cur_k = torch.where(reset | done, 0, cur_k + 1)
        cur_start = torch.where(done, t + 2, cur_start)  # the next episode's first step follows the reset step
        reset = done
    complete = live & (start <= T - (batch.horizon + 1))
    return k, live, complete


# -- correct ---------------------------------------------------------------------------------


def reinforce(policy, batch):
    """−mean over episodes of Σ_t log π(a_t|s_t) · R(τ)."""
    logp = policy.log_prob(batch.obs, batch.actions) * batch.mask
    R = (batch.rewards * discounts(batch)).sum(0)
    return -(logp.sum(0) * R).mean()


def reward_to_go(policy, batch):
    """CleanRL-style −(log π · A).mean() over all slots, A_t = γ^t G_t (c = 1/T)."""
    logp = policy.log_prob(batch.obs, batch.actions)
    adv = discounts(batch) * rewards_to_go(batch.rewards, batch.gamma)
    return -(logp * adv * batch.mask).mean()


def ppo_at_theta_old(policy, batch, clip=0.2):
    """Clipped PPO surrogate on fresh data: θ_old = θ, so the ratio is 1 and the gradient is the PG."""
    logp = policy.log_prob(batch.obs, batch.actions)
    ratio = torch.exp(logp - logp.detach())
    adv = (discounts(batch) * rewards_to_go(batch.rewards, batch.gamma)).detach()
    surrogate = torch.min(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv)
    return -(surrogate * batch.mask).sum(0).mean()


def _shared_value(policy, batch):
    """V(s) = Σ_a π(a|s) q̂(s, a) for a fixed, imperfect q̂: a critic that shares θ with the policy."""
    logits = policy(batch.obs)
    A = logits.shape[-1]
    if batch.obs.dim() == 4:  # features φ(s, ·) [T, N, A, K]
        q = 0.5 + 0.3 * batch.obs.sum(-1)
    else:  # one-hot [T, N, S]
        S = batch.obs.shape[-1]
        q = batch.obs @ (0.5 + 0.3 * torch.arange(S * A, dtype=torch.float64).reshape(S, A) % 1.7)
    return (torch.softmax(logits, -1) * q).sum(-1)


def detached_value_baseline(policy, batch):
    """Reward-to-go minus a shared-θ state value, detached: an action-independent baseline."""
    logp = policy.log_prob(batch.obs, batch.actions)
    V = _shared_value(policy, batch).detach()
    adv = discounts(batch) * (rewards_to_go(batch.rewards, batch.gamma) - V)
    return -(logp * adv * batch.mask).sum(0).mean()


def reward_to_go_vector(policy, batch):
    """Vector layout: returns through the done flags, γ^k from each episode's start, complete episodes only."""
    k, live, complete = episode_clock(batch)
    done = batch.terminated | batch.truncated
    G = rewards_to_go(batch.rewards, batch.gamma, done)
    logp = policy.log_prob(batch.obs, batch.actions)
    return -(logp * batch.gamma ** k.double() * G * complete).mean()



# -- buggy -----------------------------------------------------------------------------------


def log_probs_averaged(policy, batch):
    """Gymnasium's REINFORCE example: the episode's mean log-probability times Σ_t of the returns-to-go."""
    logp = policy.log_prob(batch.obs, batch.actions) * batch.mask
    mean_logp = logp.sum(0) / batch.lengths
    deltas = discounts(batch) * rewards_to_go(batch.rewards, batch.gamma)
    return -(mean_logp * deltas.sum(0)).mean()


def previous_reward(policy, batch):
    """Vector layout: the buffer stores the previous step's reward with the current action."""
    k, live, complete = episode_clock(batch)
    stored = torch.cat([torch.zeros_like(batch.rewards[:1]), batch.rewards[:-1]])
    done = batch.terminated | batch.truncated
    G = rewards_to_go(stored, batch.gamma, done)
    logp = policy.log_prob(batch.obs, batch.actions)
    return -(logp * batch.gamma ** k.double() * G * complete).mean()


def dones_one_step_late(policy, batch):
    """Vector layout: returns reset with done[t+1] instead of done[t]."""
    k, live, complete = episode_clock(batch)
    done = batch.terminated | batch.truncated
    late = torch.cat([done[1:], torch.zeros_like(done[:1])])
    G = rewards_to_go(batch.rewards, batch.gamma, late)
    logp = policy.log_prob(batch.obs, batch.actions)
    return -(logp * batch.gamma ** k.double() * G * complete).mean()


def cut_return(policy, batch, n=3):
    """A return summed over only the next n steps, no bootstrap: an n-step return with the V(s_{t+n}) term lost."""
    r = batch.rewards * discounts(batch) * batch.mask
    T = batch.steps
    before = torch.cat([torch.zeros_like(r[:1]), torch.cumsum(r, 0)])  # before[t] = Σ_{k<t} γ^k r_k
    window = before[torch.clamp(torch.arange(T) + n, max=T)] - before[:T]
    logp = policy.log_prob(batch.obs, batch.actions) * batch.mask
    return -(logp * window).sum(0).mean()


def _values(batch):
    """A learned (so imperfect) tabular V(s), read off the observation."""
    if batch.obs.dim() == 4:  # features φ(s, ·) [T, N, A, K]
        return 1.0 + 0.4 * batch.obs.sum((-1, -2))
    S = batch.obs.shape[-1]
    return batch.obs @ (1.0 + 0.8 * torch.arange(S, dtype=torch.float64))


def gae(policy, batch, lam=1.0, previous=False, bootstrap_truncated=False):
    """GAE(λ) advantages with a learned V; ``previous`` bootstraps with V of the previous observation."""
    values = _values(batch)
    nxt = torch.cat([values[1:], values[-1:]])
    if previous:
        nxt = values  # V(obs_t) where V(obs_{t+1}) belongs
    # J is the finite-horizon return: nothing follows the time limit either, so no bootstrap past
    # the episode's end (bootstrapping at truncation estimates another, infinite-horizon objective).
    alive = (~(batch.terminated | batch.truncated)).double() * batch.mask
    if bootstrap_truncated:
        alive = (~batch.terminated).double() * batch.mask
    deltas = (batch.rewards + batch.gamma * nxt * alive - values) * batch.mask
    adv = torch.zeros_like(deltas)
    running = torch.zeros_like(deltas[0])
    for t in reversed(range(batch.steps)):
        running = deltas[t] + batch.gamma * lam * running * alive[t]
        adv[t] = running
    adv = discounts(batch) * adv * batch.mask
    logp = policy.log_prob(batch.obs, batch.actions)
    return -(logp * adv.detach()).sum(0).mean()


def gae_one(policy, batch):
    """GAE with λ = 1 and a learned V: the V terms telescope to a baseline, so it is unbiased."""
    return gae(policy, batch, lam=1.0)


def bootstrap_previous_value(policy, batch):
    """GAE(λ = 1) bootstrapping each step with V of the previous observation, V(s_t) for V(s_{t+1})."""
    return gae(policy, batch, lam=1.0, previous=True)


def bootstrap_truncated(policy, batch):
    """GAE(λ = 1) bootstrapping with V(s_{H+1}) when the time limit truncates the episode."""
    return gae(policy, batch, lam=1.0, bootstrap_truncated=True)


def entropy_wrong_sign(policy, batch, beta=0.1):
    """The entropy bonus added to the loss (a penalty) instead of subtracted."""
    ent = (policy.entropy(batch.obs) * batch.mask).sum(0).mean()
    return reinforce(policy, batch) + beta * ent


def undetached_value(policy, batch):
    """Reward-to-go minus a shared-θ value that is not detached: the gradient flows into the baseline."""
    logp = policy.log_prob(batch.obs, batch.actions)
    V = _shared_value(policy, batch)
    adv = discounts(batch) * (rewards_to_go(batch.rewards, batch.gamma) - V)
    return -(logp * adv * batch.mask).sum(0).mean()


BUGGY = {  # name -> (loss, layout)
    "log-probs averaged before weighting": (log_probs_averaged, "episodes"),
    "previous step's reward stored with the action": (previous_reward, "vector"),
    "dones indexed one step late": (dones_one_step_late, "vector"),
    "bootstrap with the previous observation's value": (bootstrap_previous_value, "episodes"),
    "entropy bonus with the wrong sign": (entropy_wrong_sign, "episodes"),
    "un-detached value in the baseline": (undetached_value, "episodes"),
    "return cut after 3 steps (no bootstrap)": (cut_return, "episodes"),
}

# -- biased by design ------------------------------------------------------------------------


def advantage_normalisation(policy, batch):
    """Advantages normalised by the batch's own mean and standard deviation."""
    logp = policy.log_prob(batch.obs, batch.actions)
    adv = discounts(batch) * rewards_to_go(batch.rewards, batch.gamma)
    m = batch.mask
    mean = (adv * m).sum() / m.sum()
    std = torch.sqrt(((adv - mean) ** 2 * m).sum() / (m.sum() - 1))
    adv = (adv - mean) / (std + 1e-8)
    return -(logp * adv * m).sum(0).mean()


def gae_095(policy, batch):
    """GAE with λ = 0.95 and a learned V."""
    return gae(policy, batch, lam=0.95)


def gae_05(policy, batch):
    """GAE with λ = 0.5 and a learned V."""
    return gae(policy, batch, lam=0.5)


def ppo_away_from_theta_old(policy, batch, clip=0.2):
    """Clipped PPO surrogate with log π_old from another θ_old (ratios ≠ 1, clipping active)."""
    logp = policy.log_prob(batch.obs, batch.actions)
    shift = 0.3 * (2.0 * (batch.actions % 2).double() - 1.0)  # log π_θ − log π_θold = ±0.3
    ratio = torch.exp(logp - (logp.detach() - shift))
    adv = (discounts(batch) * rewards_to_go(batch.rewards, batch.gamma)).detach()
    surrogate = torch.min(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv)
    return -(surrogate * batch.mask).sum(0).mean()


BY_DESIGN = {  # name -> (loss, layout, batch_envs)
    "per-batch advantage normalisation": (advantage_normalisation, "episodes", 2),
    "GAE(λ = 0.5) with a learned V": (gae_05, "episodes", None),
    "clipped PPO surrogate away from θ_old": (ppo_away_from_theta_old, "episodes", None),
    "bootstrap past the time limit (the finite-horizon J ends there)": (bootstrap_truncated, "episodes", None),
}


CORRECT = {  # name -> (loss, layout, the constant c it should be unbiased up to)
    "REINFORCE, mean over episodes": (reinforce, "episodes", "1"),
    "reward-to-go, CleanRL-style .mean()": (reward_to_go, "episodes", "1/T"),
    "PPO clipped surrogate at θ_old": (ppo_at_theta_old, "episodes", "1"),
    "reward-to-go minus a detached shared-θ value": (detached_value_baseline, "episodes", "1"),
    "vector layout: reward-to-go through dones": (reward_to_go_vector, "vector", None),
    "GAE(λ = 1) with a learned V": (gae_one, "episodes", "1"),
}


def table_rows() -> list:
    """(name, loss, layout, batch_envs, options) of each row of the table in docs/gradcheck.md."""
    rows = [(k, v[0], v[1], None, {}) for k, v in CORRECT.items()]
    rows += [(k, v[0], v[1], None, {}) for k, v in BUGGY.items()]
    rows += [(k, v[0], v[1], v[2], {"batches": 2000, "minimize": False}) for k, v in BY_DESIGN.items()]
    rows += [("GAE(λ = 0.95) with a learned V, at the defaults", gae_095, "episodes", None, {}),
             ("advantage normalisation over 64 episodes, at the defaults", advantage_normalisation, "episodes", None, {})]
    return rows


def _table():
    """Print the gallery's verdicts at the defaults as the Markdown table of docs/gradcheck.md (seed 0)."""
    from derive import gradcheck

    print("| loss | layout | verdict | p | c per MDP | bias off ∇J | 80% power at | smallest MDP where the bias shows |")
    print("|---|---|---|---|---|---|---|---|")
    for name, fn, layout, n, kw in table_rows():
        r = gradcheck.loss(fn, layout=layout, batch_envs=n, seed=0, **kw)
        m = r.minimal
        small = f"S={m.size[0]} A={m.size[1]} H={m.size[2]} (p = {m.p_scaled_adj:.2g})" if m else "—"
        if r.pair:  # only across MDPs: the two whose c/ρ differ
            small = " vs ".join(f"S={x.size[0]} A={x.size[1]} H={x.size[2]}" for x in r.pair) + f" (p = {r.pair_p:.2g})"
        cs = ", ".join(f"{x.c:.3g}" for x in r.results)
        bias = max(x.bias for x in r.results if x.size[2] > 0)
        power = max(x.detectable for x in r.results if x.size[2] > 0)
        p = "< 1e-300" if r.p_value == 0 else f"{r.p_value:.2g}"
        print(f"| {name} | {layout} | {r.verdict} | {p} | {cs} | {bias:.2g} | {power:.2g} | {small} |", flush=True)


if __name__ == "__main__":
    _table()
