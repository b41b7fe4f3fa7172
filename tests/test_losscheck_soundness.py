"""derive.gradcheck.loss: scale invariance, rounding, small samples, the battery, c's known scales, user-code failures."""

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import derive
from derive.errors import UserError
from derive.exact import DynamicProgram
from derive.losscheck import LossRaised, assert_loss, loss_battery, rounding_unit, scaled_test
from derive.mdp import FiniteMDP
from derive.policies import TabularSoftmax

ROOT = Path(__file__).resolve().parent.parent
torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install 'derive[torch]'")

import loss_gallery as G  # noqa: E402

FAST = dict(batches=150, minimize=False, seed=0)
GRAD = np.array([0.4, -0.2, 0.3, 0.1, -0.5])


def _draws(rng, mean, B=400, K=5, noise=0.05):
    A = rng.normal(size=(K, K))
    return mean + rng.normal(size=(B, K)) @ A * noise


# -- the statistics: scale-invariant, rounding-aware, exact at small B --------------------------


@pytest.mark.parametrize("scale", [1e-10, 1.0, 1e12])
def test_scaled_test_is_scale_invariant(scale):
    rng = np.random.default_rng(3)
    ok, bad = _draws(rng, 0.5 * GRAD), _draws(rng, GRAD + np.array([0.1, 0.2, 0.0, -0.1, 0.0]))
    ref_ok, ref_bad = scaled_test(ok, GRAD), scaled_test(bad, GRAD)
    for g_scale, j_scale in ((scale, 1.0), (1.0, scale), (scale, scale)):
        t_ok, t_bad = scaled_test(ok * g_scale, GRAD * j_scale), scaled_test(bad * g_scale, GRAD * j_scale)
        assert math.isclose(t_ok["p_scaled"], ref_ok["p_scaled"], rel_tol=1e-6) and t_ok["p_scaled"] > 0.01
        assert math.isclose(t_ok["c"], 0.5 * g_scale / j_scale, rel_tol=0.1)
        assert t_bad["p_scaled"] < 1e-6 and math.isclose(t_bad["p_scaled"], ref_bad["p_scaled"], rel_tol=1e-6,
                                                          abs_tol=1e-300)


def _with_noiseless_direction(rng, mean, *, rounding):
    """Draws whose last component does not vary and is off by ``rounding`` (relative), as a float32 sum can be."""
    G = _draws(rng, mean)
    G[:, -1] = mean[-1] + rounding * np.max(np.abs(mean))
    return G


def test_noiseless_directions_allow_the_losss_rounding_and_no_more():
    rng = np.random.default_rng(5)
    grad = np.array([0.4, -0.2, 0.3, 0.1, 0.0])  # ∇J and every draw are 0 in the last component (as Σ_a ∂_θ(s,a) = 0)
    f32 = _with_noiseless_direction(rng, grad, rounding=2.0 ** -24 * 50)
    assert scaled_test(f32, grad)["p_scaled"] == 0.0  # in float64's tolerance this is a real difference
    assert scaled_test(f32, grad, eps=rounding_unit("float32"), terms=64)["p_scaled"] > 0.01
    biased = _with_noiseless_direction(rng, grad, rounding=1e-3)
    assert scaled_test(biased, grad, eps=rounding_unit("float32"), terms=64)["p_scaled"] == 0.0


def test_hotelling_keeps_its_level_at_b_equal_k_plus_20():
    # With 30 batches for K = 10 a χ² on the estimated covariance rejects far more than α; T²/F does not.
    rng = np.random.default_rng(11)
    K, B, reps = 10, 30, 400
    grad = rng.normal(size=K)
    p = np.array([scaled_test(_draws(rng, 2 * grad, B=B, K=K, noise=0.3), grad)["p_scaled"] for _ in range(reps)])
    # Binomial(400, 0.05): 20 expected; > 34 has probability < 0.1%.
    assert (p <= 0.05).sum() <= 34 and (p <= 0.5).sum() >= 150


def test_too_few_batches_for_the_parameters_is_refused():
    with pytest.raises(UserError, match=r"batches: expected at least K \+ 20"):
        derive.gradcheck.loss(G.reinforce, batches=30, seed=0)


# -- the battery -------------------------------------------------------------------------------


def test_battery_is_non_degenerate_and_varied():
    shapes = set()
    for seed in range(60):
        for p in loss_battery(seed=seed):
            _, g = DynamicProgram(p.mdp, p.policy).value_and_grad(p.theta)
            rmax = max(abs(float(r)) for row in p.mdp.rewards for a in row for r in a)
            assert np.max(np.abs(np.asarray(g, dtype=float))) >= 0.05 * rmax
            shapes.add(p.size + (p.mdp.discount,))
    assert max(s[0] for s in shapes) >= 5 and max(s[1] for s in shapes) >= 4 and max(s[2] for s in shapes) >= 8
    assert min(s[3] for s in shapes) <= Fraction(1, 2) and len({s[:3] for s in shapes}) >= 20


