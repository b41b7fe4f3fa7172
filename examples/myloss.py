import torch


def reinforce(policy, batch):
    """REINFORCE as a user writes it: −mean over episodes of Σ_t log π(a_t|s_t) · R(τ)."""
    logp = policy.log_prob(batch.obs, batch.actions) * batch.mask          # [T, N]
    disc = batch.gamma ** torch.arange(batch.steps, dtype=torch.float64)[:, None]
    return -(logp.sum(0) * (batch.rewards * disc).sum(0)).mean()


def averaged(policy, batch):
    """Gymnasium's REINFORCE example: the episode's mean log-probability times Σ_t of the returns."""
    logp = policy.log_prob(batch.obs, batch.actions) * batch.mask
    disc = batch.gamma ** torch.arange(batch.steps, dtype=torch.float64)[:, None]
    returns = torch.flip(torch.cumsum(torch.flip(batch.rewards * disc, [0]), 0), [0])
    return -(logp.sum(0) / batch.lengths * returns.sum(0)).mean()
