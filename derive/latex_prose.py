"""derive's plain-Unicode prose with its math typeset as math: ``J(θ) = Σ_τ P(τ;θ) R(τ)`` in a sentence.

Rule justifications, notes and hints are written in plain Unicode ("J(θ) is the expected return:
J(θ) = Σ_τ P(τ;θ) R(τ)."). Set character by character, their math would read in the text font;
here each maximal run of math becomes ONE inline formula in the seeds' notation (Σ → \\sum,
∇_θ → \\nabla_\\theta, | → \\mid, log → \\log, τ^(i) → \\tau^{(i)}) and words, file names and
punctuation stay text. What counts as math, and why:

* strong marks: Greek letters and math symbols, relations (=, <, ∼, …), a letter with a sub- or
  superscript (s_t, τ^(i)), a function applied without a space (J(θ), P(s'|s,a), E[…]), and a
  lone letter other than the articles "a", "A" and "I" ("in every state s"); E[…] is the
  expectation, printed \\mathbb{E} as in the displays;
* an article letter is math only beside an operator or relation ("for a ∼ N(θ, σ²)") or in a
  list of math letters ("S, A and H");
* numbers, operators and commas join marks into one formula but never make one alone
  ("35.38 for REINFORCE" stays text); a comma between two formulas that each state a relation
  separates them ("E[1] = 1, E[a] = θ");
* words of two or more letters, file names (proofs/reward_to_go.py), identifiers with
  underscores (policy_probabilities), abbreviations (i.i.d.) and hyphenated words are text;
  a hyphen after math starts a text compound ("θ-free").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Segment", "segments", "prose_to_latex", "prose_to_markdown", "math_to_latex"]

_GREEK = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "ζ": r"\zeta",
    "η": r"\eta", "θ": r"\theta", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi",
    "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "φ": r"\phi", "χ": r"\chi", "ψ": r"\psi",
    "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Φ": r"\Phi",
    "Ψ": r"\Psi", "Ω": r"\Omega", "ĝ": r"\hat{g}",
}
_SYMBOLS = {
    "∇": r"\nabla", "Σ": r"\sum", "∑": r"\sum", "Π": r"\prod", "∏": r"\prod", "∫": r"\int",
    "∂": r"\partial", "∞": r"\infty", "·": r"\cdot", "×": r"\times", "±": r"\pm", "√": r"\surd",
    "²": "^{2}", "³": "^{3}", "¹": "^{1}", "⁻¹": "^{-1}",
}
_RELATIONS = {"=": "=", "≠": r"\neq", "<": "<", ">": ">", "≤": r"\leq", "≥": r"\geq", "∼": r"\sim",
              "~": r"\sim", "∈": r"\in", "→": r"\to", "≈": r"\approx", "∝": r"\propto"}
_OPERATORS = {"+": "+", "−": "-", "-": "-", "/": "/", "*": r"\ast", "|": r"\mid"}
# Words that are math when an argument follows them; inside a formula any of these prints upright.
_FUNCTIONS = {"log": r"\log", "exp": r"\exp", "sin": r"\sin", "cos": r"\cos", "max": r"\max",
              "min": r"\min", "tanh": r"\tanh"}
_GREEK_NAMES = {"theta", "tau", "mu", "pi", "sigma", "gamma", "phi", "alpha", "delta", "lambda", "rho"}
_ARTICLES = {"a", "A", "I"}

_LETTER = r"[A-Za-z](?:\d+(?![\d.]))?\u0304?'*"
_GREEK_CLASS = "".join(_GREEK)
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<path>(?:[A-Za-z0-9_.-]{2,}/)+[A-Za-z0-9_.-]+|[A-Za-z0-9_-]+\.(?:py|tex|md|json|toml|txt|pdf|csv)\b)
  | (?P<ident>[A-Za-z][A-Za-z0-9]+(?:_[A-Za-z0-9]+)+)
  | (?P<abbr>(?:[A-Za-z]\.){2,})
  | (?P<word>[A-Za-z]{2,}(?:-[A-Za-z0-9]+)*(?:'[a-z]*)?)
  | (?P<suffix>'s\b|-(?=[A-Za-z]{2}))
  | (?P<numword>\d+'s\b)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<script>[_^](?:\{|\((?=[^()]*\))|(?:[A-Za-z0-9]{1,2}(?![A-Za-z0-9])|[%(greek)s])'*))
  | (?P<letter>%(letter)s)
  | (?P<greek>[%(greek)s]\u0304?'*)
  | (?P<sym>⁻¹|[∇Σ∑Π∏∫∂∞·×±√²³¹])
  | (?P<ellipsis>…|\.\.\.)
  | (?P<rel>[=≠<>≤≥∼~∈→≈∝])
  | (?P<op>[+−\-/*|])
  | (?P<open>[(\[{])
  | (?P<close>[)\]}])
  | (?P<conn>[,;])
  | (?P<other>.)
""" % {"greek": _GREEK_CLASS, "letter": _LETTER}, re.X | re.S)

