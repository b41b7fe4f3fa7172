"""The derive command: verify proof scripts (and, where installed, the numeric and LaTeX tools)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import sys
from pathlib import Path

from .errors import ProcessEndRefused, UserError
from .report import PROVED, agreement_phrase

__all__ = ["main", "run_proofs", "format_report", "format_derivation", "format_step", "counterexample_lines",
           "int_at_least", "seed_value"]

# Subcommand modules that register themselves on the parser; absent ones are skipped.
_PLUGINS = ("derive.cli_numeric", "derive.cli_latex", "derive.cli_gradcheck", "derive.cli_check")
# Their commands and one-line help: a module is imported only when its command is run (or its own
# --help asked for), so `derive --help` and `derive --version` start without SymPy and NumPy.
_PLUGIN_COMMANDS = {
    "gradient": ("derive.cli_numeric", "J(θ) and ∇J(θ) of a finite MDP, exactly or by DP"),
    "estimate": ("derive.cli_numeric", "Monte-Carlo ∇J against the exact one, with a statistical test"),
    "latex": ("derive.cli_latex", "write a proof script's derivations as LaTeX, Markdown or PDF"),
    "gradcheck": ("derive.cli_gradcheck", "test your policy-gradient estimator against exact gradients"),
    "check": ("derive.cli_check", "check every line of a derivation written in LaTeX or Markdown"),
}


def int_at_least(minimum: int):
    """An argparse type: an integer >= minimum, refused in one line (exit 2) otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    return parse


