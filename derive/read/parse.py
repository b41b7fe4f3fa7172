"""Rows -> readings: each row parsed with the Lark grammar latex.lark and transformed into notation."""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from lark import Lark, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from .extract import Macro, Row
from .rows import separates
from .transform import Reading, ReadError, RowTransformer

__all__ = ["MAX_DEPTH", "MAX_EXPANSION", "MAX_MACRO_DEPTH", "NotUnderstood", "parser", "parse_tree", "read_row", "nesting_depth"]

# Brackets nested deeper than this are refused at once: the parser and the transformer recurse
# once per level, and no derivation people write nests anywhere near this deep.
MAX_DEPTH = 40
# A row whose macros expand past this many characters is refused before it is built: macros that
# each expand to two copies of the next double the row per definition (26 of them: 2^25 copies).
MAX_EXPANSION = 50_000
MAX_MACRO_DEPTH = 20   # macros inside macros, this many levels; past it (a macro using itself) refused

# Human names of the grammar's terminals, for "expected …" messages.
_NAMES = {
    "EQ": "=", "PLUS": "+", "MINUS": "-", "LPAR": "(", "RPAR": ")", "LSQB": "[", "RSQB": "]",
    "LBRACE": "{", "RBRACE": "}", "COMMA": ",", "SEMI": ";", "BAR": "|", "MID": r"\mid",
    "LETTER": "a letter", "GREEK": "a Greek letter", "NUMBER": "a number", "DIGIT": "a digit", "OTHERREL": "an inequality", "NABLA": r"\nabla",
    "BIGOP": r"\sum or \prod", "FRAC": r"\frac", "LOG": r"\log", "INT": r"\int", "CIRCUMFLEX": "^",
    "UNDERSCORE": "_", "DOTS": r"\dots", "EXPECT": "E", "D": "d", "LEFTARROW": r"\leftarrow",
}