_CLOSE = {"(": ")", "[": "]", "{": "}"}
# An inline formula this long (characters of LaTeX, or juxtaposed factors) may break at its outer spaces.
_LONG, _MANY = 60, 10


@dataclass
class _Item:
    kind: str                      # a token kind, or "group"
    text: str                      # the source text (for a group: its opener)
    children: list = field(default_factory=list)
    close: str = ""                # a group's closer ("" when the text ended first)
    applied: bool = False          # a group right after a function or a script: its content is math
    role: str = ""                 # strong | weak | conn | text | space


@dataclass(frozen=True)
class Segment:
    """A piece of prose: text as written, or math as a formula."""

    kind: str   # "text" or "math"
    text: str   # plain Unicode (text) or LaTeX (math)


# -- parsing --------------------------------------------------------------------------------

def _tokens(text: str) -> list[_Item]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "script" and m.group(0)[1:] in ("{", "("):
            out.append(_Item("script-open", m.group(0)))
        else:
            out.append(_Item(kind, m.group(0)))
    return out


def _nest(tokens: list[_Item]) -> list[_Item]:
    """Brackets become groups; a script's {…} or (…) becomes the script's group."""
    root: list = []
    stack: list[tuple[_Item | None, list]] = [(None, root)]
    for tok in tokens:
        current = stack[-1][1]
        if tok.kind in ("open", "script-open"):
            opener = tok.text[-1]
            group = _Item("group", opener)
            if tok.kind == "script-open":
                holder = _Item("script", tok.text[0], children=[group])
                current.append(holder)
            else:
                current.append(group)
            stack.append((group, group.children))
        elif tok.kind == "close" and len(stack) > 1 and _CLOSE[stack[-1][0].text] == tok.text:
            stack[-1][0].close = tok.text
            stack.pop()
        elif tok.kind == "close":
            current.append(_Item("other", tok.text))
        else:
            current.append(tok)
    # A group left open at the end keeps close == "": never a function's argument, and printed
    # with its opener alone (a script's group is closed by its printer).
    return root


def _is_base(item: _Item | None) -> bool:
    """Something a bracket right after it is the argument of: a letter, a function, a script, …"""
    if item is None:
        return False
    if item.kind in ("letter", "greek", "script"):
        return True
    if item.kind == "group":
        return item.applied
    if item.kind == "sym":
        return item.text in ("√", "∇", "Σ", "∑", "Π", "∏", "∫")
    return item.kind == "word" and item.text in _FUNCTIONS


def _prose_words(items: list[_Item]) -> int:
    return sum(1 for x in items if x.kind == "word" and x.text not in _FUNCTIONS and x.text not in _GREEK_NAMES)


def _mark_applied(items: list[_Item]) -> None:
    prev = None
    for item in items:
        if item.kind == "group":
            # E[…], J(θ), P(s'|s,a), exp(…): math inside, unless it holds a phrase (two words or more).
            item.applied = _is_base(prev) and item.close != "" and _prose_words(item.children) < 2
            _mark_applied(item.children)
        elif item.kind == "script":
            _mark_applied(item.children)
        prev = None if item.kind == "ws" else item


# -- classification -------------------------------------------------------------------------

def _neighbours(items: list[_Item], k: int) -> tuple[_Item | None, _Item | None]:
    before = next((items[j] for j in range(k - 1, -1, -1) if items[j].kind != "ws"), None)
    after = next((items[j] for j in range(k + 1, len(items)) if items[j].kind != "ws"), None)
    return before, after


