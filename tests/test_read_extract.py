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
    # TeX: % is a comment, and <!-- is no comment at all (TeX typesets the display after it)
    assert [r.text for r in extract_rows(text, tex=True)] == [f"{GRAD} = 1", f"{GRAD} = 0"]


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


# -- literal text is literal, as a renderer shows it; what renders as math is read ------------

def texts(text, **kw):
    return [" ".join(r.text.split()) for r in extract_rows(text, **kw) if r.kind != "unknown"]


def not_read(text, **kw):
    return [r for r in extract_rows(text, **kw) if r.kind == "unknown" and r.problem.startswith("not read")]


def test_a_dollar_in_inline_code_does_not_pair_with_the_claims_after_it():
    text = (f"$${GRAD} = 1$$\n\nThe data is read from `$DATA`. Since $\\nabla_\\theta \\mu(s_0) = 1$, the\n"
            f"gradient is\n\n$${GRAD} = 0$$\n\n(run `python train.py --out $OUT`).\n")
    assert texts(text) == [f"{GRAD} = 1", "\\nabla_\\theta \\mu(s_0) = 1", f"{GRAD} = 0"]
    # true twin: with no code span the same dollars pair the same way
    assert texts(text.replace("`$DATA`", "DATA").replace("`python train.py --out $OUT`", "it")) == texts(text)


@pytest.mark.parametrize("span", ["`` a ` $b ``", "``` `` $ ```", "`$`", "`` `$` ``"])
def test_code_spans_of_any_backtick_run_are_literal(span):
    text = f"Write {span} in the shell. Since $J(\\theta) = 0$, done."
    assert texts(text) == ["J(\\theta) = 0"]


def test_backticks_without_a_closing_run_are_literal_and_do_not_hide_math():
    # `` opens nothing (no closing run of two): the dollars after it are math
    assert texts("A stray `` here. Since $J(\\theta) = 0$, done.") == ["J(\\theta) = 0"]
    # a code span does not run across a paragraph break
    assert texts("A ` here.\n\n$$J(\\theta) = 0$$\n\nand ` there.") == ["J(\\theta) = 0"]
    # an escaped backtick opens nothing
    assert texts("A \\` here. Since $J(\\theta) = 0$, see \\` there.") == ["J(\\theta) = 0"]


def test_an_unclosed_html_comment_in_a_paragraph_is_text():
    text = f"$${GRAD} = 1$$\n\n(comments start with `<!--`.) And <!-- too. The gradient is zero:\n\n$${GRAD} = 0$$\n"
    assert texts(text) == [f"{GRAD} = 1", f"{GRAD} = 0"]
    # a closed comment hides its display, inline or as a block of its own
    assert texts(f"A <!-- $${GRAD} = 0$$ --> b.\n\n<!--\n$${GRAD} = 0$$\n-->\n$$J(\\theta) = 1$$") == ["J(\\theta) = 1"]


def test_a_comment_block_never_closed_hides_the_rest_and_says_so():
    rows = extract_rows(f"$${GRAD} = 1$$\n\n<!-- draft\n\n$${GRAD} = 0$$\n")
    assert [r.text for r in rows if r.kind != "unknown"] == [f"{GRAD} = 1"]
    (skipped,) = [r for r in rows if r.kind == "unknown"]
    assert skipped.problem.startswith("not read (HTML comment never closed)") and skipped.line == 5


def test_a_display_indented_inside_a_list_item_is_read():
    text = ("# Likelihood ratio\n\n1. The objective is a sum over trajectories:\n\n"
            f"    $${GRAD} = 1$$\n\n2. The sum is finite:\n\n$${GRAD} = 2$$\n")
    assert texts(text) == [f"{GRAD} = 1", f"{GRAD} = 2"]
    assert texts(text.replace("1. The", "- The")) == [f"{GRAD} = 1", f"{GRAD} = 2"]
    # four columns past the item's content column is code; at the top level four columns is code
    code = text.replace(f"    $${GRAD} = 1$$", f"       $${GRAD} = 1$$")
    assert texts(code) == [f"{GRAD} = 2"] and len(not_read(code)) == 1
    assert texts(f"Text.\n\n    $${GRAD} = 1$$\n\nMore.\n") == [] and len(not_read(f"Text.\n\n    $${GRAD} = 1$$\n")) == 1


