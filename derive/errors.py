"""Errors that are the user's to fix: the CLI prints them in one line and exits 2."""

from __future__ import annotations

__all__ = ["UserError", "ProcessEndRefused"]


class UserError(Exception):
    """Bad input (a file, key or value); the message names what is at fault."""


class ProcessEndRefused(BaseException):
    """Code from a proof script tried to end or replace the process (os._exit, os.abort, a signal to itself)."""
