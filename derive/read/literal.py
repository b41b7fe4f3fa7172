"""What text of a document is literal (code, comments, verbatim) and so never math, as a renderer decides it.

Markdown follows CommonMark's block structure: fenced code (``` or ~~~, closed by a fence of the
same character at least as long, or by the end of its container), indented code (4 columns past
the content column of the enclosing list item or quote, never interrupting a paragraph), HTML
comments (a ``<!--`` starting a line hides through the next ``-->``, or to the end when there is
none; inside a paragraph ``<!--`` is a comment only when its ``-->`` follows in the paragraph),
and code spans (a run of n backticks up to the next run of exactly n, before any dollar is
paired). MyST directives: ```{math} is display math, code directives are code, any other
```{name} holds Markdown. LaTeX: ``%`` comments, ``\\verb|…|`` (any delimiter), ``\\lstinline``,
``\\mintinline`` and the verbatim environments.

A line holding only a form feed separates independent parts (the cells of a notebook): no block,
comment or span runs across it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Masked", "mask_markdown", "mask_tex", "DISPLAY_MATH"]

# What makes a skipped block worth reporting: display math a reader would take for a claim.
DISPLAY_MATH = re.compile(r"\$\$[^$]*?\S[^$]*?\$\$|\\\[.*?\\\]|\\begin\{(?:equation|align|gather|multline|flalign|"
                          r"alignat|eqnarray|displaymath|math)\*?\}", re.S)
# MyST directives whose body is code (shown as written); ```{math} is display math; any other holds Markdown.
_CODE_DIRECTIVES = frozenset(
    "code-cell code-block code sourcecode literalinclude raw mermaid graphviz eval-rst eval-md jupyter-execute "
    "ipython highlight parsed-literal csv-table".split())
_PART = "\f"


@dataclass(frozen=True)
class Masked:
    """A document with its literal text blanked (same length, same lines), and what was found on the way."""

    text: str                                    # literal text blanked; math fence bodies kept
    scan: str                                    # as text, with math fence bodies blanked too (where $ is paired)
    math: tuple[tuple[int, int], ...] = ()       # (start, end) of each equation of a math fence
    not_read: tuple[tuple[int, int, str, str], ...] = ()   # (start, end, what, how it renders) of skipped blocks holding display math
    inline: tuple[tuple[int, int], ...] = ()     # (start, end) of inline math written as code: $`…`$, {math}`…`
    refused: tuple[tuple[int, str, str], ...] = ()  # (offset, construct, why) of what hides math derive cannot place


def _blank(chars: list, start: int, end: int) -> None:
    for k in range(start, end):
        if chars[k] != "\n":
            chars[k] = " "


def _columns(line: str) -> str:
    """The line with tabs expanded to stops of 4 (CommonMark measures indentation in columns)."""
    return line.expandtabs(4) if "\t" in line else line


def _spaces(s: str, pos: int) -> int:
    k = pos
    while k < len(s) and s[k] == " ":
        k += 1
    return k - pos


_LIST = re.compile(r"(?P<m>[-+*]|\d{1,9}[.)])(?P<sp> *)(?P<rest>.*)$")
_FENCE_OPEN = re.compile(r"(?P<f>`{3,}|~{3,})(?P<info>.*)$")
_THEMATIC = re.compile(r"(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_HEADING = re.compile(r"#{1,6}(?:[ \t]|$)")
_OPTION = re.compile(r"[ \t]*:[\w-]+:")


@dataclass
class _Fence:
    char: str
    n: int
    depth: int          # containers open when it opened
    kind: str           # "code" | "math" | "md" (a MyST directive holding Markdown: a container)
    what: str           # how a report names it
    start: int          # offset of the opening line
    body: int           # offset where its content starts
    options: bool = True  # still at the directive's leading :option: lines


def _directive(info: str) -> tuple[str, str]:
    info = info.strip()
    word = info.split()[0] if info.split() else ""
    if word == "math" or word == "{math}":
        return "math", "math fence"
    m_ = re.match(r"\{([\w:.-]+)\}", word)
    if m_:
        name = m_.group(1)
        if name in _CODE_DIRECTIVES:
            return "code", f"{{{name}}} block"
        return "md", f"{{{name}}} block"
    return "code", "fenced code block"


def mask_markdown(text: str) -> Masked:
    """Blank a Markdown document's code blocks, code spans and HTML comments (CommonMark's rules)."""
    chars = list(text)
    lines = text.split("\n")
    starts, k = [], 0
    for ln in lines:
        starts.append(k)
        k += len(ln) + 1
    containers: list = []      # ("q",) | ("l", content column) | ("d", _Fence) (a directive holding Markdown)
    fence: _Fence | None = None
    para = False
    code_start = -1            # offset where the indented code block being read began (-1: none)
    math_spans, not_read = [], []
    math_body: list = []       # (start, end) of the lines of the open math fence
    skip_to = -1               # inside an HTML block comment: skip lines up to this offset

    def note_skipped(start, end, what, how="shown as code, not as math"):
        m_ = DISPLAY_MATH.search(text, start, end)
        if m_:
            not_read.append((m_.start(), min(m_.end(), end), what, how))

    def close_code(end):
        nonlocal code_start
        if code_start >= 0:
            note_skipped(code_start, end, "indented code block")
            _blank(chars, code_start, end)
        code_start = -1

    def close_fence(end, *, closed_by):
        """End the open fence at offset ``end`` (the closing fence line starts there, or the container ended)."""
        nonlocal fence
        f_ = fence
        fence = None
        if f_.kind == "math":
            _math_equations(text, math_body, math_spans)
            math_body.clear()
            _blank(chars, f_.start, f_.body)
        else:
            note_skipped(f_.body, end, f_.what)
            _blank(chars, f_.start, end)
        if closed_by is not None:
            _blank(chars, closed_by[0], closed_by[1])

    for i, raw in enumerate(lines):
        off = starts[i]
        end = off + len(raw)
        if off < skip_to:
            continue
        if raw == _PART:
            close_code(off)
            if fence is not None:
                close_fence(off, closed_by=None)
            containers, para = [], False
            continue
        ln = _columns(raw)
        pos, matched = 0, 0
        for c in containers:
            if c[0] == "q":
                sp = _spaces(ln, pos)
                if sp <= 3 and ln[pos + sp:pos + sp + 1] == ">":
                    chars[off + _char_at(raw, pos + sp)] = " "   # a quote's marker is structure, never math
                    pos += sp + 1
                    pos += 1 if ln[pos:pos + 1] == " " else 0
                else:
                    break
            elif c[0] == "l":
                if not ln[pos:].strip():
                    pos = max(pos, min(len(ln), c[1]))
                elif pos + _spaces(ln, pos) >= c[1]:
                    pos = c[1]
                else:
                    break
            else:  # a directive: every line is inside until its closing fence
                pass
            matched += 1
        rest = ln[pos:]
        blank = not rest.strip()
        # the closing fence of a directive holding Markdown ends it and everything opened inside it
        closing = [j for j, c in enumerate(containers[:matched]) if c[0] == "d" and _closes(rest, c[1])]
        if closing and (fence is None or fence.depth <= closing[-1]):
            j = closing[-1]
            close_code(off)
            if fence is not None:
                close_fence(off, closed_by=None)
            _blank(chars, off, end)
            containers, para = containers[:j], False
            continue
        if fence is not None:
            if matched >= fence.depth:
                if _closes(rest, fence):
                    close_fence(off, closed_by=(off, end))
                    continue
                if fence.kind == "math":
                    if fence.options and _OPTION.match(rest):
                        _blank(chars, off, end)    # :label: eq-1 and the like: options, not math
                    else:
                        fence.options = False
                        math_body.append((off + _char_at(raw, pos), end))
                continue
            close_fence(off, closed_by=None)   # its container ended: so does the fence
        lazy = para and not blank and matched < len(containers) and not _starts_block(rest)
        if matched < len(containers) and not lazy:
            close_code(off)
            containers, para = containers[:matched], False
        # directive option lines (:class: note) right after a ```{name} line are not Markdown
        if containers and containers[-1][0] == "d" and containers[-1][1].options:
            if _OPTION.match(rest):
                _blank(chars, off, end)
                continue
            containers[-1][1].options = False
        # new containers: quotes and list items
        while not lazy:
            sp = _spaces(ln, pos)
            if sp >= 4 or blank:
                break
            if ln[pos + sp:pos + sp + 1] == ">":
                close_code(off)
                if not para:   # after a paragraph line the > may be a relation the author meant: keep it
                    chars[off + _char_at(raw, pos + sp)] = " "
                containers.append(("q",))
                pos += sp + 1
                pos += 1 if ln[pos:pos + 1] == " " else 0
                para = False
                continue
            m_ = _LIST.match(ln, pos + sp)
            if m_ and not _THEMATIC.match(ln, pos + sp) and (m_.group("sp") or not m_.group("rest")):
                empty = not m_.group("rest").strip()
                first = m_.group("m")[:-1] if m_.group("m")[-1] in ".)" else ""
                if para and (empty or (first and first != "1")):
                    break   # such a marker cannot interrupt a paragraph: the line continues it
                close_code(off)
                marker_end = m_.end("m")
                gap = len(m_.group("sp"))
                content = marker_end + (1 if empty or gap >= 5 else gap)
                containers.append(("l", content))
                pos = min(content, len(ln))
                para = False
                if empty:
                    break
                continue
            break
        rest = ln[pos:]
        sp = _spaces(ln, pos)
        if not rest.strip():
            para = False
            continue
        if sp >= 4 and not para and not lazy:
            if code_start < 0:
                code_start = off
            continue
        close_code(off)
        body = rest[sp:] if sp < 4 else rest.lstrip()
        f_ = _FENCE_OPEN.match(body)
        if f_ and sp < 4 and not (f_.group("f")[0] == "`" and "`" in f_.group("info")):
            kind, what = _directive(f_.group("info"))
            opened = _Fence(f_.group("f")[0], len(f_.group("f")), len(containers), kind, what, off, end + 1)
            if kind == "md":
                # the fence and {name} are structure; the title after them is Markdown (it may hold math)
                title = body.find("}") + 1
                _blank(chars, off, off + _char_at(raw, len(ln) - len(body) + title))
                containers.append(("d", opened))
            else:
                fence = opened
            para = False
            continue
        if sp < 4 and not para and body.startswith("["):
            ref = _LINK_REFERENCE.match(text, off + _char_at(raw, pos + sp))
            if ref and "\n\n" not in ref.group(0):
                # a link reference definition ([//]: # "…", [comment]: <> (…)) is never rendered: not read
                _blank(chars, ref.start(), ref.end())
                skip_to = ref.end() + 1
                para = False
                continue
        if sp < 4 and body.startswith("<!--"):
            at = off + _char_at(raw, pos + sp)
            close = _comment_end(text, at)
            if close < 0:
                stop = text.find("\n" + _PART + "\n", at)
                stop = len(text) if stop < 0 else stop
                note_skipped(at, stop, "HTML comment never closed", "hidden, with all the document after it")
                _blank(chars, at, stop)
                skip_to = stop
            else:
                _blank(chars, at, close)
                nl = text.find("\n", close)
                skip_to = nl + 1 if nl >= 0 else len(text) + 1   # text after --> on its line is read
            para = False
            continue
        if _HEADING.match(body) or _THEMATIC.match(body):
            para = False
            continue
        para = True
    close_code(len(text))
    if fence is not None:
        close_fence(len(text), closed_by=None)
    roles: list = []
    masked = _inline_all("".join(chars), roles)
    refused = _hidden_html(masked)
    keep = list(masked)
    for lo, hi, body_lo, body_hi in roles:   # the math of a $`…`$ or {math}`…` is kept where the row is read
        keep[body_lo:body_hi] = text[body_lo:body_hi]
    scan = list(masked)
    for lo, hi in math_spans:
        _blank(scan, lo, hi)
    return Masked("".join(keep), "".join(scan), tuple(math_spans), tuple(not_read),
                  tuple((lo, hi) for _, _, lo, hi in roles), tuple(refused))


# A link reference definition (CommonMark 4.7): [label]: destination, an optional title after it
# (on its line or the next), nothing else on the line. It renders as nothing, so [//]: # "…" is a comment.
_LINK_REFERENCE = re.compile(
    r"\[(?:[^\]\\\n]|\\.){1,999}\]:[ \t]*\n?[ \t]*(?:<[^<>\n]*>|[^\s<][^\s]*)"
    r"(?:(?:[ \t]+|[ \t]*\n[ \t]*)(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?[ \t]*(?=\n|\Z)", re.S)
# HTML that a browser does not show but a Markdown renderer may strip (GitHub drops style and
# <template>, keeps the content): whether a reader sees the math inside depends on the renderer.
_HIDING_TAG = re.compile(r"<(?P<tag>template|[A-Za-z][\w-]*(?=[^>]*?(?:\shidden(?=[\s=/>])|\sstyle\s*=\s*[\"'][^\"'>]*"
                         r"(?:display\s*:\s*none|visibility\s*:\s*hidden))))\b[^>]*>", re.I)
_MD_MATH = re.compile(DISPLAY_MATH.pattern + r"|\$[^$\s][^$]*\$|\\\(", re.S)


def _hidden_html(masked: str) -> list:
    """(offset, construct, why) of each HTML element hidden from a browser's reader (hidden, display:none, <template>) holding math."""
    out = []
    for m_ in _HIDING_TAG.finditer(masked):
        tag = m_.group("tag")
        depth, k = 1, m_.end()
        for t_ in re.compile(r"<(/?)%s\b[^>]*>" % re.escape(tag), re.I).finditer(masked, m_.end()):
            depth += -1 if t_.group(1) else (0 if t_.group(0).endswith("/>") else 1)
            k = t_.start()
            if not depth:
                break
        else:
            k = len(masked)
        if _MD_MATH.search(masked, m_.end(), k):
            out.append((m_.start(), m_.group(0) if len(m_.group(0)) <= 40 else m_.group(0)[:39] + "…",
                        f"math inside an HTML element hidden from a reader ({tag}); whether it is shown depends on "
                        "the renderer, so derive cannot tell which displays a reader sees: remove the element or "
                        "the math in it"))
    return out