def test_nested_lists_quotes_and_lazy_lines_are_measured_from_their_own_item():
    nested = f"- a\n\n  1. b\n\n         $${GRAD} = 1$$\n"      # item b's content is at column 5: 9 is 4 past it
    assert texts(nested) == [] and len(not_read(nested)) == 1
    assert texts(nested.replace("         $$", "       $$")) == [f"{GRAD} = 1"]
    assert texts(f"> Quote:\n>\n>    $${GRAD} = 1$$\n") == [f"{GRAD} = 1"]     # 3 past the quote's space: text
    assert texts(f"> Quote:\n>\n>     $${GRAD} = 1$$\n") == []
    # an indented line right after a paragraph line continues the paragraph: never code
    assert texts(f"Text\n    $${GRAD} = 1$$\n") == [f"{GRAD} = 1"]
    # a tab is 4 columns
    assert texts(f"Text.\n\n\t$${GRAD} = 1$$\n") == [] and texts(f"- Text.\n\n\t$${GRAD} = 1$$\n") == [f"{GRAD} = 1"]


def test_fences_close_only_on_their_own_character_and_length():
    text = (f"````md\n```\n$${GRAD} = 0$$\n```\n````\n\n$${GRAD} = 1$$\n\n~~~~\n~~~\n$$x = 0$$\n~~~~\n\n"
            f"$${GRAD} = 2$$\n")
    assert texts(text) == [f"{GRAD} = 1", f"{GRAD} = 2"]
    assert len(not_read(text)) == 2
    # a fence in a list item ends with the item; the display after it is read
    assert texts(f"- item\n\n  ```\n  code\n\n$${GRAD} = 1$$\n") == [f"{GRAD} = 1"]
    # a fence never closed runs to the end: what it holds is reported, not silently skipped
    assert texts(f"$${GRAD} = 1$$\n\n```\n$${GRAD} = 0$$\n") == [f"{GRAD} = 1"]
    assert len(not_read(f"```\n$${GRAD} = 0$$\n")) == 1


def test_escaped_dollars_and_html_blocks():
    assert texts("It costs \\$5 and \\$6. Since $J(\\theta) = 0$, done.") == ["J(\\theta) = 0"]
    assert texts(f"<div class=\"box\">\n$${GRAD} = 0$$\n</div>\n") == [f"{GRAD} = 0"]


def test_myst_math_and_admonitions_are_read_code_cells_are_not():
    text = (f"$${GRAD} = 1$$\n\n```{{math}}\n:label: eq-grad\n{GRAD} = 2\n\nJ(\\theta) = 3\n```\n\n"
            f"```{{note}}\n:class: dropdown\nThe environment drops out, since\n\n$$\\nabla_\\theta \\mu(s_0) = 1$$\n```\n\n"
            f"````{{admonition}} Why\n```{{math}}\nJ(\\theta) = 4\n```\n````\n\n"
            f"```{{code-cell}} python\nprint('$$J = 5$$')\n```\n\n```python\nx = 1\n```\n")
    assert texts(text) == [f"{GRAD} = 1", f"{GRAD} = 2", "J(\\theta) = 3", "\\nabla_\\theta \\mu(s_0) = 1",
                           "J(\\theta) = 4"]
    rows = extract_rows(text)
    assert [r.line for r in rows if r.kind != "unknown"] == [1, 5, 7, 14, 19]
    assert [r.problem.split(":")[0] for r in rows if r.kind == "unknown"] == ["not read ({code-cell} block)"]


