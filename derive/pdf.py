"""Compiling a LaTeX document with pdflatex, in a scratch folder that is always removed."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import UserError

__all__ = ["PdflatexMissing", "LatexError", "pdflatex_path", "compile_pdf", "INSTALL_HINT"]

INSTALL_HINT = "pdflatex not found; install it with: apt-get install texlive-latex-base (Debian/Ubuntu)"

# A fixed job name in a private folder: the log, aux and hyperref's *.out can never
# collide with the user's files or with each other.
_JOB = "derive-document"


class PdflatexMissing(UserError):
    """pdflatex is not installed."""


class LatexError(UserError):
    """pdflatex rejected the document; the message is its first error line."""


def pdflatex_path() -> str | None:
    """The pdflatex executable, or None."""
    return shutil.which("pdflatex")


def compile_pdf(tex: str, out_pdf: Path, *, timeout: float = 120.0) -> list[str]:
    """Compile tex into out_pdf; return the warnings about overfull boxes."""
    exe = pdflatex_path()
    if exe is None:
        raise PdflatexMissing(INSTALL_HINT)
    out_pdf = Path(out_pdf)
    with tempfile.TemporaryDirectory(prefix="derive-latex-") as tmp:
        source = Path(tmp) / f"{_JOB}.tex"
        source.write_text(tex, encoding="utf-8")
        cmd = [exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
               f"-output-directory={tmp}", f"-jobname={_JOB}", source.name]
        try:
            run = subprocess.run(cmd, cwd=tmp, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LatexError(f"pdflatex took longer than {timeout:.0f} s") from None
        log = (Path(tmp) / f"{_JOB}.log")
        text = log.read_text(encoding="latin-1") if log.exists() else run.stdout.decode("latin-1")
        built = Path(tmp) / f"{_JOB}.pdf"
        if run.returncode != 0 or not built.exists():
            raise LatexError(f"pdflatex failed: {_first_error(text)}")
        out_pdf.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, out_pdf)
    return overfull_boxes(text)


def overfull_boxes(log: str) -> list[str]:
    """The 'Overfull \\hbox/\\vbox' lines of a pdflatex log."""
    return [line.strip() for line in log.splitlines() if line.startswith("Overfull")]


def _first_error(log: str) -> str:
    lines = log.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("!"):
            where = next((m.group(1) for m in (re.match(r"l\.(\d+)", x) for x in lines[k + 1:k + 8]) if m), None)
            return line[1:].strip() + (f" (line {where} of the .tex)" if where else "")
    return "no error line in the log"
