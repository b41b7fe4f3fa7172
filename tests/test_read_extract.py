"""Extraction: display rows in order, with their source line and column and the prose before them."""

import pytest

from derive.read.extract import extract_rows, macros


def test_dollar_displays_rows_and_justification():
    text = "Intro.\n\nSo we have: $$J(\\theta) = 1$$\n\nNext:\n$$= 2 \\\\ = 3$$\n"
    rows = extract_rows(text)
    assert [r.text for r in rows] == ["J(\\theta) = 1", "= 2", "= 3"]
    assert rows[0].line == 3 and rows[0].column == text.splitlines()[2].index("J") + 1
    assert rows[0].justification == "So we have:"
    assert rows[1].justification == "Next:" and rows[2].justification == ""


def test_a_break_after_a_bare_relation_joins_the_equation():
    rows = extract_rows("$$a_0 = \\\\ b_0$$")
    assert len(rows) == 1 and rows[0].text.split() == ["a_0", "=", "b_0"]


def test_align_rows_columns_and_text_justifications():
    text = ("\\begin{align*}\nJ(\\theta) &= x && \\text{definition} \\\\\n&= y \\\\\n\\end{align*}\n")
    rows = extract_rows(text)
    assert [r.text.split() for r in rows] == [["J(\\theta)", "=", "x"], ["=", "y"]]
    assert rows[0].justification == "definition"
    assert rows[1].line == 3 and rows[1].column == 2  # the "=" after the blanked &


def test_bracket_display_with_align_on_one_line_keeps_columns():
    text = "Back.\n\\[\\begin{align*} a &= b \\\\ &= c \\\\ \\end{align*}\\]"
    rows = extract_rows(text)
    assert [r.text.split() for r in rows] == [["a", "=", "b"], ["=", "c"]]
    assert all(r.line == 2 for r in rows)
    assert text.splitlines()[1][rows[1].column - 1:].startswith("= c")


def test_inline_math_is_a_row_only_when_it_claims_something():
    text = "Let $\\pi(a \\mid s)$ be a policy. Since $\\nabla_\\theta \\mu(s_0) = 0$, we drop it."
    rows = extract_rows(text)
    assert [r.text for r in rows] == ["\\nabla_\\theta \\mu(s_0) = 0"]
    assert rows[0].kind == "inline"


def test_escaped_dollar_and_stray_backslash():
    rows = extract_rows("where each $$\\tau(i)\\$$ is sampled")
    assert [r.text for r in rows] == ["\\tau(i)"]


def test_equation_environment_and_newcommand():
    text = "\\newcommand{\\grad}{\\nabla_\\theta}\n\\begin{equation}\n\\grad J(\\theta) = 0\n\\end{equation}"
    assert [(m.name, m.body) for m in macros(text)] == [("\\grad", "\\nabla_\\theta")]
    rows = extract_rows(text)
    assert [r.text for r in rows] == ["\\grad J(\\theta) = 0"] and rows[0].line == 3


# -- what is not math is not read; every math environment is read or reported ------------------

GRAD = "\\nabla_\\theta J(\\theta)"


def test_dollars_in_indented_code_do_not_pair_with_a_real_display():
    text = f"$${GRAD} = 1$$\n\n    echo $$\n$${GRAD} = 0$$\n\nDone.\n"
    assert [r.text for r in extract_rows(text)] == [f"{GRAD} = 1", f"{GRAD} = 0"]


def test_dollars_in_fenced_code_are_not_math_but_a_math_fence_is():
    text = (f"$${GRAD} = 1$$\n\n```bash\necho $$\n```\n\n$${GRAD} = 2$$\n\n~~~\n$$x = 3$$\n~~~\n\n"
            f"```math\n{GRAD} = 4\n```\n")
    rows = extract_rows(text)
    assert [r.text for r in rows if r.kind != "unknown"] == [f"{GRAD} = 1", f"{GRAD} = 2", f"{GRAD} = 4"]
    # the $$x = 3$$ shown as code is not read, and says so: a document holding it is not verified
    (skipped,) = [r for r in rows if r.kind == "unknown"]
    assert skipped.problem.startswith("not read (fenced code block)") and skipped.line == 10


def test_comments_are_not_claims():
    text = (f"\\begin{{equation}}\n{GRAD} = 1\n\\end{{equation}}\n% \\begin{{equation}} {GRAD} = 0 \\end{{equation}}\n"
            f"<!-- $${GRAD} = 0$$ -->\nWe save 50% here: $R(\\tau) = 2$.\n")
    # Markdown: % is prose (a renderer shows the equation after it); inside math it is a TeX comment
    assert [r.text for r in extract_rows(text)] == [f"{GRAD} = 1", f"{GRAD} = 0", "R(\\tau) = 2"]
    assert [r.text.split() for r in extract_rows(f"$${GRAD} = 1 % = 0\n$$")] == [[*GRAD.split(), "=", "1"]]
    assert [r.text for r in extract_rows(text, tex=True)] == [f"{GRAD} = 1"]                 # TeX: % is a comment


@pytest.mark.parametrize("env", ["multline", "multline*", "flalign", "flalign*", "gather", "displaymath"])
def test_more_math_environments_are_extracted(env):
    rows = extract_rows(f"\\begin{{{env}}}\n{GRAD} &= 0\n\\end{{{env}}}\n")
    assert [r.text.split() for r in rows] == [[GRAD.split()[0], "J(\\theta)", "=", "0"]]


def test_alignat_and_parenthesised_inline_math_are_extracted():
    rows = extract_rows(f"\\begin{{alignat*}}{{2}}\n{GRAD} &= 0\n\\end{{alignat*}}\nand \\({GRAD} = 1\\).")
    assert [" ".join(r.text.split()) for r in rows] == [f"{GRAD} = 0", f"{GRAD} = 1"]
    assert rows[1].kind == "inline"


def test_an_unknown_math_environment_is_reported_not_skipped():
    (row,) = extract_rows(f"\\begin{{dmath}}\n{GRAD} = 0\n\\end{{dmath}}\n")
    assert row.kind == "unknown" and "dmath" in row.problem and row.line == 1
    assert extract_rows("\\begin{itemize}\n\\item no math\n\\end{itemize}\n") == []


def test_math_inside_a_text_justification_is_an_inline_claim():
    text = ("\\begin{align*}\n" f"{GRAD} &= 1 & \\text{{since $\\nabla_\\theta \\mu(s_{{0}}) = 1$}}\n" "\\end{align*}\n")
    rows = extract_rows(text)
    assert [" ".join(r.text.split()) for r in rows] == [f"{GRAD} = 1", "\\nabla_\\theta \\mu(s_{0}) = 1"]
    assert rows[1].kind == "inline" and text.splitlines()[1][rows[1].column - 1:].startswith("\\nabla_\\theta \\mu")


@pytest.mark.parametrize("rel", ["\\neq", "\\leq", "\\geq", "<", ">"])
def test_inline_inequalities_are_rows(rel):
    assert len(extract_rows(f"Since ${GRAD} {rel} 0$, done.")) == 1


def test_renewcommand_is_in_document_order():
    from derive.read.extract import macros_at

    text = "\\newcommand{\\G}{a}\nX\n\\renewcommand{\\G}{b}\nY"
    defined = macros(text)
    assert [m.body for m in macros_at(defined, text.index("X"))] == ["a"]
    assert [m.body for m in macros_at(defined, text.index("Y"))] == ["b"]