def test_verb_and_verbatim_are_literal_in_latex():
    text = ("\\documentclass{article}\n\\begin{document}\n"
            "Inline math is written between \\verb|$| signs. Since $\\nabla_\\theta \\mu(s_0) = 1$, the\n"
            "code uses \\verb+$HOME+, \\verb*!$! and \\lstinline{$x$}.\n"
            "\\begin{verbatim}\n$x = 1$ \\end{equation}\n\\end{verbatim}\n"
            "Then $J(\\theta) = 2$.\n\\end{document}\n")
    assert texts(text) == ["\\nabla_\\theta \\mu(s_0) = 1", "J(\\theta) = 2"]
    shown = text.replace("\\begin{verbatim}\n", "\\begin{lstlisting}\n$$J = 3$$\n").replace("\\end{verbatim}",
                                                                                          "\\end{lstlisting}")
    assert texts(shown) == texts(text) and len(not_read(shown)) == 1
    # % inside \verb is no comment; \% is no comment
    assert texts("\\documentclass{x}\n\\verb|%| then $J(\\theta) = 1$ and 50\\% $J(\\theta) = 2$ % $J = 3$\n") == [
        "J(\\theta) = 1", "J(\\theta) = 2"]


@pytest.mark.parametrize("opt", ["[t]", "[b]", "[c]", " [t]"])
def test_aligned_placement_options_are_not_math(opt):
    text = f"$$\\begin{{aligned}}{opt}\n{GRAD} &= 1 \\\\\n&= 2\n\\end{{aligned}}$$"
    assert texts(text) == [f"{GRAD} = 1", "= 2"]
    assert texts(text.replace("aligned", "gathered").replace("&", "")) == [f"{GRAD} = 1", "= 2"]


def test_aligned_keeps_a_bracket_that_is_math():
    # only [t], [b], [c] right after \begin{aligned} place the block; [a] is a factor of the row
    assert texts(f"$$\\begin{{aligned}}[a] {GRAD} &= 1\\end{{aligned}}$$") == [f"[a] {GRAD} = 1"]


def test_a_no_break_space_is_named():
    (row,) = extract_rows(f"$${GRAD}\u00a0= 0$$")
    assert "no-break space (U+00A0)" in row.problem and "line 1, column 26" in row.problem
    (twin,) = extract_rows(f"$${GRAD} = 0$$")
    assert twin.problem == ""


def test_math_written_as_code_is_read():
    # GitHub's $`…`$ and MyST's {math} role are inline math, not code
    assert texts("Since $`\\nabla_\\theta \\mu(s_0) = 1`$, and {math}`J(\\theta) = 0` too.") == [
        "\\nabla_\\theta \\mu(s_0) = 1", "J(\\theta) = 0"]
    rows = extract_rows("A $`J(\\theta) = 0`$.")
    assert rows[0].kind == "inline" and rows[0].column == 5
    # twin: a plain code span, or a role that is not math, stays literal
    assert texts("Since `J(\\theta) = 1`, and {eq}`J(\\theta) = 0` too.") == []


# -- end to end: each false display that used to hide is now read, and the document fails ----

LR = "\\nabla_\\theta \\sum_\\tau P(\\tau;\\theta) R(\\tau)"
HIDDEN = {
    "list item": ("1. The objective:\n\n    $${GRAD} = {X}$$\n\n2. Next:\n\n$${GRAD} = {LR}$$\n", "md"),
    "code span": ("$${GRAD} = {LR}$$\n\nRead `$DATA`. The gradient is\n\n$${GRAD} = {X}$$\n\n(`--out $OUT`).\n", "md"),
    "comment in code": ("$${GRAD} = {LR}$$\n\nComments start with `<!--`. So\n\n$${GRAD} = {X}$$\n", "md"),
    "verb": ("\\documentclass{{article}}\n\\begin{{document}}\n\\[{GRAD} = {LR}\\]\nWrite \\verb|$| signs. "
             "Since ${GRAD} = {X}$, the code uses \\verb|$HOME|.\n\\end{{document}}\n", "tex"),
    "myst math": ("$${GRAD} = {LR}$$\n\n```{{math}}\n:label: g\n{GRAD} = {X}\n```\n", "md"),
    "myst note": ("$${GRAD} = {LR}$$\n\n```{{note}}\nSince\n\n$${GRAD} = {X}$$\n```\n", "md"),
}


