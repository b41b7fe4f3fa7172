"""The grammar and the transformer: each reading decided on purpose, each wrong reading rejected."""

import pytest
import sympy as sp

from derive.notation import (
    H, Expectation, Objective, Policy, Return, Sample, TrajectoryProbability, TrajectorySum, Transition,
    InitialDistribution, RewardProbability, a, gamma, grad, i, m, mu, r, s, t, tau, theta, u,
)
from derive.read.extract import Row
from derive.read.parse import NotUnderstood, parse_tree, read_row
from derive.read.transform import UNMARKED
from derive.symbolic import same_form


def read(tex, base=0):
    row = Row(tex, 1, 1, 0, 0, "display", "", tex)
    tree = parse_tree(row)
    assert not isinstance(tree, NotUnderstood), tree
    rd = read_row(row, tree, base=base)
    assert not isinstance(rd, NotUnderstood), rd
    return rd


def side(tex, base=0):
    rd = read(tex, base)
    (only,) = rd.sides
    return sp.sympify(only).xreplace({UNMARKED: tau})


def not_understood(tex, base=0):
    row = Row(tex, 3, 5, 0, 0, "display", "", tex)
    tree = parse_tree(row)
    out = tree if isinstance(tree, NotUnderstood) else read_row(row, tree, base=base)
    assert isinstance(out, NotUnderstood), out
    return out


@pytest.mark.parametrize("tex", [r"P(\tau;\theta)", r"P(\tau \mid \theta)", r"P(\tau|\theta)", r"\pi(\tau \mid \theta)"])
def test_trajectory_probability_spellings(tex):
    assert side(tex) == TrajectoryProbability(tau, theta)


def test_dynamics_in_either_argument_order():
    assert side(r"P(s_{t+1} \mid s_t, a_t)") == Transition(s(t + 1), s(t), a(t))
    assert side(r"P(s_{t+1} \mid a_t, s_t)") == Transition(s(t + 1), s(t), a(t))


def test_policy_spellings():
    want = Policy(a(t), s(t), theta)
    assert side(r"\pi_\theta(a_t \mid s_t)") == want
    assert side(r"\pi(a_t \mid s_t, \theta)") == want
    assert side(r"\pi_{\theta}(a_t|s_t)") == want


def test_policy_without_theta_is_rejected():
    assert "θ" in not_understood(r"\pi(a_t \mid s_t) = 1").message


def test_start_distribution_spellings():
    assert side(r"\mu(s_0)") == InitialDistribution(s(0))
    assert side(r"\rho_0(s_0)") == InitialDistribution(s(0))
    assert side(r"P(s_1)", base=1) == InitialDistribution(s(0))


def test_marginal_of_a_later_state_is_not_read_as_the_start_distribution():
    assert "marginal" in not_understood(r"P(s_3) = 1").message


def test_reward_probability_needs_matching_steps():
    assert side(r"P(r_t \mid a_t, s_t)") == RewardProbability(tau, t)
    assert "P(r_k | a_k, s_k)" in not_understood(r"P(r_t \mid a_{t+1}, s_t) = 1").message


def test_log_takes_one_factor():
    got = side(r"\log P(\tau;\theta) R(\tau)")
    assert isinstance(got, sp.Mul) and sp.log(TrajectoryProbability(tau, theta)) in got.args
    assert Return(tau) in got.args  # R is outside the log


def test_gradient_takes_one_factor_but_a_sum_takes_the_rest():
    got = side(r"\nabla_\theta P(\tau;\theta) R(\tau)")
    assert isinstance(got, sp.Mul) and grad(TrajectoryProbability(tau, theta)) in got.args
    got = side(r"\nabla_\theta \sum_\tau P(\tau;\theta) R(\tau)")
    assert isinstance(got, sp.Derivative) and isinstance(got.expr, TrajectorySum)


def test_sample_superscript_is_not_a_power():
    got = side(r"R(\tau^{(i)})")
    assert got == Return(Sample(i))
    assert "sample index" in not_understood(r"\gamma^{(i)} = 1").message
    assert side(r"s_t^{(i)}") == s(t, Sample(i))


def test_sample_mean_and_nested_sums():
    got = side(r"\frac{1}{m} \sum_{i=1}^{m} \sum_{t=0}^{H} \nabla_\theta \log \pi_\theta(a_t^{(i)} \mid s_t^{(i)}) R(\tau^{(i)})")
    assert m in got.free_symbols and i not in got.free_symbols


def test_one_based_time_is_shifted():
    got = side(r"\sum_{t=1}^{T} \gamma^{t-1} r_t", base=1)
    assert got == sp.Sum(gamma ** t * r(t), (t, 0, H))
    got0 = side(r"\sum_{t=0}^{H} \gamma^{t} r_t")
    assert got0 == got


