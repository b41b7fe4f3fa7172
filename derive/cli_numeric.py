"""The ``gradient`` and ``estimate`` subcommands: exact ∇J, and the Monte-Carlo cross-check.

``register(subparsers)`` adds both to an argparse subparsers object; each parser's
``handler`` default takes the parsed arguments and returns the exit code (raising
UserError for bad input, which the caller reports with exit code 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from statistics import NormalDist
from typing import Sequence

from .cli import int_at_least, seed_value
from .errors import UserError
from .exact import METHODS, exact_in_z, gradient
from .mdpfile import Problem, load
from .policies import DirectPolicy, TabularSoftmax
from .sampling import BIASED_ESTIMATORS, ESTIMATORS
from .stats import DEFAULT_ALPHA, TESTS, cross_check

__all__ = ["register", "run_gradient", "run_estimate", "main_for_tests"]

_PROGRESS_STEPS = 5_000_000  # show a progress bar from this many trajectory-steps on


def register(subparsers) -> None:
    """Add ``gradient`` and ``estimate`` to an argparse subparsers object."""
    g = subparsers.add_parser("gradient", help="J(θ) and ∇J(θ) of a finite MDP, exactly or by DP",
                              description="J(θ) and ∇J(θ) of a finite MDP by one of three independent routes.")
    _source_arguments(g)
    g.add_argument("--method", choices=METHODS, default="dp",
                   help="dp: float64 dynamic programming (any size); enumerate: exact score-function form; "
                        "symbolic: exact symbolic differentiation of Σ_τ P(τ;θ)R(τ) (default: dp)")
    g.set_defaults(handler=run_gradient)

    e = subparsers.add_parser("estimate", help="Monte-Carlo ∇J against the exact one, with a statistical test",
                              description="Sample trajectories, estimate ∇J and test E[ĝ] = ∇J. "
                                          "Exit 0 when consistent, 1 when biased, 2 on bad input, "
                                          "3 when undecided (some components could not be tested).")
    _source_arguments(e)
    e.add_argument("--samples", type=_positive_int, default=100_000, help="trajectories (default: 100000)")
    e.add_argument("--seed", type=seed_value, default=0, help="seed of numpy.random.Generator (default: 0)")
    e.add_argument("--estimator", choices=ESTIMATORS + BIASED_ESTIMATORS, default="reinforce",
                   help="reinforce (whole return, as in seed 000), reward-to-go, baseline; "
                        "the others are deliberately biased, to show the test's power")
    e.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help=f"level of the test (default: {DEFAULT_ALPHA})")
    e.add_argument("--test", choices=TESTS, default="auto",
                   help="auto: z-tests with the exact covariance where the trajectories can be enumerated, else "
                        "Student t on independent batch means; holm: z-tests with plug-in standard errors "
                        "(liberal on rare events); chi2: with the sample covariance; "
                        "chi2-exact: with the exact covariance by enumeration (default: auto)")
    e.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: on a terminal, for long runs)")
    e.set_defaults(handler=run_estimate)


def _source_arguments(p) -> None:
    p.add_argument("mdp", metavar="MDP", help="an MDP file (.json or .toml) or gym:ENV_ID (e.g. gym:FrozenLake-v1)")
    p.add_argument("--horizon", type=int, default=None, help="override the horizon H (the agent acts at t = 0..H)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


_positive_int = int_at_least(2)


def _labels(problem: Problem) -> list[str]:
    policy = problem.policy
    if isinstance(policy, (TabularSoftmax, DirectPolicy)):
        A = policy.n_actions
        return [f"θ[{k}] (s={k // A}, a={k % A})" for k in range(policy.n_params)]
    return [f"θ[{k}]" for k in range(policy.n_params)]


def _header(problem: Problem) -> str:
    return f"{problem.source}: {problem.mdp.describe()}; policy {problem.policy.describe()}"


def _value_text(x, exact, spec: str) -> str:
    """A value as float64 prints it, unless the exact value is nonzero and float64 would print 0 (or -0)."""
    if isinstance(exact, Fraction) and exact != 0 and x == 0:
        return (" " if spec.startswith(" ") and exact > 0 else "") + _scientific(exact)
    return format(x, spec)


def _scientific(q: Fraction, digits: int = 6) -> str:
    """q ≠ 0 in scientific form, computed exactly (it may lie far below float64's range)."""
    sign = "-" if q < 0 else ""
    q = abs(q)
    e = int((q.numerator.bit_length() - q.denominator.bit_length()) * 0.30102999566398120)  # log10(2)
    while q >= Fraction(10) ** (e + 1):
        e += 1
    while q < Fraction(10) ** e:
        e -= 1
    mantissa = q / Fraction(10) ** e  # in [1, 10)
    scaled = round(mantissa * 10 ** (digits - 1))
    if scaled >= 10 ** digits:  # rounding carried into the next power of ten
        scaled //= 10
        e += 1
    text = str(scaled)
    return f"{sign}{text[0]}.{text[1:].rstrip('0') or '0'}e{e}"


def _exact_text(x) -> str:
    if isinstance(x, Fraction):
        s = str(x)
        if len(s) <= 40:
            return f"  = {s}"
        zero = "; nonzero, below float64's range" if x != 0 and abs(x) < Fraction(2.2250738585072014e-308) else ""
        return f"  (exact rational, {len(str(x.denominator))}-digit denominator{zero})"
    return ""


def run_gradient(args) -> int:
    """J and ∇J by the chosen route; returns 0."""
    problem = load(args.mdp, horizon=args.horizon)
    try:  # each route refuses a horizon past its own cap (the DP here keeps O(H·S) numbers, not (H + 1)²)
        result = gradient(problem.mdp, problem.policy, problem.theta, method=args.method)
    except UserError as exc:  # the route refused this file's policy or θ: name the file
        raise UserError(str(exc) if str(exc).startswith(args.mdp) else f"{args.mdp}: {exc}") from None
    J, grad = result.as_floats()
    if args.json:
        print(json.dumps({"J": J, "grad": grad, "method": result.method}))
        return 0
    kind = "exact rationals" if result.exact else "float64"
    print(_header(problem))
    print(f"method: {result.method} ({kind})")
    if result.exact and not isinstance(problem.policy, DirectPolicy) and not exact_in_z(problem.theta):
        print("note: exact at z = e^θ rounded to float64; write θ_k as 0 or \"log(p/q)\" for z_k exact")
    print(f"J(θ) = {_value_text(J, result.J, '.15g')}{_exact_text(result.J)}")
    print("∇J(θ):")
    labels = _labels(problem)
    width = max(len(x) for x in labels)
    for label, g, exact in zip(labels, grad, result.grad):
        print(f"  {label:<{width}}  {_value_text(g, exact, ' .15g')}{_exact_text(exact)}")
    return 0


class _ProgressBar:
    """A one-line bar on stderr, redrawn per chunk."""

    def __init__(self, width: int = 30):
        self.width = width

    def __call__(self, done: int, total: int) -> None:
        self.stream = sys.stderr  # looked up per call: tests and callers may swap it
        filled = self.width * done // total
        self.stream.write(f"\rsampling [{'#' * filled}{'.' * (self.width - filled)}] {done:,}/{total:,}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def run_estimate(args) -> int:
    """Estimate ∇J by sampling and test it against the exact value; 0 consistent, 1 biased."""
    from .limits import check_horizon, check_steps

    problem = load(args.mdp, horizon=args.horizon)
    check_horizon(problem.mdp.horizon, where=f"{args.mdp}: horizon", states=problem.mdp.n_states)
    check_steps(args.samples, problem.mdp.horizon, where="--samples")
    steps = args.samples * (problem.mdp.horizon + 1)
    show = args.progress if args.progress is not None else (sys.stderr.isatty() and steps >= _PROGRESS_STEPS)
    check = cross_check(problem.mdp, problem.policy, problem.theta, samples=args.samples, seed=args.seed,
                        estimator=args.estimator, alpha=args.alpha, test=args.test,
                        progress=_ProgressBar() if show else None)
    est, verdict = check.estimate, check.verdict
    mean = est.mean if verdict.estimate is None else verdict.estimate
    stderr = est.stderr if verdict.stderr is None else verdict.stderr
    if args.json:
        print(json.dumps({
            "exact": check.exact.tolist(),
            "estimate": mean.tolist(),
            "stderr": stderr.tolist(),
            "p_value": verdict.p_value,
            "consistent": verdict.consistent,
            "verdict": verdict.verdict,
            "test": verdict.test,
            "untested": list(verdict.untested),
            "warnings": list(verdict.notes),
        }))
        return _exit_code(verdict)
    level = 1 - args.alpha
    zq = NormalDist().inv_cdf(1 - args.alpha / 2)
    test_name = {"holm": "per-component z-tests with plug-in standard errors, Holm-corrected",
                 "chi2": "χ² with the sample covariance", "chi2-exact": "χ² with the exact covariance",
                 "z-exact": "per-component z-tests with the exact covariance (by enumeration), Holm-corrected",
                 "batch-t": f"Student t on {est.dof + 1 if est.dof else 0:,} independent batch means, "
                            "Holm-corrected"}[verdict.test]
    per_component = verdict.test in ("holm", "z-exact", "batch-t")
    print(_header(problem))
    print(f"estimator: {args.estimator}, {est.samples:,} trajectories ({est.steps:,} steps), seed {args.seed}")
    print(f"exact ∇J by dynamic programming; J(θ) = {check.J:.10g}")
    labels = _labels(problem)
    width = max(len(x) for x in labels)
    head = f"  {'parameter':<{width}}  {'exact':>12}  {'estimate':>12}  {'stderr':>10}  {f'{level:.0%} CI':>25}"
    if per_component:
        head += f"  {'z':>7}  {'p (Holm)':>9}"
    print(head)
    untested = set(verdict.untested)
    for k, label in enumerate(labels):
        lo, hi = mean[k] - zq * stderr[k], mean[k] + zq * stderr[k]
        line = (f"  {label:<{width}}  {check.exact[k]:>12.6g}  {mean[k]:>12.6g}  {stderr[k]:>10.3g}"
                f"  {f'[{lo:.5g}, {hi:.5g}]':>25}")
        if per_component:
            line += f"  {'untested':>7}" if k in untested else (
                f"  {verdict.statistic[k]:>7.2f}  {verdict.p_values[k]:>9.3g}")
        print(line)
    if not per_component:
        print(f"χ² = {float(verdict.statistic):.4g}")
    print(f"test: {test_name}, α = {args.alpha:g}; p = {verdict.p_value:.4g}")
    for note in verdict.notes:
        print(f"warning: {note}")
    why = {"undecided": ": nothing rejected, but not every component was tested",
           "biased": f" (rejected; {len(untested)} other component(s) untested)" if untested else "",
           "consistent": ""}[verdict.verdict]
    print(f"verdict: {verdict.verdict}{why}")
    return _exit_code(verdict)


def _exit_code(verdict) -> int:
    return {"consistent": 0, "biased": 1, "undecided": 3}[verdict.verdict]


def main_for_tests(argv: Sequence[str] | None = None) -> int:
    """A stand-alone ``derive`` with just these subcommands: UserError → one line on stderr, exit 2."""
    parser = argparse.ArgumentParser(prog="derive")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UserError as e:
        print(f"derive: error: {e}", file=sys.stderr)
        return 2
