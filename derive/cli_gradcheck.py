"""The ``gradcheck`` subcommand: test a user's estimator ``module:function`` against exact ∇J.

Exit 0 when it passes, 1 when it is biased (or, with --variance, noisier than REINFORCE),
2 on bad input (a bad spec, an import error, a missing MDP file), 3 when undecided (nothing
rejected, but some components could not be tested at this sample size).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path

from .cli import int_at_least, seed_value
from .errors import UserError
from .stats import DEFAULT_ALPHA

__all__ = ["register", "run_gradcheck", "load_estimator"]


def register(subparsers) -> None:
    """Add ``gradcheck`` to an argparse subparsers object."""
    from .gradcheck import DEFAULT_BATCH_SIZE, DEFAULT_RANDOM, DEFAULT_SAMPLES

    p = subparsers.add_parser(
        "gradcheck", help="test your policy-gradient estimator against exact gradients",
        description="Sample trajectories on finite MDPs, call ESTIMATOR on them and test E[estimate] = ∇J. "
                    "Exit 0 when it passes, 1 when it is biased, 2 on bad input, 3 when undecided.")
    p.add_argument("estimator", metavar="module:function",
                   help="the estimator, e.g. mypkg.pg:grad or path/to/file.py:grad; it takes a "
                        "derive.gradcheck.Trajectories and returns per-trajectory estimates [m, K]")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--mdp", action="append", metavar="FILE",
                     help="an MDP file (.json/.toml) or gym:ENV_ID; repeat for several (default: the built-in battery)")
    src.add_argument("--random", type=int, default=DEFAULT_RANDOM, metavar="N",
                     help=f"random MDPs in the battery, drawn afresh per run (default: {DEFAULT_RANDOM})")
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help=f"trajectories per MDP (default: {DEFAULT_SAMPLES})")
    p.add_argument("--max-samples", type=int_at_least(1), default=None, metavar="N",
                   help="trajectories of the second round drawn where components were left untested (an integer >= "
                        "--samples; --max-samples equal to --samples: one round only; default: 16 × --samples, at "
                        "most 20 M trajectory-steps)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="B",
                   help="trajectories per estimator call, your training batch size; standard errors come from "
                        f"independent batches (default: {DEFAULT_BATCH_SIZE})")
    p.add_argument("--seed", type=seed_value, default=None,
                   help="seed of the battery and of the sampler; the report prints it (default: fresh per run)")
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help=f"overall level of the test (default: {DEFAULT_ALPHA})")
    p.add_argument("--variance", action="store_true", help="also require a variance no worse than REINFORCE's")
    p.add_argument("--no-minimize", action="store_true", help="skip the search for the smallest failing MDP")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    lo = p.add_argument_group("training losses (--loss)")
    lo.add_argument("--loss", action="store_true",
                    help="FUNCTION is a training loss loss_fn(policy, batch) -> scalar; test E[-grad loss] = c grad J")
    lo.add_argument("--framework", choices=("torch", "jax"), default="torch", help="autograd framework (default: torch)")
    lo.add_argument("--layout", choices=("episodes", "vector"), default="episodes",
                    help="batch layout: complete episodes, or Gymnasium vector envs with autoreset (default: episodes)")
    lo.add_argument("--batches", type=int, default=None, help="independent batches (gradient samples) per MDP")
    lo.add_argument("--batch-envs", type=int, default=None, help="episodes (or envs) per batch")
    lo.add_argument("--steps", type=int, default=None, help="steps per env in the vector layout (default: 4·(H+2))")
    lo.add_argument("--save-minimal", metavar="FILE", default=None,
                    help="write the smallest MDP where the bias shows as an MDP file, with its policy and θ")
    p.set_defaults(handler=run_gradcheck)


def load_estimator(spec: str, *, what: str = "estimator"):
    """The callable named by ``module:function`` or ``file.py:function``; UserError when it cannot be had."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise UserError(f"{what}: expected module:function (e.g. mypkg.pg:grad), got {spec!r}")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise UserError(f"{what}: no such file {module_name!r}")
            spec_ = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec_)
            spec_.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())  # as `python -m` would: the user's own modules
            module = importlib.import_module(module_name)
    except UserError:
        raise
    except Exception as exc:  # the user's module failed to import: one line, no traceback
        raise UserError(f"{what}: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, attr, None)
    if fn is None:
        raise UserError(f"{what}: module {module_name!r} has no attribute {attr!r}")
    if not callable(fn):
        raise UserError(f"{what}: {spec!r} is not callable")
    return fn


def _user_raised(spec: str, exc: BaseException) -> UserError:
    """The user's code raised (or called sys.exit): name it and where, in one line."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next:
        tb = tb.tb_next
    where = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}" if tb is not None else "?"
    if isinstance(exc, SystemExit):
        return UserError(f"{spec} called sys.exit({exc.code!r}) at {where}: a loss must return a value")
    return UserError(f"{spec} raised {type(exc).__name__} at {where}: {exc}")


def _mentions(exc: BaseException, framework: str) -> bool:
    """The exception came from ``framework``'s code, or names it: a loss written for the other framework."""
    if type(exc).__module__.split(".")[0] in (framework, "jaxlib" if framework == "jax" else framework):
        return True
    tb = exc.__traceback__
    while tb is not None:
        if f"{os.sep}{framework}{os.sep}" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    text = str(exc).lower()
    return framework in text or (framework == "torch" and "tensor" in text)


def _run_loss(args) -> int:
    """``--loss``: gradient-check a training loss; exit 0 when it passes (up to c > 0), 1 otherwise."""
    from .gradcheck import DEFAULT_SAMPLES
    from .losscheck import DEFAULT_BATCHES, LossRaised, check_loss, format_loss_result
    from .mdpfile import load

    if args.variance:
        raise UserError("--variance: not available with --loss")
    if args.samples != DEFAULT_SAMPLES:
        raise UserError("--samples: not used with --loss (use --batches and --batch-envs)")
    if args.max_samples is not None:
        raise UserError("--max-samples: not used with --loss (use --batches)")
    loss_fn = load_estimator(args.estimator, what="loss")
    mdps = [load(f) for f in args.mdp] if args.mdp else None
    options = dict(framework=args.framework, layout=args.layout, seed=args.seed, alpha=args.alpha,
                   minimize=not args.no_minimize, mdps=mdps, save_minimal=args.save_minimal,
                   batches=DEFAULT_BATCHES if args.batches is None else args.batches)
    if args.batch_envs is not None:
        options["batch_envs"] = args.batch_envs
    if args.steps is not None:
        options["steps"] = args.steps
    try:
        result = check_loss(loss_fn, **options)
    except LossRaised as exc:  # the user's loss raised; any other exception is derive's own and keeps its traceback
        err = _user_raised(f"loss {args.estimator}", exc.original)
        other = "jax" if args.framework == "torch" else "torch"
        if _mentions(exc.original, other):
            err = UserError(f"{err} (the loss looks written for {other}: try --framework {other})")
        raise err from None
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(format_loss_result(result, title=f"gradcheck --loss {args.estimator}"))
    return 0 if result.passed else 1


def run_gradcheck(args) -> int:
    """Handler: run the check, print the report (or JSON), return the exit code."""
    from .gradcheck import format_result, gradcheck
    from .mdpfile import load

    from .limits import check_horizon

    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed: expected an integer >= 0, got {args.seed}")
    if args.save_minimal:  # refused before the run: never over an input, a .py, a folder or into a missing folder
        from .outputs import check_output

        check_output("--save-minimal", args.save_minimal, suffixes=(".json",),
                     inputs=[m for m in args.mdp or () if not m.startswith("gym:")])
        if args.loss:  # a bias shown only across MDPs saves two files: FILE and FILE-2
            from .losscheck import second_path

            check_output("--save-minimal", second_path(args.save_minimal), suffixes=(".json",),
                         inputs=[m for m in args.mdp or () if not m.startswith("gym:")])
    if args.loss:
        return _run_loss(args)
    for flag, value in (("--batches", args.batches), ("--batch-envs", args.batch_envs), ("--steps", args.steps)):
        if value is not None:
            raise UserError(f"{flag}: only with --loss")
    if args.batch_size < 1:
        raise UserError(f"--batch-size: expected at least 1, got {args.batch_size}")
    if args.samples < 2 * args.batch_size:
        raise UserError(f"--samples: expected at least 2 × --batch-size = {2 * args.batch_size}, got {args.samples}")
    if args.random < 1:
        raise UserError(f"--random: expected a count >= 1, got {args.random}")
    if args.max_samples is not None and args.max_samples < args.samples:
        raise UserError(f"--max-samples: expected an integer >= --samples = {args.samples}, got {args.max_samples}")
    estimator = load_estimator(args.estimator)
    mdps = [load(f) for f in args.mdp] if args.mdp else None
    for f, problem in zip(args.mdp or (), mdps or ()):
        check_horizon(problem.mdp.horizon, where=f"{f}: horizon")
    try:
        result = gradcheck(estimator, mdps=mdps, n_random=args.random, samples=args.samples, seed=args.seed,
                           batch_size=args.batch_size, alpha=args.alpha, variance=args.variance,
                           minimize=not args.no_minimize, max_samples=args.max_samples)
    except UserError:
        raise
    except Exception as exc:  # the estimator raised: name it and where, in one line
        tb = exc.__traceback__
        while tb.tb_next:
            tb = tb.tb_next
        where = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        raise UserError(f"estimator {args.estimator} raised {type(exc).__name__} at {where}: {exc}") from None
    ok = result.passed and result.variance_passed is not False
    if args.save_minimal and result.minimal is not None:
        try:
            Path(args.save_minimal).write_text(json.dumps(result.minimal.to_mdpfile(), indent=1) + "\n")
        except OSError as e:
            raise UserError(f"--save-minimal: cannot write {args.save_minimal} ({e.strerror})") from None
        print(f"smallest MDP where the bias shows saved to {args.save_minimal} (with its policy and θ): "
              f"derive gradient {args.save_minimal} gives its exact ∇J", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(format_result(result, title=f"gradcheck {args.estimator}"))
    if result.undecided and result.variance_passed is not False:
        return 3  # neither a pass nor a rejection
    return 0 if ok else 1
