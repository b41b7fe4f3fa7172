"""Rows as equations: two equations on one row are never one chain; a row continuing the one above is one equation."""

import pytest

from derive.read import check_text
from derive.read.document import ESTIMATE, FAILS, HOLDS, LONE, NO_CLAIM, NOT_UNDERSTOOD
from derive.read.extract import extract_rows, mask
from derive.read.rows import environment_at, equations

GRAD_MU = r"\nabla_\theta \mu(s_0)"          # 0: μ does not depend on θ
GRAD_R = r"\nabla_\theta R(\tau)"            # 0
SUM_GRAD = r"\sum_\tau \nabla_\theta P(\tau;\theta) R(\tau)"   # = ∇J
SUM_PR = r"\sum_\tau P(\tau;\theta) R(\tau)"                   # = J, not 0 on the battery


def _check(text, path="doc.md"):
    return check_text(text, path=path, seed=7, n_random=2, minimize=False)


def _claims(report):
    return [(ln.reading, ln.verdict) for ln in report.lines if ln.kind != "result"]


def _texts(text):
    rows = extract_rows(text)
    return [eq.row.text for eq in equations(rows, text, mask(text))]


# -- two equations side by side ---------------------------------------------------------------

@pytest.mark.parametrize("row", [
    rf"{GRAD_MU} &= 0 & J(\theta) &= 0",           # the second column pair
    rf"{GRAD_MU} &= 0 && J(\theta) = 0",           # the && idiom
])
def test_align_column_pairs_are_two_equations_and_a_false_one_fails(row):
    rep = _check(f"\\begin{{align*}}\n{row}\n\\end{{align*}}\n", "doc.tex")
    assert _claims(rep) == [(r"\nabla_\theta \mu(s_{0}) = 0", HOLDS), (r"J(\theta) = 0", FAILS)]
    assert not rep.verified


def test_align_column_pairs_true_twin_verifies():
    rep = _check(f"\\begin{{align*}}\n{GRAD_MU} &= 0 & {GRAD_R} &= 0\n\\end{{align*}}\n", "doc.tex")
    assert [v for _, v in _claims(rep)] == [HOLDS, HOLDS] and rep.verified


def test_alignat_and_aligned_split_their_pairs_too():
    alignat = f"\\begin{{alignat*}}{{2}}\n{GRAD_MU} &= 0 &\\quad J(\\theta) &= 0\n\\end{{alignat*}}\n"
    aligned = f"$$\\begin{{aligned}} {GRAD_MU} &= 0 & J(\\theta) &= 0 \\end{{aligned}}$$"
    for text in (alignat, aligned):
        assert [v for _, v in _claims(_check(text, "doc.tex"))] == [HOLDS, FAILS]


def test_eqnarray_columns_stay_one_equation():
    assert _texts(r"\begin{eqnarray} J(\theta) &=& " + SUM_PR + r" \end{eqnarray}") == [
        r"J(\theta)  =  " + SUM_PR]


@pytest.mark.parametrize("gap", [r"\qquad", r"\quad", r"\quad\text{and}\quad", r"\text{ and }", r"\hspace{1cm}",
                                 r", \quad", r"\quad \text{hence} \quad"])
def test_a_wide_space_between_two_relations_separates_two_equations(gap):
    rep = _check(f"$${GRAD_MU} = 0 {gap} J(\\theta) = 0$$")
    assert [v for _, v in _claims(rep)] == [HOLDS, FAILS], _claims(rep)
    twin = _check(f"$${GRAD_MU} = 0 {gap} {GRAD_R} = 0$$")
    assert [v for _, v in _claims(twin)] == [HOLDS, HOLDS] and twin.verified


@pytest.mark.parametrize("gap", [r"\;", r",\;", r"~", r"\:", r"\,"])
def test_a_narrow_space_between_two_relations_is_refused_never_multiplied(gap):
    rep = _check(f"$${GRAD_MU} = 0 {gap} J(\\theta) = 0$$")
    assert [v for _, v in _claims(rep)] == [NOT_UNDERSTOOD] and "between two relations" in rep.lines[0].detail


def test_a_narrow_space_with_one_relation_is_still_a_product():
    rep = _check(r"$$J(\theta) = \sum_\tau P(\tau;\theta) \; R(\tau)$$")
    assert [v for _, v in _claims(rep)] == [HOLDS]
    rep = _check(r"$$J(\theta) = \sum_\tau P(\tau;\theta) \; R(\tau) = \sum_\tau R(\tau) \, P(\tau;\theta)$$")
    assert [v for _, v in _claims(rep)] == [NOT_UNDERSTOOD]   # between two relations: refused, not guessed