MAX_RANDOM = 1_000  # random MDPs of one verify run: each adds a check of every line of every proof
seed_value = int_at_least(0)  # every --seed: a negative seed is refused (NumPy would raise later)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would print the usage block too)
        raise UserError(f"{self.prog}: {message}")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command-line parser; given argv, only the subcommand it names is imported (others are listed)."""
    from . import __version__

    parser = _Parser(prog="derive", description="Verify mathematical derivations step by step.")
    parser.add_argument("--version", action="version", version=f"derive {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    verify = sub.add_parser("verify", help="check every step of proof scripts (default: the bundled proofs)")
    verify.add_argument("paths", nargs="*", metavar="PATH", help="proof scripts or folders of them")
    verify.add_argument("--json", action="store_true", help="print only a JSON report on stdout")
    loud = verify.add_mutually_exclusive_group()
    loud.add_argument("-v", "--verbose", action="store_true",
                      help="print every step with its verdict (default: one line per proof and per failed or weakened step)")
    loud.add_argument("-q", "--quiet", action="store_true", help="print only the summary line")
    verify.add_argument("--seed", type=seed_value, default=None,
                        help="replay a run: the seed of the random battery, primes, directions and sample counts "
                             "(default: a fresh seed, printed in the report)")
    verify.add_argument("--random", type=int, default=12, metavar="N",
                        help=f"random MDPs in the battery besides the edge cases (default 12, at most {MAX_RANDOM:,})")
    verify.add_argument("--timeout", type=float, default=2.0, metavar="S",
                        help="time limit of the symbolic check of one step, seconds (default 2; a time-out is undecided)")
    verify.add_argument("--battery", choices=("default", "stress", "rewards", "softmax", "bandits", "gaussian", "discounted"), default=None,
                        help="instances to check on (default: the one each proof declares, usually 'default'); "
                             "'stress' adds instances that break the theorem's side conditions (boundary policy, "
                             "θ-dependent environment); 'rewards' has random rewards P(r|s,a)")
    verify.add_argument("--no-minimize", action="store_true",
                        help="report the battery's smallest failing instance instead of searching for a minimal one")
    verify.add_argument("--mdp", action="append", default=None, metavar="FILE",
                        help="check every line on this MDP file (or gym:ENV_ID) instead of the battery; repeatable")
    verify.add_argument("--save-counterexample", default=None, metavar="FILE",
                        help="write the first failed step's counterexample (or --counterexample-of's) as an MDP file (with its policy and θ), "
                             "which `derive gradient FILE` and `derive verify PROOF --mdp FILE` read")
    verify.add_argument("--counterexample-of", default=None, metavar="DERIVATION[:STEP]",
                        help="with --save-counterexample: save this derivation's failure (STEP a number or 'result') "
                             "instead of the first one")
    verify.set_defaults(handler=_verify)
    wanted = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    if wanted is not None and wanted not in _PLUGIN_COMMANDS:
        for command, (module, help_) in _PLUGIN_COMMANDS.items():
            if importlib.util.find_spec(module) is not None:
                sub.add_parser(command, help=help_, add_help=False)  # listed only; never run from here
        return parser
    for name in _PLUGINS:
        if wanted is not None and name != _PLUGIN_COMMANDS[wanted][0]:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help(sys.stderr)
            return 2
        return int(args.handler(args))
    except UserError as exc:
        print(f"derive: {exc}" if not str(exc).startswith("derive") else str(exc), file=sys.stderr)
        return 2
    except ProcessEndRefused as exc:  # code a proof script left behind tried to end the run: not obeyed
        print(f"derive: code from a proof script called {exc} during the check; refused", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("derive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        sys.stderr.close()
        return 0


def _verify(args) -> int:
    from .battery import BATTERIES
    from .check import verify_proof
    from .loader import load_proofs, proof_files

    if args.random < 0:
        raise UserError(f"--random: expected a count >= 0, got {args.random}")
    if args.random > MAX_RANDOM:  # each random MDP costs a check of every line: refuse at once, never hang
        raise UserError(f"--random: {args.random:,} is past the limit of {MAX_RANDOM:,} random MDPs")
    if not (args.timeout > 0 and math.isfinite(args.timeout)):
        raise UserError(f"--timeout: expected a finite number of seconds > 0, got {args.timeout}")
    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed: expected an integer >= 0, got {args.seed}")
    from .battery import fresh_seed

    seed = fresh_seed() if args.seed is None else args.seed
    files, skipped = proof_files(args.paths, report_skipped=True)
    if args.counterexample_of is not None and not args.save_counterexample:
        raise UserError("--counterexample-of: only with --save-counterexample FILE")
    if args.save_counterexample:  # refused before the run, never after it
        from .outputs import check_output

        check_output("--save-counterexample", args.save_counterexample, suffixes=(".json",),
                     inputs=[*files, *skipped, *(m for m in args.mdp or () if not m.startswith("gym:"))])
    if skipped and not args.json:
        print(f"skipped {len(skipped)} file(s) without PROOF: {', '.join(f.name for f in skipped)}", flush=True)
    # Load all first, so that bad input is reported at once; a file that fails to load (a malformed
    # proof, an exception or sys.exit in the script) is reported and skipped, the others are checked.
    loaded, unloadable = [], []
    for f in files:
        try:
            loaded.extend((f, p) for p in load_proofs(f))
        except UserError as exc:
            unloadable.append({"path": str(f), "error": str(exc)})
            print(f"derive: {exc}", file=sys.stderr, flush=True)
    batteries: dict = {}
    given = _given_battery(args.mdp) if args.mdp else None
    if given is not None and args.battery:
        raise UserError("--mdp and --battery: give one of them (--mdp replaces the battery)")

    def battery_for(proof):
        if given is not None:
            return given
        name = args.battery or proof.battery
        if name not in BATTERIES:
            raise UserError(f"{proof.name}: unknown battery {name!r} (one of {', '.join(BATTERIES)})")
        if name not in batteries:
            batteries[name] = BATTERIES[name](seed=seed, n_random=args.random)
        return batteries[name]

    reports = []
    for f, proof in loaded:
        report = verify_proof(proof, path=str(f), battery=battery_for(proof), timeout=args.timeout,
                              minimize=not args.no_minimize and given is None, seed=seed)
        reports.append(report)
        if not args.json and not args.quiet:
            print(format_report(report, verbose=args.verbose), flush=True)
    verified = bool(reports) and not unloadable and all(r.verified for r in reports)
    if args.json:
        print(json.dumps({"verified": verified, "seed": seed, "proofs": [r.to_dict() for r in reports],
                          "errors": unloadable}, indent=2, ensure_ascii=False))
    elif len(reports) > 1 or (reports and unloadable) or (reports and args.quiet):
        good = sum(r.verified for r in reports)
        tail = f"; {len(unloadable)} file(s) could not be loaded" if unloadable else ""
        print(f"{good} of {len(reports)} proofs verified{tail} (seed {seed}: {_replay(args, seed)} replays this run)")
    elif reports:
        print(f"seed {seed}: {_replay(args, seed)} replays this run")
    if args.save_counterexample:
        _save_counterexample(reports, args.save_counterexample, quiet=args.json, which=args.counterexample_of)
    if unloadable:
        return 2
    return 0 if verified else 1


def _replay(args, seed: int) -> str:
    """The command that replays this run: the same files, battery options and seed."""
    import shlex

    parts = ["derive", "verify", *args.paths]
    if args.battery:
        parts += ["--battery", args.battery]
    for spec in args.mdp or ():
        parts += ["--mdp", spec]
    if args.random != 12:
        parts += ["--random", str(args.random)]
    if args.no_minimize:
        parts.append("--no-minimize")
    return " ".join(shlex.quote(p) for p in parts + ["--seed", str(seed)])


def _given_battery(specs: list[str]):
    """The instances of --mdp files (or gym:ENV_ID): each MDP with its policy at its exact θ."""
    from dataclasses import replace

    from .battery import Battery
    from .exact import exact_point
    from .limits import check_horizon
    from .mdpfile import load
    from .semantics import Instance

    instances = []
    for spec in specs:
        problem = load(spec)
        check_horizon(problem.mdp.horizon, where=f"--mdp {spec}: horizon")  # the caps of gradient/estimate
        label = spec if spec.startswith("gym:") else Path(spec).name
        mdp = replace(problem.mdp, name=label)  # the report names the file it replays
        instances.append(Instance(mdp, problem.policy, exact_point(problem.policy, problem.theta), name=label))
    return Battery(instances, name="given: " + ", ".join(inst.name for inst in instances), seed=None)


def _save_counterexample(reports, target: str, *, quiet: bool, which: str | None = None) -> None:
    """Write the first (or the named) failed step's counterexample as an MDP file; say where, or why there is none."""
    say = (lambda text: print(text, file=sys.stderr)) if quiet else print
    name, _, step = (which or "").rpartition(":") if ":" in (which or "") else (which or "", "", "")
    failed = []
    for r in reports:
        for d in r.derivations:
            for s in (*d.steps, d.result):
                ce = s.counterexample
                if ce is None:
                    continue
                failed.append(f"{d.name}:{'result' if s.index == 0 else s.index}")
                if which is not None and (d.name != name or (step and step != ("result" if s.index == 0 else str(s.index)))):
                    continue
                where = f"{r.name}, {d.name}, " + ("stated result" if s.index == 0 else f"step {s.index} ({s.rule})")
                if not ce.replayable:
                    why = "a point, not an MDP" if not ce.mdp else "its μ and P(s'|s,a) depend on θ"
                    say(f"derive: the counterexample of {where} cannot be written as an MDP file ({why})")
                    continue
                try:
                    Path(target).write_text(json.dumps(ce.mdp, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
                except OSError as exc:
                    raise UserError(f"--save-counterexample: cannot write {target}: {exc.strerror}") from None
                proof = f" {r.path}" if r.path else ""
                say(f"counterexample of {where} saved to {target}: derive verify{proof} --mdp {target} replays it")
                return
    if which is not None:
        listed = ", ".join(failed[:10]) or "none"
        say(f"derive: --counterexample-of {which}: no failed line with a counterexample there (failed: {listed}); "
            "nothing saved")
        return
    say("derive: no failed step with a counterexample: nothing saved")


def run_proofs(proofs, *, path: str = "", verbose: bool = False) -> int:
    """Verify proofs on the default battery and print the report; 0 when all hold (for proof scripts)."""
    from .battery import fresh_seed
    from .check import verify_proof

    seed = fresh_seed()
    try:
        reports = [verify_proof(p, path=path, seed=seed) for p in proofs]
    except UserError as exc:
        print(f"derive: {exc}", file=sys.stderr)
        return 2
    for r in reports:
        print(format_report(r, verbose=verbose))
    where = f" {path}" if path else ""
    print(f"seed {seed}: derive verify{where} --seed {seed} replays this run")
    return 0 if all(r.verified for r in reports) else 1


def format_report(report, *, verbose: bool = False) -> str:
    """The text report of one proof: one line per proof and per failed or weakened step, or (verbose) every step."""
    if verbose:
        return _full_report(report)
    lines_all = [(d, s) for d in report.derivations for s in (*d.steps, d.result)]
    n_ok = sum(s.ok for _, s in lines_all)
    mark = "✓" if report.verified else "✗"
    verdict = report.verdict_words
    where = Path(report.path).name if report.path else report.name
    lines = [f"{mark} {verdict}  {report.title} ({where}): {n_ok} of {len(lines_all)} lines hold ({report.seconds:.1f} s)",
             "    " + _scope_line(report)]
    for d, s in lines_all:
        if not s.ok or s.weakened:
            lines.append("    " + _short_step_line(d, s))
    for d in report.derivations:
        lines.extend(f"    ✗ {d.name}: {problem}" for problem in d.structure)
    if any(s.contradiction for _, s in lines_all):
        lines.append("    derive contradicts itself on a line above (symbolic proof vs instance): please report it")
    return "\n".join(lines)


def _scope_line(report) -> str:
    return report.scope_line


def format_step(s, derivation: str = "") -> str:
    """One line for a step report: its verdict, and for a failure the reason and counterexample."""
    if not s.ok or s.weakened:
        return _short_step_line(derivation, s)
    where = ("stated result" if s.index == 0 else f"step {s.index} ({s.rule})")
    return f"✓ {derivation + ', ' if derivation else ''}{where}: {s.verdict}"


def format_derivation(d) -> str:
    """A derivation's verdict in one line, then a line per failed or weakened step."""
    all_ = [*d.steps, d.result]
    n_ok = sum(s.ok for s in all_)
    head = f"{'✓ verified' if d.verified else '✗ NOT verified'}  {d.name}: {n_ok} of {len(all_)} lines hold"
    lines = [head] + ["    " + _short_step_line("", s) for s in all_ if not s.ok or s.weakened]
    lines.extend(f"    ✗ {problem}" for problem in d.structure)
    return "\n".join(lines)


def _short_step_line(d, s) -> str:
    """One line: which step, its verdict, and why (the counterexample's instance and values for a failure)."""
    name = d if isinstance(d, str) else d.name
    where = (f"{name}, " if name else "") + ("stated result" if s.index == 0 else f"step {s.index} ({s.rule})")
    if s.ok:
        verdict = s.verdict
        if s.verdict != PROVED and s.symbolic and not s.symbolic.startswith("proved"):
            verdict += "; " + s.symbolic.removeprefix("not proved: ")
        why = f"; {s.detail}" if s.detail else ""
        return f"~ {where}: {verdict}{why}"
    ce = s.counterexample
    if ce is None:
        why = s.detail or s.symbolic
        line = f"{_mark(s)} {where}: {s.verdict}" + (f" — {why}" if why else "")
        return line + _excluded_text(s, line)
    values = f" ({', '.join(ce.lhs)} vs {', '.join(ce.rhs)})" if ce.lhs else ""
    bound = "".join(f"; {k} = {v}" for k, v in ce.bindings.items())
    chain = s.detail.split("; ")[0] if s.index == 0 and s.detail.startswith("the chain") else ""
    return f"✗ {where}: {s.verdict} — {ce.reason}{values} on {ce.instance}{bound}" + (f" ({chain})" if chain else "")


def _excluded_text(s, line: str) -> str:
    """'; 2 large MDPs with (S, A, H) = … excluded: … (why)' when the line left instances out and does not say so yet."""
    at = s.scope.find("large MDPs with (S, A, H)")
    if at < 0 or "excluded" not in s.scope[at:] or s.scope[at:] in line:
        return ""
    start = s.scope.rfind("; ", 0, at)
    return "; " + s.scope[start + 2 if start >= 0 else 0:]


def _full_report(report) -> str:
    """The per-step text report of one proof."""
    lines = [f"{report.title}", f"  {Path(report.path).name if report.path else report.name}: " + _scope_line(report)]
    lines.extend(f"  note: {note}" for note in getattr(report, "notes", ()))
    for d in report.derivations:
        lines.append(f"  {d.name}")
        # The battery's scope is printed once, above; a step says only what it adds to it.
        for s in (*d.steps, d.result):
            lines.extend(_abbreviated(line, report.scope) for line in _step_lines(s))
        for problem in d.structure:
            lines.append(f"    ✗ {problem}")
    verdict = report.verdict_words
    lines_all = [s for d in report.derivations for s in (*d.steps, d.result)]
    n_ok = sum(s.ok for s in lines_all)
    numeric = sum(s.numeric_only for s in lines_all)
    partial = sum(not s.ok and s.verdict != "failed" and not s.numeric_only for s in lines_all)
    weaker = (f"; {numeric} more only agree to 60 digits, not exactly (not a pass)" if numeric else "") + (
        f"; {partial} undecided or checked only in part (not a pass)" if partial else "")
    lines.append(f"  {verdict}: {n_ok} of {len(lines_all)} lines hold{weaker} ({report.seconds:.1f} s)")
    if any(s.contradiction for s in lines_all):
        lines.append("  derive contradicts itself on a line above (symbolic proof vs instance): please report it")
    return "\n".join(lines)


def _tables(mdp: dict, probabilities=(), environment=None) -> list[str]:
    """μ, P(s'|s,a), r(s,a,s') and π(a|s) in a few lines (small MDPs only)."""
    if not mdp:  # a point instance: its values are in the description
        return []
    S, A = len(mdp["initial"]), len(mdp["transitions"][0])
    if S * A > 12:
        return ["(tables in --json)"]
    row = lambda xs: "[" + ", ".join(xs) + "]"  # noqa: E731
    lines = [f"μ = {row(mdp['initial'])}"]
    lines.append("P(·|s,a): " + "; ".join(
        f"s={s},a={a}: {row(mdp['transitions'][s][a])}" for s in range(S) for a in range(A)))
    if "reward_distribution" in mdp:
        lines.append("P(r|s,a): " + "; ".join(
            f"s={s},a={a}: " + ", ".join(f"r={r} w.p. {p}" for r, p in mdp["reward_distribution"][s][a])
            for s in range(S) for a in range(A)))
    else:
        lines.append("r(s,a,·): " + "; ".join(
            f"s={s},a={a}: {row(mdp['rewards'][s][a])}" for s in range(S) for a in range(A)))
    if probabilities:
        lines.append("π(·|s): " + "; ".join(f"s={s}: {row(p)}" for s, p in enumerate(probabilities)))
    if environment:
        lines.append("μ and P(s'|s,a) depend on θ here (derivatives in --json)")
    return lines


def _mark(s) -> str:
    return "✓" if s.ok else ("✗" if s.verdict == "failed" else "?")


def _abbreviated(line: str, scope: str) -> str:
    """A step's line with the battery's scope (printed once above it) written as 'the battery above'."""
    return line.replace("(" + scope, "(the battery above") if scope else line


def _step_lines(s) -> list[str]:
    label = "result" if s.index == 0 else f"{s.index:>2}."
    rel = " (unbiased: E[new line] = line above)" if s.relation == "unbiased" and s.index else ""
    verdict = s.verdict
    if s.verdict == "proved symbolically":
        verdict += ", " + agreement_phrase(s.instances - s.numeric_instances, s.numeric_instances, s.unit,
                                           getattr(s, "scope", ""))
    out = [f"    {_mark(s)} {label:<7}{s.rule:<34} {verdict}{rel}"]
    # A counterexample decides a failed line; whether SymPy also ran out of time there depends on the load.
    timed_out = s.counterexample is not None and s.symbolic.startswith("undecided")
    if s.verdict != "proved symbolically" and s.symbolic and not s.symbolic.startswith("proved") and not timed_out:
        out.append(f"             symbolic: {s.symbolic}")
    if s.detail:
        out.append(f"             {s.detail}")
    for c in s.conditions:
        if not c.status.startswith("holds"):
            out.append(f"             side condition '{c.text}': {c.status}")
    if s.counterexample is not None:
        out.extend(counterexample_lines(s.counterexample, indent=13, tables=True))
    return out


def counterexample_lines(ce, *, indent: int, tables: bool = False) -> list[str]:
    """A counterexample as report lines: the instance, (its tables,) the bindings, why, both sides."""
    pad, more = " " * indent, " " * (indent + 2)
    out = [f"{pad}counterexample: {ce.instance}"]
    if tables:
        out.extend(more + line for line in _tables(ce.mdp, ce.probabilities, ce.environment))
    out.extend(f"{more}{key} = {value}" for key, value in ce.bindings.items())
    out.append(f"{more}{ce.reason}")
    if ce.lhs:
        out.append(f"{more}left side  = [{', '.join(ce.lhs)}]")
        out.append(f"{more}right side = [{', '.join(ce.rhs)}]")
    return out