def test_one_based_reading_is_not_the_zero_based_one():
    # The same text read with time from 0 would be a different (wrong) return.
    assert side(r"\sum_{t=1}^{T} \gamma^{t-1} r_t", base=0) != side(r"\sum_{t=1}^{T} \gamma^{t-1} r_t", base=1)


def test_expectation_and_integral():
    assert side(r"E_{\tau \sim \pi_\theta}[R(\tau)]") == Expectation(Return(tau), tau)
    assert side(r"\mathbb{E}_{\tau \sim \pi_{\theta}}\left[R(\tau)\right]") == Expectation(Return(tau), tau)
    got = side(r"\int_\tau R(\tau) \pi(\tau \mid \theta) d\tau")
    assert isinstance(got, TrajectorySum) and not got.support


def test_integral_over_something_else_is_rejected():
    assert "trajectories" in not_understood(r"\int_x f(x) dx = 1").message


def test_sum_over_tau_dividing_by_p_is_read_over_the_support():
    got = side(r"\sum_\tau \frac{P(\tau;\theta)}{P(\tau;\theta)} R(\tau)")
    assert isinstance(got, TrajectorySum) and got.support
    plain = side(r"\sum_\tau P(\tau;\theta) R(\tau)")
    assert not plain.support


def test_objective_spellings_and_reward_to_go_index():
    assert side(r"J(\theta)") == Objective(theta)
    assert side(r"J(\pi_\theta)") == Objective(theta)
    got = side(r"\sum_{t'=t}^{H} \gamma^{t'} r_{t'}")
    assert got == sp.Sum(gamma ** u * r(u), (u, t, H))


def test_hat_name_and_update_rule():
    rd = read(r"\nabla_\theta J(\theta) = \hat{g} = \frac{1}{m} \sum_{i=1}^{m} R(\tau^{(i)})")
    assert rd.relations == ["=", "="] and str(rd.sides[1]) == r"\hat{g}"
    rd = read(r"\theta \leftarrow \theta + \alpha \nabla_\theta J(\theta)")
    assert rd.relations == ["<-"]


def test_continuation_trailing_punctuation_and_therefore():
    rd = read(r"\therefore = \sum_\tau P(\tau;\theta) R(\tau).")
    assert rd.lead == "="
    rd = read(r"J(\theta) = \sum_\tau P(\tau;\theta) R(\tau),")
    assert len(rd.sides) == 2


def test_dots_pattern_reads_the_product_and_names_a_broken_factor():
    good = read(r"P(\tau;\theta) = \mu(s_0) \pi_\theta(a_0 \mid s_0) P(s_1 \mid s_0, a_0) \dots "
                r"\pi_\theta(a_H \mid s_H) P(s_{H+1} \mid s_H, a_H)")
    assert not good.patterns
    assert same_form(good.sides[1].xreplace({UNMARKED: tau}), sp.Mul(mu(), sp.Product(sp.Mul(Policy(a(t), s(t), theta), Transition(s(t + 1), s(t), a(t))),
                                                     (t, 0, H))))
    bad = read(r"P(\tau;\theta) = \mu(s_0) \pi_\theta(a_0 \mid s_0) P(s_1 \mid s_0, a_0) \dots "
               r"\pi_\theta(a_H \mid s_H) P(s_{H+1} \mid s_{H+1}, a_H)")
    ((written, expected),) = bad.patterns
    written, expected = written.xreplace({UNMARKED: tau}), expected.xreplace({UNMARKED: tau})
    assert written == Transition(s(H + 1), s(H + 1), a(H)) and expected == Transition(s(H + 1), s(H), a(H))


def test_unknown_command_is_not_understood_with_its_column():
    out = not_understood(r"J(\theta) = \xi(\tau)")
    assert out.line == 3 and out.column == 5 + len(r"J(\theta) = ")
    assert "unknown LaTeX" in out.message and r"\xi" in out.message


def test_unfinished_line_says_what_was_expected():
    out = not_understood(r"J(\theta) = \frac{1}{")
    assert "expected" in out.message or "ends" in out.message


def test_gradient_before_a_theta_dependent_factor_has_two_readings():
    rd = read(r"\nabla_\theta \log P(\tau;\theta) P(\tau;\theta) = 0")
    ((narrow, wide, why),) = rd.readings
    assert isinstance(wide, sp.Derivative) and isinstance(narrow, sp.Mul) and why == ("nabla",)
    # R is θ-free: ∇ has one meaning (only the log's scope is a question there)
    assert [why[0] for *_, why in read(r"\nabla_\theta \log P(\tau;\theta) R(\tau) = 0").readings] == ["log"]
    assert not read(r"\nabla_\theta \left[\log P(\tau;\theta)\right] P(\tau;\theta) = 0").readings  # brackets decide