def _char_at(raw: str, col: int) -> int:
    """The index in a raw line of the character at expanded column ``col``."""
    if "\t" not in raw:
        return min(col, len(raw))
    c = 0
    for k, ch in enumerate(raw):
        if c >= col:
            return k
        c = (c // 4 + 1) * 4 if ch == "\t" else c + 1
    return len(raw)


def _closes(rest: str, f_: _Fence) -> bool:
    sp = _spaces(rest, 0)
    if sp > 3:
        return False
    m_ = re.match(re.escape(f_.char) + "{%d,}[ \t]*$" % f_.n, rest[sp:])
    return bool(m_)


def _starts_block(rest: str) -> bool:
    body = rest.lstrip(" ")
    if len(rest) - len(body) >= 4:
        return False
    return bool(body.startswith((">", "```", "~~~", "<!--")) or _HEADING.match(body) or _THEMATIC.match(body)
                or re.match(r"[-+*] |1[.)] ", body))


def _comment_end(text: str, at: int) -> int:
    """The offset just past the HTML comment opening at ``at`` (-1: never closed in its part)."""
    if text.startswith("<!-->", at):
        return at + 5
    if text.startswith("<!--->", at):
        return at + 6
    k = text.find("-->", at + 4)
    part = text.find("\n" + _PART + "\n", at)
    if k < 0 or (0 <= part < k):
        return -1
    return k + 3


def _math_equations(text: str, body: list, out: list) -> None:
    """The equations of a math fence: its lines, split where a blank line separates two equations."""
    run = []
    for lo, hi in body + [(-1, -1)]:
        if lo < 0 or not text[lo:hi].strip():
            if run:
                out.append((run[0][0], run[-1][1]))
            run = []
        else:
            run.append((lo, hi))


def _inline_all(masked: str, math: list) -> str:
    """Blank code spans and inline HTML comments, paragraph by paragraph (neither crosses a blank line)."""
    chars = list(masked)
    k = 0
    for para in re.split(r"(\n[ \t\f>]*\n)", masked):
        _inline(masked, chars, k, k + len(para), math)
        k += len(para)
    return "".join(chars)


_PUNCT = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _inline(text: str, chars: list, lo: int, hi: int, math: list | None = None) -> None:
    """Blank the code spans and complete HTML comments of text[lo:hi], leftmost first (CommonMark).

    ``math`` collects (start, end, body start, body end) of inline math written as a code span.
    """
    i = lo
    unmatched: set = set()   # backtick-run lengths with no closing run left: never searched for again
    while i < hi:
        ch = text[i]
        if ch == "\\" and i + 1 < hi and text[i + 1] in _PUNCT:
            i += 2
            continue
        if ch == "`":
            j = i
            while j < hi and text[j] == "`":
                j += 1
            n = j - i
            m_ = None if n in unmatched else re.compile(r"(?<!`)`{%d}(?!`)" % n).search(text, j, hi)
            if m_ is None:
                unmatched.add(n)
            if m_:
                # math written as code: $`…`$ (GitHub, GitLab) and the MyST role {math}`…`
                dollars = text[i - 1:i] == "$" and text[m_.end():m_.end() + 1] == "$"
                role = text.endswith("{math}", 0, i)
                _blank(chars, i, m_.end())
                if dollars or role:
                    lo_ = i - 1 if dollars else i - 6
                    hi_ = m_.end() + 1 if dollars else m_.end()
                    _blank(chars, lo_, hi_)
                    if math is not None:
                        math.append((lo_, hi_, j, m_.start()))
                i = m_.end()
            else:
                i = j    # no closing run of the same length: the backticks are literal
            continue
        if text.startswith("<!--", i):
            close = _comment_end(text[:hi], i)
            if close > 0:
                _blank(chars, i, close)
                i = close
                continue
            i += 4   # never closed in the paragraph: literal text
            continue
        i += 1


_TEX_LITERAL = re.compile(
    r"\\[\\%$&#_{}]"
    r"|(?P<comment>%[^\n]*)"
    r"|(?P<verb>\\(?:verb\*?|lstinline(?:\[[^\]\n]*\])?|mintinline(?:\[[^\]\n]*\])?\{[^}\n]*\})"
    r"(?:(?P<d>[^A-Za-z\s{*\[])[^\n]*?(?:(?P=d)|(?=\n)|\Z)|\{[^}\n]*\}))"   # unclosed: TeX stops at the line's end
    r"|(?P<url>\\(?:url|path|href|nolinkurl)\{[^}\n]*\})"   # an address: % and $ in it are literal
    r"|(?P<env>\\begin\{(?P<name>verbatim\*?|Verbatim\*?|BVerbatim|LVerbatim|lstlisting|minted|comment)\}"
    r".*?(?:\\end\{(?P=name)\}|\Z))",
    re.S)


def mask_tex(text: str, *, comments: str = "all") -> Masked:
    """Blank LaTeX's literal text: comments, \\verb and its kin, verbatim environments (leftmost first).

    ``comments``: "all" (a .tex document: % anywhere starts a comment) or "lines" (% on a line of its
    own only, where % is also prose: "50% of").
    """
    chars = list(text)
    not_read = []
    for m_ in _TEX_LITERAL.finditer(text):
        if m_.group("comment") is not None:
            line_start = text.rfind("\n", 0, m_.start()) + 1
            if comments == "all" or not text[line_start:m_.start()].strip():
                _blank(chars, m_.start(), m_.end())
        elif m_.group("url") is not None:
            _blank(chars, m_.start(), m_.end())
        elif m_.group("verb") is not None or m_.group("env") is not None:
            hidden = m_.group("name") == "comment" and m_.group(0).endswith("\\end{comment}")
            if m_.group("env") is not None and not hidden:   # a closed comment environment is never typeset: not read
                hit = DISPLAY_MATH.search(text, m_.start() + len(m_.group("name")) + 8, m_.end())
                if hit:
                    not_read.append((hit.start(), hit.end(), f"{m_.group('name')} environment", "typeset as written, not as math"))
            _blank(chars, m_.start(), m_.end())
    refused: list = []
    _conditionals("".join(chars), chars, refused)
    masked = "".join(chars)
    return Masked(masked, masked, (), tuple(not_read), refused=tuple(refused))


# TeX's conditionals: \iffalse and \if0 hide their branch (\else keeps the other), \iftrue its \else.
# Any other \if… (a \newif flag, \ifdefined, \ifx, \ifnum…) is decided when TeX runs: derive cannot
# tell which branch a reader sees. A control word is a conditional only where it runs: the name after
# \newif, \let or \def is being defined, and \iff is the relation ⟺.
_COND = re.compile(r"(?:(?<!\\)|(?<=(?<!\\)\\\\))\\(?P<w>if[A-Za-z@]*|else|fi|or)(?![A-Za-z@])")
_NAMED = re.compile(r"\\(?:newif|def|gdef|edef|xdef)\s*$|\\let\s*(?:\\[A-Za-z@]+\s*=?\s*)?$")
_NOT_CONDITIONALS = frozenset({"iff", "ifthenelse"})
_ANY_MATH = re.compile(DISPLAY_MATH.pattern + r"|(?<!\\)\$|\\\(", re.S)


@dataclass
class _If:
    word: str        # the conditional as written: "iffalse", "ifdraft"
    start: int       # offset of its \if…
    end: int         # offset just past its \if… (and the 0 of \if0)
    kind: str        # "false" | "true" | "undecided"
    other: int = -1  # offset of its \else (-1: none yet)
    other_end: int = -1


def _decided(text: str, m_) -> tuple[str, int]:
    """How a conditional opening at match m_ is decided ("false", "true" or "undecided"), and where its test ends."""
    word = m_.group("w")
    if word == "iffalse":
        return "false", m_.end()
    if word == "iftrue":
        return "true", m_.end()
    if word == "if":
        # \if0 compares 0 with the next token: a space (the line's end) or any other character than 0 is false
        z = re.compile(r"[ \t]*0(?=[ \t\n])").match(text, m_.end())
        if z:
            return "false", z.end()
    return "undecided", m_.end()


def _in_dead_branch(stack: list) -> bool:
    """Whether the innermost open conditionals leave the text here unseen (inside \\iffalse, or \\iftrue's \\else)."""
    return any((f_.kind == "false" and f_.other < 0) or (f_.kind == "true" and f_.other >= 0) for f_ in stack)


def _conditionals(text: str, chars: list, refused: list) -> None:
    """Blank the branches of \\iffalse, \\if0 and \\iftrue that are never typeset; refuse undecided ones holding math.

    ``text`` has comments and verbatim blanked already (a \\fi in a comment ends nothing).
    ``refused`` collects (offset, construct, reason) of each conditional derive cannot decide
    around math: a reader may never see that math, so the document is not read at all.
    """
    stack: list[_If] = []
    for m_ in _COND.finditer(text):
        word = m_.group("w")
        if word in _NOT_CONDITIONALS or _NAMED.search(text, max(0, m_.start() - 80), m_.start()):
            continue
        if word.startswith("if"):
            kind, end = _decided(text, m_)
            stack.append(_If(word, m_.start(), end, kind))
        elif word in ("else", "or"):
            if stack and stack[-1].other < 0:
                stack[-1].other, stack[-1].other_end = m_.start(), m_.end()
            elif stack:
                stack[-1].kind = "undecided"   # \ifcase's second \or: a choice among many
        elif stack:
            f_ = stack.pop()
            if not _in_dead_branch(stack):
                _close_conditional(text, chars, refused, f_, m_.start(), m_.end())
    for f_ in stack:
        if not _in_dead_branch(stack[:stack.index(f_)]) and _ANY_MATH.search(text, f_.end):
            refused.append((f_.start, "\\" + f_.word, f"\\{f_.word} is never closed by \\fi, and math follows it; "
                                                        "derive cannot tell what a reader sees"))


def _close_conditional(text: str, chars: list, refused: list, f_: _If, fi: int, fi_end: int) -> None:
    """Apply one conditional \\if… … [\\else …] \\fi: blank its hidden branch and its commands, or refuse it."""
    mid = f_.other if f_.other >= 0 else fi
    mid_end = f_.other_end if f_.other >= 0 else fi
    if f_.kind == "undecided":
        if _ANY_MATH.search(text, f_.end, fi):
            refused.append((f_.start, "\\" + f_.word,
                            f"math inside \\{f_.word} … \\fi: derive cannot decide the conditional, so it cannot "
                            "tell which branch a reader sees; remove the conditional or the math in it"))
        return
    if f_.kind == "false":
        _blank(chars, f_.start, mid_end)
        _blank(chars, fi, fi_end)
    else:
        _blank(chars, f_.start, f_.end)
        _blank(chars, mid, fi_end)
