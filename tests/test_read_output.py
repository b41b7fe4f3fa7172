"""What derive check prints and writes back: tags where a renderer accepts them, readings as written."""

from derive.cli import main
from derive.read.document import FAILS, HOLDS, check_text

ALIGNED = ("$$\\begin{aligned}\n\\nabla_\\theta J(\\theta) &= \\nabla_\\theta \\sum_\\tau P(\\tau;\\theta) R(\\tau) \\\\\n"
           "&= \\sum_\\tau \\nabla_\\theta P(\\tau;\\theta) R(\\tau)\n\\end{aligned}$$\n")
SPLIT = ("\\begin{equation}\n\\begin{split}\n\\nabla_\\theta J(\\theta) &= \\nabla_\\theta \\sum_\\tau P(\\tau;\\theta) R(\\tau) \\\\\n"
         "&= \\sum_\\tau \\nabla_\\theta P(\\tau;\\theta) R(\\tau) + 1\n\\end{split}\n\\end{equation}\n")


def _written(tmp_path, capsys, text, fmt, name):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    main(["check", str(f), "--random", "2", "--seed", "3", "--format", fmt])
    return capsys.readouterr().out


def test_the_tag_goes_after_aligned_and_split_never_inside(tmp_path, capsys):
    md = _written(tmp_path, capsys, ALIGNED, "md", "d.md")
    assert "\\end{aligned} \\tag*{✓ holds; ✓ holds}$$" in md and md.count("\\tag*") == 1
    tex = _written(tmp_path, capsys, SPLIT, "tex", "d.tex")
    assert "\\end{split} \\tag*{" in tex and tex.count("\\tag*") == 1
    assert tex.index("\\tag*") < tex.index("\\end{equation}")


def _reading(text):
    return [ln for ln in check_text(text, path="d.md", seed=3, n_random=2).lines if ln.kind != "result"]


def test_a_bare_t_is_printed_back_in_the_time_of_the_document():
    text = ("$$P(\\tau;\\theta) = \\mu(s_1) \\prod_{t=1}^{n} \\pi_\\theta(a_t \\mid s_t) P(s_{t+1} \\mid s_t, a_t)$$\n\n"
            "$$\\sum_{t=1}^{n} t \\cdot r_t = \\sum_{t=1}^{n} (t - 1) \\cdot r_t$$\n")
    line = _reading(text)[1]
    assert line.reading == "\\sum_{t=1}^{n} t r_{t} = \\sum_{t=1}^{n} \\left(t - 1\\right) r_{t}", line.reading
    assert line.verdict == FAILS   # the check reads the sums as written: the weights differ by r_t's sum


def test_a_dots_sum_that_breaks_its_pattern_is_called_a_sum():
    (line,) = _reading("$$R(\\tau) = r_0 + \\gamma r_1 + \\gamma r_2 + \\dots + \\gamma^H r_H$$\n")
    assert "the sum written with \\dots breaks its pattern at \\gamma r_{2}" in line.detail
    assert "product" not in line.detail
    (line,) = _reading("$$P(\\tau;\\theta) = \\mu(s_0) \\pi_\\theta(a_0 \\mid s_0) P(s_1 \\mid s_0, a_0) \\pi_\\theta(a_1 \\mid s_1) "
                       "P(s_1 \\mid s_1, a_1) \\dots \\pi_\\theta(a_H \\mid s_H) P(s_{H+1} \\mid s_H, a_H)$$\n")
    assert "the product written with \\dots breaks its pattern" in line.detail


def test_a_lone_double_dollar_in_prose_takes_no_display_with_it():
    text = ("# a lone $$ in prose\n\nIn Markdown, display math goes between $$ signs.\n\n"
            "$$\\nabla_\\theta \\mu(s_0) = 1$$\n\nThe $$ must stand at the start of a line.\n\n"
            "$$\\nabla_\\theta J(\\theta) = \\nabla_\\theta \\sum_\\tau P(\\tau;\\theta) R(\\tau)$$\n")
    lines = _reading(text)
    assert [(ln.line, ln.verdict) for ln in lines] == [(5, FAILS), (9, HOLDS)]
    # A display still spans lines without a blank one.
    (one,) = _reading("$$\n\\nabla_\\theta \\mu(s_0)\n= 0\n$$\n")
    assert one.verdict == HOLDS