@dataclass(frozen=True)
class NotUnderstood:
    """A row derive cannot read: where, and what it expected there."""

    line: int
    column: int
    message: str


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The LALR parser of latex.lark, built once per process.

    The analysed grammar is cached in a folder of the user's own (never the shared temporary
    folder: Lark loads its cache with pickle, so a file another user planted there would run
    code). The file name holds a hash of the grammar and the Lark and Python versions, so a
    changed grammar is analysed anew. Building the tables costs seconds; loading them, ms.
    """
    grammar = resources.files("derive.read").joinpath("latex.lark").read_text(encoding="utf-8")
    path = _cache_path(grammar)
    if path is not None:
        try:
            return Lark(grammar, parser="lalr", propagate_positions=False, cache=path)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):   # unreadable cache: build anew
            pass
    return Lark(grammar, parser="lalr", propagate_positions=False)


def _cache_path(grammar: str) -> str | None:
    """A private cache file for the analysed grammar, or None when no private folder can be made."""
    import lark

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "derive")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.stat(folder)
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o022):
            return None   # not ours alone: do not load pickles from it
    except OSError:
        return None
    key = hashlib.sha256((grammar + lark.__version__ + sys.version).encode()).hexdigest()[:20]
    return os.path.join(folder, f"latex-{key}.lark-cache")


def _expected(names) -> str:
    shown = sorted({_NAMES.get(n, n) for n in names if not n.startswith("__")})
    if len(shown) > 10:
        return "a relation, an operator or the end of the line" if "=" in shown else "a term"
    return ", ".join(shown)


class _TooLarge(Exception):
    def __init__(self, macro: str, size: int, deep: bool = False):
        super().__init__(macro)
        self.macro, self.size, self.deep = macro, size, deep


def _expand(text: str, defined: tuple[Macro, ...]) -> str:
    patterns = [(mac, re.compile(re.escape(mac.name) + r"(?![A-Za-z])"))
                for mac in sorted(defined, key=lambda m_: -len(m_.name))]
    # Again while a body brought in a macro (one may use another, defined before or after it).
    for _ in range(MAX_MACRO_DEPTH):
        for mac, pattern in patterns:
            uses = len(pattern.findall(text))
            size = len(text) + uses * (len(mac.body) + 1 - len(mac.name))
            if size > MAX_EXPANSION:
                raise _TooLarge(mac.name, size)  # said before the text is built
            text = pattern.sub(lambda _: mac.body + " ", text)
        if not any(pattern.search(text) for _, pattern in patterns):
            return text
    raise _TooLarge(next(mac.name for mac, pattern in patterns if pattern.search(text)), len(text), deep=True)


def nesting_depth(text: str) -> tuple[int, int]:
    """The deepest bracket nesting of a row ((, [, {, \\left) and the offset where it is first reached."""
    depth = best = 0
    where = 0
    for k, ch in enumerate(text):
        if ch in "([{":
            depth += 1
            if depth > best:
                best, where = depth, k
        elif ch in ")]}":
            depth -= 1
    return best, where


# Constructs derive does not read, each with the reason (a one-line message naming the construct).
_REFUSED = (
    (re.compile(r"\\(pm|mp)(?![A-Za-z])"),
     "\\{0} stands for two equations (one for each sign); derive reads one equation a line: write each sign apart"),
    (re.compile(r"\\infty(?![A-Za-z])"),
     "\\infty: an infinite horizon; derive's trajectories end at a finite horizon H, so a sum to \\infty has no "
     "reading there (write \\sum_{{t=0}}^{{H}}: with γ < 1 the terms past H are not what derive checks)"),
    (re.compile(r"\\intertext(?![A-Za-z])"),
     "\\intertext{{…}}: prose inside the display; end the display before the text and start a new one after it"),
    (re.compile(r"\\begin\s*\{array\}"),
     "an array that is not a display of equations (each row a relation, as lhs & = & rhs): a matrix or a table "
     "inside an expression is not read"),
)


def _refused(text: str):
    """(offset, reason) of the first construct of the row that derive refuses, or None."""
    hits = [(m_.start(), why.format(m_.group(1) if m_.groups() else "")) for pat, why in _REFUSED
            for m_ in [pat.search(text)] if m_]
    return min(hits) if hits else None


def parse_tree(row: Row, defined: tuple[Macro, ...] = (), undefined: tuple[str, ...] = ()) -> Tree | NotUnderstood:
    """The parse tree of a row, or where and why parsing stopped.

    ``undefined`` names macros the document (re)defines in a way derive does not expand (\\def,
    a macro with arguments), each a name or a (name, how it is defined) pair:
    a row using one is not understood, never read with the command's usual meaning.
    """
    if row.problem:
        return NotUnderstood(row.line, row.column, row.problem)
    for entry in undefined:
        name, how = (entry, "\\def (or \\let)") if isinstance(entry, str) else entry
        hit = re.search(re.escape(name) + (r"(?![A-Za-z@])" if name[-1:].isalpha() else ""), row.text)
        if hit:
            return NotUnderstood(row.line, row.column + hit.start(),
                                 f"{name} is (re)defined by {how}, which derive does not expand: it is not read "
                                 "with its usual meaning")
    try:
        text = _expand(row.text, defined)
    except _TooLarge as big:
        used = sorted((h.start(), mac.name) for mac in defined
                      for h in re.finditer(re.escape(mac.name) + r"(?![A-Za-z])", row.text))
        at, name = used[0] if used else (0, big.macro)
        if big.deep:
            return NotUnderstood(row.line, row.column + at, f"the macro {name} still holds a macro ({big.macro}) after "
                                 f"{MAX_MACRO_DEPTH} expansions (a macro that uses itself?); derive refuses it")
        return NotUnderstood(row.line, row.column + at, f"the macro {name} expands this line past {MAX_EXPANSION:,} "
                             f"characters ({big.size:,} on expanding {big.macro} inside it); derive refuses it "
                             "before expanding")
    if text != row.text and separates(text) and not separates(row.text):
        # Split before macros are expanded: a macro that brings a space between two relations is refused.
        return NotUnderstood(row.line, row.column, "a macro expands to a space between two relations (two equations "
                             "side by side?); write the space in the line itself")
    # An empty group {} typesets nothing ("& {}+ …", "={}"): blanked, unless it is an argument (x^{}, \\frac{a}{}).
    text = re.sub(r"(?<![\w}\]^_\\])\{\s*\}", lambda m_: " " * len(m_.group()), text)
    refused = _refused(text)
    if refused is not None:
        at, why = refused
        return NotUnderstood(row.line, row.column + at if text == row.text else row.column, why)
    depth, where = nesting_depth(text)
    if depth > MAX_DEPTH:
        return NotUnderstood(row.line, row.column + where if text == row.text else row.column,
                             f"nested deeper than {MAX_DEPTH} brackets ({depth})")
    try:
        return parser().parse(text)
    except RecursionError:
        return NotUnderstood(row.line, row.column, f"nested too deeply to read (more than {MAX_DEPTH} levels)")
    except UnexpectedInput as exc:
        col = getattr(exc, "column", 1) or 1
        pos = max(col - 1, 0)
        line, column = row.line, row.column + pos
        if isinstance(exc, UnexpectedCharacters):
            found = text[pos:pos + 12].split()[0] if text[pos:].strip() else text[pos:pos + 1]
            msg = f"unknown LaTeX {found!r}; expected {_expected(exc.allowed or ())}"
        elif isinstance(exc, UnexpectedEOF):
            msg = f"the line ends too early; expected {_expected(exc.expected)}"
        elif isinstance(exc, UnexpectedToken):
            msg = f"unexpected {exc.token.value!r}; expected {_expected(exc.expected)}"
        else:
            msg = str(exc).splitlines()[0]
        return NotUnderstood(line, column, msg)


def read_row(row: Row, tree: Tree, *, base: int) -> Reading | NotUnderstood:
    """The row in derive's notation (1-based time shifted to 0-based when base is 1)."""
    try:
        return RowTransformer(base=base).transform(tree)
    except RecursionError:
        return NotUnderstood(row.line, row.column, f"nested too deeply to read (more than {MAX_DEPTH} levels)")
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, ReadError):
            return NotUnderstood(row.line, row.column, str(inner))
        return NotUnderstood(row.line, row.column, f"{type(inner).__name__}: {inner}")
