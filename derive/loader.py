"""Finding and running proof scripts: a file or folder -> the Proof objects it defines."""

from __future__ import annotations

import contextlib
import runpy
import sys
import traceback
from dataclasses import replace
from pathlib import Path

from .derivation import Proof
from .errors import UserError

__all__ = ["bundled_proofs_dir", "proof_files", "defines_proof", "load_proofs"]


def bundled_proofs_dir() -> Path:
    """The folder of the proofs shipped with derive (proofs/ in the repository)."""
    try:
        from importlib.resources import files

        return Path(str(files("derive.bundled")))
    except ModuleNotFoundError:  # running from a source tree without installing
        return Path(__file__).resolve().parent.parent / "proofs"


def proof_files(paths: list[str], *, report_skipped: bool = False):
    """Expand files and folders in order; a folder's top-level *.py count only when they assign PROOF or PROOFS.

    Whether a file in a folder is a proof script is decided by reading it (``ast``), never by running
    it, as pytest collects tests. A file named explicitly is taken as it is (and loading it says
    when it defines no PROOF). With ``report_skipped``, returns (files, skipped).
    """
    out: list[Path] = []
    skipped: list[Path] = []
    for raw in paths or [str(bundled_proofs_dir())]:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.glob("*.py") if not f.name.startswith("_"))
            if not found:
                raise UserError(f"{p}: folder holds no proof scripts (*.py)")
            proofs = [f for f in found if defines_proof(f)]
            skipped.extend(f for f in found if f not in proofs)
            if not proofs:
                raise UserError(f"{p}: no file in the folder assigns PROOF or PROOFS "
                                f"(skipped {len(found)}: {', '.join(f.name for f in found)})")
            out.extend(proofs)
        elif p.is_file():
            if p.suffix != ".py":
                raise UserError(f"{p}: not a Python proof script (expected a .py file)")
            out.append(p)
        else:
            raise UserError(f"{p}: no such file or folder")
    return (out, skipped) if report_skipped else out


def defines_proof(path: Path) -> bool:
    """Whether the module assigns PROOF or PROOFS at its top level (read, not run)."""
    import ast

    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, ValueError, UnicodeDecodeError, OSError, RecursionError, MemoryError):
        return True  # unreadable as Python: loading it reports the error, naming the file
    return any(_assigns_proof(node) for node in _top_level(tree.body))


def _top_level(body):
    """Module-level statements, including those inside top-level if/try/with blocks."""
    import ast

    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for part in ("body", "orelse", "finalbody"):
                yield from _top_level(getattr(node, part, []) or [])
            for handler in getattr(node, "handlers", []):
                yield from _top_level(handler.body)


def _assigns_proof(node) -> bool:
    import ast

    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    else:
        return False
    names = set()
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
    return bool(names & {"PROOF", "PROOFS"})


def load_proofs(path: str | Path) -> list[Proof]:
    """Run a proof script and return the Proof objects in its PROOF or PROOFS."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        # A script's prints go to stderr, so that --json output on stdout stays one JSON document.
        with contextlib.redirect_stdout(sys.stderr):
            namespace = runpy.run_path(str(path), run_name="derive_proof")
    except SyntaxError as exc:
        raise UserError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except SystemExit as exc:  # a script's exit must not end the run of the other proofs
        raise UserError(f"{path}{_line(exc, path)}: the proof script called sys.exit({exc.code!r}) "
                        "while loading") from None
    except UserError as exc:  # a malformed Proof, Derivation, Goal or Step: the message names the field
        raise UserError(f"{path}{_line(exc, path)}: {exc}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - any other failure of the script is the script's, not ours
        message = " ".join(str(exc).split())  # one line, whatever the script put in its message
        raise UserError(f"{path}{_line(exc, path)}: the proof script raised {type(exc).__name__}: {message}") from None
    found = []
    if "PROOF" in namespace:
        found.append(("PROOF", namespace["PROOF"]))
    if "PROOFS" in namespace:
        value = namespace["PROOFS"]
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{path}: PROOFS must be a list of Proof objects, got {type(value).__name__}")
        if not value:
            raise UserError(f"{path}: PROOFS is empty: nothing to verify")
        found.extend((f"PROOFS[{k}]", v) for k, v in enumerate(value))
    if not found:
        raise UserError(f"{path}: defines no PROOF (a derive.Proof) and no PROOFS")
    from .battery import BATTERIES

    for key, value in found:
        if not isinstance(value, Proof):
            raise UserError(f"{path}: {key} must be a derive.Proof, got {type(value).__name__}")
        try:  # Proof checks its fields when built; check again in case they were changed after
            replace(value)
        except UserError as exc:
            raise UserError(f"{path}: {key}: {exc}") from None
        if value.battery not in BATTERIES:
            raise UserError(f"{path}: {key}.battery must be one of {', '.join(BATTERIES)}, got {value.battery!r}")
    return [v for _, v in found]


def _line(exc: BaseException, path: Path) -> str:
    """':N', the line of the proof script where the exception passed last, or ''."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return f":{frames[-1].lineno}" if frames else ""
