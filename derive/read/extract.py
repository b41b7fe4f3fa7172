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
import unicodedata
from dataclasses import dataclass

from .literal import Masked, mask_markdown, mask_tex

__all__ = ["Row", "Macro", "extract_rows", "macros", "is_tex", "refusals"]

_MATH_ENVS = r"equation\*?|align\*?|aligned|gather\*?|eqnarray\*?|multline\*?|flalign\*?|alignat\*?|displaymath|math"
# A dollar is escaped by one backslash, not by two (two are a backslash, or TeX's line break).
_OPEN = r"(?:(?<!\\)|(?<=(?<!\\)\\\\))"
# A display $$…$$ never holds a blank line (TeX and pandoc end it there): a $$ that pairs with nothing
# in its paragraph is prose ("display math goes between $$ signs"), never the start of a display.
# Inline $…$ as CommonMark's math extensions and pandoc pair it: within one paragraph (never across
# a blank line), the opening $ not followed by a space, the closing $ not preceded by one and not
# followed by a digit ("$5 … $8" are prices, prose). A $ that pairs with nothing is prose.
INLINE_BODY = (r"(?![$\s])(?P<inl_body>(?:[^$\f\n]|\n(?![ \t]*\n))+?)(?<!\s)" + _OPEN + r"\$(?![\d$])")
_DISPLAY = re.compile(
    r"(?P<dd>" + _OPEN + r"\$\$(?P<dd_body>(?:[^\f\n]|\n(?![ \t]*\n))+?)\$\$)"
    r"|(?P<br>\\\[(?P<br_body>[^\f]+?)\\\])"
    r"|(?P<pa>\\\((?P<pa_body>[^\f]+?)\\\))"
    r"|(?P<env>\\begin\{(?P<env_name>" + _MATH_ENVS + r")\}(?:\{\d+\})?"
    r"(?P<env_body>[^\f]+?)\\end\{(?P=env_name)\})"
    r"|(?P<inl>(?<!\$)" + _OPEN + r"\$" + INLINE_BODY + r")"
    r"|(?P<unk>\\begin\{(?P<unk_name>[A-Za-z]+\*?)\})",
    re.S | re.M,
)
# Environments of prose: their content is read as the rest of the document is. Any other
# environment is a display derive does not know, reported as not understood.
_PROSE_ENVS = frozenset(
    "document itemize enumerate description center flushleft flushright quote quotation abstract proof theorem "
    "lemma proposition corollary definition remark example exercise solution frame block minipage figure table "
    "verse small footnotesize".split())
_TEX_COMMENT = re.compile(r"(?<!\\)%[^\n]*")
# Every command that (re)defines a control sequence. Only an argument-free \newcommand or
# \renewcommand (_NEWCOMMAND) is expanded; any other definition of a name leaves derive unable
# to read that name with its usual meaning, so a row using it is refused (see def_macros).
_DEFINER = re.compile(
    r"\\(?P<cmd>(?:re)?newcommand|providecommand|DeclareRobustCommand|(?:New|Renew|Provide|Declare)DocumentCommand"
    r"|(?:New|Renew|Declare)CommandCopy|DeclareMathOperator|[egx]?def|let|futurelet|cs[egx]?def|cslet(?:cs)?)(?![A-Za-z@])"
    r"\*?\s*(?:\\csname\s*(?P<csname>[^\\]+?)\s*\\endcsname|\{\s*(?P<braced>\\(?:[A-Za-z@]+|.))\s*\}"
    r"|(?P<bare>\\(?:[A-Za-z@]+|.))|\{(?P<cs>[^{}\\]+)\})?", re.S)
# Environment commands with their arguments: alignat's column count, and the placement option
# [t]/[b]/[c] of aligned, gathered and alignedat (where the block sits, not math).
_ENV_CMD = re.compile(r"\\(begin)\{(aligned|gathered|alignedat)\}(?:\s*\[[tbc]\])?(?:\s*\{\d+\})?(?:\s*\[[tbc]\])?"
                      r"|\\(begin|end)\{(align\*?|aligned|alignedat|equation\*?|split|gather\*?|gathered|multline\*?|"
                      r"flalign\*?|alignat\*?|displaymath|math)\}(\{\d+\})?|\\(nonumber|notag)\b|\\label\{[^}]*\}")
