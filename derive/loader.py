"""Finding and running proof scripts: a file or folder -> the Proof objects it defines."""

from __future__ import annotations

import contextlib
import os
import runpy
import signal
import sys
import traceback
from pathlib import Path

from .derivation import Proof, validate_proof
from .errors import ProcessEndRefused, UserError

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
                hint = (f"; a derivation written in {p.suffix[1:]} is checked with `derive check {p}`"
                        if p.suffix.lower() in (".md", ".tex", ".txt", ".ipynb", ".markdown") else "")
                raise UserError(f"{p}: not a Python proof script (expected a .py file){hint}")
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
        if isinstance(node, ast.If) and _is_main_guard(node.test):
            yield from _top_level(node.orelse)  # the body runs only as `python script.py`, never when derive loads it
            continue
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for part in ("body", "orelse", "finalbody"):
                yield from _top_level(getattr(node, part, []) or [])
            for handler in getattr(node, "handlers", []):
                yield from _top_level(handler.body)


def _is_main_guard(test) -> bool:
    """Whether an if-test is ``__name__ == "__main__"`` (either way round)."""
    import ast

    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(x, ast.Name) and x.id == "__name__" for x in sides)
            and any(isinstance(x, ast.Constant) and x.value == "__main__" for x in sides))


def _assigns_proof(node) -> bool:
    import ast

    if isinstance(node, ast.ImportFrom):  # `from a_proof import PROOF` re-exports a proof
        return any((alias.asname or alias.name) in ("PROOF", "PROOFS") for alias in node.names)
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
        with _script_sandbox(), _script_folder_importable(path):
            namespace = runpy.run_path(str(path), run_name="derive_proof")
    except SyntaxError as exc:
        raise UserError(f"{path}:{exc.lineno}: syntax error: {_safe_text(exc.msg)}") from None
    except SystemExit as exc:  # a script's exit must not end the run of the other proofs
        raise UserError(f"{path}{_line(exc, path)}: the proof script called sys.exit({_safe_repr(exc.code)}) "
                        "while loading") from None
    except ProcessEndRefused as exc:  # os._exit, os.abort, a signal to ourselves: refused, not obeyed
        raise UserError(f"{path}{_line(exc, path)}: the proof script called {exc.args[0]} while loading") from None
    except UserError as exc:  # a malformed Proof, Derivation, Goal or Step: the message names the field
        raise UserError(f"{path}{_line(exc, path)}: {_safe_text(exc)}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - any other failure of the script is the script's, not ours
        message = _safe_text(exc)
        raise UserError(f"{path}{_line(exc, path)}: the proof script raised {type(exc).__name__}"
                        + (f": {message}" if message else "")) from None
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
        try:  # every object checks its fields when built; check the whole tree again in case they were changed after
            validate_proof(value)
        except UserError as exc:
            raise UserError(f"{path}: {key}: {_safe_text(exc)}") from None
        if value.battery not in BATTERIES:
            raise UserError(f"{path}: {key}.battery must be one of {', '.join(BATTERIES)}, got {value.battery!r}")
    return [v for _, v in found]


def _line(exc: BaseException, path: Path) -> str:
    """':N', the line of the proof script where the exception passed last, or ''."""
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    except Exception:  # noqa: BLE001 - a line number is a courtesy, never a second failure
        return ""
    return f":{frames[-1].lineno}" if frames else ""


def _safe_text(exc) -> str:
    """The message on one line, or a placeholder if the object cannot print itself."""
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - a script's exception may raise in __str__
        return "(the message could not be printed)"
    return " ".join(text.split())


def _safe_repr(value) -> str:
    try:
        return " ".join(repr(value).split())
    except BaseException:  # noqa: BLE001
        return "(unprintable)"


# Calls that end or replace the process: a script may not end the run of the other proofs with them.
_ENDING = ("_exit", "abort", "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe")
_GUARDED: list = []  # the process whose functions are guarded (once: a script's code may run later too)


def _guard_process() -> None:
    """os._exit, os.abort, os.exec* and a signal to this process raise ProcessEndRefused in this process.

    Installed before the first script runs and kept: code a script leaves behind (a thread, an atexit
    handler, a __del__, a method of its own expression class) must not end the run either. A forked child
    (the time-limited prover) and a signal to another process get the real function.
    """
    me = os.getpid()
    if me in _GUARDED:
        return
    _GUARDED.append(me)

    def guard(prefix, name, real, ours):
        def call(*args, **kwargs):
            if os.getpid() != me or not ours(*args):
                return real(*args, **kwargs)
            raise ProcessEndRefused(f"{prefix}.{name}({', '.join(_safe_repr(a) for a in args)})")
        call.__wrapped__ = real
        return call

    always = lambda *args: True  # noqa: E731
    own = {"kill": lambda pid=0, *rest: pid in (0, me) or (isinstance(pid, int) and pid < 0),
           "killpg": lambda pgid=0, *rest: pgid in (0, os.getpgrp())}
    modules = [os] + [m for m in (sys.modules.get("posix"), sys.modules.get("nt")) if m is not None]
    for mod in modules:
        for name in (*_ENDING, "kill", "killpg"):
            if hasattr(mod, name):
                setattr(mod, name, guard("os", name, getattr(mod, name), own.get(name, always)))
    for name in ("raise_signal", "pthread_kill"):
        if hasattr(signal, name):
            setattr(signal, name, guard("signal", name, getattr(signal, name), always))


@contextlib.contextmanager
def _script_folder_importable(path: Path):
    """While a script runs, its folder is first on sys.path (as under `python script.py`); removed after.

    The modules it imported from its folder are dropped from sys.modules afterwards, so that a script in
    another folder with a helper of the same name imports its own helper, not this one's.
    """
    folder = str(path.resolve().parent)
    before = set(sys.modules)
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
        for name in set(sys.modules) - before:
            module = sys.modules.get(name)
            file = getattr(module, "__file__", None)
            if name.split(".")[0] != "derive" and isinstance(file, str) and _inside(file, folder):
                del sys.modules[name]


def _inside(file: str, folder: str) -> bool:
    try:
        return Path(file).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _script_sandbox():
    """While a script runs: its output goes to stderr, even written to file descriptor 1 directly."""
    _guard_process()
    sys.stdout.flush()
    try:
        fd_saved = os.dup(1)
    except OSError:  # no file descriptor 1: nothing to keep clean
        fd_saved = None
    try:
        if fd_saved is not None:
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for stream in (sys.stdout, sys.__stdout__):
            try:
                stream.flush()  # what the script buffered for fd 1 goes to stderr too
            except Exception:  # noqa: BLE001
                pass
        if fd_saved is not None:
            os.dup2(fd_saved, 1)
            os.close(fd_saved)