def _equal_reward_bandit():
    tr = [[[Fraction(1)], [Fraction(1)]]]
    rw = [[[Fraction(1)], [Fraction(1)]]]
    return (FiniteMDP.from_tables([Fraction(1)], tr, rw, horizon=0, name="flat bandit"), TabularSoftmax(1, 2), [0.3, -0.2])


def test_a_user_mdp_with_zero_gradient_says_nothing_to_test():
    r = derive.gradcheck.loss(G.reinforce, mdps=[_equal_reward_bandit()], **FAST)
    assert r.verdict == "undecided" and not r.passed and "nothing to test" in r.reason
    assert "∇J = 0 here: nothing to test" in derive.losscheck.format_loss_result(r)


# -- discounting and c -------------------------------------------------------------------------


def _rtg(batch, gamma):
    d = G.discounts(batch)
    return d, G.rewards_to_go(batch.rewards, gamma)


def no_gamma_t(policy, batch):
    """Σ_t ∇log π · G_t without the γ^t factor."""
    _, rtg = _rtg(batch, batch.gamma)
    return -(policy.log_prob(batch.obs, batch.actions) * rtg * batch.mask).sum(0).mean()


def gamma_t_twice(policy, batch):
    d, _ = _rtg(batch, batch.gamma)
    adv = d * G.rewards_to_go(batch.rewards * d, batch.gamma)
    return -(policy.log_prob(batch.obs, batch.actions) * adv * batch.mask).sum(0).mean()


def no_discount(policy, batch):
    _, rtg = _rtg(batch, 1.0)
    return -(policy.log_prob(batch.obs, batch.actions) * rtg * batch.mask).sum(0).mean()


@pytest.mark.parametrize("loss", [no_gamma_t, gamma_t_twice, no_discount])
def test_discount_bugs_are_rejected_and_the_correct_twin_passes(loss):
    assert derive.gradcheck.loss(loss, **FAST).verdict == "biased"


def test_the_correct_discounted_twin_passes():
    assert derive.gradcheck.loss(G.reward_to_go, **FAST).passed


def scaled_1114(policy, batch):
    return 1.114 * G.reinforce(policy, batch)


def slot_mean(policy, batch):
    """A mean over the N·T slots: c = 1/T, a known scale."""
    d, rtg = _rtg(batch, batch.gamma)
    return -(policy.log_prob(batch.obs, batch.actions) * d * rtg * batch.mask).mean()


def slot_mean_off_by_one(policy, batch):
    """A mean over N·(T + 1) slots: c = 1/(T + 1), which moves with the MDP beside every plain scale."""
    return slot_mean(policy, batch) * batch.steps / (batch.steps + 1)


def test_c_is_one_constant_beside_a_plain_scale():
    stray = derive.gradcheck.loss(scaled_1114, **FAST)
    assert stray.verdict == "unbiased up to a positive constant", derive.losscheck.format_loss_result(stray)
    assert stray.scale.rule == "1" and abs(stray.scale.k - 1.114) < 3 * stray.scale.k_stderr
    ok = derive.gradcheck.loss(slot_mean, **FAST)
    assert ok.verdict == "unbiased up to a positive constant", derive.losscheck.format_loss_result(ok)
    assert ok.scale.rule == "1/T" and ok.scale.plain
    bad = derive.gradcheck.loss(slot_mean_off_by_one, **FAST)
    assert bad.verdict == "biased" and "moves with the MDP" in bad.reason, derive.losscheck.format_loss_result(bad)


def test_a_pass_states_its_power():
    r = derive.gradcheck.loss(G.reinforce, **FAST)
    text = derive.losscheck.format_loss_result(r)
    assert r.passed and text.splitlines()[1].startswith("  scope: ") and "power (80%)" in text.splitlines()[2]
    assert "can go unseen" in text


# -- the scale of the loss and of the rewards --------------------------------------------------


def float32_logp(policy, batch):
    logits = policy(batch.obs).float()
    logp = torch.log_softmax(logits, -1).gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    d, rtg = _rtg(batch, batch.gamma)
    return -(logp * (d * rtg).float() * batch.mask).sum(0).mean()


def float32_biased(policy, batch):
    return float32_logp(policy, batch) + 0.3 * policy.theta[0].float()


def test_a_float32_loss_passes_and_its_biased_twin_fails():
    assert derive.gradcheck.loss(float32_logp, **FAST).passed
    assert derive.gradcheck.loss(float32_biased, **FAST).verdict == "biased"


def biased_tiny(policy, batch):
    return 1e-10 * G.log_probs_averaged(policy, batch)


def huge(policy, batch):
    return 1e160 * G.reinforce(policy, batch)


