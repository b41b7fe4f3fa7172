"""The derive command: verify proof scripts (and, where installed, the numeric and LaTeX tools)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import sys
from pathlib import Path

from .errors import UserError
from .report import agreement_phrase

__all__ = ["main", "run_proofs", "format_report"]

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
    verify.add_argument("--seed", type=int, default=None,
                        help="replay a run: the seed of the random battery, primes, directions and sample counts "
                             "(default: a fresh seed, printed in the report)")
    verify.add_argument("--random", type=int, default=12, metavar="N",
                        help="random MDPs in the battery besides the edge cases (default 12)")
    verify.add_argument("--timeout", type=float, default=2.0, metavar="S",
                        help="time limit of the symbolic check of one step, seconds (default 2; a time-out is undecided)")
    verify.add_argument("--battery", choices=("default", "stress", "rewards", "softmax", "bandits", "gaussian", "discounted"), default=None,
                        help="instances to check on (default: the one each proof declares, usually 'default'); "
                             "'stress' adds instances that break the theorem's side conditions (boundary policy, "
                             "θ-dependent environment); 'rewards' has random rewards P(r|s,a)")
    verify.add_argument("--no-minimize", action="store_true",
                        help="report the battery's smallest failing instance instead of searching for a minimal one")
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
    if not (args.timeout > 0 and math.isfinite(args.timeout)):
        raise UserError(f"--timeout: expected a finite number of seconds > 0, got {args.timeout}")
    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed: expected an integer >= 0, got {args.seed}")
    from .battery import fresh_seed

    seed = fresh_seed() if args.seed is None else args.seed
    files = proof_files(args.paths)
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

    def battery_for(proof):
        name = args.battery or proof.battery
        if name not in BATTERIES:
            raise UserError(f"{proof.name}: unknown battery {name!r} (one of {', '.join(BATTERIES)})")
        if name not in batteries:
            batteries[name] = BATTERIES[name](seed=seed, n_random=args.random)
        return batteries[name]

    reports = []
    for f, proof in loaded:
        report = verify_proof(proof, path=str(f), battery=battery_for(proof), timeout=args.timeout,
                              minimize=not args.no_minimize, seed=seed)
        reports.append(report)
        if not args.json:
            print(format_report(report), flush=True)
    verified = bool(reports) and not unloadable and all(r.verified for r in reports)
    if args.json:
        print(json.dumps({"verified": verified, "seed": seed, "proofs": [r.to_dict() for r in reports],
                          "errors": unloadable}, indent=2, ensure_ascii=False))
    elif len(reports) > 1 or (reports and unloadable):
        good = sum(r.verified for r in reports)
        tail = f"; {len(unloadable)} file(s) could not be loaded" if unloadable else ""
        print(f"{good} of {len(reports)} proofs verified{tail} (seed {seed}: derive verify --seed {seed} replays this run)")
    elif reports:
        print(f"seed {seed}: derive verify --seed {seed} replays this run")
    if unloadable:
        return 2
    return 0 if verified else 1


def run_proofs(proofs, *, path: str = "") -> int:
    """Verify proofs on the default battery and print the report; 0 when all hold (for proof scripts)."""
    from .check import verify_proof

    try:
        reports = [verify_proof(p, path=path) for p in proofs]
    except UserError as exc:
        print(f"derive: {exc}", file=sys.stderr)
        return 2
    for r in reports:
        print(format_report(r))
    return 0 if all(r.verified for r in reports) else 1


def format_report(report) -> str:
    """The per-step text report of one proof."""
    unit = 'points' if report.derivations and report.derivations[0].result.unit == 'points' else 'MDPs'
    scope = getattr(report, "scope", "")
    lines = [f"{report.title}", f"  {Path(report.path).name if report.path else report.name}: "
             f"checked on a battery of {len(report.instances)} {unit}" + (f" ({scope})" if scope else "")]
    lines.extend(f"  note: {note}" for note in getattr(report, "notes", ()))
    for d in report.derivations:
        lines.append(f"  {d.name}")
        for s in d.steps:
            lines.extend(_step_lines(s))
        lines.extend(_step_lines(d.result))
        for problem in d.structure:
            lines.append(f"    ✗ {problem}")
    verdict = "VERIFIED" if report.verified else "NOT VERIFIED"
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


def _tables(mdp: dict) -> list[str]:
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
    if "policy_probabilities" in mdp:
        lines.append("π(·|s): " + "; ".join(f"s={s}: {row(p)}" for s, p in enumerate(mdp["policy_probabilities"])))
    if "d_transitions" in mdp or "d_initial" in mdp:
        lines.append("μ and P(s'|s,a) depend on θ here (derivatives in --json)")
    return lines


def _mark(s) -> str:
    return "✓" if s.ok else ("✗" if s.verdict == "failed" else "?")


def _step_lines(s) -> list[str]:
    label = "result" if s.index == 0 else f"{s.index:>2}."
    rel = " (unbiased: E[new line] = line above)" if s.relation == "unbiased" and s.index else ""
    verdict = s.verdict
    if s.verdict == "proved symbolically":
        verdict += ", " + agreement_phrase(s.instances - s.numeric_instances, s.numeric_instances, s.unit,
                                           getattr(s, "scope", ""))
    out = [f"    {_mark(s)} {label:<7}{s.rule:<34} {verdict}{rel}"]
    if s.verdict != "proved symbolically" and s.symbolic and not s.symbolic.startswith("proved"):
        out.append(f"             symbolic: {s.symbolic}")
    if s.detail:
        out.append(f"             {s.detail}")
    for c in s.conditions:
        if not c.status.startswith("holds"):
            out.append(f"             side condition '{c.text}': {c.status}")
    ce = s.counterexample
    if ce is not None:
        out.append(f"             counterexample: {ce.instance}")
        out.extend("               " + line for line in _tables(ce.mdp))
        for key, value in ce.bindings.items():
            out.append(f"               {key} = {value}")
        out.append(f"               {ce.reason}")
        if ce.lhs:
            out.append(f"               left side  = [{', '.join(ce.lhs)}]")
            out.append(f"               right side = [{', '.join(ce.rhs)}]")
    return out