@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_a_false_display_that_renders_is_read_and_fails(name):
    from derive.read import check_text

    shape, kind = HIDDEN[name]
    path = f"d.{kind}"
    false = check_text(shape.format(GRAD=GRAD, LR=LR, X="0"), path=path, seed=3, n_random=2)
    assert not false.verified
    assert any(ln.verdict == "fails" and "= 0" in ln.latex for ln in false.lines)
    true = check_text(shape.format(GRAD=GRAD, LR=LR, X=LR), path=path, seed=3, n_random=2)
    assert true.verified and len([ln for ln in true.lines if ln.verdict == "holds"]) >= 2


def test_two_backslashes_do_not_escape_a_dollar():
    assert texts("A \\\\$J(\\theta) = 0$ b, and \\\\$$J(\\theta) = 1$$") == ["J(\\theta) = 0", "J(\\theta) = 1"]
    assert texts("It costs \\$5; since $J(\\theta) = 0$, b\\$.") == ["J(\\theta) = 0"]      # twin: one escapes


def test_a_verb_never_closed_ends_with_its_line():
    text = "\\documentclass{x}\n\\verb|$ oops\nSince $J(\\theta) = 0$.\n"
    assert texts(text) == ["J(\\theta) = 0"]


def test_a_quote_marker_inside_a_display_is_structure_not_math():
    assert texts(f"> $${GRAD}\n> = 0$$\n") == [f"{GRAD} = 0"]
    assert texts(f"$${GRAD}\n> 0$$\n") == [f"{GRAD} > 0"]   # outside a quote, > is a relation


def test_a_percent_in_a_url_is_no_comment():
    text = "\\documentclass{x}\nSee \\url{http://a.org/%7Eb} and \\href{http://a.org/%20}{here}. Since $J(\\theta) = 0$.\n"
    assert texts(text) == ["J(\\theta) = 0"]
    assert texts(text.replace("\\url{http://a.org/%7Eb}", "50% of it")) == []    # twin: a real % comment hides it


def test_a_directive_title_is_markdown():
    text = "```{admonition} Since $J(\\theta) = 0$\nbody\n```\n"
    rows = extract_rows(text)
    assert texts(text) == ["J(\\theta) = 0"] and rows[0].column == 24
    assert texts("```{admonition} Why\nbody\n```\n") == []
    assert texts("```python Since $J(\\theta) = 0$\nbody\n```\n") == []      # a code fence's info string is not text


# -- the format comes from the extension; a price is prose -------------------------------------

from derive.read import check_text  # noqa: E402
from derive.read.document import FAILS, HOLDS  # noqa: E402
from derive.read.extract import is_tex  # noqa: E402

_FALSE_CLAIM = r"$\nabla_\theta \mu(s_0) = 1$"
_TRUE_DISPLAY = "$$\n\\nabla_\\theta \\mu(s_0) = 0\n$$\n"


def _verdicts(text, path=""):
    rep = check_text(text, path=path, seed=7, n_random=2, minimize=False)
    return [ln.verdict for ln in rep.lines if ln.kind != "result"]


@pytest.mark.parametrize("mention", ["# Notes (the PDF starts with `\\documentclass{article}`)\n",
                                     "```\n\\documentclass{article}\n```\n"])