def test_sizing_and_explicit_products_are_transparent():
    plain = side(r"P(\tau;\theta) \nabla_\theta \log P(\tau;\theta)")
    assert same_form(side(r"P(\tau;\theta) \cdot \nabla_\theta \log\big(P(\tau;\theta)\big)"), plain)
    assert same_form(side(r"P(\tau;\theta) * \nabla_\theta \log \left[P(\tau;\theta)\right]"), plain)


def test_general_lemma_holds_and_its_wrong_twin_fails():
    from derive.read.document import FAILS, HOLDS, _lemma_check

    rd = read(r"\nabla_x \log f(x) = \frac{\nabla_x f(x)}{f(x)}")
    assert _lemma_check(*rd.sides)[0] == HOLDS
    rd = read(r"\nabla_x \log f(x) = \frac{f(x)}{\nabla_x f(x)}")
    verdict, why = _lemma_check(*rd.sides)
    assert verdict == FAILS and "x^2 + 1" in why


# -- binders, \dots in the first terms, the scope of \log ------------------------------------------

def test_a_sum_over_a_sample_binds_it():
    got = side(r"\sum_{\tau^{(i)}} P(\tau^{(i)};\theta) R(\tau^{(i)})")
    assert isinstance(got, TrajectorySum) and not got.has(Sample)     # Σ_τ P(τ) R(τ): the sum's own τ
    assert same_form(got, side(r"\sum_\tau P(\tau;\theta) R(\tau)"))
    # A sample the sum does not bind stays a sample: Σ_{τ^(1)} P(τ^(1)) R(τ^(2)) is no Σ_τ P R.
    other = side(r"\sum_{\tau^{(1)}} P(\tau^{(1)};\theta) R(\tau^{(2)})")
    assert other.has(Sample(2)) and not other.has(Sample(1))
    assert "two trajectories" in not_understood(r"\sum_{\tau^{(1)}} P(\tau^{(1)};\theta) R(\tau) = 0").message


def _unmarked(pairs):
    return [tuple(e.xreplace({UNMARKED: tau}) for e in pair) for pair in pairs]


HEAD_OK = r"P(\tau;\theta) = \mu(s_0)\pi_\theta(a_0|s_0)P(s_1|s_0,a_0)\pi_\theta(a_1|s_1)\dots \pi_\theta(a_H|s_H)P(s_{H+1}|s_H,a_H)"


def test_dots_break_in_the_first_terms_is_named():
    good = read(HEAD_OK)
    assert not good.patterns
    bad = read(HEAD_OK.replace(r"\pi_\theta(a_1|s_1)", r"\pi_\theta(a_1|s_0)"))
    ((written, expected),) = _unmarked(bad.patterns)
    assert written == Policy(a(1), s(0), theta) and expected == Policy(a(1), s(1), theta)
    assert bad.min_horizon == 2          # the written first and last terms meet only from H = 2 on
    # the break in the very first factor, against the last terms
    first = read(HEAD_OK.replace(r"\pi_\theta(a_0|s_0)", r"\pi_\theta(a_0|s_1)"))
    ((written, expected),) = _unmarked(first.patterns)
    assert written == Policy(a(0), s(1), theta) and expected == Policy(a(0), s(0), theta)


def test_dots_break_in_a_product_ending_in_dots_is_named():
    good = read(r"P(\tau;\theta) = \mu(s_0)\pi_\theta(a_0|s_0)P(s_1|s_0,a_0)\pi_\theta(a_1|s_1)\dots")
    assert not good.patterns and isinstance(good.sides[1], sp.Mul)
    bad = read(r"P(\tau;\theta) = \mu(s_0)\pi_\theta(a_0|s_0)P(s_1|s_0,a_0)\pi_\theta(a_1|s_0)\dots")
    ((written, expected),) = _unmarked(bad.patterns)
    assert written == Policy(a(1), s(0), theta) and expected == Policy(a(1), s(1), theta)


def test_log_before_a_factor_has_two_readings_and_brackets_or_cdot_decide():
    ((narrow, wide, why),) = read(r"\log P(\tau;\theta) R(\tau) = 0").readings
    assert why[0] == "log" and same_form(narrow, sp.log(TrajectoryProbability(tau, theta)) * Return(tau))
    assert same_form(wide, sp.log(TrajectoryProbability(tau, theta) * Return(tau)))
    for one in (r"\log(P(\tau;\theta)) R(\tau) = 0", r"\log\left[P(\tau;\theta)\right] R(\tau) = 0",
                r"\log P(\tau;\theta) \cdot R(\tau) = 0", r"\log P(\tau;\theta) \log R(\tau) = 0",
                r"\log P(\tau;\theta) = 0"):
        assert not read(one).readings, one


