"""Extraction: display rows in order, with their source line and column and the prose before them."""

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