def test_a_markdown_file_mentioning_documentclass_stays_markdown(mention):
    # '%' is prose in Markdown: the false claim after "100%" is read, and fails.
    text = mention + f"\nIn 100% of our runs {_FALSE_CLAIM} held.\n\n" + _TRUE_DISPLAY
    assert _verdicts(text, "notes.md") == [FAILS, HOLDS]
    assert _verdicts(text, "notes.txt") == [FAILS, HOLDS]   # sniffed outside code: still Markdown


def test_the_extension_decides_the_format():
    assert is_tex("", "a.tex") and not is_tex("\\documentclass{article}", "a.md")
    assert not is_tex("\\documentclass{article}", "a.ipynb")
    assert is_tex("\\documentclass{article}\n", "a.txt") and not is_tex("`\\documentclass`", "a.txt")
    # The twin: in a .tex file '%' is a comment, so the claim after it is not read.
    text = f"In 100% of our runs {_FALSE_CLAIM} held.\n\n" + _TRUE_DISPLAY
    assert _verdicts(text, "notes.tex") == [HOLDS]


def test_prices_do_not_pair_with_math():
    text = (f"Each run costs about $5 on a rented GPU.\n\nSince {_FALSE_CLAIM}, the start distribution moves.\n\n"
            "A longer run costs $8 instead.\n\n" + _TRUE_DISPLAY)
    assert _verdicts(text, "a.md") == [FAILS, HOLDS]
    # One price alone is prose too: the document still has its claim and its display.
    assert _verdicts(text.replace("A longer run costs $8 instead.\n\n", ""), "a.md") == [FAILS, HOLDS]


def test_inline_math_does_not_cross_a_blank_line():
    rows = extract_rows("Since $\\nabla_\\theta \\mu(s_0)\n\n= 1$ it moves.\n")
    assert [r for r in rows if r.kind == "inline"] == []
    # The twin: a claim broken over two lines of one paragraph is still one claim.
    rows = extract_rows("Since $\\nabla_\\theta \\mu(s_0)\n= 1$ it moves.\n")
    assert len([r for r in rows if r.kind == "inline"]) == 1


# -- text a reader never sees: TeX conditionals -------------------------------------------------------

from derive.read.extract import refusals  # noqa: E402

_HIDDEN = "$$a = b$$\n\\iffalse\n$$b = c$$\n\\fi\n$$c = d$$\n"


@pytest.mark.parametrize("opener", ["\\iffalse", "\\if0", "\\if 0"])
def test_a_false_conditional_hides_its_display(opener):
    rows = extract_rows(_HIDDEN.replace("\\iffalse", opener), tex=True)
    assert [r.text for r in rows] == ["a = b", "c = d"] and [r.line for r in rows] == [1, 5]


def test_the_else_branch_of_a_false_conditional_is_read_and_the_true_branch_of_iftrue():
    text = "\\iffalse\n$$x = 1$$\n\\else\n$$y = 2$$\n\\fi\n\\iftrue\n$$z = 3$$\n\\else\n$$w = 4$$\n\\fi\n"
    assert [r.text for r in extract_rows(text, tex=True)] == ["y = 2", "z = 3"]


def test_a_nested_conditional_inside_iffalse_does_not_close_it():
    text = "\\iffalse\n\\ifx\\a\\b\n$$x = 1$$\n\\fi\n$$y = 2$$\n\\fi\n$$z = 3$$\n"
    assert [r.text for r in extract_rows(text, tex=True)] == ["z = 3"] and not refusals(text, tex=True)


@pytest.mark.parametrize("opener, name", [("\\newif\\ifdraft\n\\ifdraft", "\\ifdraft"), ("\\ifdefined\\foo", "\\ifdefined"),
                                          ("\\ifx\\a\\b", "\\ifx"), ("\\ifnum\\value{page}>1", "\\ifnum"), ("\\if00", "\\if")])
def test_an_undecided_conditional_around_math_is_refused(opener, name):
    text = "$$a = b$$\n" + opener + "\n$$b = c$$\n\\fi\n"
    (found,) = refusals(text, tex=True)
    line, _, what, why = found
    assert line == 1 + opener.count("\n") + 1 and what == name and "cannot decide" in why


