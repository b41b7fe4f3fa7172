"""The ``derive check`` subcommand: a derivation as people write it (.md, .tex, text), every line verified."""

from __future__ import annotations

import re

import json
import math
import sys
from pathlib import Path

from .cli import seed_value
from .errors import UserError

__all__ = ["register", "format_text", "write_back", "MARKS"]

FORMATS = ("text", "md", "tex")
BUDGET = 300.0         # seconds for one document (derive.read.document.BUDGET): past it, the rest is undecided
MAX_RANDOM = 1000      # random MDPs: beyond this one document takes hours; refused at once
NOT_TEXT = (".pdf", ".png", ".jpg", ".jpeg", ".svg", ".docx", ".odt", ".zip", ".gz")

MARKS = {  # verdict -> (mark, word)
    "holds": ("✓", "holds"),
    "holds in expectation, written as an equality": ("≈", "in expectation only"),
    "fails": ("✗", "fails"),
    "not understood": ("?", "not understood"),
    "undecided": ("?", "undecided"),
    "ambiguous: one reading holds and the other fails": ("?", "ambiguous"),
    "ambiguous: one reading fails and the other is undecided": ("?", "ambiguous"),
    "not shown: a line of the chain does not hold": ("✗", "not shown"),
    "holds in expectation (written with ≈: the last side estimates the first)": ("≈", "estimate (≈), in expectation"),
    "no claim: an expression displayed on its own, which no line continues (nothing checked, no pass)":
        ("·", "no claim, no pass"),
}