def test_a_tiny_biased_loss_fails_and_huge_scales_do_not_crash():
    assert derive.gradcheck.loss(biased_tiny, **FAST).verdict == "biased"
    r = derive.gradcheck.loss(huge, **FAST)  # c = 1e160 × 1 on every MDP: a constant factor, fitted without overflow
    assert r.verdict == "unbiased up to a positive constant", derive.losscheck.format_loss_result(r)
    assert abs(r.scale.k / 1e160 - 1) < 0.02 and "× 1 (a constant factor" in derive.losscheck.format_loss_result(r)


def test_tiny_rewards_do_not_fail_a_correct_loss():
    mdps = []
    for p in loss_battery(seed=0)[1:3]:
        d = p.mdp.to_dict()
        m = p.mdp
        rw = [[[Fraction(r) / 10 ** 9 for r in a] for a in row] for row in m.rewards]
        mdps.append((FiniteMDP.from_tables(m.initial, m.transitions, rw, horizon=m.horizon, discount=m.discount),
                     p.policy, p.theta))
        assert d
    assert derive.gradcheck.loss(G.reinforce, mdps=mdps, **FAST).passed


# -- the user's code: errors, exits, mutation, limits ------------------------------------------


def sysexit(policy, batch):
    raise SystemExit(0)


def mutates(policy, batch):
    loss = G.reinforce(policy, batch)
    with torch.no_grad():
        policy.theta.add_(0.01)
    return loss


def test_sys_exit_and_mutation_in_the_loss_are_errors():
    with pytest.raises(LossRaised, match="SystemExit"):
        derive.gradcheck.loss(sysexit, **FAST)
    with pytest.raises(UserError, match="changed θ"):
        derive.gradcheck.loss(mutates, **FAST)


def test_no_gradient_reaching_theta_is_said():
    r = derive.gradcheck.loss(lambda policy, batch: batch.rewards.sum() * 1.0, **FAST)
    assert r.verdict == "biased" and "no gradient reaches θ" in r.reason


@pytest.mark.parametrize("options, message", [(dict(batches=10 ** 9), "batches: at most"),
                                              (dict(batch_envs=10 ** 8), "budget"),
                                              (dict(layout="vector", steps=10 ** 8), "budget")])
def test_sizes_past_the_budget_are_refused_at_once(options, message):
    with pytest.raises(UserError, match=message):
        derive.gradcheck.loss(G.reinforce, seed=0, **options)


def test_expect_is_validated():
    with pytest.raises(UserError, match="expect"):
        assert_loss(G.reinforce, expect="unbaised", **FAST)


def test_json_has_no_infinity():
    r = derive.gradcheck.loss(G.reinforce, mdps=[_equal_reward_bandit()], **FAST)
    text = json.dumps(r.to_dict(), ensure_ascii=False, allow_nan=False)
    assert json.loads(text)["verdict"] == "undecided"


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "derive", "gradcheck", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_cli_user_code_failures_are_one_line_exit_2(tmp_path):
    (tmp_path / "u.py").write_text("import sys\ndef bye(policy, batch):\n    sys.exit(0)\n"
                                   "def jaxy(policy, batch):\n    import jax.numpy as jnp\n"
                                   "    return jnp.sum(jnp.asarray(policy.theta))\n")
    r = _cli("u:bye", "--loss", "--seed", "0", "--batches", "60", cwd=tmp_path)
    assert r.returncode == 2 and "loss u:bye called sys.exit" in r.stderr and "Traceback" not in r.stderr
    r = _cli("u:nope", "--loss", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("") and "loss:" in r.stderr and "estimator" not in r.stderr
    r = _cli("u:bye", "--loss", "--batches", "1000000000", cwd=tmp_path)
    assert r.returncode == 2 and "at most" in r.stderr


def float32_inside(policy, batch):
    """A float32 log-softmax whose result is cast back to float64: the loss value's dtype hides it."""
    return float32_logp(policy, batch).double()


def test_a_loss_computed_in_float32_inside_passes_and_float16_is_refused():
    assert derive.gradcheck.loss(float32_inside, **FAST).passed
    with pytest.raises(UserError, match="swamps the test"):
        derive.gradcheck.loss(lambda policy, batch: G.reinforce(policy, batch).half(), **FAST)


def test_jax_float32_inside_passes_and_its_biased_twin_fails():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy

    def f32(policy, batch):
        logits = policy(batch.obs).astype(jnp.float32)
        logp = jnp.take_along_axis(jax.nn.log_softmax(logits, -1), batch.actions[..., None], -1)[..., 0] * batch.mask
        R = (batch.rewards * batch.gamma ** jnp.arange(batch.steps)[:, None]).sum(0)
        return -(logp.sum(0) * R).mean()

    def f32_biased(policy, batch):
        return f32(policy, batch) + 0.3 * policy.theta[0]

    assert derive.gradcheck.loss(f32, framework="jax", **FAST).passed
    assert derive.gradcheck.loss(f32_biased, framework="jax", **FAST).verdict == "biased"
