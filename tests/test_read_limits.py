"""Limits of the reader: a row whose macros would expand past MAX_EXPANSION is refused at once."""

import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

from derive.read import check_text
from derive.read.document import FAILS, HOLDS, NOT_UNDERSTOOD
from derive.read.parse import MAX_EXPANSION

ROOT = Path(__file__).resolve().parent.parent


def _bomb(n: int = 26) -> str:
    """n macros, each two copies of the next: the last row would hold 2^(n-1) copies of \\x."""
    names = ["\\" + "x" * k for k in range(n, 0, -1)]
    defs = [f"\\newcommand{{{a}}}{{{b} {b}}}" for a, b in zip(names, names[1:])] + ["\\newcommand{\\x}{1}"]
    return "\n".join(defs) + f"\n\n$$\nJ(\\theta) = J(\\theta) + 0 \\cdot {names[0]}\n$$\n"


def test_a_macro_bomb_is_refused_at_once_naming_line_and_macro(tmp_path):
    doc = tmp_path / "bomb.md"
    doc.write_text(_bomb(), encoding="utf-8")
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "derive", "check", "bomb.md", "--random", "0"], cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert time.perf_counter() - start < 60   # a hang is minutes; the refusal is startup time
    assert r.returncode == 1 and "Traceback" not in r.stderr
    line = next(x for x in r.stdout.splitlines() if "expands this line" in x)
    assert line.startswith("    line 29, column 33: the macro \\" + "x" * 26 + " expands this line past "
                           f"{MAX_EXPANSION:,} characters") and "refuses" in line
    assert "? line 29:33" in r.stdout and "not understood" in r.stdout


def test_nested_macros_within_the_limit_are_read_and_checked():
    defs = ("\\newcommand{\\Prob}{P(\\tau;\\theta)}\n\\newcommand{\\Ret}{R(\\tau)}\n"
            "\\newcommand{\\term}{\\Prob \\Ret}\n\\newcommand{\\obj}{\\sum_\\tau \\term}\n")
    good = check_text(defs + "$$J(\\theta) = \\obj$$\n", n_random=1, minimize=False)
    assert [ln.verdict for ln in good.lines] == [HOLDS]
    assert good.lines[0].reading == "J(\\theta) = \\sum_{\\tau} P(\\tau;\\theta) R(\\tau)"
    wrong = check_text(defs + "$$J(\\theta) = 2 \\obj$$\n", n_random=1, minimize=False)
    assert [ln.verdict for ln in wrong.lines] == [FAILS]


def test_a_small_bomb_under_the_limit_is_still_read():
    # 8 levels: 128 copies of 1, under the limit: expanded and checked (0 times them is 0).
    rep = check_text(_bomb(8), n_random=1, minimize=False)
    assert [ln.verdict for ln in rep.lines] == [HOLDS]
    assert NOT_UNDERSTOOD not in [ln.verdict for ln in check_text(_bomb(8), n_random=0, minimize=False).lines]


def test_a_macro_that_uses_itself_is_refused_not_looped():
    rep = check_text("\\newcommand{\\loop}{1 + \\loop}\n$$J(\\theta) = J(\\theta) + 0 \\cdot \\loop$$\n",
                     n_random=0, minimize=False)
    assert [ln.verdict for ln in rep.lines] == [NOT_UNDERSTOOD]
    assert "\\loop" in rep.lines[0].detail and ("expansions" in rep.lines[0].detail or "past" in rep.lines[0].detail)


def _product_line(lo: int, hi: int) -> str:
    return f"$$\nJ(\\theta) = J(\\theta) + \\prod_{{k={lo}}}^{{{hi}}} k\n$$\n"


def test_a_product_of_huge_factors_fails_without_building_its_exact_value():
    # 5,000 factors near 2^30: the exact value would hold 150,000 bits; the check stops at the size limit.
    from derive.semantics import MAX_EXACT_BITS

    report = check_text(_product_line(2**30 + 1, 2**30 + 5000), n_random=0, minimize=False, seed=1)
    (line,) = [ln for ln in report.lines if ln.kind != "result"]
    assert line.verdict == FAILS
    sides = [x for st in line.steps if st.counterexample for x in st.counterexample.lhs + st.counterexample.rhs]
    assert any(f"grows past the limit of {MAX_EXACT_BITS:,} bits" in x for x in sides), sides


def test_a_small_product_prints_its_exact_value():
    # The twin under the limit: the counterexample shows both sides exactly (J + 5! on the right).
    report = check_text(_product_line(1, 5), n_random=0, minimize=False, seed=1)
    (line,) = [ln for ln in report.lines if ln.kind != "result"]
    assert line.verdict == FAILS
    (step,) = [st for st in line.steps if st.counterexample]
    left, right = step.counterexample.lhs, step.counterexample.rhs
    assert left and right and not any("not printed" in x for x in left + right)
    assert len(left) == len(right) >= 1
    assert all(Fraction(r) - Fraction(l) == 120 for l, r in zip(left, right))