def register(subparsers) -> None:
    """Add ``check FILE [--json] [--format text|md|tex] [-o OUT]`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "check", help="check every line of a derivation written in LaTeX or Markdown",
        description="Read the display equations of FILE (.md, .tex or text: $$…$$, \\[…\\], equation, "
                    "align) and inline claims ($…=…$), and check every step on concrete MDPs. Exit 0 when "
                    "every line holds, 1 when a line fails, holds only in expectation, is undecided (also: not checked "
                    "within the time budget) or is not understood, "
                    "2 on bad input.")
    p.add_argument("file", metavar="FILE", help="the derivation (.md, .tex or plain text)")
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (a report, the default), or md / tex: the document itself with a verdict "
                        "mark beside every line")
    p.add_argument("-o", "--output", metavar="OUT", help="write the report or document here instead of stdout")
    p.add_argument("--seed", type=seed_value, default=None,
                   help="replay a run: the seed of the random battery, primes, directions and sample counts "
                        "(default: a fresh seed, printed in the report)")
    p.add_argument("--random", type=int, default=12, metavar="N",
                   help="random MDPs in the battery besides the edge cases (default 12)")
    p.add_argument("--timeout", type=float, default=2.0, metavar="S",
                   help="time limit of one symbolic simplification, seconds (default 2); one instance of the "
                        "battery gets 30 times it, past which it is undecided")
    p.add_argument("--budget", type=float, default=None, metavar="S",
                   help=f"time budget of the whole document, seconds (default {BUDGET:g}); past it the lines left "
                        "are undecided (not checked, never a pass: exit 1) and the report says so first")
    p.add_argument("--minimize", action="store_true",
                   help="search for a minimal counterexample for every failing line (slower: seconds per line)")
    p.set_defaults(handler=_check)


def _read(path: str) -> str:
    f = Path(path)
    if not f.exists():
        raise UserError(f"{path}: no such file")
    if f.is_dir():
        raise UserError(f"{path}: is a folder, not a file")
    try:
        return f.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror})") from None


def _check(args) -> int:
    from .read import check_text

    if args.random < 0 or args.random > MAX_RANDOM:
        raise UserError(f"--random: expected a count from 0 to {MAX_RANDOM}, got {args.random}")
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise UserError(f"--timeout: expected a finite number of seconds > 0, got {args.timeout}")
    args.budget = BUDGET if args.budget is None else args.budget
    if not math.isfinite(args.budget) or args.budget <= 0:
        raise UserError(f"--budget: expected a finite number of seconds > 0, got {args.budget:g}")
    if args.json and args.format != "text":
        raise UserError(f"--json and --format {args.format}: choose one (a JSON report, or the document with marks)")
    if args.output:
        out = Path(args.output)
        if out.suffix.lower() in NOT_TEXT:
            raise UserError(f"-o {args.output}: derive check writes text (.md, .tex, .txt, .json), not {out.suffix}")
        if out.exists() and Path(args.file).exists() and out.samefile(args.file):
            raise UserError(f"-o {args.output}: is the input file; derive check does not overwrite its input")
    text = _read(args.file)
    notebook = None
    if Path(args.file).suffix.lower() == ".ipynb":
        from .read.notebook import read_notebook

        if args.format != "text":
            raise UserError(f"--format {args.format}: {args.file} is a notebook; derive check writes marks back into "
                            ".md and .tex only (use the text report or --json)")
        notebook = read_notebook(text, args.file)
        text = notebook.text
    from .battery import fresh_seed

    args.seed = fresh_seed() if args.seed is None else args.seed
    path_name = args.file
    report = check_text(text, path=args.file, seed=args.seed, n_random=args.random, timeout=args.timeout,
                        minimize=args.minimize, budget=args.budget,
                        announce=lambda msg: print(f"derive check: {path_name}: {msg}", file=sys.stderr, flush=True))
    if not report.lines:
        raise UserError(f"{args.file}: no display math ($$…$$, \\[…\\], equation, align) and no inline claim found")
    if args.json:
        data = report.to_dict()
        if notebook is not None:   # lines of a notebook are named by cell and line in the cell
            for row in data["lines"]:
                row["cell"], row["cell_line"] = notebook.places[row["line"] - 1] if row["line"] >= 1 else ("", 0)
                row["detail"] = notebook.rename(row["detail"])
                row["notes"] = [notebook.rename(n_) for n_ in row["notes"]]
        body = json.dumps(data, indent=2, ensure_ascii=False)
    elif args.format == "text":
        body = format_text(report, options=(f" --random {args.random}" if args.random != 12 else "")
                           + (f" --timeout {args.timeout:g}" if args.timeout != 2.0 else "")
                           + (f" --budget {args.budget:g}" if args.budget != BUDGET else "")
                           + (" --minimize" if args.minimize else ""),
                           rename=notebook.rename if notebook is not None else None)
    else:
        body = write_back(text, report, fmt=args.format)
    if args.output:
        try:
            Path(args.output).write_text(body + ("" if body.endswith("\n") else "\n"), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"-o {args.output}: cannot write ({exc.strerror})") from None
    else:
        print(body)
    return 0 if report.verified else 1


def _mark(line) -> tuple[str, str]:
    if line.verdict in MARKS:
        return MARKS[line.verdict]
    return ("·", line.kind)


def format_text(report, *, options: str = "", rename=None) -> str:
    """The per-line report: where, as written, as read, the verdict, and why; last, the seed that replays it.

    ``options``: the command-line options besides --seed that the replay needs (``" --random 4"``);
    ``rename``: how line numbers are named in the report (a notebook's: by cell and line).
    """
    if rename is not None:
        return "\n".join(rename(ln_) if not ln_.startswith(("    as written:", "    read as:")) else ln_
                         for ln_ in format_text(report, options=options).split("\n"))
    battery = {"rewards": "the random-rewards battery (P(r|s,a), trajectories record their rewards)",
               "default": "the default battery"}.get(report.battery, report.battery)
    out = [f"{Path(report.path).name or 'document'}: {len(report.lines)} line{'s' if len(report.lines) != 1 else ''} read "
           f"({'1-based time, read as 0-based: step k is k−1; n, T and H are the last step, 0-based H+1' if report.base == 1 else '0-based time'}); "
           f"checked on {battery}, {report.instances} MDPs"]
    out += [f"note: {n}" for n in report.notes]
    for ln in report.lines:
        mark, _ = _mark(ln)
        where = f"line {ln.line}" + (f":{ln.column}" if ln.column else "")
        out.append(f"{mark} {where:<12} {ln.verdict}" + (f"  — {ln.justification}" if ln.justification else ""))
        out.append(f"    as written: {ln.latex}")
        if ln.reading:
            out.append(f"    read as:    {ln.reading}")
        for st in ln.steps:
            rel = " (as an estimator: E[right] = left)" if st.relation == "unbiased" else ""
            which = " (the other reading)" if st.rule.endswith("other reading") else ""
            out.append(f"    step {st.index}{which}: {st.verdict}{rel}")
            if st.detail and not st.ok:
                out.append(f"      {st.detail}")
            for c in st.conditions:
                out.append(f"      side condition {c.text}: {c.status}")
            if st.counterexample is not None:
                from .cli import counterexample_lines

                out.extend(counterexample_lines(st.counterexample, indent=6))
        for note in ln.notes:
            out.append(f"    note: {note}")
        if ln.detail:
            out.append(f"    {ln.detail}")
    counts = {}
    for ln in report.lines:
        counts[ln.verdict] = counts.get(ln.verdict, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    if not report.verified and all(ln.ok for ln in report.lines):
        summary += "; no claim was shown to hold"
    if report.usual_decided:   # the verdict's scope: a reading was chosen on these lines
        n_ = len(report.usual_decided)
        summary += (f" (on {n_} line{'s' * (n_ != 1)} two readings disagree and the usual one decided: see "
                    f"line{'s' * (n_ != 1)} {', '.join(str(v) for v in report.usual_decided)})")
    from .report import m_domain_text

    held = [st for ln in report.lines for st in ln.steps]
    head = "VERIFIED" + m_domain_text(held) + (f" — {strength_text(report)}" if report.verified and strength_text(report) else "")
    out.append(f"{head if report.verified else 'NOT VERIFIED'}: {summary} ({report.seconds:.1f} s)")
    if report.seed is not None:
        out.append(f"seed {report.seed}: derive check {report.path or 'FILE'} --seed {report.seed}{options} "
                   "replays this run")
    return "\n".join(out)


def strength_text(report) -> str:
    """'2 steps proved symbolically, 3 checked on instances only (shapes up to S = 5, A = 4, H = 148)', or ''.

    A check on instances is weaker than a proof: a verified document says how many of its steps
    rest on the battery alone, and the largest shapes they were checked on.
    """
    from .report import instance_strength

    steps = [st for ln in report.lines if ln.kind != "result" for st in ln.steps if st.ok]
    st = instance_strength(steps)
    if not st["instances_only"]:
        return ""
    proved = len(steps) - st["instances_only"]
    where = ", ".join(f"{k} = {v}" for k, v in st.get("largest", {}).items())
    return (f"{proved} step{'s' * (proved != 1)} proved symbolically, "
            f"{st['instances_only']} checked on instances only" + (f" (shapes up to {where})" if where else ""))


def write_back(text: str, report, *, fmt: str) -> str:
    """The document with a verdict mark beside every line it states (md: MathJax \\tag, tex: \\tag*).

    A display that is one equation ($$…$$, \\[…\\], equation) takes one \\tag* listing the marks of
    its rows (two tags in one equation are an error in LaTeX and MathJax); align and its kin take
    one per row. The tag goes after a stray backslash before the closing $$ (``\\tau(i)\\$$``), where it
    cannot turn that $ into an escaped dollar.
    """
    inserts = []
    shared: dict = {}   # display end -> labels of its rows, in order
    own: dict = {}      # row end -> labels of the equations of that row
    for ln in report.lines:
        if ln.end < 0:
            continue
        mark, word = _mark(ln)
        label = f"{mark} {word}" if fmt == "md" else word
        if ln.verdict in ("fails", "not understood") and ln.detail:
            label += f" (line {ln.line})"
        if ln.unknown:
            piece = f"[{label}] " if fmt == "md" else "%% derive: %s\n" % label
            inserts.append((ln.start, piece))
        elif ln.display_end < 0:
            close = text.find("$", ln.end)
            closing = text.find("\\)", ln.end)
            if closing >= 0 and (close < 0 or closing < close):
                pos = closing + 2
            else:
                pos = close + 1 if close >= 0 else ln.end
            piece = f" [{label}]" if fmt == "md" else r"\textsuperscript{[%s]}" % label
            inserts.append((pos, piece))
        elif ln.own_tags:   # one tag per row: the equations side by side on a row share it
            own.setdefault(ln.end, []).append(label)
        else:
            shared.setdefault(ln.display_end, []).append(label)
    for pos, labels in own.items():
        inserts.append((pos, r" \tag*{%s}" % _tag_label("; ".join(labels), fmt)))
    for pos, labels in shared.items():
        # After the inner block that holds the rows (aligned, split, …): \tag is not allowed inside it.
        inner = _INNER_END.match(text, pos)
        inserts.append((inner.end() if inner else pos, r" \tag*{%s}" % _tag_label("; ".join(labels), fmt)))
    out = text
    for pos, piece in sorted(inserts, key=lambda p_: p_[0], reverse=True):
        out = out[:pos] + piece + out[pos:]
    return out


_INNER_END = re.compile(r"(?:\s*\\end\s*\{(?:aligned|split|gathered|alignedat|array)\})+")


def _tag_label(label: str, fmt: str) -> str:
    return label.replace("✓", r"\checkmark" if fmt == "tex" else "✓")


def _inline_at(text: str, end: int) -> bool:
    """Whether the row ending at ``end`` is inline math ($…$, not $$…$$)."""
    rest = text[end:end + 200].lstrip()
    return rest.startswith("$") and not rest.startswith("$$")