def _starts_math(item: _Item | None) -> bool:
    return item is not None and (item.kind in ("letter", "greek", "sym", "num", "group")
                                 or (item.kind == "word" and item.text in _FUNCTIONS))


def _classify(items: list[_Item]) -> None:
    for k, item in enumerate(items):
        kind = item.kind
        if kind == "ws":
            item.role = "space"
        elif kind in ("greek", "sym", "rel", "script"):
            item.role = "strong"
        elif kind == "letter":
            item.role = "text" if item.text in _ARTICLES else "strong"
        elif kind in ("num", "op", "ellipsis"):
            item.role = "weak"
        elif kind == "conn":
            item.role = "conn"
        elif kind == "word" and item.text in _FUNCTIONS:
            item.role = "strong" if _starts_math(_neighbours(items, k)[1]) else "text"
        elif kind == "group":
            item.role = "strong" if item.applied else "text"  # a plain (…) is decided below
        else:
            item.role = "text"
    # Articles next to an operator or relation, or listed among math letters, are math.
    for k, item in enumerate(items):
        if item.kind == "letter" and item.text == "s" and _neighbours(items, k)[0] is not None \
                and _neighbours(items, k)[0].kind == "num" and k and items[k - 1].kind == "ws":
            item.role = "text"  # "a 2 s time limit": seconds, not a state
            continue
        if item.kind == "letter" and item.text in _ARTICLES:
            before, after = _neighbours(items, k)
            near_op = any(x is not None and x.kind in ("rel", "op") for x in (before, after))
            scripted = k + 1 < len(items) and items[k + 1].kind == "script"
            listed = before is not None and before.text == "," and _listed_letter(items, k)
            if near_op or scripted or listed:
                item.role = "strong"


def _listed_letter(items: list[_Item], k: int) -> bool:
    """'S, A and H': the item before the comma is a lone math letter."""
    seen = 0
    for j in range(k - 1, -1, -1):
        if items[j].kind == "ws":
            continue
        seen += 1
        if seen == 2:
            return items[j].kind == "letter" and items[j].role == "strong"
    return False


# -- runs -----------------------------------------------------------------------------------

def _has_relation(items: list[_Item]) -> bool:
    return any(x.kind == "rel" for x in items)


def _split_run(run: list[_Item]) -> list[list[_Item]]:
    """Cut a run at a semicolon (it ends a clause), at a comma between two parts that each state a
    relation, and where one side is only numbers ('P > 0, 50%')."""
    parts, current = [], []
    for item in run:
        if item.role == "conn":
            parts.append(current)
            parts.append([item])
            current = []
        else:
            current.append(item)
    parts.append(current)
    out = [parts[0]]
    for k in range(1, len(parts) - 1, 2):
        conn, nxt = parts[k], parts[k + 1]
        strong = all(any(x.role == "strong" or x.kind == "ellipsis" for x in part) for part in (out[-1], nxt))
        if not strong or conn[0].text == ";" or (_has_relation(out[-1]) and _has_relation(nxt)):
            out.append(conn)
            out.append(nxt)
        else:
            out[-1] = out[-1] + conn + nxt
    return out


def _strip(run: list[_Item]) -> tuple[list[_Item], list[_Item], list[_Item]]:
    """(lead, core, tail): spaces and commas at either end belong to the text."""
    lo, hi = 0, len(run)
    while lo < hi and run[lo].role in ("space", "conn"):
        lo += 1
    while hi > lo and run[hi - 1].role in ("space", "conn"):
        hi -= 1
    return run[:lo], run[lo:hi], run[hi:]


