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
_MASKS = {
    "tex": (re.compile(r"\\verdict\{[^{}]*\}"), r"\\verdict{…}"),
    "md": (re.compile(r" — [✓✗?] \*[^*\n]*\*"), " — (verdict)"),
}


def masked(text: str, fmt: str) -> str:
    pattern, repl = _MASKS[fmt]
    return pattern.sub(repl, text)


@pytest.fixture(scope="module")
def generated():
    from derive.check import verify_proof
    from derive.cli_latex import render
    from derive.loader import load_proofs

    out = {}
    for script in SCRIPTS:
        proofs = load_proofs(script)
        reports = [verify_proof(p, path=str(script)) for p in proofs]
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
    line = r"text \verdict{$\checkmark$ proved symbolically, checked on 20 MDPs}"
    assert masked(line, "tex") == masked(r"text \verdict{$\checkmark$ checked on 20 MDPs}", "tex")
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
