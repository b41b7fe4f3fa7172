"""derive.gradcheck: the gallery of classic policy-gradient bugs is rejected, correct estimators pass."""

import numpy as np
import pytest

from derive.errors import UserError
from derive.gradcheck import (
    DEFAULT_SAMPLES, GradcheckResult, Trajectories, assert_gradcheck, candidate_mdps, default_battery, gradcheck,
)
from derive.mdpfile import load
from derive.stats import DEFAULT_ALPHA
from gradcheck_gallery import BUGGY, CORRECT, reinforce, reward_to_go

EXAMPLE = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples" / "chain.json"


@pytest.mark.parametrize("name", list(CORRECT))
@pytest.mark.parametrize("seed", [1, 2])
def test_correct_estimators_pass(name, seed):
    result = gradcheck(CORRECT[name], seed=seed)
    assert result.passed and result.p_value > DEFAULT_ALPHA and result.minimal is None, result


@pytest.mark.parametrize("name", list(BUGGY))
def test_every_classic_bug_is_rejected_at_the_defaults(name):
    result = gradcheck(BUGGY[name], seed=1)
    assert not result.passed and result.p_value <= DEFAULT_ALPHA
    m = result.minimal
    assert m is not None and m.p_value <= DEFAULT_ALPHA
    assert np.max(np.abs(m.estimate - m.exact) / np.maximum(m.stderr, 1e-12)) > 3  # the bias is visible


def test_minimal_counterexample_is_smallest_candidate_that_rejects():
    # Averaging over time is harmless when H = 0, so the smallest failing MDP has H = 1.
    m = gradcheck(BUGGY["mean over time"], seed=1).minimal
    assert m.size == (1, 2, 1)
    # A sign flip shows on a one-state bandit.
    assert gradcheck(BUGGY["sign flip"], seed=1).minimal.size == (1, 2, 0)
    # Without the search the smallest failing battery MDP is reported.
    assert gradcheck(BUGGY["mean over time"], seed=1, minimize=False).minimal.name.startswith("battery")


def test_assert_gradcheck_passes_and_fails_with_a_readable_message():
    assert isinstance(assert_gradcheck(reward_to_go, seed=1), GradcheckResult)
    with pytest.raises(AssertionError) as info:
        assert_gradcheck(BUGGY["reward-to-go shifted by one"], seed=1)
    text = str(info.value)
    assert "FAILED" in text and "smallest MDP where the bias shows: S=1, A=2, H=1" in text
    assert "exact ∇J" in text and "estimated" in text and "(p < 1e-300, α = 0.01" in text


def test_false_alarm_rate_is_bounded_by_alpha():
    # 40 fixed seeds at α = 0.1 with 2,000 trajectories: Holm keeps the family rate <= α.
    alarms = sum(not gradcheck(reinforce, seed=s, samples=2_000, alpha=0.1, minimize=False).passed
                 for s in range(40))
    assert alarms <= 8  # binomial(40, 0.1): P(X > 8) < 0.05; observed far below
    # Its twin: a tiny bias is rejected at the same settings nearly always.
    biased = sum(not gradcheck(BUGGY["sign flip"], seed=s, samples=2_000, alpha=0.1, minimize=False).passed
                 for s in range(5))
    assert biased == 5


def test_trajectories_follow_the_documented_contract():
    seen = []

    def spy(tr: Trajectories):
        seen.append(tr)
        return reinforce(tr)

    gradcheck(spy, samples=200, n_random=4, seed=0)
    tr = seen[-1]
    H = tr.horizon
    assert tr.states.dtype == np.int64 and tr.states.shape == (100, H + 2)
    assert tr.actions.dtype == np.int64 and tr.actions.shape == (100, H + 1)
    assert tr.rewards.dtype == np.float64 and tr.rewards.shape == (100, H + 1)
    assert tr.theta.dtype == np.float64 and tr.theta.shape == (tr.n_params,)
    assert tr.scores().shape == (100, H + 1, tr.n_params)
    # rewards[:, t] is r(s_t, a_t, s_{t+1}): check against the MDP's table.
    mdp = default_battery(n_random=4, seed=0)[-1][0]
    _, _, r = mdp.arrays()
    assert np.allclose(tr.rewards, r[tr.states[:, :-1], tr.actions, tr.states[:, 1:]])


def test_terminal_states_need_no_masking():
    # examples/chain.json has an absorbing terminal state with reward 0: plain REINFORCE passes.
    problem = load(str(EXAMPLE))
    assert gradcheck(reinforce, mdps=[problem], samples=5_000, seed=1).passed
    assert not gradcheck(BUGGY["sign flip"], mdps=[problem], samples=5_000, seed=1).passed