_ROW_SEP = re.compile(r"\\\\(\[[^\]]*\])?")
_JUST = re.compile(r"^\s*(\\q?quad\s*)*\\(text|mathrm|textrm|mbox)\s*\{(?P<t>(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}\s*[.,;]?\s*$", re.S)
_RELATION = re.compile(r"(?<![<>\\])=|[<>]|\\(leftarrow|gets|approx|neq?|leq?|geq?|lt|gt|leqslant|geqslant|ll|gg)(?![A-Za-z])")
_NEWCOMMAND = re.compile(r"\\(?:re)?newcommand\*?\s*\{?\s*(\\[A-Za-z]+)\s*\}?\s*\{((?:[^{}]|\{[^{}]*\})*)\}")


@dataclass(frozen=True)
class Row:
    """One row of a display (or an inline claim) with its place in the source."""

    text: str           # the row's LaTeX, blanked where structure was removed (same length as the source span)
    line: int           # 1-based source line where the row starts
    column: int         # 1-based column of the row's first character
    offset: int         # character offset of the row in the source
    block: int          # the display it belongs to (0, 1, …)
    kind: str           # "display" | "inline" | "unknown" (math derive cannot extract)
    justification: str  # prose before the display, or the row's \text{…} column
    source: str = ""    # the row as written (not blanked)
    problem: str = ""   # why the row cannot be read, found while extracting it ("" when none)
    mention: bool = False  # a display with prose on its own line (a formula named in a sentence)
    display_end: int = -1  # where a mark for the whole display goes: the end of its body (after a stray \\)
    own_tags: bool = False  # each row of the display takes its own \\tag (align, gather, …; not $$ or aligned)


@dataclass(frozen=True)
class Macro:
    name: str
    body: str
    offset: int = 0     # where the definition is: it holds from there on (\renewcommand redefines)


def macros(text: str, *, tex: bool | None = None) -> list[Macro]:
    """The argument-free macros a document defines with \\newcommand or \\renewcommand, in document order."""
    return [Macro(m_.group(1), m_.group(2), m_.start()) for m_ in _NEWCOMMAND.finditer(mask(text, tex=tex))]


def macros_at(defined, offset: int) -> tuple[Macro, ...]:
    """The macro definitions in force at a source offset: the last definition of each name before it."""
    now: dict[str, Macro] = {}
    for mac in defined:
        if mac.offset <= offset:
            now[mac.name] = mac
    return tuple(now.values())


def def_macros(text: str, *, tex: bool | None = None) -> list[tuple[str, int, str]]:
    """(name, offset, how) of each name (re)defined in a way derive does not expand: \\def, \\let, a macro with arguments…

    Only an argument-free \\newcommand or \\renewcommand is expanded (``macros``); ``how`` is the
    definition as written and its line, for the message of a row that uses the name.
    """
    body = mask(text, tex=tex)
    expanded = {m_.start() for m_ in _NEWCOMMAND.finditer(body)}
    out = []
    for m_ in _DEFINER.finditer(body):
        if m_.start() in expanded:
            continue
        name = m_.group("braced") or m_.group("bare")
        if name is None and (m_.group("cs") or m_.group("csname")):
            name = "\\" + (m_.group("cs") or m_.group("csname")).strip()
        if name is None:
            continue   # a definer with no name after it (\\let written as a word, a macro's own body)
        written = body[m_.start():body.find("\n", m_.start()) % (len(body) + 1)].strip()
        written = written if len(written) <= 60 else written[:59] + "…"
        out.append((name, m_.start(), f"{written} (line {_position(text, m_.start())[0]})"))
    return out


def _spaces(m_) -> str:
    return re.sub(r"[^\n]", " ", m_.group(0))


_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".ipynb", ".rmd", ".qmd")
_TEX_SUFFIXES = (".tex", ".ltx", ".latex")


def is_tex(text: str, path: str = "") -> bool:
    """Whether a document is LaTeX: its extension decides (.tex is LaTeX; .md, .ipynb are Markdown).

    Only a file of another or no extension is sniffed, and only its text outside code (a
    \\documentclass quoted in a code span or block is no LaTeX source).
    """
    suffix = ("." + path.rsplit(".", 1)[-1].lower()) if "." in path.rsplit("/", 1)[-1] else ""
    if suffix in _TEX_SUFFIXES:
        return True
    if suffix in _MARKDOWN_SUFFIXES:
        return False
    return bool(re.search(r"\\documentclass|\\begin\{document\}", mask_markdown(text).text))


