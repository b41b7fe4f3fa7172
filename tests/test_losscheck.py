"""derive.gradcheck.loss: training losses against c·∇J; the layouts; the test's size and power; the CLI."""

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import derive
from derive.errors import UserError
from derive.losscheck import LossProblem, collect, loss_battery, scaled_test, terminal_states
from derive.mdp import FiniteMDP
from derive.mdpfile import load
from derive.policies import TabularSoftmax

ROOT = Path(__file__).resolve().parent.parent
torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install 'derive[torch]'")

import loss_gallery as G  # noqa: E402  (tests/ is on the path through conftest's rootdir)

FAST = dict(batches=150, minimize=False)  # enough power for the gross bugs; the defaults run in the slow tests


@pytest.fixture(autouse=True)
def _gallery_seed(monkeypatch):
    """The gallery's verdicts are pinned to the battery of seed 0; a fresh battery per run is tested on its own."""
    import derive.gradcheck as mod

    monkeypatch.setattr(mod, "fresh_seed", lambda: 0)


def test_a_fresh_battery_is_drawn_and_reported_when_no_seed_is_given(monkeypatch):
    import derive.gradcheck as mod

    monkeypatch.setattr(mod, "fresh_seed", lambda: 12345)
    result = derive.gradcheck.loss(G.reinforce, batches=40, minimize=False)
    from derive.losscheck import format_loss_result

    assert result.seed == 12345 and result.to_dict()["seed"] == 12345
    assert "seed 12345" in format_loss_result(result, title="t")


# -- the package: callable module, nothing imported unless asked -----------------------------


def test_gradcheck_is_the_module_and_still_callable():
    import derive.gradcheck as mod
    from derive import assert_gradcheck, gradcheck
    from derive.gradcheck import Trajectories

    assert gradcheck is mod is derive.gradcheck
    assert derive.gradcheck.Trajectories is Trajectories and callable(assert_gradcheck)
    assert derive.gradcheck.loss is mod.loss and derive.gradcheck.assert_loss is mod.assert_loss
    result = derive.gradcheck(lambda tr: -G_reinforce_numpy(tr), samples=2000, minimize=False)
    assert not result.passed  # the function behind the call is the real gradcheck (a sign flip fails)


def G_reinforce_numpy(tr):
    R = (tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)).sum(axis=1)
    return tr.scores().sum(axis=1) * R[:, None]