def test_variance_option_compares_with_reinforce_on_the_same_trajectories():
    ok = gradcheck(reward_to_go, variance=True, seed=1)
    assert ok.variance_passed and all(r.variance_ratio <= 1 + 1e-9 for r in ok.results)

    def big_constant_baseline(tr):  # unbiased (constant baseline −50) but far noisier
        w = tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)
        return tr.scores().sum(axis=1) * (w.sum(axis=1) + 50.0)[:, None]

    noisy = gradcheck(big_constant_baseline, variance=True, seed=1)
    assert noisy.passed and noisy.variance_passed is False
    with pytest.raises(AssertionError, match="worse than REINFORCE"):
        assert_gradcheck(big_constant_baseline, variance=True, seed=1)


def test_user_mdps_as_triples_and_candidates_ordered_by_size():
    mdp, policy, theta = default_battery(n_random=2)[1]
    assert gradcheck(reinforce, mdps=[(mdp, policy, theta)], seed=1).passed
    sizes = [(m.n_states * m.n_actions, m.horizon) for m, _, _ in candidate_mdps()]
    assert sizes == sorted(sizes)


class _FakeTensor:
    """Stands in for a torch tensor: only .detach().cpu().numpy() is used."""

    def __init__(self, a):
        self.a = a

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a


def test_tensor_like_results_are_converted():
    assert gradcheck(lambda tr: _FakeTensor(reinforce(tr)), seed=1).passed
    assert not gradcheck(lambda tr: _FakeTensor(-reinforce(tr)), seed=1).passed


def test_torch_estimator_when_torch_is_installed():
    torch = pytest.importorskip("torch")

    def torch_reinforce(tr):
        logits = torch.tensor(tr.theta, requires_grad=True)
        S, A = tr.policy.n_states, tr.policy.n_actions
        logp = torch.log_softmax(logits.reshape(S, A), dim=1)
        R = torch.tensor((tr.rewards * tr.gamma ** np.arange(tr.horizon + 1)).sum(axis=1))
        s, a = torch.tensor(tr.states[:, :-1]), torch.tensor(tr.actions)
        rows = []
        for i in range(tr.m):
            (g,) = torch.autograd.grad(logp[s[i], a[i]].sum() * R[i], logits, retain_graph=True)
            rows.append(g)
        return torch.stack(rows)

    assert gradcheck(torch_reinforce, samples=300, n_random=2, seed=1).passed


@pytest.mark.parametrize("bad,message", [
    (lambda tr: reinforce(tr)[:-1], "shape \\["),
    (lambda tr: reinforce(tr)[:, :1], "shape"),
    (lambda tr: reinforce(tr) * np.nan, "non-finite"),
    (lambda tr: "oops", "float array"),
])
def test_wrong_estimator_output_is_a_user_error(bad, message):
    with pytest.raises(UserError, match=message):
        gradcheck(bad, samples=200, seed=1)


@pytest.mark.parametrize("options", [{"alpha": 0}, {"alpha": 1.5}, {"samples": 1}, {"n_random": 0}, {"mdps": []},
                                     {"mdps": [42]}, {"seed": -1}, {"batch_size": 0},
                                     {"samples": 150}, {"batch_size": 1.5}])
def test_bad_options_are_user_errors(options):
    with pytest.raises(UserError):
        gradcheck(reinforce, **options)


def test_default_sample_size_is_documented_value():
    assert gradcheck(reinforce, seed=1).results[0].samples == DEFAULT_SAMPLES


def test_linear_softmax_policies_through_the_policy_interface():
    from derive.policies import LinearSoftmax
    from numeric_mdps import two_state_mdp

    problem = (two_state_mdp(), LinearSoftmax((((1, 0), (0, 1)), ((1, 1), (0, -1)))), [0.2, -0.4])
    assert gradcheck(reward_to_go, mdps=[problem], samples=20_000, seed=1).passed
    assert not gradcheck(BUGGY["action-dependent baseline"], mdps=[problem], samples=20_000, seed=1).passed


def test_contract_holds_on_mdps_drawn_by_the_strategies():
    import math

    from hypothesis import given, settings

    from derive.strategies import problems

    @settings(max_examples=15, deadline=None)
    @given(problems(kinds=("tabular-softmax", "linear-softmax")))
    def check(problem):
        mdp, policy, point = problem
        theta = [math.log(z) for z in point]  # exact point z = e^θ
        seen = []
        gradcheck(lambda tr: seen.append(tr) or reinforce(tr), mdps=[(mdp, policy, theta)], samples=50, batch_size=25,
                  seed=1)
        tr = seen[0]
        _, P, r = mdp.arrays()
        s, a, s2 = tr.states[:, :-1], tr.actions, tr.states[:, 1:]
        assert np.array_equal(tr.rewards, r[s, a, s2])  # r_t = r(s_t, a_t, s_{t+1})
        assert np.all(P[s, a, s2] > 0)  # every sampled step is possible
        assert tr.states.shape == (25, mdp.horizon + 2) and tr.gamma == float(mdp.discount)

    check()