def masked(text: str, *, tex: bool | None = None) -> Masked:
    """The document with its literal text blanked, the equations of its math fences, and the skipped blocks holding display math.

    Markdown (and plain text): CommonMark's code blocks, code spans and HTML comments, MyST
    directives (see ``literal``). LaTeX (a .tex file, or a text with \\documentclass): % comments,
    \\verb and the verbatim environments.
    """
    if tex is None:
        tex = is_tex(text)
    return mask_tex(text) if tex else mask_markdown(text)


def mask(text: str, *, tex: bool | None = None) -> str:
    """The text with what is not a claim blanked (same length, same lines): code, comments, verbatim."""
    return masked(text, tex=tex).text


def refusals(text: str, *, tex: bool | None = None) -> list[tuple[int, int, str, str]]:
    """(line, column, construct, why) of each construct that may hide math from a reader in a way derive cannot decide.

    A document holding one is not read at all: a display a reader never sees could bridge two
    steps of a chain, and a display a reader does see could be dropped.
    """
    return [(*_position(text, at), what, why) for at, what, why in masked(text, tex=tex).refused]


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


_TEXT_OPEN = re.compile(r"\\(text|mathrm|textrm|mbox)\s*\{")
_INNER = re.compile(r"(?<![\\$])\$(?!\$)(?P<body>[^$]+?)(?<!\\)\$")


def _text_spans(body: str) -> list[tuple[int, int]]:
    """(start, end) of every \\text{…} in a display body, braces balanced."""
    out = []
    for m_ in _TEXT_OPEN.finditer(body):
        depth, k = 1, m_.end()
        while k < len(body) and depth:
            depth += {"{": 1, "}": -1}.get(body[k], 0)
            k += 1
        out.append((m_.start(), k))
    return out


def _claims_in_text(text: str, body: str, body_start: int, block: int) -> list[Row]:
    """Inline $…$ claims inside the \\text{…} of a display ("since $…$"): claims like those of prose."""
    rows = []
    for lo, hi in _text_spans(body):
        for m_ in _INNER.finditer(body, lo, hi):
            if not _RELATION.search(m_.group("body")):
                continue
            piece = m_.group("body")
            lead = len(piece) - len(piece.lstrip())
            src_off = body_start + m_.start("body") + lead
            line, col = _position(text, src_off)
            rows.append(Row(piece.strip(), line, col, src_off, block, "inline", "",
                            " ".join(piece.split())))
    return rows


def _is_mention(text: str, start: int, end: int) -> bool:
    """A display with prose before or after it on its own lines: a formula named in a sentence."""
    before = text[text.rfind("\n", 0, start) + 1:start].strip()
    after_end = text.find("\n", end)
    after = text[end:after_end if after_end >= 0 else len(text)].strip()
    return bool(re.search(r"[A-Za-z]{2,}", before) or re.search(r"[A-Za-z]{2,}", after))


_SPACE_LIKE = ("Zs", "Zl", "Zp")


def _odd_space(text: str, piece: str, offset: int) -> str:
    """Why a row cannot be read when it holds a space other than an ASCII one ("" when it does not)."""
    for k, ch in enumerate(piece):
        if ch != " " and unicodedata.category(ch) in _SPACE_LIKE:
            line, col = _position(text, offset + k)
            name = unicodedata.name(ch, "space").lower()
            return (f"a {name} (U+{ord(ch):04X}) at line {line}, column {col}: derive reads only ASCII spaces "
                    "between symbols; write a plain space")
    return ""


def _hits(m: Masked):
    """(start, end, group, body start, body end, match) of every display, claim, math fence equation and skipped block."""
    out = []
    for match in _DISPLAY.finditer(m.scan):
        group = next(g for g in ("dd", "br", "pa", "env", "inl", "unk") if match.group(g) is not None)
        if group == "unk":
            out.append((match.start(), match.end(), group, match.start(), match.end(), match))
        else:
            out.append((match.start(), match.end(), group, match.start(group + "_body"), match.end(group + "_body"), match))
    out += [(lo, hi, "fm", lo, hi, None) for lo, hi in m.math]
    out += [(lo, hi, "inl", lo, hi, None) for lo, hi in m.inline]
    out += [(lo, hi, "skipped", lo, hi, (what, how)) for lo, hi, what, how in m.not_read]
    return sorted(out, key=lambda h: h[0])