def test_unbraced_frac_bare_sum_over_t_and_bare_nabla():
    assert same_form(side(r"\frac1m R(\tau^{(i)})"), side(r"\frac{1}{m} R(\tau^{(i)})"))
    assert side(r"\frac2m") == 2 / m
    not_understood(r"\frac12 = 1")     # two digits in a row: not read (as 12, or as 1/2) at all
    assert side(r"\sum_t \gamma^{t} r_t") == side(r"\sum_{t=0}^{H} \gamma^{t} r_t")
    assert side(r"\sum_t \gamma^{t-1} r_t", base=1) == side(r"\sum_{t=1}^{T} \gamma^{t-1} r_t", base=1)
    assert side(r"\sum_t \gamma^{t-1} r_t", base=1) != side(r"\sum_t \gamma^{t-1} r_t", base=0)
    rd = read(r"\nabla \sum_\tau P(\tau;\theta) R(\tau)")
    assert rd.sides[0] == side(r"\nabla_\theta \sum_\tau P(\tau;\theta) R(\tau)") and "∇_θ" in " ".join(rd.notes)
    assert "x" in not_understood(r"\sum_x R(\tau) = 0").message


def test_grammar_cache_lives_in_a_private_folder_not_the_shared_temporary_one(tmp_path, monkeypatch):
    """Lark loads its cache with pickle: a file in a folder others can write would run their code."""
    import os
    import tempfile

    from derive.read import parse

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = parse._cache_path("grammar text")
    assert path is not None and path.startswith(str(tmp_path / "derive"))
    assert not path.startswith(tempfile.gettempdir() + os.sep + ".lark")
    assert os.stat(tmp_path / "derive").st_mode & 0o077 == 0
    assert parse._cache_path("another grammar") != path      # the grammar is in the key

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "derive").mkdir(mode=0o777)
    os.chmod(shared / "derive", 0o777)                        # writable by others: never used
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared))
    assert parse._cache_path("grammar text") is None


# -- course notation: {} continuation, \mathop{\mathbb{E}}, labelled equalities ---------------------

from derive.read import check_text  # noqa: E402
from derive.read.document import FAILS as _FAILS, HOLDS as _HOLDS  # noqa: E402


def _verdicts(text, path="a.md"):
    rep = check_text(text, path=path, seed=7, n_random=2, minimize=False)
    return [ln.verdict for ln in rep.lines if ln.kind != "result"]


def test_an_empty_group_before_a_continued_right_side_is_nothing():
    body = r"\nabla_\theta J(\theta) &= \sum_\tau \nabla_\theta P(\tau;\theta) R(\tau) \\" "\n& {}+ "
    assert _verdicts("\\begin{align*}\n" + body + r"\nabla_\theta \mu(s_0)" + "\n\\end{align*}\n", "a.tex")[0] == _HOLDS
    assert _verdicts("\\begin{align*}\n" + body + r"\sum_\tau P(\tau;\theta) R(\tau)" + "\n\\end{align*}\n",
                     "a.tex")[0] == _FAILS
    # An argument left empty is still refused, never blanked.
    assert isinstance(parse_tree(Row(r"x^{} = 1", 1, 1, 0, 0, "display", "", "")), NotUnderstood)


@pytest.mark.parametrize("latex, verdict", [
    (r"\mathop{\mathbb{E}}_{\tau \sim \pi_\theta}\left[R(\tau)\right] = J(\theta)", _HOLDS),
    (r"\mathop{\mathbb{E}}_{\tau \sim \pi_\theta}\left[R(\tau)\right] = 2 J(\theta)", _FAILS),
    (r"\nabla_\theta J(\theta) \overset{(a)}{=} \sum_\tau \nabla_\theta P(\tau;\theta) R(\tau)", _HOLDS),
    (r"\nabla_\theta J(\theta) \overset{(a)}{=} \sum_\tau P(\tau;\theta) R(\tau)", _FAILS),
    (r"\nabla_\theta J(\theta) \stackrel{\text{log trick}}{=} \sum_\tau P(\tau;\theta) \nabla_\theta \log P(\tau;\theta) R(\tau)", _HOLDS),
])
def test_spinning_up_expectation_and_labelled_equalities(latex, verdict):
    assert _verdicts(f"$$\n{latex}\n$$\n") == [verdict]