def test_derive_imports_neither_torch_nor_jax():
    code = ("import sys, derive, derive.gradcheck, derive.losscheck, derive.cli_gradcheck; "
            "assert 'torch' not in sys.modules and 'jax' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# -- layouts ----------------------------------------------------------------------------------


def _deterministic_problem():
    """S=3 (state 2 terminal), deterministic moves, H = 2: a rollout is fixed by its actions."""
    one = lambda s: [Fraction(int(k == s)) for k in range(3)]  # noqa: E731
    tr = [[one(1), one(2)], [one(0), one(1)], [one(2), one(2)]]
    rw = [[1, 2], [3, -1], [0, 0]]
    mdp = FiniteMDP.from_tables([1, 0, 0], tr, rw, horizon=2, discount=1)
    return LossProblem(mdp, TabularSoftmax(3, 2), np.zeros(6), terminal_states(mdp), "det")


def test_vector_layout_is_gymnasiums_next_step_autoreset():
    """Replaying derive's actions through Gymnasium's SyncVectorEnv gives the same arrays, bit for bit."""
    gym = pytest.importorskip("gymnasium")
    from gymnasium.vector import AutoresetMode, SyncVectorEnv
    from gymnasium.wrappers import TimeLimit

    problem = _deterministic_problem()
    assert problem.terminal == (False, False, True)
    nxt = {(0, 0): 1, (0, 1): 2, (1, 0): 0, (1, 1): 1}
    reward = {(0, 0): 1.0, (0, 1): 2.0, (1, 0): 3.0, (1, 1): -1.0}

    class Env(gym.Env):
        observation_space = gym.spaces.Discrete(3)
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            self.s = 0
            return 0, {}

        def step(self, a):
            s, self.s = self.s, nxt[(self.s, int(a))]
            return self.s, reward[(s, int(a))], self.s == 2, False, {}

    roll = collect(problem, layout="vector", n_batches=1, batch_envs=5, steps=14, rng=np.random.default_rng(3))
    envs = SyncVectorEnv([lambda: TimeLimit(Env(), 3)] * 5, autoreset_mode=AutoresetMode.NEXT_STEP)
    obs, _ = envs.reset(seed=0)
    assert roll.terminated.any() and roll.truncated.any()
    for t in range(14):
        np.testing.assert_array_equal(roll.states[0, t], obs)
        obs, r, term, trunc, _ = envs.step(roll.actions[0, t])
        np.testing.assert_array_equal(roll.rewards[0, t], r)
        np.testing.assert_array_equal(roll.terminated[0, t], term)
        np.testing.assert_array_equal(roll.truncated[0, t], trunc)
    np.testing.assert_array_equal(roll.last_states[0], obs)


def test_episodes_layout_flags_and_padding():
    problem = loss_battery(seed=0)[1]
    roll = collect(problem, layout="episodes", n_batches=3, batch_envs=50, steps=None, rng=np.random.default_rng(0))
    H = problem.mdp.horizon
    term = np.asarray(problem.terminal)
    L = roll.lengths
    assert roll.states.shape == (3, H + 1, 50) and L.min() >= 1 and L.max() == H + 1
    assert (L < H + 1).any()  # some episodes terminate early
    b, n = np.nonzero(np.ones_like(L, dtype=bool))
    last = L[b, n] - 1
    np.testing.assert_array_equal(roll.mask.sum(axis=1), L)
    np.testing.assert_array_equal(roll.terminated[b, last, n], term[roll.last_states[b, n]])
    np.testing.assert_array_equal(roll.truncated[b, last, n], L[b, n] == H + 1)  # as TimeLimit, even if terminated
    assert ((roll.terminated | roll.truncated).sum(axis=1) == 1).all()  # the flags are raised once, at the end
    assert not roll.rewards[~roll.mask].any() and not term[roll.states[roll.mask]].any()


# -- the statistical test ---------------------------------------------------------------------


def _draws(rng, mean, B=400, K=5):
    A = rng.normal(size=(K, K))
    return mean + rng.normal(size=(B, K)) @ A * 0.05


def test_scaled_test_accepts_a_multiple_and_rejects_a_merely_correlated_estimate():
    rng = np.random.default_rng(1)
    grad = np.array([0.4, -0.2, 0.3, 0.1, -0.5])
    ok = scaled_test(_draws(rng, 0.25 * grad), grad)
    assert ok["p_scaled"] > 0.01 and ok["p_positive"] < 1e-10 and abs(ok["c"] - 0.25) < 5 * ok["c_stderr"]
    off = np.array([0.1, 0.2, 0.0, -0.1, 0.0])  # cos(grad + off, grad) ≈ 0.94: correlated, not a multiple
    bad = scaled_test(_draws(rng, grad + off), grad)
    assert bad["cosine"] > 0.9 and bad["p_scaled"] < 1e-6
    neg = scaled_test(_draws(rng, -2 * grad), grad)
    assert neg["p_scaled"] > 0.01 and neg["p_negative"] < 1e-10


def test_scaled_test_false_alarm_rate_is_at_most_alpha():
    rng = np.random.default_rng(7)
    grad = np.array([0.4, -0.2, 0.3, 0.1, -0.5])
    p = np.array([scaled_test(_draws(rng, 3 * grad, B=300), grad)["p_scaled"] for _ in range(300)])
    # At α = 0.05 the count of 300 is Binomial(300, 0.05): 15 expected, > 28 has probability < 0.1%.
    assert (p <= 0.05).sum() <= 28
    assert (p <= 0.5).sum() >= 110  # and the p-values are not stuck at 1 (a test that cannot fail)


# -- the gallery at the defaults: correct losses pass, up to the right constant ---------------


@pytest.mark.parametrize("name", list(G.CORRECT))
def test_correct_losses_pass(name):
    loss, layout, c = G.CORRECT[name]
    result = derive.gradcheck.assert_loss(loss, layout=layout)
    if c == "1":
        assert result.verdict == "unbiased"
    elif c == "1/T":
        assert result.verdict == "unbiased up to a positive constant"
        assert all(r.c_source.startswith("1/T") for r in result.results if r.size[2] > 0)
    else:
        assert result.verdict == "unbiased up to a positive constant"


def test_ppo_at_theta_old_has_the_policy_gradient_itself():
    """At θ_old the clipped surrogate's gradient equals REINFORCE-to-go's on the same batch, exactly."""
    problem = loss_battery(seed=2)[2]
    from derive.losscheck_torch import Adapter

    roll = collect(problem, layout="episodes", n_batches=20, batch_envs=8, steps=None, rng=np.random.default_rng(0))
    adapter = Adapter(problem, np.eye(problem.mdp.n_states))

    def pg(policy, batch):
        logp = policy.log_prob(batch.obs, batch.actions)
        adv = G.discounts(batch) * G.rewards_to_go(batch.rewards, batch.gamma)
        return -(logp * adv * batch.mask).sum(0).mean()

    np.testing.assert_allclose(adapter.gradients(G.ppo_at_theta_old, roll), adapter.gradients(pg, roll),
                               rtol=1e-12, atol=1e-14)


def test_scaled_loss_reports_its_constant_and_a_sum_is_c_equals_n():
    def summed(policy, batch):
        return G.reinforce(policy, batch) * batch.n_envs

    result = derive.gradcheck.loss(summed, batch_envs=16, **FAST)
    assert result.verdict == "unbiased up to a positive constant"
    assert all(r.c_source.startswith("N = 16") for r in result.results)


# -- buggy losses are rejected ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(G.BUGGY))
def test_buggy_losses_are_rejected(name):
    loss, layout = G.BUGGY[name]
    result = derive.gradcheck.loss(loss, layout=layout, **FAST)
    assert result.verdict == "biased" and not result.passed
    assert result.minimal is not None or len(result.pair) == 2  # one MDP shows it, or two whose c/ρ differ


@pytest.mark.slow
@pytest.mark.parametrize("name", list(G.BUGGY))
def test_buggy_losses_are_rejected_at_the_defaults_with_the_smallest_mdp(name, tmp_path):
    loss, layout = G.BUGGY[name]
    path = tmp_path / "minimal.json"
    result = derive.gradcheck.loss(loss, layout=layout, save_minimal=str(path))
    assert result.verdict == "biased"
    # The saved file replays as a counterexample. The first candidate that rejects can sit near the
    # test's power (a winner's curse), so the replay, on fresh batches, takes 2,000 of them. Shown
    # through c/ρ alone, the two MDPs whose c/ρ differ are saved and replay together.
    if result.pair:
        assert result.pair_p <= result.alpha and len(result.pair_files) == 2
        mdps = [load(f) for f in result.pair_files]
    else:
        smallest = result.minimal
        S, A, H = smallest.size
        assert S * A <= 9 and smallest.p_scaled_adj <= result.alpha
        mdps = [load(str(path))]
    replay = derive.gradcheck.loss(loss, layout=layout, mdps=mdps, minimize=False, batches=2000)
    assert replay.verdict == "biased"


def test_sign_flip_points_the_wrong_way():
    def ascent(policy, batch):
        return -G.reinforce(policy, batch)

    result = derive.gradcheck.loss(ascent, **FAST)
    assert result.verdict == "points the wrong way" and not result.passed
    assert all(r.c < 0 for r in result.results)


def test_a_correlated_but_wrong_loss_is_not_up_to_a_constant():
    """REINFORCE plus a fixed pull on θ: cos(E[g], ∇J) stays high, yet it is biased."""
    def pulled(policy, batch):
        v = torch.linspace(-0.05, 0.05, policy.theta.numel(), dtype=torch.float64)
        return G.reinforce(policy, batch) + (policy.theta * v).sum()

    result = derive.gradcheck.loss(pulled, **FAST)
    assert result.verdict == "biased"


def test_a_loss_without_gradient_is_biased_not_undecided():
    result = derive.gradcheck.loss(lambda policy, batch: (policy.theta * 0).sum(), **FAST)
    assert result.verdict == "biased"


# -- biased by design: reported with the size of the bias -------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", list(G.BY_DESIGN))
def test_biased_by_design_practices_are_reported_with_the_size_of_the_bias(name):
    loss, layout, n = G.BY_DESIGN[name]
    result = derive.gradcheck.loss(loss, layout=layout, batch_envs=n, batches=2000, minimize=False)
    assert result.verdict == "biased"
    # rejected through the direction or through c/ρ moving with the MDP (advantage normalisation's c = 1/std)
    shown = [r for r in result.results if min(r.p_scaled_adj, r.p_factor) <= result.alpha]
    assert shown and all(np.isfinite(r.bias) and r.bias > 0 and np.isfinite(r.c) for r in shown)


def test_clipped_ppo_away_from_theta_old_is_biased():
    result = derive.gradcheck.loss(G.ppo_away_from_theta_old, **FAST)
    assert result.verdict == "biased" and max(r.bias for r in result.results) > 1


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("loss, message", [
    (lambda policy, batch: policy.log_prob(batch.obs, batch.actions), "scalar loss"),
    (lambda policy, batch: 1.0, "scalar torch tensor"),
    (lambda policy, batch: policy.theta.sum() * float("nan"), "non-finite"),
])
def test_bad_losses_are_user_errors(loss, message):
    with pytest.raises(UserError, match=message):
        derive.gradcheck.loss(loss, **FAST)


@pytest.mark.parametrize("options, message", [
    (dict(framework="tf"), "framework"), (dict(layout="stacked"), "layout"), (dict(batches=3), "batches"),
    (dict(alpha=1.5), "alpha"), (dict(steps=4), "steps"), (dict(seed=-1), "seed"), (dict(batch_envs=0), "batch_envs"),
])
def test_bad_options_are_user_errors(options, message):
    with pytest.raises(UserError, match=message):
        derive.gradcheck.loss(G.reinforce, **options)


def test_assert_loss_raises_with_the_report():
    with pytest.raises(AssertionError, match="smallest MDP where the bias shows"):
        derive.gradcheck.assert_loss(G.undetached_value, batches=150)


# -- JAX ---------------------------------------------------------------------------------------

# JAX runs in a child process: once imported, JAX's threads make every later os.fork() in this
# test process (the suite's time-limited children) a deadlock risk.
_JAX = """
import sys
import numpy as np
import jax.numpy as jnp
sys.path.insert(0, {tests!r})
import loss_gallery as G
import derive
import derive.gradcheck
from derive.losscheck import collect, loss_battery, observations

derive.gradcheck.fresh_seed = lambda: 0  # the child's battery is seed 0's too, as _gallery_seed pins in-process


def reinforce(policy, batch):
    logp = policy.log_prob(batch.obs, batch.actions) * batch.mask
    R = (batch.rewards * batch.gamma ** jnp.arange(batch.steps)[:, None]).sum(0)
    return -(logp.sum(0) * R).mean()


def entropy_wrong_sign(policy, batch):
    return reinforce(policy, batch) + 0.1 * (policy.entropy(batch.obs) * batch.mask).sum(0).mean()


def log_probs_averaged(policy, batch):
    logp = policy.log_prob(batch.obs, batch.actions) * batch.mask
    disc = batch.gamma ** jnp.arange(batch.steps)[:, None]
    G_ = jnp.flip(jnp.cumsum(jnp.flip(batch.rewards * disc, 0), 0), 0)
    return -(logp.sum(0) / batch.lengths * G_.sum(0)).mean()


fast = dict(batches=150, minimize=False)
{body}
"""


def _run_jax(body: str) -> None:
    pytest.importorskip("jax", reason="jax is an optional extra: pip install 'derive[jax]'")
    code = _JAX.format(tests=str(ROOT / "tests"), body=body)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]


