"""Checking an output path before a run starts: never overwrite an input or a script, never create folders."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError

__all__ = ["check_output"]


def check_output(option: str, target, *, inputs=(), suffixes: tuple[str, ...] = ()) -> Path:
    """``target`` as a Path when it may be written; otherwise a UserError naming ``option`` and the path.

    Refused: a Python file (a script's source is never an output), any of ``inputs`` (the files the
    run reads), a folder, a path whose folder does not exist (folders are not created silently), and
    with ``suffixes`` a name not ending in one of them (a file derive could not read back).
    """
    path = Path(target)
    where = f"{option} {target}"
    if not str(target):
        raise UserError(f"{option}: expected a file name, got ''")
    if path.suffix.lower() == ".py":
        raise UserError(f"{where}: refusing to write over a Python file (give a new file name)")
    if path.is_dir():
        raise UserError(f"{where}: is a folder (give a file name)")
    if suffixes and path.suffix.lower() not in suffixes:
        raise UserError(f"{where}: expected a file name ending in {' or '.join(suffixes)}, got "
                        f"{path.suffix or 'no suffix'!r}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{where}: no such folder {str(parent)!r} (derive does not create folders)")
    for other in inputs:
        if _same(path, Path(other)):
            raise UserError(f"{where}: is an input of this run; refusing to write over it")
    return path


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (an existing one by inode, a new one by resolved name)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False
