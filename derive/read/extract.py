"""Text -> rows: the display equations of a Markdown, LaTeX or plain-text document, in order.

A row is one line of a display (``\\\\`` separates rows of align, aligned and of a ``$$``
display whose next row starts with a relation). Each row keeps the source line and column
where it starts, and the prose just before its display as its justification (a second align
column of ``\\text{…}`` is the justification of its own row). Alignment marks ``&`` and the
environment commands are blanked with spaces, so a column inside a row is a column of the
source. Inline ``$…$`` math is a row only when it states a relation (a claim in prose).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Row", "Macro", "extract_rows", "macros"]

_DISPLAY = re.compile(
    r"(?P<dd>(?<!\\)\$\$(?P<dd_body>.+?)\$\$)"
    r"|(?P<br>\\\[(?P<br_body>.+?)\\\])"
    r"|(?P<env>\\begin\{(?P<env_name>equation\*?|align\*?|aligned|gather\*?|eqnarray\*?)\}"
    r"(?P<env_body>.+?)\\end\{(?P=env_name)\})"
    r"|(?P<inl>(?<![\\$])\$(?!\$)(?P<inl_body>[^$]+?)(?<!\\)\$)",
    re.S,
)
_ENV_CMD = re.compile(r"\\(begin|end)\{(align\*?|aligned|equation\*?|split|gather\*?)\}|\\(nonumber|notag)\b|\\label\{[^}]*\}")
_ROW_SEP = re.compile(r"\\\\(\[[^\]]*\])?")
_JUST = re.compile(r"^\s*(\\q?quad\s*)*\\(text|mathrm|textrm)\s*\{(?P<t>[^{}]*)\}\s*[.,;]?\s*$", re.S)
_RELATION = re.compile(r"(?<![<>\\])=|\\leftarrow\b|\\gets\b|\\approx\b")
_NEWCOMMAND = re.compile(r"\\(?:re)?newcommand\s*\{?\s*(\\[A-Za-z]+)\s*\}?\s*\{((?:[^{}]|\{[^{}]*\})*)\}")


@dataclass(frozen=True)
class Row:
    """One row of a display (or an inline claim) with its place in the source."""

    text: str           # the row's LaTeX, blanked where structure was removed (same length as the source span)
    line: int           # 1-based source line where the row starts
    column: int         # 1-based column of the row's first character
    offset: int         # character offset of the row in the source
    block: int          # the display it belongs to (0, 1, …)
    kind: str           # "display" | "inline"
    justification: str  # prose before the display, or the row's \text{…} column
    source: str = ""    # the row as written (not blanked)


@dataclass(frozen=True)
class Macro:
    name: str
    body: str


def macros(text: str) -> list[Macro]:
    """The argument-free macros a document defines with \\newcommand."""
    return [Macro(m_.group(1), m_.group(2)) for m_ in _NEWCOMMAND.finditer(text)]


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _prose(text: str) -> str:
    """The last paragraph of the prose before a display, on one line."""
    paras = [p_ for p_ in re.split(r"\n\s*\n", text) if p_.strip()]
    if not paras:
        return ""
    last = " ".join(paras[-1].split())
    last = re.sub(r"^#+\s*", "", last)
    sentences = re.split(r"(?<=[.!?])\s+", last)
    last = sentences[-1] if sentences[-1] else last
    return last if len(last) <= 160 else "…" + last[-159:]


def _blank(s: str, start: int, end: int) -> str:
    return s[:start] + " " * (end - start) + s[end:]


def extract_rows(text: str) -> list[Row]:
    """Every display row and inline claim of a document, in source order."""
    rows: list[Row] = []
    last_end = 0
    block = 0
    for match in _DISPLAY.finditer(text):
        kind = match.lastgroup
        name = {"dd": "dd_body", "br": "br_body", "env": "env_body", "inl": "inl_body"}[
            next(g for g in ("dd", "br", "env", "inl") if match.group(g) is not None)]
        body_start, body_end = match.start(name), match.end(name)
        body = text[body_start:body_end]
        if name == "inl_body" and not _RELATION.search(body):
            continue  # inline math that states nothing (a name, a symbol)
        if name == "env_body" and match.group("env_name").startswith(("align", "aligned", "eqnarray", "gather")):
            aligned = True
        else:
            aligned = bool(re.search(r"\\begin\{(align|aligned|split)", body))
        justification = _prose(text[last_end:match.start()])
        last_end = match.end()
        for m_ in _ENV_CMD.finditer(body):
            body = _blank(body, m_.start(), m_.end())
        if re.search(r"(?<!\\)\\$", body.rstrip()):   # a stray backslash before the closing $$
            k = len(body.rstrip()) - 1
            body = _blank(body, k, k + 1)
        pieces, start = [], 0
        for m_ in _ROW_SEP.finditer(body):
            pieces.append((start, body[start:m_.start()]))
            start = m_.end()
        pieces.append((start, body[start:]))
        if not aligned:
            pieces = _join_broken(pieces, body)
        kind_name = "inline" if name == "inl_body" else "display"
        for k, (off, piece) in enumerate(pieces):
            if not piece.strip():
                continue
            just = justification if not rows or rows[-1].block != block else ""
            cols = piece.split("&")
            if len(cols) >= 3 or (len(cols) == 2 and _JUST.match(cols[-1]) and cols[0].strip()):
                m_ = _JUST.match(cols[-1])
                if m_:
                    just = " ".join(m_.group("t").split())
                    cut = len(piece) - len(cols[-1]) - 1
                    piece = piece[:cut] + " " * (len(piece) - cut)
            piece = piece.replace("&", " ")
            lead = len(piece) - len(piece.lstrip())
            src_off = body_start + off + lead
            line, col = _position(text, src_off)
            rows.append(Row(piece.strip(), line, col, src_off, block, kind_name, just,
                            " ".join(text[src_off:src_off + len(piece.strip())].split())))
        block += 1
    return rows


def _join_broken(pieces, body):
    """In a $$ display, \\\\ after a bare 'lhs =' is a line break inside one equation."""
    out = []
    for off, piece in pieces:
        if out and out[-1][1].rstrip().endswith("=") and not piece.lstrip().startswith(("=", "&")):
            prev_off, prev = out[-1]
            gap = off - (prev_off + len(prev))
            out[-1] = (prev_off, prev + " " * gap + piece)
        else:
            out.append((off, piece))
    return out