def test_jax_losses():
    _run_jax("""
assert derive.gradcheck.loss(reinforce, framework="jax", batches=150).verdict == "unbiased"
assert derive.gradcheck.loss(log_probs_averaged, framework="jax", mdps=loss_battery(seed=0)[1:2],
                             **fast).verdict == "biased"
""")


@pytest.mark.slow
def test_jax_losses_at_the_defaults():
    _run_jax("""
assert derive.gradcheck.loss(reinforce, framework="jax").verdict == "unbiased"
assert derive.gradcheck.loss(entropy_wrong_sign, framework="jax").verdict == "biased"
assert derive.gradcheck.loss(log_probs_averaged, framework="jax").verdict == "biased"
""")


def test_jax_and_torch_give_the_same_gradients():
    _run_jax("""
from derive.losscheck_jax import Adapter as JaxAdapter
from derive.losscheck_torch import Adapter as TorchAdapter

problem = loss_battery(seed=0)[4]  # the linear softmax
roll = collect(problem, layout="episodes", n_batches=5, batch_envs=8, steps=None, rng=np.random.default_rng(0))
obs = observations(problem)
np.testing.assert_allclose(JaxAdapter(problem, obs).gradients(reinforce, roll),
                           TorchAdapter(problem, obs).gradients(G.reinforce, roll), rtol=1e-10, atol=1e-12)
""")