def test_an_equals_row_continues_the_equation_of_its_own_column_pair():
    head = f"\\begin{{align*}}\n{GRAD_MU} &= 0 & J(\\theta) &= {SUM_PR} \\\\\n"
    right = _check(head + "&& &= 0\n\\end{align*}\n", "doc.tex")     # continues J = Σ P R: false
    assert _claims(right)[-1] == (r"(\sum_{\tau} P(\tau;\theta) R(\tau)) = 0", FAILS)
    left = _check(head + "&= 0\n\\end{align*}\n", "doc.tex")         # continues ∇μ = 0: true
    assert _claims(left)[-1] == ("(0) = 0", HOLDS)


def test_an_equals_row_after_equations_side_by_side_without_columns_is_refused():
    rep = _check(f"$${GRAD_MU} = 0 \\qquad J(\\theta) = {SUM_PR}$$\n\n$$= 0$$")
    assert _claims(rep)[-1][1] == NOT_UNDERSTOOD and "side by side" in rep.lines[-1].detail


# -- a row continuing the one above -----------------------------------------------------------

@pytest.mark.parametrize("text,path", [
    (f"\\begin{{align*}}\n\\nabla_\\theta J(\\theta) &= {SUM_GRAD} \\\\\n&\\qquad + {SUM_PR}\n\\end{{align*}}\n", "doc.tex"),
    (f"$$\\nabla_\\theta J(\\theta) = {SUM_GRAD} \\\\ + {SUM_PR}$$", "doc.md"),
    (f"$$\\begin{{aligned}} \\nabla_\\theta J(\\theta) &= {SUM_GRAD} \\\\ &\\qquad + {SUM_PR} \\end{{aligned}}$$", "doc.md"),
    (f"\\begin{{multline}}\n\\nabla_\\theta J(\\theta) = {SUM_GRAD} \\\\\n- {SUM_PR}\n\\end{{multline}}\n", "doc.tex"),
    (f"\\begin{{eqnarray}}\n\\nabla_\\theta J(\\theta) &=& {SUM_GRAD} \\\\\n&& + {SUM_PR}\n\\end{{eqnarray}}\n", "doc.tex"),
    (f"\\begin{{align*}}\n\\nabla_\\theta J(\\theta) &= {SUM_GRAD} \\\\\n&\\qquad \\left(1 + \\gamma\\right)\n\\end{{align*}}\n",
     "doc.tex"),
    (f"$$\\nabla_\\theta J(\\theta) = \\left( {SUM_GRAD} \\\\ + {SUM_PR} \\right)$$", "doc.md"),
])
def test_a_continued_right_side_is_checked_whole_and_a_false_one_fails(text, path):
    rep = _check(text, path)
    (line,) = [ln for ln in rep.lines if ln.kind != "result"]
    assert line.verdict == FAILS and r"\\" in line.latex, _claims(rep)
    assert not rep.verified


@pytest.mark.parametrize("text,path", [
    (f"\\begin{{align*}}\n\\nabla_\\theta J(\\theta) &= {SUM_GRAD} \\\\\n&\\qquad + {GRAD_MU}\n\\end{{align*}}\n", "doc.tex"),
    (f"\\begin{{multline}}\n\\nabla_\\theta J(\\theta) = {SUM_GRAD} \\\\\n- {GRAD_R}\n\\end{{multline}}\n", "doc.tex"),
    (f"\\begin{{align*}}\n\\nabla_\\theta J(\\theta) &= {SUM_GRAD} \\\\\n&\\qquad \\left(1 + 0\\right)\n\\end{{align*}}\n", "doc.tex"),
])
def test_a_continued_right_side_true_twin_holds(text, path):
    rep = _check(text, path)
    assert [v for _, v in _claims(rep)] == [HOLDS] and rep.verified


def test_a_row_with_its_own_negative_left_side_is_the_next_equation():
    rep = _check(f"\\begin{{align*}}\nJ(\\theta) &= {SUM_PR} \\\\\n-J(\\theta) &= -{SUM_PR}\n\\end{{align*}}\n", "doc.tex")
    assert [v for _, v in _claims(rep)] == [HOLDS, HOLDS]


