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