# -- command line -----------------------------------------------------------------------------


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "derive", "gradcheck", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def user_dir(tmp_path):
    (tmp_path / "myloss.py").write_text((ROOT / "tests" / "loss_gallery.py").read_text())
    (tmp_path / "plain.py").write_text("def loss(policy, batch):\n    return 0.0\n")  # no torch: errors come first
    return tmp_path


def test_cli_exit_codes(user_dir):
    ok = _cli("myloss:reinforce", "--loss", "--batches", "100", "--seed", "0", cwd=user_dir)
    assert ok.returncode == 0 and "PASSED: unbiased" in ok.stdout, ok.stderr
    bad = _cli("myloss:undetached_value", "--loss", "--batches", "100", "--seed", "0", "--json", "--save-minimal", "m.json",
               "--no-minimize",
               cwd=user_dir)
    assert bad.returncode == 1, bad.stderr
    out = json.loads(bad.stdout)
    assert out["verdict"] == "biased" and out["minimal"]["S"] >= 1 and (user_dir / "m.json").is_file()


@pytest.mark.parametrize("args", [["plain:nope", "--loss"], ["plain:loss", "--loss", "--variance"],
                                  ["plain:loss", "--batches", "100"], ["plain:loss", "--loss", "--batches", "2"],
                                  ["plain:loss", "--loss", "--framework", "tf"], ["plain:loss", "--loss", "--steps", "4"]])
def test_cli_bad_input_is_one_line_exit_2(user_dir, args):
    r = _cli(*args, cwd=user_dir)
    assert r.returncode == 2 and r.stderr.count("\n") <= 2 and "Traceback" not in r.stderr, (args, r.stderr)