def test_gather_rows_are_never_joined_and_a_lone_term_after_an_equation_is_not_understood():
    rep = _check(f"\\begin{{gather}}\n{GRAD_MU} = 0 \\\\\n+ J(\\theta)\n\\end{{gather}}\n", "doc.tex")
    assert [v for _, v in _claims(rep)] == [HOLDS, NOT_UNDERSTOOD] and not rep.verified


def test_a_display_starting_with_an_operator_after_an_equation_is_not_understood():
    rep = _check(f"$$\\nabla_\\theta J(\\theta) = {SUM_GRAD}$$\n\n$$+ {SUM_PR}$$")
    assert [v for _, v in _claims(rep)] == [HOLDS, NOT_UNDERSTOOD] and not rep.verified


def test_environment_at_finds_the_innermost_environment():
    text = r"$$\begin{aligned} a &= b \end{aligned}$$ \begin{align} c \end{align} $$d$$"
    assert environment_at(text, [text.index("a &"), text.index("c \\"), text.index("d$")]) == ["aligned", "align", ""]


# -- nothing shown is no pass ------------------------------------------------------------------

def test_a_document_where_nothing_held_is_not_verified():
    rep = _check(f"The objective is\n\n$${SUM_PR}$$\n\nand the update is\n\n"
                 r"$$\theta \leftarrow \theta - \alpha \nabla_\theta J(\theta)$$")
    assert not rep.verified
    only_update = _check(r"$$\theta \leftarrow \theta - \alpha \nabla_\theta J(\theta)$$")
    assert all(ln.ok for ln in only_update.lines) and not only_update.verified   # every row neutral, none held
    assert rep.lines[0].verdict == LONE   # displayed on its own and continued by no row: said, no pass
    twin = _check(f"The objective is\n\n$${SUM_PR}$$\n\nwhich is\n\n$$= J(\\theta)$$")
    assert [v for _, v in _claims(twin)] == [NO_CLAIM, HOLDS] and twin.verified
    mention = _check(f"The objective $${SUM_PR}$$ is maximised; note\n\n$${GRAD_MU} = 0$$")
    assert [v for _, v in _claims(mention)] == [NO_CLAIM, HOLDS] and mention.verified


# -- '=' after a displayed aside ---------------------------------------------------------------

ASIDE = (f"The objective:\n\n$$J(\\theta) = {SUM_PR}$$\n\nWhat we need is the gradient "
         f"$$\\nabla_\\theta {SUM_PR}$$ and it simplifies:\n\n$$= {{}}$$\n")


def test_an_equals_row_after_a_displayed_aside_it_does_not_use_is_not_understood():
    rep = _check(ASIDE.format(SUM_PR))
    assert _claims(rep)[-1][1] == NOT_UNDERSTOOD and "does it continue that expression" in rep.lines[-1].detail
    assert not rep.verified


def test_an_equals_row_that_uses_the_aside_continues_the_chain_and_says_which_side():
    # Seed 000's "multiply by $$P/P$$": the aside is inside the step, the step continues the chain.
    text = (f"$$J(\\theta) = {SUM_PR}$$\n\nWe multiply by $$\\frac{{P(\\tau;\\theta)}}{{P(\\tau;\\theta)}}$$ here\n\n"
            r"$$= \sum_\tau \frac{P(\tau;\theta)}{P(\tau;\theta)} P(\tau;\theta) R(\tau)$$")
    rep = _check(text)
    last = [ln for ln in rep.lines if ln.kind != "result"][-1]
    assert last.verdict == HOLDS and last.reading.startswith(r"(\sum_{\tau} P(\tau;\theta) R(\tau)) = ")
    assert any(n.startswith("continues line 1") for n in last.notes)


# -- ≈ chains ----------------------------------------------------------------------------------

def test_a_chain_with_an_approx_step_ends_in_an_estimate_never_an_equality():
    text = (r"$$J(\theta) = \sum_\tau P(\tau;\theta) R(\tau) \approx \frac{1}{m} \sum_{i=1}^{m} R(\tau^{(i)})$$")
    rep = _check(text)
    (result,) = [ln for ln in rep.lines if ln.kind == "result"]
    assert result.verdict == ESTIMATE and r"\approx" in result.reading and " = " not in result.reading
    # its twin with a wrong estimate shows nothing
    wrong = _check(text.replace(r"R(\tau^{(i)})", r"R(\tau^{(i)})^2"))
    assert not [ln for ln in wrong.lines if ln.kind == "result" and ln.ok]