def extract_rows(text: str, *, tex: bool | None = None) -> list[Row]:
    """Every display row and inline claim of a document, in source order (code and comments are not read).

    A skipped block (code, verbatim, a comment never closed) that holds display math is a row of
    kind "unknown": not read, so a document showing it cannot be verified without saying so.
    """
    rows: list[Row] = []
    source = text
    if tex is None:
        tex = is_tex(text)
    m = masked(text, tex=tex)
    text, scan = m.text, m.scan
    last_end = 0
    block = 0
    for start, end, group, body_start, body_end, match in _hits(m):
        if group == "skipped":
            first = source[start:end].split("\n")[0]
            line, col = _position(text, start)
            what, how = match
            rows.append(Row(first, line, col, start, block, "unknown", "", " ".join(first.split()),
                            problem=f"not read ({what}): the display math in it is {how}; derive does not check "
                                    "it, so the document is not verified while it holds one"))
            block += 1
            continue
        if group == "unk":
            env = match.group("unk_name")
            if env.rstrip("*") in _PROSE_ENVS:
                continue
            line, col = _position(text, start)
            rows.append(Row(match.group(0), line, col, start, block, "unknown", "", match.group(0),
                            problem=f"the environment {env} is not one derive reads (equation, align, gather, "
                                    f"multline, flalign, alignat, displaymath, $$…$$, \\[…\\], \\(…\\))"))
            block += 1
            continue
        body = text[body_start:body_end]
        if not tex:   # % inside math is a TeX comment (MathJax), though prose in Markdown
            body = _TEX_COMMENT.sub(lambda c_: " " * len(c_.group(0)), body)
        inline = group in ("inl", "pa")
        if inline and not _RELATION.search(body):
            continue  # inline math that states nothing (a name, a symbol)
        if group == "env" and match.group("env_name").startswith(("align", "aligned", "eqnarray", "gather", "flalign")):
            aligned = True
        else:
            aligned = bool(re.search(r"\\begin\{(align|aligned|split|gathered)", body))
        justification = _prose(scan[last_end:start])
        last_end = end
        mention = not inline and _is_mention(scan, start, end)
        inner_claims = _claims_in_text(source, body, body_start, block)
        for m_ in _ENV_CMD.finditer(body):
            body = _blank(body, m_.start(), m_.end())
        body = _array_rows(body)
        display_end = body_start + len(body.rstrip())
        if re.search(r"(?<!\\)\\$", body.rstrip()):   # a stray backslash before the closing $$
            k = len(body.rstrip()) - 1
            body = _blank(body, k, k + 1)
        own_tags = group == "env" and not match.group("env_name").startswith(("equation", "multline", "displaymath", "math"))
        pieces, at = [], 0
        for m_ in _ROW_SEP.finditer(body):
            pieces.append((at, body[at:m_.start()]))
            at = m_.end()
        pieces.append((at, body[at:]))
        if not aligned:
            pieces = _join_broken(pieces, body)
        kind_name = "inline" if inline else "display"
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
                            " ".join(source[src_off:src_off + len(piece.strip())].split()), mention=mention,
                            display_end=display_end, own_tags=own_tags,
                            problem=_odd_space(source, piece.strip(), src_off)))
        rows.extend(inner_claims)
        block += 1
    return rows


_ARRAY = re.compile(r"^\s*(?P<begin>\\begin\{array\}\s*\{[rcl|\s]*\})(?P<rows>.*?)(?P<end>\\end\{array\})\s*$", re.S)


def _array_rows(body: str) -> str:
    """A display that is one array of equations (lhs & = & rhs, each row a relation): its rows, as typeset.

    Cells of an array are laid out left to right, so a row read without its & is the row as
    typeset. Any other array (a matrix, a table, an array inside an expression) is left as it is
    written, and refused where it is parsed.
    """
    m_ = _ARRAY.match(body)
    if not m_:
        return body
    rows = _ROW_SEP.split(m_.group("rows"))
    if not all(r_ is None or not r_.strip() or r_.startswith("[") or _RELATION.search(r_) for r_ in rows):
        return body
    body = _blank(body, m_.start("begin"), m_.end("begin"))
    return _blank(body, m_.start("end"), m_.end("end"))


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
