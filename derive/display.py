"""A short readable str(), notebook Markdown and LaTeX, and to_dict() for derive's result dataclasses."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

__all__ = ["Displayed", "plain"]

_MAX_ITEMS = 8     # a vector longer than this is shown by its first items and its length
_MAX_TEXT = 120    # a field's text is cut here in str(); to_dict() keeps everything


class Displayed:
    """Mixin for a frozen dataclass: one line per field in str(), the same in a notebook, every field in to_dict().

    A class that defines its own ``__str__`` or ``to_dict`` keeps it; the notebook forms follow ``str()``.
    """

    __slots__ = ()

    def _fields(self):
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]

    def __str__(self) -> str:
        lines = [type(self).__name__]
        for name, value in self._fields():
            text = _short(value)
            if text is not None:
                lines.append(f"  {name}: {text}")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return "```\n" + str(self) + "\n```"

    def _repr_latex_(self) -> str:
        rows = r" \\ ".join(r"\text{%s}" % _tex_escape(line) for line in str(self).splitlines())
        return r"$\begin{array}{l} %s \end{array}$" % rows

    def to_dict(self) -> dict:
        return {name: plain(value) for name, value in self._fields()}


def plain(value):
    """A value as JSON-ready data: exact rationals as strings, arrays as lists, results by their to_dict()."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Fraction):
        return str(value)
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if hasattr(value, "tolist"):  # NumPy arrays and scalars
        return plain(value.tolist())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "describe") and callable(value.describe):  # an MDP or a policy: its one-line description
        return value.describe()
    if callable(value):
        return getattr(value, "__qualname__", type(value).__name__)
    return str(value)


def _short(value) -> str | None:
    """A field in one short line, or None for what a reader does not need (a callable)."""
    if callable(value) and not hasattr(value, "describe"):
        return None
    if isinstance(value, float):
        return f"{value:.6g}"
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        items = [_short(v) or "…" for v in value[:_MAX_ITEMS]]
        more = f", … ({len(value)} in all)" if len(value) > _MAX_ITEMS else ""
        return "[" + ", ".join(items) + more + "]"
    if hasattr(value, "describe") and callable(value.describe):
        text = value.describe()
    elif isinstance(value, Displayed):
        text = " ".join(str(value).split())
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT - 1] + "…"


def _tex_escape(text: str) -> str:
    out = text
    for ch, rep in (("\\", r"\backslash "), ("{", r"\{"), ("}", r"\}"), ("_", r"\_"), ("^", r"\^{}"),
                    ("#", r"\#"), ("$", r"\$"), ("%", r"\%"), ("&", r"\&"), ("~", r"\~{}")):
        out = out.replace(ch, rep)
    return out