def test_an_equals_row_after_an_aside_following_a_bare_expression_is_not_understood():
    text = (f"The objective\n\n$${SUM_PR}$$\n\nWhat we need is the gradient $$\\nabla_\\theta {SUM_PR}$$ and it "
            f"simplifies:\n\n$$= {SUM_PR}$$\n")
    rep = _check(text)
    assert _claims(rep)[-1][1] == NOT_UNDERSTOOD and not rep.verified


def test_a_macro_that_brings_a_space_between_two_relations_is_refused():
    text = f"\\newcommand{{\\sep}}{{\\qquad}}\n\n$${GRAD_MU} = 0 \\sep J(\\theta) = 0$$"
    rep = _check(text)
    assert [ln.verdict for ln in rep.lines] == [NOT_UNDERSTOOD] and "macro" in rep.lines[0].detail
    twin = _check(f"\\newcommand{{\\g}}{{\\nabla_\\theta}}\n\n$$\\g \\mu(s_0) = 0$$")
    assert twin.verified


@pytest.mark.parametrize("env", ["split", "multline"])
def test_a_row_with_its_own_left_side_inside_one_equation_is_refused(env):
    inner = f"\\begin{{{env}}}\n{GRAD_MU} &= 0 \\\\\nJ(\\theta) &= 0\n\\end{{{env}}}\n"
    text = f"\\begin{{equation}}\n{inner}\\end{{equation}}\n" if env == "split" else inner.replace("&", "")
    rep = _check(text, "doc.tex")
    assert [v for _, v in _claims(rep)] == [HOLDS, NOT_UNDERSTOOD] and not rep.verified
    twin = _check(text.replace("J(\\theta) &= 0", "&= 0").replace("J(\\theta) = 0", "= 0"), "doc.tex")
    assert [v for _, v in _claims(twin)] == [HOLDS, HOLDS] and twin.verified


def test_an_equals_row_under_an_expression_column_is_refused():
    # Pair 0 of the row above is an expression, not an equation: '=' there continues nothing derive can name.
    text = f"\\begin{{align*}}\n{SUM_PR} & J(\\theta) - J(\\theta) &= 0 \\\\\n&= 0\n\\end{{align*}}\n"
    rep = _check(text, "doc.tex")
    assert _claims(rep)[-1][1] == NOT_UNDERSTOOD and not rep.verified


def test_an_equals_piece_after_a_wide_space_continues_its_own_row():
    rep = _check(f"$$J(\\theta) = {SUM_PR} \\quad = 0$$")
    assert _claims(rep)[-1] == (r"(\sum_{\tau} P(\tau;\theta) R(\tau)) = 0", FAILS)
    twin = _check(f"$$J(\\theta) = {SUM_PR} \\quad = \\sum_\\tau R(\\tau) P(\\tau;\\theta)$$")
    assert [v for _, v in _claims(twin)] == [HOLDS, HOLDS] and twin.verified


def test_an_equals_row_after_inline_math_naming_an_expression_is_not_understood():
    text = (f"$$J(\\theta) = {SUM_PR}$$\n\nWhat we need is the gradient $\\nabla_\\theta {SUM_PR}$, and it "
            f"simplifies:\n\n$$= {SUM_PR}$$\n")
    rep = _check(text)
    assert _claims(rep)[-1][1] == NOT_UNDERSTOOD and "line 3" in rep.lines[-1].detail and not rep.verified
    # prose without math between the chain and the row: the row continues the chain
    twin = _check(text.replace(f"the gradient $\\nabla_\\theta {SUM_PR}$, and it", "that, and it")
                  .replace(f"$$= {SUM_PR}$$", r"$$= \sum_\tau R(\tau) P(\tau;\theta)$$"))
    assert [v for _, v in _claims(twin)][-2:] == [HOLDS, HOLDS] and twin.verified


def test_a_minus_row_with_its_own_relation_and_no_column_is_refused():
    # "0 = J \\ -J + 0 = 0": joined, both steps hold; as it looks, "0 = J" is false. Neither reading is taken.
    rep = _check(r"$$0 = J(\theta) \\ - J(\theta) + 0 = 0$$")
    assert [v for _, v in _claims(rep)] == [FAILS, NOT_UNDERSTOOD] and not rep.verified
    assert "negative left side" in rep.lines[-1].detail
    twin = _check(r"$$0 = J(\theta) - J(\theta) \\ + 0 = 0$$")   # '+' never starts a left side: joined
    assert [v for _, v in _claims(twin)] == [HOLDS] and twin.verified
