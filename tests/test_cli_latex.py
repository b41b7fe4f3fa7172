"""derive latex through its argparse registration, with loading and verification stubbed."""

import argparse
import os
import sys
import types

import pytest

import derive.pdf
from derive.cli_latex import register
from derive.errors import UserError
from seed_chains import report_for, seed_000


@pytest.fixture
def run(monkeypatch):
    """Parse and run ``derive latex …``; the proof script is seed_000 whatever PATH says."""
    calls = []

    def load_proofs(path):
        if not str(path).endswith(".py"):
            raise UserError(f"{path}: not a Python proof script (expected a .py file)")
        return [seed_000()]

    def verify_proof(proof, *, path="", seed=None):
        calls.append(path)
        go.seeds.append(seed)
        return report_for(proof)

    monkeypatch.setitem(sys.modules, "derive.loader", types.SimpleNamespace(load_proofs=load_proofs))
    monkeypatch.setitem(sys.modules, "derive.check", types.SimpleNamespace(verify_proof=verify_proof))

    def go(*argv):
        parser = argparse.ArgumentParser(prog="derive")
        register(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["latex", *argv])
        return args.handler(args)

    go.calls = calls
    go.seeds = []
    return go


def test_markdown_to_stdout(run, capsys):
    assert run("proof.py", "--format", "md") == 0
    out = capsys.readouterr().out
    assert out.startswith("# The policy-gradient theorem, seed 000")
    assert "$$\n\\nabla_\\theta J(\\theta) = \\nabla_\\theta \\sum_{\\tau}" in out
    assert r"\documentclass" not in out


def test_tex_file_and_format_from_suffix(run, tmp_path, capsys):
    assert run("proof.py", "-o", str(tmp_path / "a.tex")) == 0
    assert (tmp_path / "a.tex").read_text().startswith(r"\documentclass")
    assert run("proof.py", "-o", str(tmp_path / "a.md")) == 0
    assert (tmp_path / "a.md").read_text().startswith("# ")
    assert capsys.readouterr().out.splitlines() == [f"wrote {tmp_path / 'a.tex'}", f"wrote {tmp_path / 'a.md'}"]


def test_bad_script_is_a_user_error(run):
    with pytest.raises(UserError, match="not a Python proof script"):
        run("proof.txt")


def test_pdf_of_markdown_is_refused(run):
    with pytest.raises(UserError, match="--pdf needs --format tex"):
        run("proof.py", "--format", "md", "--pdf")


def test_missing_pdflatex_says_how_to_install_and_skips_verification(run, monkeypatch, tmp_path):
    monkeypatch.setattr(derive.pdf, "pdflatex_path", lambda: None)
    with pytest.raises(UserError, match="apt-get install texlive-latex-base") as err:
        run("proof.py", "--pdf", "-o", str(tmp_path / "x.tex"))
    assert isinstance(err.value, derive.pdf.PdflatexMissing)
    assert run.calls == [] and list(tmp_path.iterdir()) == []


def test_pdf_is_written_and_nothing_else(run, tmp_path, monkeypatch, capsys):
    if derive.pdf.pdflatex_path() is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex is missing on CI: .ci/run installs texlive-latex-base with apt-get")
        pytest.skip("pdflatex not installed")
    monkeypatch.chdir(tmp_path)
    assert run("proofs/seed.py", "--pdf") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed.pdf"]  # no .aux, .log or .out
    assert (tmp_path / "seed.pdf").read_bytes().startswith(b"%PDF")
    assert capsys.readouterr().out == "wrote seed.pdf\n"
    assert run.calls == ["proofs/seed.py"]


def _two_proofs():
    from dataclasses import replace

    first = seed_000()
    second = replace(first, name="second", title="A second proof", derivations=first.derivations[:1])
    r1 = report_for(first)
    r2 = replace(report_for(second), title="A second proof", instances=("y",) * 7,
                 derivations=report_for(first).derivations[:1])
    return [first, second], [r1, r2]


def test_several_proofs_get_a_section_and_a_verdict_line_each():
    import re

    from derive.cli_latex import render

    proofs, reports = _two_proofs()
    tex = render(proofs, reports, fmt="tex")
    assert r"\section{The policy-gradient theorem, seed 000}" in tex and r"\section{A second proof}" in tex
    lines = re.findall(r"(?:Not verified|Verified) on a battery of (\d+) MDPs: (\d+) of (\d+) lines hold\.", tex)
    assert lines == [("20", "14", "16"), ("7", "7", "7")]  # each proof its own battery and count
    assert r"\title{The policy-gradient theorem, seed 000 and a second proof}" in tex
    assert tex.count(r"\subsection{Likelihood-ratio gradient}") == 2  # derivations are subsections
    assert r"\section{Likelihood-ratio gradient}" not in tex
    md = render(proofs, reports, fmt="md")
    assert "## 1. The policy-gradient theorem, seed 000" in md and "## 2. A second proof" in md
    assert "### 2.1. Likelihood-ratio gradient" in md
    assert len(re.findall(r"on a battery of \d+ MDPs: \d+ of \d+ lines hold\.", md)) == 2


def test_one_proof_keeps_the_single_layout():
    from derive.cli_latex import render

    proof = seed_000()
    tex = render([proof], [report_for(proof)], fmt="tex")
    assert r"\section{Likelihood-ratio gradient}" in tex and r"\subsection{" not in tex
    assert r"\title{The policy-gradient theorem, seed 000}" in tex


# -- output paths are checked before the run; one seed per document ---------------------------

@pytest.mark.parametrize("target, message", [
    ("proof.py", "refusing to write over a Python file"),
    ("other.py", "refusing to write over a Python file"),
    ("missing_folder/x.tex", "no such folder"),
    (".", "is a folder"),
])
def test_output_that_would_overwrite_a_script_or_needs_a_folder_is_refused_before_the_run(run, tmp_path, monkeypatch,
                                                                                         target, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "proof.py").write_text("SOURCE\n")
    with pytest.raises(UserError, match=message):
        run("proof.py", "-o", target)
    assert run.calls == []  # nothing verified: refused up front
    assert (tmp_path / "proof.py").read_text() == "SOURCE\n" and not (tmp_path / "missing_folder").exists()


def test_output_beside_the_script_with_a_new_name_is_written(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "proof.py").write_text("SOURCE\n")
    assert run("proof.py", "-o", "proof.tex") == 0
    assert (tmp_path / "proof.tex").read_text().startswith(r"\documentclass")


def test_every_proof_of_a_document_is_checked_on_one_seed_which_is_printed(run, capsys):
    assert run("proof.py", "--format", "md", "--seed", "41") == 0
    assert run.seeds == [41] and "derive latex proof.py --seed 41 replays it" in capsys.readouterr().err
    assert run("proof.py", "--format", "md") == 0
    fresh = run.seeds[-1]
    assert isinstance(fresh, int) and f"--seed {fresh} replays it" in capsys.readouterr().err
