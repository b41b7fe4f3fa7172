"""A Jupyter notebook (.ipynb) as the Markdown it renders: its markdown cells, and the math its outputs display.

Each markdown cell, and each text/markdown or text/latex output of a code cell, is one part of
the text; a line holding only a form feed separates two parts, so no display, code block or
comment runs from one cell into the next. Code cells are code and are not read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..errors import UserError

__all__ = ["Notebook", "read_notebook"]

_PART = "\f"


@dataclass(frozen=True)
class Notebook:
    text: str                                # the parts, a form-feed line between two
    places: tuple[tuple[str, int], ...]      # line k+1 of text -> (its cell, as a report names it, line in it)

    def place(self, line: int) -> str:
        """How a report names line ``line`` of the text: "cell 3, line 2" (cells counted from 1, code cells too)."""
        if 1 <= line <= len(self.places) and self.places[line - 1][1]:
            cell, k = self.places[line - 1]
            return f"{cell}, line {k}"
        return f"line {line}"

    def rename(self, message: str) -> str:
        """A message with its line numbers of the text named by cell and line."""
        def name(m_):
            if m_.group(2):
                return f"{self.place(int(m_.group(1)))} to {self.place(int(m_.group(2)))}"
            return self.place(int(m_.group(1)))
        return re.sub(r"\blines? (\d+)(?:–(\d+))?", name, message)   # one pass: a name is never renamed


def _lines(value, where: str, path: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return "".join(value)
    raise UserError(f"{path}: {where}: expected text or a list of lines, got {type(value).__name__}")


def read_notebook(raw: str, path: str) -> Notebook:
    """The notebook's rendered Markdown; a file that is not a notebook is refused (UserError) naming what is wrong."""
    try:
        nb = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not a Jupyter notebook: invalid JSON at line {exc.lineno}, column {exc.colno} "
                        f"({exc.msg})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise UserError(f"{path}: not a Jupyter notebook (nbformat 4): no list of 'cells'")
    parts: list[tuple[str, str]] = []
    for k, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            raise UserError(f"{path}: cells[{k - 1}]: expected a cell (an object), got {type(cell).__name__}")
        kind = cell.get("cell_type")
        if kind == "markdown":
            parts.append((f"cell {k}", _lines(cell.get("source", ""), f"cells[{k - 1}].source", path)))
        elif kind == "code":
            for j, out in enumerate(cell.get("outputs") or ()):
                data = out.get("data") if isinstance(out, dict) else None
                if not isinstance(data, dict):
                    continue
                for mime in ("text/markdown", "text/latex"):   # what Jupyter renders as Markdown and math
                    if mime in data:
                        parts.append((f"cell {k} output", _lines(data[mime], f"cells[{k - 1}].outputs[{j}].data"
                                                                             f"[{mime}]", path)))
                        break
    lines: list[str] = []
    places: list[tuple[str, int]] = []
    for n, (cell, source) in enumerate(parts):
        if n:
            lines.append(_PART)
            places.append((cell, 0))
        for i, ln in enumerate(source.split("\n"), 1):
            lines.append("" if ln == _PART else ln)
            places.append((cell, i))
    return Notebook("\n".join(lines), tuple(places))
