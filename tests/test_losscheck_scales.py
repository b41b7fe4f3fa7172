"""derive.gradcheck.loss: the plain scales c may take, one rule on every MDP, the wrong way, and truncated returns."""

import json
import math
import random
from fractions import Fraction

import numpy as np
import pytest

import derive
from derive.exact import DynamicProgram
from derive.losscheck import LossProblem, _persistent_problem, collect, episodes_kept, loss_battery, terminal_states
from derive.mdp import FiniteMDP
from derive.policies import TabularSoftmax

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install 'derive[torch]'")

import loss_gallery as G  # noqa: E402

FAST = dict(batches=150, minimize=False, seed=0)


# -- E[K]: the episodes of an env that begin early enough to finish in the window ----------------


def test_episodes_kept_without_termination_is_the_exact_count():
    # Every episode lasts H + 1 steps and one reset step: starts at 0, H+2, 2(H+2), ...
    mdp = FiniteMDP.from_tables([Fraction(1, 2)] * 2, [[[Fraction(1, 2)] * 2] * 2] * 2, [[[Fraction(1)] * 2] * 2] * 2,
                                horizon=3)
    p = LossProblem(mdp, TabularSoftmax(2, 2), np.zeros(4), terminal_states(mdp))
    for T in range(1, 30):
        assert episodes_kept(p, T) == (0 if T < 4 else (T - 4) // 5 + 1)


@pytest.mark.parametrize("index", [1, 3])
def test_episodes_kept_matches_the_sampled_windows(index):
    problem = loss_battery(seed=3)[index]
    T = 4 * (problem.mdp.horizon + 2)
    roll = collect(problem, layout="vector", n_batches=200, batch_envs=16, steps=T, rng=np.random.default_rng(1))
    done = roll.terminated | roll.truncated
    # an episode begins at slot 0 and two slots after each end (the reset step sits between)
    begins = np.zeros_like(done)
    begins[:, 0] = True
    begins[:, 2:] = done[:, :-2]
    counts = begins[:, : T - problem.mdp.horizon].sum(axis=1).ravel()  # slots 0 .. T − (H+1)
    se = counts.std(ddof=1) / math.sqrt(counts.size)
    assert abs(counts.mean() - episodes_kept(problem, T)) < 5 * se  # the sampler against the renewal DP
    assert abs(counts.mean() - episodes_kept(problem, T) - 0.5) > 5 * se  # and the check can fail


# -- one constant on every MDP (the statistics: tests/test_loss_scale.py) ----------------------


def masked_slot_mean(policy, batch):
    """Vector layout: the mean over the kept slots, (x · mask).sum() / mask.sum(): c = 1 / E[kept length], per MDP."""
    k, live, complete = G.episode_clock(batch)
    done = batch.terminated | batch.truncated
    ret = G.rewards_to_go(batch.rewards, batch.gamma, done)
    logp = policy.log_prob(batch.obs, batch.actions)
    return -(logp * batch.gamma ** k.double() * ret * complete).sum() / complete.sum()


def rule_per_mdp(policy, batch):
    """Episodes layout: a mean over episodes on short MDPs, a sum over them on long ones (a per-task step size)."""
    loss = G.reinforce(policy, batch)
    return loss * batch.n_envs if batch.horizon >= 6 else loss


def test_a_scale_that_moves_with_the_mdp_is_biased_in_the_vector_layout():
    bad = derive.gradcheck.loss(masked_slot_mean, layout="vector", **FAST)
    assert bad.verdict == "biased", derive.losscheck.format_loss_result(bad)
    ok = derive.gradcheck.loss(G.reward_to_go_vector, layout="vector", **FAST)
    assert ok.verdict == "unbiased up to a positive constant", derive.losscheck.format_loss_result(ok)
    assert all(r.c_source.startswith("K/T") for r in ok.results)


def test_a_plain_scale_per_mdp_is_not_one_constant():
    bad = derive.gradcheck.loss(rule_per_mdp, **FAST)
    assert bad.verdict == "biased" and "moves with the MDP" in bad.reason, derive.losscheck.format_loss_result(bad)
    assert all(r.p_known > 0.01 for r in bad.results)  # each MDP alone holds a plain scale
    assert bad.p_value == bad.p_one_rule <= bad.alpha  # the p behind the verdict is the rejection's
    # the direction passed, so the headline must not say E[−∇loss] is off every multiple of ∇J
    assert "for any c" not in derive.losscheck.format_loss_result(bad).splitlines()[0]
    ok = derive.gradcheck.loss(lambda policy, batch: G.reinforce(policy, batch) * batch.n_envs, **FAST)
    assert ok.verdict == "unbiased up to a positive constant"


def half(policy, batch):
    return 0.5 * G.reinforce(policy, batch)


def per_horizon(policy, batch):
    """REINFORCE divided by H + 2 of each MDP: c = 1/(T + 1), a c that moves with the MDP beside every rule."""
    return G.reinforce(policy, batch) / (batch.horizon + 2)


def per_length(policy, batch):
    """REINFORCE divided by H + 1 = T: c = 1/T, the scale of a mean over the N·T slots."""
    return G.reinforce(policy, batch) / (batch.horizon + 1)


def test_a_constant_factor_passes_up_to_it_and_says_where_it_comes_from():
    r = derive.gradcheck.loss(half, **FAST)
    text = derive.losscheck.format_loss_result(r)
    assert r.verdict == "unbiased up to a positive constant" and r.passed, text
    assert r.scale.rule == "1" and abs(r.scale.k - 0.5) < 3 * r.scale.k_stderr and not r.scale.plain
    assert "a constant factor" in text and "the same on every MDP" in text and "N with k =" in text  # 1 ∝ N: said
    assert all(x.c_source.startswith(f"{r.scale.k:.4g} × 1") for x in r.results)
    fit = json.loads(json.dumps(r.to_dict(), allow_nan=False))["scale"]
    assert fit["rule"] == "1" and fit["df"] == len(r.results) - 1 and fit["same_fit"][0][0] == "N"


def test_a_factor_that_moves_with_the_mdp_is_biased_through_homogeneity():
    bad = derive.gradcheck.loss(per_horizon, **FAST)
    assert bad.verdict == "biased" and "moves with the MDP" in bad.reason, derive.losscheck.format_loss_result(bad)
    assert min(r.p_scaled_adj for r in bad.results) > bad.alpha  # the direction alone passes: c/ρ caught it
    assert bad.minimal is None and len(bad.pair) == 2 and bad.pair_p <= bad.alpha  # two MDPs show it, not one
    twin = derive.gradcheck.loss(per_length, **FAST)  # c = 1/T on every MDP: the plain scale itself
    assert twin.verdict == "unbiased up to a positive constant" and twin.scale.rule == "1/T" and twin.scale.plain


def test_a_negative_constant_factor_points_the_wrong_way():
    r = derive.gradcheck.loss(lambda policy, batch: -half(policy, batch), **FAST)
    assert r.verdict == "points the wrong way" and not r.passed
    assert r.scale.k < 0 and abs(r.scale.k + 0.5) < 3 * r.scale.k_stderr
    moving = derive.gradcheck.loss(lambda policy, batch: -per_horizon(policy, batch), **FAST)
    assert moving.verdict == "biased"  # negative but moving with the MDP: not the negation of a pass


def test_one_mdp_cannot_tell_a_constant_factor_from_a_moving_c():
    one = loss_battery(seed=0)[3:4]
    r = derive.gradcheck.loss(half, mdps=one, **FAST)
    assert r.verdict == "undecided" and not r.passed and "one MDP" in r.reason, derive.losscheck.format_loss_result(r)
    twin = derive.gradcheck.loss(G.reinforce, mdps=one, **FAST)  # c = 1, a plain scale: nothing to compare is needed
    assert twin.verdict == "unbiased"
    two = derive.gradcheck.loss(half, mdps=loss_battery(seed=0)[3:5], **FAST)  # two MDPs: the constant is tested
    assert two.verdict == "unbiased up to a positive constant"


def test_a_constant_factor_passes_in_the_vector_layout_too():
    def stray(policy, batch):
        return 1.2 * G.reward_to_go_vector(policy, batch)

    r = derive.gradcheck.loss(stray, layout="vector", **FAST)
    assert r.verdict == "unbiased up to a positive constant", derive.losscheck.format_loss_result(r)
    assert r.scale.rule == "K/T" and abs(r.scale.k - 1.2) < 3 * r.scale.k_stderr


# -- the wrong way: only when the negation would pass ----------------------------------------------


def test_points_the_wrong_way_only_when_the_negation_would_pass():
    flipped = derive.gradcheck.loss(lambda policy, batch: -G.reward_to_go(policy, batch), **FAST)
    assert flipped.verdict == "points the wrong way"
    assert all(r.c_source.startswith("−(1/T") for r in flipped.results if r.size[2] > 0)
    scaled = derive.gradcheck.loss(lambda policy, batch: -1.3 * G.reinforce(policy, batch), **FAST)
    assert scaled.verdict == "points the wrong way"  # −1.3 on every MDP: 1.3 × REINFORCE would pass
    mixed = derive.gradcheck.loss(lambda policy, batch: -rule_per_mdp(policy, batch), **FAST)
    assert mixed.verdict == "biased"


# -- truncated returns: the battery's persistent MDP ---------------------------------------------


def _window_mean(p, n):
    """Exact E[Σ_t ∇log π_t · γ^t Σ_{k=t}^{t+n−1} γ^{k−t} r_k] by dynamic programming (floats)."""
    mu, P, R = (np.asarray(x, dtype=float) for x in p.mdp.arrays())
    H, g = p.mdp.horizon, float(p.mdp.discount)
    pi, sc = p.policy.float_probabilities(p.theta), p.policy.float_scores(p.theta)
    rbar = (P * R).sum(-1)
    Q, V = [np.zeros_like(rbar)], np.zeros(len(mu))
    for _ in range(H + 1):
        Q.append(rbar + g * P @ V)
        V = (pi * Q[-1]).sum(1)
    d, out = mu, 0.0
    for t in range(H + 1):
        out = out + g ** t * np.einsum("s,sa,sak,sa->k", d, pi, sc, Q[min(n, H - t + 1)])
        d = np.einsum("s,sa,sat->t", d, pi, P)
    return out


def test_a_return_cut_after_n_steps_is_far_from_every_plain_multiple_on_the_persistent_mdp():
    for seed in range(40):
        p = loss_battery(seed=seed)[3]
        _, grad = DynamicProgram(p.mdp, p.policy).value_and_grad(p.theta)
        grad = np.asarray(grad, dtype=float)
        np.testing.assert_allclose(_window_mean(p, p.mdp.horizon + 1), grad, atol=1e-9)  # the true twin: no cut
        for n in range(1, 9):
            m = _window_mean(p, n)
            c = m @ grad / (grad @ grad)
            off = np.linalg.norm(m - c * grad) / max(np.linalg.norm(c * grad), 1e-300)
            assert abs(c - 1) > 0.2 or off > 0.3, (seed, n, c, off)


def test_random_full_support_mdps_hide_a_cut_return():
    """Why the battery has a persistent MDP: on random full-support tables a 3-step return is close to ∇J."""
    from derive.losscheck import _random_problem

    def distance(p):
        _, grad = DynamicProgram(p.mdp, p.policy).value_and_grad(p.theta)
        grad = np.asarray(grad, dtype=float)
        return np.linalg.norm(_window_mean(p, 3) - grad) / np.linalg.norm(grad)

    rng = random.Random(0)
    mixing = [distance(_random_problem(rng, 4, 3, 11, Fraction(1), n_terminal=1)) for _ in range(30)]
    lasting = [distance(_persistent_problem(rng, 2, 1, 11, Fraction(1))) for _ in range(30)]
    assert np.median(mixing) < 0.2 and min(lasting) > 0.5  # measured: median 0.12; smallest 0.56


def lookahead(n):
    return lambda policy, batch: G.cut_return(policy, batch, n=n)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_a_return_cut_after_n_steps_is_rejected(n):
    assert derive.gradcheck.loss(lookahead(n), **FAST).verdict == "biased"


def test_the_uncut_window_passes():
    assert derive.gradcheck.loss(lookahead(10 ** 6), **FAST).verdict == "unbiased"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_cut_returns_are_rejected_at_the_defaults(seed):
    for n in (2, 5, 8):
        assert derive.gradcheck.loss(lookahead(n), seed=seed, minimize=False).verdict == "biased", n


# -- the gallery table of docs/gradcheck.md ------------------------------------------------------


def test_the_docs_gallery_table_has_the_gallerys_rows_and_pinned_verdicts():
    """The table is printed by `python tests/loss_gallery.py` (minutes); here its rows and verdicts are held to the gallery."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "gradcheck.md").read_text()
    head = "| loss | layout | verdict | p | c per MDP |"
    lines = text[text.index(head):].splitlines()[2:]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[: len(lines)] if ln.startswith("|")]
    rows = rows[: next((i for i, r in enumerate(rows) if len(r) != 8), len(rows))]
    assert [(r[0], r[1]) for r in rows] == [(name, layout) for name, _, layout, _, _ in G.table_rows()]
    verdict = {r[0]: r[2] for r in rows}
    for name, (_, _, c) in G.CORRECT.items():
        assert verdict[name] == ("unbiased" if c == "1" else "unbiased up to a positive constant"), name
    for name in list(G.BUGGY) + list(G.BY_DESIGN):
        assert verdict[name] == "biased", name
    for r in rows:
        assert (r[7] == "—") == (r[2] != "biased") or r[0] in G.BY_DESIGN  # a smallest MDP exactly when biased
