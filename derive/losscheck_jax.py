"""JAX side of ``derive.gradcheck.loss``: the policy as a pytree whose one leaf is θ.

Imported only when ``framework="jax"`` is asked for. It turns on ``jax_enable_x64`` (float64,
so that rounding stays far below the statistical noise). The gradient is
``jax.grad(loss_fn)(policy, batch)``, jitted when the loss can be traced, else run eagerly.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from .errors import UserError  # noqa: E402
from .losscheck import LossBatch, LossProblem, LossRaised, Rollouts, rounding_unit  # noqa: E402
from .policies import LinearSoftmax  # noqa: E402

__all__ = ["Policy", "Adapter"]

_ARRAYS = ("obs", "actions", "rewards", "terminated", "truncated", "last_obs", "mask", "lengths")
_STATIC = ("gamma", "horizon", "layout")


@jax.tree_util.register_pytree_node_class
class Policy:
    """Softmax policy with θ as its one leaf ``theta``; ``policy(obs)`` gives the logits [..., A].

    Tabular: ``obs`` one-hot [..., S], logits = obs @ θ.reshape(S, A). Linear: ``obs`` the
    features φ(s, ·) [..., A, K], logits = obs @ θ.
    """

    def __init__(self, theta, *, linear: bool, n_states: int, n_actions: int):
        self.theta = theta
        self.linear, self.n_states, self.n_actions = linear, n_states, n_actions

    def __call__(self, obs):
        if self.linear:
            return obs @ self.theta
        return obs @ self.theta.reshape(self.n_states, self.n_actions)

    def log_prob(self, obs, actions):
        """log π(a|s), shaped like ``actions``."""
        logp = jax.nn.log_softmax(self(obs), axis=-1)
        return jnp.take_along_axis(logp, actions[..., None], axis=-1)[..., 0]

    def entropy(self, obs):
        logp = jax.nn.log_softmax(self(obs), axis=-1)
        return -(jnp.exp(logp) * logp).sum(-1)

    def tree_flatten(self):
        return (self.theta,), (self.linear, self.n_states, self.n_actions)

    @classmethod
    def tree_unflatten(cls, aux, children):
        linear, S, A = aux
        return cls(children[0], linear=linear, n_states=S, n_actions=A)


def _flatten_batch(b: LossBatch):
    return tuple(getattr(b, k) for k in _ARRAYS), tuple(getattr(b, k) for k in _STATIC)


def _unflatten_batch(aux, children):
    return LossBatch(**dict(zip(_ARRAYS, children)), **dict(zip(_STATIC, aux)))


jax.tree_util.register_pytree_node(LossBatch, _flatten_batch, _unflatten_batch)


class Adapter:
    """Turns NumPy rollouts into LossBatches of jax arrays and takes −∇_θ loss for each batch."""

    def __init__(self, problem: LossProblem, obs_table: np.ndarray):
        self.policy = Policy(jnp.asarray(np.asarray(problem.theta), dtype=jnp.float64),
                             linear=isinstance(problem.policy, LinearSoftmax),
                             n_states=problem.mdp.n_states, n_actions=problem.mdp.n_actions)
        self.obs_table = obs_table
        self._jitted = {}
        self.eps = rounding_unit("float64")  # the coarsest floating type a loss value came in
        self._scanned = False
        self.reached = False  # some batch's gradient is nonzero (jax.grad gives zeros when no path reaches θ)

    def _value_and_grad(self, loss_fn):
        def f(policy, batch):
            value = loss_fn(policy, batch)
            if not hasattr(value, "shape"):
                raise UserError(f"loss_fn: expected a scalar jax array, got {type(value).__name__}")
            if value.size != 1:
                raise UserError(f"loss_fn: expected a scalar loss, got an array of shape {list(value.shape)}")
            if not jnp.issubdtype(value.dtype, jnp.floating):
                raise UserError(f"loss_fn: expected a real floating-point loss, got dtype {value.dtype}")
            self.eps = max(self.eps, rounding_unit(value.dtype))
            return jnp.reshape(value, ())

        return jax.value_and_grad(f)

    def _scan_dtypes(self, loss_fn, batch) -> None:
        """The coarsest floating type any step of the loss computes in (a float32 log-softmax cast back counts)."""
        self._scanned = True
        try:
            jaxpr = jax.make_jaxpr(loss_fn)(self.policy, batch)
        except Exception:  # untraceable (Python control flow on values): the loss value's dtype only
            return

        def walk(jx):
            for eqn in jx.eqns:
                for v in eqn.outvars:
                    dt = getattr(getattr(v, "aval", None), "dtype", None)
                    if dt is not None and jnp.issubdtype(dt, jnp.floating):
                        self.eps = max(self.eps, rounding_unit(dt))
                for p in eqn.params.values():
                    inner = getattr(p, "jaxpr", p)
                    if hasattr(inner, "eqns"):
                        walk(inner)

        walk(jaxpr.jaxpr)

    def gradients(self, loss_fn, roll: Rollouts) -> np.ndarray:
        vg = self._value_and_grad(loss_fn)
        key = id(loss_fn)
        fn = self._jitted.get(key)
        if fn is None:
            fn = self._jitted[key] = jax.jit(vg)
        out = np.empty((roll.n_batches, self.policy.theta.size))
        obs = self.obs_table[roll.states]
        last = self.obs_table[roll.last_states]
        for b in range(roll.n_batches):
            batch = LossBatch(jnp.asarray(obs[b]), jnp.asarray(roll.actions[b]), jnp.asarray(roll.rewards[b]),
                              jnp.asarray(roll.terminated[b]), jnp.asarray(roll.truncated[b]), jnp.asarray(last[b]),
                              jnp.asarray(roll.mask[b]),
                              jnp.asarray(roll.lengths[b]) if roll.lengths is not None else None,
                              roll.gamma, roll.horizon, roll.layout)
            if b == 0 and not self._scanned:
                self._scan_dtypes(loss_fn, batch)
            try:
                try:
                    value, grad = fn(self.policy, batch)
                except jax.errors.JAXTypeError:
                    if fn is vg:
                        raise
                    fn = self._jitted[key] = vg  # Python control flow on values: run the loss eagerly
                    value, grad = fn(self.policy, batch)
            except UserError:
                raise
            except (Exception, SystemExit) as exc:  # the user's code: never derive's failure
                raise LossRaised(exc) from exc
            if not np.isfinite(float(value)):
                raise UserError("loss_fn: returned a non-finite loss (nan or inf)")
            out[b] = -np.asarray(grad.theta)
            self.reached = self.reached or bool(np.any(out[b] != 0))
        return out
