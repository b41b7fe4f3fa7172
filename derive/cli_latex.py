"""The ``derive latex`` subcommand: a proof script's derivations as .tex, .md or PDF."""

from __future__ import annotations

import sys
from pathlib import Path

from .cli import seed_value
from .errors import UserError

__all__ = ["register", "render"]

FORMATS = ("tex", "md")


def register(subparsers) -> None:
    """Add ``latex PATH [-o FILE] [--format tex|md] [--pdf]`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "latex", help="write a proof script's derivations as LaTeX, Markdown or PDF",
        description="Write every derivation of a proof script in the seeds' notation, each line "
                    "with its justification and verdict (the script is verified first).")
    p.add_argument("path", metavar="PATH", help="a proof script (.py)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write here instead of stdout (with --pdf: FILE's .pdf; a .tex FILE is kept too)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="tex (a standalone document, the default) or md (Markdown with $$ displays); "
                        "by default taken from FILE's suffix")
    p.add_argument("--pdf", action="store_true",
                   help="compile with pdflatex into FILE.pdf (default: PATH's name, .pdf, in the current folder)")
    p.add_argument("--seed", type=seed_value, default=None,
                   help="seed of the battery every proof of the document is checked on (default: a fresh one, printed)")
    p.set_defaults(handler=_latex)


def render(proofs, reports, *, fmt: str) -> str:
    """The document of one or more proofs (under several, each proof is a section of its own)."""
    from .latex import proofs_to_markdown, proofs_to_tex

    return proofs_to_tex(proofs, reports) if fmt == "tex" else proofs_to_markdown(proofs, reports)


def _format(args) -> str:
    if args.format:
        return args.format
    if args.output and Path(args.output).suffix.lower() == ".md":
        return "md"
    return "tex"


def _latex(args) -> int:
    from .check import verify_proof
    from .loader import load_proofs

    fmt = _format(args)
    if args.pdf and fmt != "tex":
        raise UserError("--pdf needs --format tex (Markdown is not compiled)")
    if args.pdf:
        from .pdf import INSTALL_HINT, PdflatexMissing, pdflatex_path

        if pdflatex_path() is None:  # fail before the slow verification
            raise PdflatexMissing(INSTALL_HINT)
    from .battery import fresh_seed
    from .outputs import check_output

    if args.output:  # refused before the run: never over the script, a .py, a folder or into a missing folder
        check_output("-o", args.output, inputs=[args.path])
        if args.pdf:
            check_output("-o", Path(args.output).with_suffix(".pdf"), inputs=[args.path])
    elif args.pdf:
        check_output("--pdf", Path(Path(args.path).stem).with_suffix(".pdf"), inputs=[args.path])
    proofs = load_proofs(args.path)
    seed = fresh_seed() if args.seed is None else args.seed
    print(f"verifying {args.path} (seed {seed}: derive latex {args.path} --seed {seed} replays it) …",
          file=sys.stderr, flush=True)
    reports = [verify_proof(p, path=str(args.path), seed=seed) for p in proofs]
    text = render(proofs, reports, fmt=fmt)
    if not args.pdf:
        if args.output:
            _write(Path(args.output), text)
            print(f"wrote {args.output}")
        else:
            sys.stdout.write(text)
        return 0
    from .pdf import compile_pdf

    target = Path(args.output) if args.output else Path(Path(args.path).stem)
    if target.suffix.lower() == ".tex":
        _write(target, text)
        print(f"wrote {target}")
    pdf = target.with_suffix(".pdf")
    for warning in compile_pdf(text, pdf):
        print(f"derive: warning: {warning}", file=sys.stderr)
    print(f"wrote {pdf}")
    return 0


def _write(path: Path, text: str) -> None:
    try:  # the folder was checked before the run (check_output): never created here
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror}") from None
