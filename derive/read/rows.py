"""Rows -> equations: a row holding two equations side by side is split, a row continuing the one above is joined.

Two equations on one row are never one chain: in align, alignat and flalign the ``&`` at an
even count (the second, the fourth, …) starts the next column pair, i.e. the next equation
(``a &= 0 & b &= 0``, ``a &= 0 && b = 0``); in any display a ``\\quad``, ``\\qquad``,
``\\hspace{…}`` or ``\\text{…}`` between two relations separates two equations
(``a = 0 \\qquad b = 0``). A smaller space (``\\;``, ``\\:``, ``\\ ``, ``~``) between two
relations may be either a separator or a product: that row is refused, never multiplied.

A row after ``\\\\`` that starts with ``+``, ``-``, ``\\pm``, ``\\cdot``, ``\\times`` or holds no
relation at all (a factor such as ``\\left(1 + \\gamma\\right)``) continues the row above: the two
are one equation, checked whole. In multline and split (one equation over several lines) a row
with a left side and a relation of its own is refused: as typeset it multiplies into the row
above, as it looks it is a second equation. In gather each row is an equation of its own, and
is never joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .extract import Row

__all__ = ["Equation", "equations", "environment_at", "separates"]

_ENV = re.compile(r"\\(begin|end)\{(align\*?|aligned|alignat\*?|alignedat|flalign\*?|split|multline\*?|gather\*?|"
                  r"gathered|eqnarray\*?|equation\*?|displaymath|math)\}")
_PAIRS = ("align", "alignat", "flalign", "aligned", "alignedat")   # & at an even count starts the next equation
_ONE_EQUATION = ("multline", "split")                              # one equation over several rows
_OWN_ROWS = ("gather", "gathered")                                 # each row an equation of its own
_RELATION = re.compile(r"(?<![<>\\])=|[<>]|\\(?:leftarrow|gets|approx|neq?|leq?|geq?|lt|gt|leqslant|geqslant|ll|gg|"
                       r"rightarrow|to|sim|simeq|equiv|propto|coloneqq|triangleq)(?![A-Za-z])")
_WIDE = re.compile(r"\\(?:q?quad(?![A-Za-z])|hspace\*?\s*\{[^{}]*\}|text|mbox|textrm|mathrm\s*\{\s*(?:and|or|so)\s*\})")
# \, before a differential (\, d\tau) is the spacing of an integral, not a gap between equations.
_NARROW = re.compile(r"\\[;: ]|~|\\,(?!\s*d(?:\\|[A-Za-z]))")
_SPACE = re.compile(r"^(?:\s+|\\[,;:! ]|\\q?quad(?![A-Za-z])|\\hspace\*?\s*\{[^{}]*\}|~)*")
_OPERATOR = re.compile(r"^(?:[+\-]|\\(?:pm|mp|cdot|times)(?![A-Za-z]))")


@dataclass(frozen=True)
class Equation:
    """A row as derive checks it: which source row it comes from, and its column pair there."""

    row: Row
    group: int      # the source row (one row between two \\) it comes from
    pair: int       # its column pair in an align row (0, 1, …); negative when split at a space (no column)


def environment_at(masked: str, offsets) -> list[str]:
    """The innermost math environment around each offset ("" in $$…$$ or \\[…\\] without one)."""
    events = [(m_.start(), m_.group(1), m_.group(2).rstrip("*")) for m_ in _ENV.finditer(masked)]
    order = sorted(range(len(offsets)), key=lambda j: offsets[j])
    out = [""] * len(offsets)
    stack: list[str] = []
    e = 0
    for j in order:   # one sweep over the events, the offsets in source order
        while e < len(events) and events[e][0] < offsets[j]:
            _, kind, name = events[e]
            if kind == "begin":
                stack.append(name)
            elif stack:
                stack.pop()
            e += 1
        out[j] = stack[-1] if stack else ""
    return out


def _depths(text: str) -> list[int]:
    """The bracket depth at each character ((, [, { and their closers)."""
    out, depth = [], 0
    for ch in text:
        if ch in ")]}":
            depth -= 1
        out.append(depth)
        if ch in "([{":
            depth += 1
    return out


def _top(pattern, text: str, depth: list[int]):
    return [m_ for m_ in pattern.finditer(text) if depth[m_.start()] == 0 and not _escaped(text, m_.start())]


def _escaped(text: str, k: int) -> bool:
    return text[k] != "\\" and k > 0 and text[k - 1] == "\\"


def _piece(row: Row, lo: int, hi: int, source: str, masked: str) -> Row | None:
    """The part row.text[lo:hi] as a row of its own (None when it is blank)."""
    part = row.text[lo:hi]
    if not _SPACE.sub("", part, count=1).strip():   # blank, or only spacing (alignedat's "&\quad&" column)
        return None
    lead = len(part) - len(part.lstrip())
    text = part.strip()
    off = row.offset + lo + lead
    line = masked.count("\n", 0, off) + 1
    column = off - (masked.rfind("\n", 0, off) + 1) + 1
    return replace(row, text=text, line=line, column=column, offset=off,
                   source=" ".join(source[off:off + len(text)].split()))


def _split_spaces(row: Row, source: str, masked: str) -> list[Row]:
    """A row split where a wide space or a \\text{…} stands between two relations; a narrow one there refuses it."""
    text = row.text
    depth = _depths(text)
    rels = [m_.start() for m_ in _top(_RELATION, text, depth)]
    if len(rels) < 2:
        return [row]
    between = lambda at: any(r_ < at for r_ in rels) and any(r_ > at for r_ in rels)
    wide = [m_.start() for m_ in _top(_WIDE, text, depth)]
    for m_ in _top(_NARROW, text, depth):
        at = m_.start()
        if not between(at):
            continue
        before, after = max(r_ for r_ in rels if r_ < at), min(r_ for r_ in rels if r_ > at)
        if _beside_relation(text, m_.start(), m_.end(), before, after):
            continue   # "a \;=\; b": the space around a relation sets it off, it separates nothing
        if not any(before < w_ < after for w_ in wide):   # no wide separator in the same gap
            return [replace(row, problem=f"the space {m_.group(0)!r} stands between two relations: two equations "
                                         f"side by side, or a product? Separate equations by \\quad or a new row, "
                                         f"write \\cdot for a product")]
    cuts = []
    for m_ in _top(_WIDE, text, depth):
        if not between(m_.start()):
            continue
        # The space belongs to the gap: the equation before it ends at the last relation's side.
        if not cuts or any(cuts[-1] < r_ < m_.start() for r_ in rels):
            cuts.append(m_.start())
    if not cuts:
        return [row]
    out, lo = [], 0
    for at in cuts + [len(text)]:
        part = _piece(row, lo, at, source, masked)
        if part is not None:
            out.append(part)
        lo = at
    return out


_ONLY_SPACE = re.compile(r"^(?:\s|\\[,;:! ]|~)*$")


def _beside_relation(text: str, lo: int, hi: int, before: int, after: int) -> bool:
    """Whether text[lo:hi] (a narrow space) touches the relation at ``after`` or the one at ``before``, only spaces between."""
    rel_end = _RELATION.match(text, before)
    return bool(_ONLY_SPACE.match(text[hi:after])) or bool(rel_end and _ONLY_SPACE.match(text[rel_end.end():lo]))


def separates(text: str) -> bool:
    """Whether a space or \\text{…} stands between two relations of the text (two equations, or refused)."""
    probe = Row(text, 1, 1, 0, 0, "display", "")
    split = _split_spaces(probe, text, text)
    return len(split) > 1 or bool(split[0].problem)


def _gap_text(part: Row) -> Row:
    r"""A piece that starts with the separating \text{…} or spaces: those are prose between the equations."""
    text = part.text
    while True:
        m_ = re.match(r"\s*(?:\\q?quad(?![A-Za-z])|\\hspace\*?\s*\{[^{}]*\}|"
                      r"\\(?:text|mbox|textrm|mathrm)\s*\{(?:[^{}]|\{[^{}]*\})*\}\s*[.,;]?)", text)
        if not m_:
            break
        text = " " * m_.end() + text[m_.end():]
    if text == part.text:
        return part
    lead = len(text) - len(text.lstrip())
    return replace(part, text=text.strip(), offset=part.offset + lead, column=part.column + lead,
                   source=part.source)


def _leading_amps(row: Row, masked: str) -> int:
    """How many alignment marks & stand before the row's first character (the row starts in a later column)."""
    k, n_ = row.offset - 1, 0
    while k >= 0 and masked[k] in " \t\n&" and masked[k - 1:k + 1] != "\\&":
        n_ += masked[k] == "&"
        k -= 1
    return n_


def _amps(row: Row, masked: str) -> list[int]:
    """Where the row's alignment marks & were (blanked in row.text)."""
    return [k for k, ch in enumerate(row.text)
            if ch == " " and masked[row.offset + k] == "&" and masked[row.offset + k - 1] != "\\"]


def _starts_relation(text: str) -> bool:
    rest = _SPACE.sub("", text, count=1)
    m_ = _RELATION.match(rest)
    return bool(m_)


_AMBIGUOUS = "ambiguous"


def _continues(row: Row, masked: str, env: str):
    """Whether a row after \\\\ continues the row above (its right side broken over two rows)."""
    text = row.text
    rest = _SPACE.sub("", text, count=1)
    if not rest or _RELATION.match(rest):
        return False
    operator = _OPERATOR.match(rest)
    if not _top(_RELATION, text, _depths(text)):
        return True   # a term or a factor on a row of its own
    if not operator:
        return False  # a left side of its own: the next equation
    # "-a &= b" is an equation with a negative left side; "&\quad - a" continues the row above.
    marks = _amps(row, masked)
    left_empty = masked[:row.offset].rstrip().endswith("&")   # the row starts in a right column
    if operator.group(0) != "-" or left_empty:
        return True
    # "-c = d" with no column to tell: the rest of the row above, or an equation with a negative left side?
    return False if marks else _AMBIGUOUS


def equations(rows: list[Row], source: str, masked: str) -> list[Equation]:
    """The rows of a document as equations: split where two stand side by side, joined where one continues."""
    envs = environment_at(masked, [r_.offset for r_ in rows])
    out: list[Equation] = []
    last_of_block: dict[int, int] = {}   # block -> group of its last display row
    for group, (row, env) in enumerate(zip(rows, envs)):
        if row.kind != "display" or row.problem:
            out.append(Equation(row, group, 0))
            continue
        # Column pairs: the second, fourth, … & of an align row starts the next equation.
        parts: list[tuple[Row, int]] = []
        if env in _PAIRS:
            lead = _leading_amps(row, masked)
            marks = _amps(row, masked)
            seps = [at for n_, at in enumerate(marks, start=lead + 1) if n_ % 2 == 0]
            lo = 0
            for pair, at in enumerate(seps + [len(row.text)], start=lead // 2):
                part = _piece(row, lo, at, source, masked)
                if part is not None:
                    parts.append((part, pair))
                lo = at + 1
        else:
            parts = [(row, 0)]
        # Spaces between two relations: two equations (or refused).
        spaced = []
        for part, pair in parts:
            split = _split_spaces(part, source, masked)
            if len(split) == 1:
                spaced.append((split[0], pair))
            else:
                spaced.extend((_gap_text(p_), -1 - k - 100 * pair) for k, p_ in enumerate(split))
        parts = spaced
        # A row continuing the one above: joined to the equation above in its column pair (else the last).
        above = last_of_block.get(row.block)
        joins = above is not None and parts and env not in _OWN_ROWS and _continues(parts[0][0], masked, env)
        if joins == _AMBIGUOUS:
            first, pair = parts[0]
            parts[0] = (replace(first, problem="a row starting with '-' that has a relation of its own: the rest of "
                                               "the row above, or an equation with a negative left side? Put the "
                                               "'-' in the right column (&) or write it on the row above"), pair)
        elif joins:
            first, pair = parts[0]
            candidates = [k for k, eq in enumerate(out) if eq.group == above]
            same = [k for k in candidates if out[k].pair == pair]
            k = (same or candidates)[-1]
            prev = out[k].row
            gap = first.offset - (prev.offset + len(prev.text))
            if gap >= 0 and not prev.problem:
                joined = replace(prev, text=prev.text + " " * gap + first.text,
                                 source=prev.source + r" \\ " + first.source)
                out[k] = Equation(joined, out[k].group, out[k].pair)
                parts = parts[1:]
        elif above is not None and parts and env in _ONE_EQUATION and not _starts_relation(parts[0][0].text):
            # A row with a left side of its own inside one equation: a product across the break (as typeset),
            # or a second equation (as it looks)? The readings differ; neither is taken.
            first, pair = parts[0]
            parts[0] = (replace(first, problem=f"a row with a left side and a relation of its own inside {env}, "
                                               f"which is one equation over several rows: one equation (a product "
                                               f"across the line break) or two? Write it in align"), pair)
        for part, pair in parts:
            out.append(Equation(part, group, pair))
        if parts:
            last_of_block[row.block] = group
    return out
