"""The committed proofs/<name>.tex and .md are what derive latex makes of proofs/<name>.py, and compile."""

import os
import re
from pathlib import Path

import pytest

from derive.pdf import compile_pdf, pdflatex_path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p for p in (ROOT / "proofs").glob("*.py") if not p.name.startswith("_"))

# Verdict marks are masked: whether a step is proved symbolically within the time limit
# may vary with the machine's load; the derivation's lines and justifications may not.
_MD_VERDICT = re.compile(r" — [✓✗?] \*[^*\n]*\*")


def masked(text: str, fmt: str) -> str:
    if fmt == "md":
        return _MD_VERDICT.sub(" — (verdict)", text)
    out, pos = [], 0
    while (start := text.find("\\verdict{", pos)) >= 0:  # its words may hold braces ($S_{…}$)
        depth, k = 0, start + len("\\verdict")
        while k < len(text):
            depth += {"{": 1, "}": -1}.get(text[k], 0) if text[k - 1] != "\\" else 0
            k += 1
            if depth == 0:
                break
        out += [text[pos:start], "\\verdict{…}"]
        pos = k
    return "".join(out) + text[pos:]


@pytest.fixture(scope="module")
def generated(bundled_reports):
    from derive.cli_latex import render

    out = {}
    for script in SCRIPTS:
        proofs, reports = bundled_reports[script.name]  # the session's one run of every bundled proof
        out[script.name] = {fmt: render(proofs, reports, fmt=fmt) for fmt in ("tex", "md")}
    return out


@pytest.mark.parametrize("fmt", ["tex", "md"])
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_committed_derivation_is_up_to_date(script, fmt, generated):
    committed = script.with_suffix(f".{fmt}")
    rel = committed.relative_to(ROOT)
    hint = f"regenerate it: derive latex {script.relative_to(ROOT)} -o {rel}"
    assert committed.exists(), f"{rel} is missing; {hint}"
    assert masked(committed.read_text(encoding="utf-8"), fmt) == masked(generated[script.name][fmt], fmt), \
        f"{rel} is out of date with {script.name}; {hint}"


def test_masks_hide_only_verdicts():
    line = r"text \verdict{$\checkmark$ proved symbolically, checked on 20 MDPs} after"
    assert masked(line, "tex") == masked(r"text \verdict{$\checkmark$ checked on 20 MDPs} after", "tex")
    nested = r"text \verdict{$\checkmark$ checked on 20 MDPs (battery: $S \leq 4$, $\gamma \in \{1/2\}$)} after"
    assert masked(nested, "tex") == r"text \verdict{…} after"
    assert masked(line, "tex") != masked(line.replace("text", "other"), "tex")
    md = "> (1) Why. — ✓ *proved symbolically, checked on 20 MDPs*"
    assert masked(md, "md") == "> (1) Why. — (verdict)"
    assert masked(md, "md") != masked(md.replace("Why", "Because"), "md")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_committed_tex_compiles_without_overfull_boxes(script, tmp_path):
    if pdflatex_path() is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex is missing on CI: .ci/run installs texlive-latex-base with apt-get")
        pytest.skip("pdflatex not installed")
    tex = script.with_suffix(".tex")
    assert tex.exists(), f"{tex.name} is missing"
    assert compile_pdf(tex.read_text(encoding="utf-8"), tmp_path / "out.pdf") == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_committed_tex_sets_justification_math_as_formulas(script):
    tex = script.with_suffix(".tex").read_text(encoding="utf-8")
    # Letter by letter, P(τ;θ) was P($\tau$;$\theta$): a formula in the text font.
    assert not re.search(r"\$\\[a-z]+\$[;,|(]\$", tex)
    assert not re.search(r"[A-Za-z]\(\$\\", tex)
    assert r"\emph{Claim.}" not in tex and "Claim." not in tex  # a plain claim has no label


def test_committed_markdown_inline_math_parses_in_katex():
    from test_latex import _KATEX, inline_math, katex_errors

    import shutil

    if not _KATEX.exists() or shutil.which("node") is None:
        pytest.skip("KaTeX not installed")
    formulas = [f for script in SCRIPTS for f in inline_math(script.with_suffix(".md").read_text(encoding="utf-8"))]
    assert len(formulas) > 100
    assert katex_errors([], formulas) == []


def test_bundled_notebook_displays_parse_in_katex():
    from test_latex import _KATEX, katex_errors

    import shutil

    from derive.loader import load_proofs

    if not _KATEX.exists() or shutil.which("node") is None:
        pytest.skip("KaTeX not installed")
    blocks = [d._repr_latex_().strip("$\n") for script in SCRIPTS for p in load_proofs(script) for d in p.derivations]
    assert any(r"\text{drop }{\theta}\text{-free terms}" in b for b in blocks)  # rule names' math as math
    assert katex_errors(blocks) == []