def _segments(items: list[_Item]) -> list[tuple[str, list[_Item]]]:
    """("math" | "text", items) pieces of one level of prose."""
    _classify(items)
    for item in items:
        if item.kind == "group" and not item.applied:
            inner = _segments(item.children)
            core = [s for s in inner if not (s[0] == "text" and all(x.kind == "ws" for x in s[1]))]
            if item.close and len(core) == 1 and core[0][0] == "math":
                item.role = "strong"  # (1 − γ), (s_t, a_t): the brackets belong to the formula
            elif item.close and item.children and all(x.role in ("weak", "conn", "space") for x in item.children):
                item.role = "weak"  # (0, 0): numbers join a formula beside them, never make one
            else:
                item.role = "text"
                item.children_segments = inner  # type: ignore[attr-defined]
    out: list[tuple[str, list[_Item]]] = []
    run: list[_Item] = []

    def flush():
        if not run:
            return
        for k, part in enumerate(_split_run(run)):
            if k % 2:
                out.append(("text", part))
                continue
            lead, core, tail = _strip(part)
            if lead:
                out.append(("text", lead))
            if any(x.role == "strong" for x in core):
                out.append(("math", core))
            elif core:
                out.append(("text", core))
            if tail:
                out.append(("text", tail))
        run.clear()

    for item in items:
        if item.role in ("strong", "weak", "conn") or (item.role == "space" and run):
            run.append(item)
        else:
            flush()
            out.append(("text", [item]))
    flush()
    return out


# -- output ---------------------------------------------------------------------------------

def _script_body(item: _Item) -> str:
    if item.children:
        group = item.children[0]
        body = math_items(group.children)
        return "{(%s)}" % body if group.text == "(" else "{%s}" % body
    body = item.text[1:]
    primes = len(body) - len(body.rstrip("'"))
    core = body.rstrip("'")
    tex = _GREEK.get(core, core)
    return ("%s" % tex if tex.startswith("\\") and not primes else "{%s%s}" % (tex, "'" * primes))


def _atom(item: _Item) -> str:
    kind, text = item.kind, item.text
    if kind == "ws":
        return " "
    if kind == "script":
        return item.text[0] + _script_body(item)
    if kind in ("letter", "greek"):
        bar = "\u0304" in text
        core = text.replace("\u0304", "")
        primes = len(core) - len(core.rstrip("'"))
        base = core.rstrip("'")
        digits = base[1:]
        tex = _GREEK.get(base[:1], base[:1]) + ("_{%s}" % digits if digits else "")
        return (r"\bar{%s}" % tex if bar else tex) + "'" * primes
    if kind == "sym":
        return _SYMBOLS[text]
    if kind == "rel":
        return _RELATIONS[text]
    if kind == "op":
        return _OPERATORS[text]
    if kind == "ellipsis":
        return r"\dots"
    if kind == "word":
        if text in _FUNCTIONS:
            return _FUNCTIONS[text]
        if text in _GREEK_NAMES:
            return "\\" + text
        return r"\mathrm{%s}" % text
    if kind == "group":
        opener = r"\{" if text == "{" else text
        closer = {"}": r"\}"}.get(item.close, item.close)
        return opener + math_items(item.children) + closer
    if kind == "num" or (kind in ("conn", "other") and text in ",;:.'!"):
        return text
    return r"\text{%s}" % _ascii_text(text)


_SUPERSCRIPTS = ("²", "³", "¹", "⁻¹")
_BIG = ("∇", "Σ", "∑", "Π", "∏", "∫")


def _script_char(item: _Item | None) -> str:
    """'_' or '^' for a sub- or superscript item (² is one), else ''."""
    if item is None:
        return ""
    if item.kind == "script":
        return item.text[0]
    return "^" if item.kind == "sym" and item.text in _SUPERSCRIPTS else ""


def _needs_base(item: _Item, prev: _Item | None) -> bool:
    """A script with nothing before it to attach to."""
    if prev is None or prev.kind in ("ws", "rel", "op", "conn"):
        return True
    if prev.kind == "sym" and prev.text not in _BIG and prev.text not in _SUPERSCRIPTS:
        return True
    return False


def _is_expectation(items: list[_Item], k: int) -> bool:
    """The letter E applied to a bracket, directly or after a subscript."""
    if items[k].kind != "letter" or items[k].text != "E":
        return False
    rest = items[k + 1:k + 3]
    if rest and rest[0].kind == "script" and rest[0].text[0] == "_":
        rest = rest[1:]
    return bool(rest) and rest[0].kind == "group" and rest[0].text == "["