def test_an_undecided_conditional_around_prose_only_is_read():
    text = "\\newif\\ifdraft\n\\ifdraft Draft notes.\\fi\n$$a = b$$\n\\let\\ifmine\\iffalse\n$$c \\iff d$$\n"
    assert not refusals(text, tex=True) and [r.text for r in extract_rows(text, tex=True)] == ["a = b", "c \\iff d"]


def test_iffalse_in_a_comment_hides_nothing():
    text = "% \\iffalse\n$$a = b$$\n% \\fi\n"
    assert [r.text for r in extract_rows(text, tex=True)] == ["a = b"]


def test_an_iffalse_never_closed_before_math_is_refused():
    assert refusals("\\iffalse\n$$a = b$$\n", tex=True)[0][2] == "\\iffalse"


def test_def_macros_names_every_definition_not_expanded_with_its_line():
    from derive.read.extract import def_macros

    text = ("\\newcommand{\\G}{\\gamma}\n\\renewcommand*{\\H}{h}\n\\renewcommand{\\log}[1]{\\exp #1}\n"
            "\\expandafter\\def\\csname pi\\endcsname{3}\n")
    assert [(n_, how.rsplit(" ", 1)[-1]) for n_, _, how in def_macros(text, tex=True)] == [
        ("\\log", "3)"), ("\\pi", "4)")]
    assert [m_.name for m_ in macros(text, tex=True)] == ["\\G", "\\H"]


# -- text a reader never sees: Markdown --------------------------------------------------------------

@pytest.mark.parametrize("comment", ['[//]: # "$$b = c$$"', "[comment]: <> ($$b = c$$)", "[note]: #\n  '$$b = c$$'",
                                     "<!-- $$b = c$$ -->"])
def test_a_markdown_comment_hides_its_display(comment):
    text = f"$$a = b$$\n\n{comment}\n\n$$c = d$$\n"
    assert [r.text for r in extract_rows(text, tex=False)] == ["a = b", "c = d"] and not refusals(text, tex=False)


def test_a_link_reference_inside_a_paragraph_is_text_and_read():
    # CommonMark: a link reference definition cannot interrupt a paragraph; the line is shown as written
    text = 'So we have\n[//]: # "$$b = c$$"\n'
    assert [r.text for r in extract_rows(text, tex=False)] == ["b = c"]


@pytest.mark.parametrize("element", ["<div hidden>\n\n$$b = c$$\n\n</div>", '<p style="display: none">$$b = c$$</p>',
                                     "<template>\n$$b = c$$\n</template>",
                                     "<span style='visibility:hidden'>$b = c$</span>"])
def test_math_in_a_hidden_html_element_is_refused(element):
    text = f"$$a = b$$\n\n{element}\n\n$$c = d$$\n"
    (found,) = refusals(text, tex=False)
    assert found[0] == 3 and found[2].startswith("<") and "hidden from a reader" in found[3]


def test_details_and_hidden_elements_without_math_are_read():
    text = ("<details><summary>Proof</summary>\n\n$$b = c$$\n\n</details>\n\n<div hidden>a note</div>\n\n"
            "`<div hidden>` $$c = d$$\n")
    assert not refusals(text, tex=False) and [r.text for r in extract_rows(text, tex=False)] == ["b = c", "c = d"]


def test_a_comment_environment_hides_its_display_and_a_verbatim_one_is_reported():
    text = "$$a = b$$\n\\begin{comment}\n$$b = c$$\n\\end{comment}\n$$c = d$$\n"
    assert [(r.text, r.kind) for r in extract_rows(text, tex=True)] == [("a = b", "display"), ("c = d", "display")]
    shown = [r.kind for r in extract_rows(text.replace("comment", "verbatim"), tex=True)]
    assert shown == ["display", "unknown", "display"]
