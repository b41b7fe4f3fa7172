"""PyTorch side of ``derive.gradcheck.loss``: the policy as an ``nn.Module`` whose parameter is θ.

Imported only when ``framework="torch"`` is asked for; float64 throughout, so that rounding
stays far below the statistical noise.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import UserError
from .losscheck import LossBatch, LossProblem, LossRaised, Rollouts, rounding_unit
from .policies import LinearSoftmax

__all__ = ["Policy", "Adapter"]


class Policy(torch.nn.Module):
    """Softmax policy with θ as its one parameter ``theta``.

    Tabular: ``obs`` one-hot [..., S], logits = obs @ θ.view(S, A) (θ row-major (s, a)).
    Linear: ``obs`` the features φ(s, ·) [..., A, K], logits = obs @ θ.
    """

    def __init__(self, problem: LossProblem):
        super().__init__()
        self.linear = isinstance(problem.policy, LinearSoftmax)
        self.n_states, self.n_actions = problem.mdp.n_states, problem.mdp.n_actions
        self.theta = torch.nn.Parameter(torch.tensor(np.asarray(problem.theta), dtype=torch.float64))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Logits [..., A]."""
        if self.linear:
            return obs @ self.theta
        return obs @ self.theta.view(self.n_states, self.n_actions)

    def dist(self, obs: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self(obs))

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log π(a|s), shaped like ``actions``."""
        return torch.log_softmax(self(obs), dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        return self.dist(obs).entropy()


class _DtypeWatch(torch.overrides.TorchFunctionMode):
    """Records the coarsest floating dtype among the tensors a loss computes (float32 cast back to float64 counts)."""

    def __init__(self):
        super().__init__()
        self.eps = rounding_unit("float64")

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in (out if isinstance(out, (tuple, list)) else (out,)):
            if isinstance(t, torch.Tensor) and t.dtype.is_floating_point:
                self.eps = max(self.eps, rounding_unit(t.dtype))
        return out


class Adapter:
    """Turns NumPy rollouts into LossBatches of tensors and takes −∇_θ loss for each batch."""

    def __init__(self, problem: LossProblem, obs_table: np.ndarray):
        self.policy = Policy(problem)
        self.obs_table = torch.as_tensor(obs_table, dtype=torch.float64)
        self.theta0 = self.policy.theta.detach().clone()
        self.eps = rounding_unit("float64")  # the coarsest floating type a loss value came in
        self.reached = False  # some batch's gradient reached θ
        self._scanned = False

    def gradients(self, loss_fn, roll: Rollouts) -> np.ndarray:
        obs = self.obs_table[torch.as_tensor(roll.states)]
        last = self.obs_table[torch.as_tensor(roll.last_states)]
        acts = torch.as_tensor(roll.actions)
        rews = torch.as_tensor(roll.rewards)
        term = torch.as_tensor(roll.terminated)
        trunc = torch.as_tensor(roll.truncated)
        mask = torch.as_tensor(roll.mask)
        lengths = torch.as_tensor(roll.lengths) if roll.lengths is not None else None
        theta = self.policy.theta
        out = np.empty((roll.n_batches, theta.numel()))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny tensors: a thread pool only costs (10x slower on a loaded machine)
        try:
            self._run(loss_fn, roll, obs, last, acts, rews, term, trunc, mask, lengths, out)
        finally:
            torch.set_num_threads(threads)
        return out

    def _run(self, loss_fn, roll, obs, last, acts, rews, term, trunc, mask, lengths, out):
        theta = self.policy.theta
        for b in range(roll.n_batches):
            batch = LossBatch(obs[b], acts[b], rews[b], term[b], trunc[b], last[b], mask[b],
                              lengths[b] if lengths is not None else None, roll.gamma, roll.horizon, roll.layout)
            theta.grad = None
            try:
                if b == 0 and not self._scanned:  # the coarsest floating type any step computes in
                    self._scanned = True
                    with _DtypeWatch() as watch:
                        value = loss_fn(self.policy, batch)
                    self.eps = max(self.eps, watch.eps)
                else:
                    value = loss_fn(self.policy, batch)
            except (Exception, SystemExit) as exc:  # the user's code: never derive's failure
                raise LossRaised(exc) from exc
            if not theta.requires_grad:  # the loss switched autograd off on θ: it did depend on θ, derive cannot see how
                raise UserError("loss_fn: switched off autograd on policy.theta (requires_grad_(False)); a loss must "
                                "not change the policy's parameters (derive differentiates the loss with respect to θ)")
            if not torch.equal(theta.detach(), self.theta0):
                raise UserError("loss_fn: changed θ (policy.theta) during the call; a loss must not step an "
                                "optimiser or modify the policy's parameters")
            if not isinstance(value, torch.Tensor):
                raise UserError(f"loss_fn: expected a scalar torch tensor, got {type(value).__name__}")
            if value.numel() != 1:
                raise UserError(f"loss_fn: expected a scalar loss, got a tensor of shape {list(value.shape)}")
            if not torch.isfinite(value.detach()).all():
                raise UserError("loss_fn: returned a non-finite loss (nan or inf)")
            if not (value.dtype.is_floating_point or value.dtype.is_complex):
                raise UserError(f"loss_fn: expected a floating-point loss, got dtype {value.dtype}")
            if value.dtype.is_complex:
                raise UserError(f"loss_fn: expected a real loss, got dtype {value.dtype}")
            self.eps = max(self.eps, rounding_unit(value.dtype))
            if theta.grad is not None:
                raise UserError("loss_fn: θ already has a gradient when the loss returns; do not call backward() "
                                "inside the loss (derive differentiates it)")
            if value.requires_grad:
                try:
                    value.reshape(()).backward()
                except (Exception, SystemExit) as exc:
                    raise LossRaised(exc) from exc
            if theta.grad is not None and bool(torch.any(theta.grad != 0)):
                self.reached = True
            out[b] = 0.0 if theta.grad is None else -theta.grad.detach().numpy()