def math_items(items: list[_Item], *, breakable: bool = False) -> str:
    """The LaTeX of a formula's items; ``breakable`` lets a line break at its outer spaces."""
    out = []
    used: set[str] = set()  # the scripts the current base already has
    k = 0
    while k < len(items):
        item = items[k]
        if item.kind == "sym" and item.text == "√":
            # √(2π) and √x: the root covers the bracket or the atom after it; alone it is a sign.
            j = k + 1
            if j >= len(items) or items[j].kind == "ws":
                out.append(r"\surd")
                k += 1
                continue
            if items[j].kind in ("letter", "greek", "num", "word") or (items[j].kind == "group" and items[j].close):
                arg = items[j]
                body = math_items(arg.children) if arg.kind == "group" and arg.text == "(" else _atom(arg)
                out.append(r"\sqrt{%s}" % body)
                k = j + 1
                continue
        prev = items[k - 1] if k else None
        mine = _script_char(item)
        if mine and (_needs_base(item, prev) or mine in used):
            out.append("{}")  # a script needs a base of its own: _x alone, a__b, x²², x²_t^i
            used = set()
        if mine:
            used = used | {mine}
        else:  # a new base: s0 prints as s_{0} and s' as s^{\prime}, so they carry a script already
            used = set()
            if item.kind in ("letter", "greek"):
                used = ({"_"} if any(ch.isdigit() for ch in item.text) else set()) | ({"^"} if "'" in item.text else set())
        if _is_expectation(items, k):
            out.append(r"\mathbb{E}")  # E[…] and E_{τ∼π_θ}[…]: the expectation, as the displays print it
        else:
            out.append(r" \allowbreak " if breakable and item.kind == "ws" else _atom(item))
        k += 1
    tex = ""
    for piece in out:
        # A control word must not run into the letter after it (\log f, not \logf).
        if re.search(r"\\[A-Za-z]+$", tex) and piece[:1].isalnum():
            tex += " "
        tex += piece
    return re.sub(r" +", " ", tex).strip()


def math_to_latex(text: str) -> str:
    """Plain-Unicode math (all of it a formula) as LaTeX math: 'Σ_τ P(τ;θ)' -> '\\sum_\\tau P(\\tau;\\theta)'."""
    items = _nest(_tokens(text))
    _mark_applied(items)
    return math_items(items)


def _ascii_text(text: str) -> str:
    return "".join(ch if ord(ch) < 128 and ch not in "\\{}$&%#^_~" else "?" for ch in text)


def _flatten(pieces: list[tuple[str, list[_Item]]], breakable: bool) -> list[Segment]:
    out: list[Segment] = []
    for kind, items in pieces:
        if kind == "math":
            tex = math_items(items)
            if breakable and (len(tex) > _LONG or sum(x.kind == "ws" for x in items) >= _MANY):
                tex = math_items(items, breakable=True)
            out.append(Segment("math", tex))
            continue
        for item in items:
            inner = getattr(item, "children_segments", None)
            if item.kind == "group" and inner is not None:
                out.append(Segment("text", item.text))
                out.extend(_flatten(inner, breakable))
                out.append(Segment("text", item.close))
            else:
                out.append(Segment("text", _source(item)))
    # Merge neighbouring text pieces.
    merged: list[Segment] = []
    for seg in out:
        if merged and seg.kind == merged[-1].kind == "text":
            merged[-1] = Segment("text", merged[-1].text + seg.text)
        elif seg.text or seg.kind == "math":
            merged.append(seg)
    return merged


def _source(item: _Item) -> str:
    if item.kind == "group":
        return item.text + "".join(_source(c) for c in item.children) + item.close
    if item.kind == "script" and item.children:
        return item.text + _source(item.children[0])
    return item.text


def segments(text: str, *, breakable: bool = False) -> list[Segment]:
    """The prose as text and math segments, in order (math as LaTeX, text as written).

    ``breakable``: a long formula may break across lines at its outer spaces (pdflatex breaks
    inline math only after relations and operators otherwise)."""
    items = _nest(_tokens(text))
    _mark_applied(items)
    return _flatten(_segments(items), breakable)


def prose_to_latex(text: str, *, text_chars) -> str:
    """The prose with its math as ``$…$``; ``text_chars`` escapes the text pieces."""
    return "".join(text_chars(s.text) if s.kind == "text" else "$%s$" % s.text
                   for s in segments(text, breakable=True))


def prose_to_markdown(text: str, *, text_chars) -> str:
    """The prose with its math as ``$…$`` (GitHub and KaTeX inline math)."""
    return "".join(text_chars(s.text) if s.kind == "text" else "$%s$" % s.text for s in segments(text))