# -- two readings that disagree are said to disagree (red-team W1b) ---------------------------------
# A line whose usual reading is undecided ("held on the 10 smaller MDPs ... not a pass") was reported
# beside "the usual reading: does not hold": it read as a near-pass, or as a failure it never had.

SCORE1 = r"\pi_\theta(a_0^{(1)} \mid s_0^{(1)})"
LOG_UNDECIDED = (r"$$\mathbb{E}\left[\nabla_\theta \log " + SCORE1 + r" R(\tau^{(1)})\right] = "
                 r"\mathbb{E}_{\tau \sim \pi_\theta}\left[\nabla_\theta \log(\pi_\theta(a_0 \mid s_0)) R(\tau)\right]$$" "\n")
GRAD_UNDECIDED = (r"$$\mathbb{E}\left[\nabla_\theta " + SCORE1 + r" \frac{R(\tau^{(1)})}{" + SCORE1 + r"}\right] = "
                  r"\mathbb{E}\left[\nabla_\theta \log(" + SCORE1 + r") R(\tau^{(1)})\right]$$" "\n")


def test_an_undecided_usual_reading_beside_a_failing_other_is_said_plainly(tmp_path, capsys):
    from derive.read.document import UNDECIDED_LINE

    (line,) = _reading(LOG_UNDECIDED)
    assert line.verdict == UNDECIDED_LINE and not line.ok
    (note,) = [n for n in line.notes if n.startswith("two readings of \\log")]
    assert "the usual reading: undecided (not shown to hold)" in note and "the other reading: fails" in note
    assert "does not hold" not in note
    assert ("the two readings disagree: the reading above is undecided (not shown to hold), the other reading "
            "fails; the usual reading decides: the line is undecided, which is never a pass") in line.detail
    f = tmp_path / "d.md"
    f.write_text(LOG_UNDECIDED, encoding="utf-8")
    assert main(["check", str(f), "--random", "2", "--seed", "3"]) == 1
    assert "the two readings disagree" in capsys.readouterr().out


def test_the_true_twin_holds_and_says_the_other_reading_fails():
    (line,) = _reading(r"$$\nabla_\theta J(\theta) = \sum_\tau P(\tau;\theta) \nabla_\theta \log P(\tau;\theta) R(\tau)$$"
                       "\n")
    assert line.verdict == HOLDS
    assert ("the two readings disagree: the reading above holds, the other reading fails; the usual reading "
            "decides the line's verdict") in line.detail


def test_a_failing_reading_beside_an_undecided_one_is_ambiguous_never_a_plain_failure(tmp_path, capsys):
    from derive.read.document import AMBIGUOUS_UNDECIDED

    (line,) = _reading(GRAD_UNDECIDED)
    assert line.verdict == AMBIGUOUS_UNDECIDED and not line.ok
    assert "the reading above is undecided (not shown to hold), the other reading fails" in line.detail
    assert "bracket it to say which reading is meant" in line.detail
    f = tmp_path / "d.md"
    f.write_text(GRAD_UNDECIDED, encoding="utf-8")
    assert main(["check", str(f), "--random", "2", "--seed", "3"]) == 1
    out = capsys.readouterr().out
    assert "? line 1:3     ambiguous: one reading fails and the other is undecided" in out
    assert "step 2 (the other reading): failed" in out
    # Bracketed, the ∇ has one reading: undecided on the large MDPs, and no second reading is said.
    (one,) = _reading(GRAD_UNDECIDED.replace(r"\nabla_\theta " + SCORE1 + r" \frac",
                                             r"\nabla_\theta \left[" + SCORE1 + r"\right] \frac"))
    assert not any("two readings" in n for n in one.notes) and one.verdict != FAILS


def test_only_the_log_of_the_product_holding_is_ambiguous_and_said_so():
    from derive.read.document import AMBIGUOUS

    (line,) = _reading(r"$$\log \pi_\theta(a_0 \mid s_0) \pi_\theta(a_0 \mid s_0) = 2 \log(\pi_\theta(a_0 \mid s_0))$$" "\n")
    assert line.verdict == AMBIGUOUS
    assert line.detail == ("the two readings disagree: the reading above fails, the other reading holds; the line is "
                           "ambiguous: bracket it to say which reading is meant")
