"""MDP files (JSON or TOML) and ``gym:ENV_ID`` sources, parsed as data and validated.

Numbers may be ints, floats or exact strings like "1/3"; nothing is ever evaluated.
A probability row with a float in it must sum to 1 within 1e-9 and is then rescaled to
sum to 1 exactly; an all-exact row must sum to 1 exactly.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tomllib
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from .display import Displayed
from .errors import UserError
from .exact import LogRational
from .mdp import FiniteMDP, InvalidMDP
from .policies import DirectPolicy, InvalidPolicy, LinearSoftmax, TabularSoftmax

__all__ = ["Problem", "KEYS", "load", "load_file", "parse", "FLOAT_TOLERANCE"]

KEYS = ("name", "initial", "transitions", "rewards", "reward_distribution", "horizon", "discount", "terminal",
        "policy", "theta")
FLOAT_TOLERANCE = 1e-9
_LOG = re.compile(r"\s*log\(\s*(\d+)\s*(?:/\s*(\d+)\s*)?\)\s*")  # θ = log(p/q), read without eval


@dataclass(frozen=True)
class Problem(Displayed):
    """An MDP, a policy and the parameter θ at which to take J and ∇J."""

    mdp: FiniteMDP
    policy: object
    theta: tuple
    source: str


def load(spec: str, *, horizon: int | None = None) -> Problem:
    """An MDP file path, or ``gym:ENV_ID`` for Gymnasium's toy-text tables."""
    if spec.startswith("gym:"):
        from .gym_source import load_gym

        return load_gym(spec[4:], horizon=horizon)
    problem = load_file(spec)
    if horizon is not None:
        problem = _with_horizon(problem, horizon)
    return problem


def _with_horizon(problem: Problem, horizon: int) -> Problem:
    if horizon < 0:
        raise UserError(f"--horizon: expected H >= 0, got {horizon}")
    return replace(problem, mdp=replace(problem.mdp, horizon=horizon))


def load_file(path) -> Problem:
    """Read and validate a .json or .toml MDP file."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:  # refused before reading: the tables of a finite MDP fit far below this
            raise UserError(f"{p}: {size:,} bytes is past the limit of {MAX_FILE_BYTES:,} for an MDP file")
        text = p.read_bytes()
    except OSError as e:
        raise UserError(f"{p}: cannot read ({e.strerror})") from None
    kind = _FORMATS.get(p.suffix.lower())
    if kind is None:
        raise UserError(f"{p}: unknown MDP file type {p.suffix or '(no extension)'!r}: "
                        f"name it .json or .toml so derive knows how to read it")
    try:
        if kind == "TOML":
            data = tomllib.loads(text.decode("utf-8"))
        else:
            data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
    except RecursionError:
        raise UserError(f"{p}: not valid {kind}: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UserError(f"{p}: not valid {kind}: {e}") from None
    return parse(data, source=str(p))


_FORMATS = {".json": "JSON", ".toml": "TOML"}
MAX_FILE_BYTES = 100_000_000  # an MDP file's size
MAX_NAME = 200                # characters of its name


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a finite number")


def _no_duplicate_keys(pairs: list) -> dict:
    """A JSON object whose keys are unique (TOML rejects duplicates; JSON would keep the last silently)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _number(value, where: str) -> tuple[Fraction, bool]:
    """(exact value, came from a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidMDP(f"{where}: expected a number (int, float or a string like \"1/3\"), got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidMDP(f"{where}: expected a finite number, got {value!r}")
    if isinstance(value, str):
        if len(value) > _MAX_NUMBER_TEXT:
            raise InvalidMDP(f"{where}: a number written with {len(value):,} characters is past the limit "
                             f"of {_MAX_NUMBER_TEXT:,}")
        exponent = _EXPONENT.search(value)
        if exponent and abs(int(exponent.group(1))) > 400:  # 10**exponent would be built before any check
            raise InvalidMDP(f"{where}: {_short(value)} is outside the float64 range")
        try:
            f = Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise InvalidMDP(f"{where}: {_short(value)!r} is not a number") from None
    else:
        f = Fraction(value)
    _in_float_range(f, value, where)
    return f, isinstance(value, float)


_MAX_NUMBER_TEXT = 1000
_EXPONENT = re.compile(r"[eE]\s*([+-]?\d{1,900})")
_FLOAT_MAX = Fraction(sys.float_info.max)
_FLOAT_TINY = Fraction(sys.float_info.min)  # smallest normal float


def _in_float_range(f: Fraction, value, where: str) -> None:
    """The numeric routes compute in float64: a value they cannot hold is refused here, not later."""
    if abs(f) > _FLOAT_MAX:
        raise InvalidMDP(f"{where}: {_short(value)} is outside the float64 range (|x| <= {sys.float_info.max:.4g})")
    if f and abs(f) < _FLOAT_TINY:
        raise InvalidMDP(f"{where}: {_short(value)} is too close to 0 for float64 (|x| >= {sys.float_info.min:.4g} "
                         f"or exactly 0)")


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}…{text[-8:]} ({len(text):,} characters)"


def _array(value, shape: tuple[int | None, ...], where: str) -> list:
    """Check a nested list against a shape (None = any positive length)."""
    if not shape:
        return value
    n = shape[0]
    if not isinstance(value, list):
        raise InvalidMDP(f"{where}: expected a list, got {type(value).__name__}")
    if n is not None and len(value) != n:
        raise InvalidMDP(f"{where}: expected {n} entries, got {len(value)}")
    return [_array(v, shape[1:], f"{where}[{i}]") for i, v in enumerate(value)]


def _distribution(values: list, where: str) -> list[Fraction]:
    parsed = [_number(v, f"{where}[{i}]") for i, v in enumerate(values)]
    for i, (v, _) in enumerate(parsed):
        if v < 0:
            raise InvalidMDP(f"{where}[{i}]: probabilities must be >= 0, got {values[i]!r}")
    exact = [v for v, _ in parsed]
    total = sum(exact, Fraction(0))
    if any(f for _, f in parsed):
        if abs(total - 1) > FLOAT_TOLERANCE:
            raise InvalidMDP(f"{where}: probabilities must sum to 1 (within {FLOAT_TOLERANCE:g}), they sum to {float(total)!r}")
        return [v / total for v in exact]  # rescaled to sum to 1 exactly
    if total != 1:
        raise InvalidMDP(f"{where}: probabilities must sum to 1 exactly, they sum to {total}")
    return exact


def parse(data, *, source: str = "<data>") -> Problem:
    """Validate a parsed MDP document and build the Problem; errors name source, key, index and value."""
    try:
        return _parse(data, source)
    except (InvalidMDP, InvalidPolicy) as e:
        raise UserError(f"{source}: {e}") from None


def _parse(data, source: str) -> Problem:
    if not isinstance(data, dict):
        raise InvalidMDP(f"expected a table of keys at the top level, got {type(data).__name__}")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise InvalidMDP(f"unknown key {unknown[0]!r} (known keys: {', '.join(KEYS)})")
    for key in ("initial", "transitions", "horizon"):
        if key not in data:
            raise InvalidMDP(f"missing key {key!r}")
    if ("rewards" in data) == ("reward_distribution" in data):
        raise InvalidMDP("give exactly one of 'rewards' and 'reward_distribution'")
    initial = _array(data["initial"], (None,), "initial")
    S = len(initial)
    if S == 0:
        raise InvalidMDP("initial: needs at least one state")
    transitions = data["transitions"]
    if not isinstance(transitions, list) or not transitions or not isinstance(transitions[0], list) or not transitions[0]:
        raise InvalidMDP("transitions: expected a non-empty [S][A][S] list")
    A = len(transitions[0])
    transitions = _array(transitions, (S, A, S), "transitions")
    mu = _distribution(initial, "initial")
    tr = [[_distribution(transitions[s][a], f"transitions[{s}][{a}]") for a in range(A)] for s in range(S)]
    rw = outcomes = None
    if "rewards" in data:
        rewards = data["rewards"]
        r_shape = (S, A, S) if _depth(rewards) == 3 else (S, A)
        rw = _nested_numbers(_array(rewards, r_shape, "rewards"), "rewards")
    else:
        outcomes = _reward_distribution(data["reward_distribution"], S, A)
    horizon = data["horizon"]
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0:
        raise InvalidMDP(f"horizon: expected an integer H >= 0, got {horizon!r}")
    gamma, _ = _number(data.get("discount", 1), "discount")
    if not 0 <= gamma <= 1:
        raise InvalidMDP(f"discount: expected 0 <= γ <= 1, got {data.get('discount')!r}")
    for s in _array(data.get("terminal", []), (None,), "terminal"):
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < S:
            raise InvalidMDP(f"terminal: expected state indices in 0..{S - 1}, got {s!r}")
        # A terminal state is absorbing and pays nothing: the episode has ended.
        tr[s] = [[Fraction(int(s2 == s)) for s2 in range(S)] for _ in range(A)]
        if rw is not None:
            rw[s] = [[Fraction(0)] * S for _ in range(A)]
        else:
            outcomes[s] = [[(Fraction(0), Fraction(1))] for _ in range(A)]
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str):
        raise UserError(f"{source}: name: expected a string, got {type(name).__name__}")
    if len(name) > MAX_NAME or "\n" in name:  # it is echoed in every report: one short line
        raise UserError(f"{source}: name: expected one line of at most {MAX_NAME} characters, got {len(name):,}")
    mdp = FiniteMDP.from_tables(mu, tr, rw, horizon=horizon, discount=gamma, name=str(name),
                                reward_distribution=outcomes)
    policy = _policy(data.get("policy", {"kind": "tabular-softmax"}), S, A)
    theta = _theta(data.get("theta"), policy)
    return Problem(mdp, policy, theta, source)


def _reward_distribution(table, S: int, A: int) -> list:
    """[S][A] lists of [reward, probability] pairs; probabilities checked like any distribution."""
    table = _array(table, (S, A, None), "reward_distribution")
    out = []
    for s in range(S):
        row = []
        for a in range(A):
            where = f"reward_distribution[{s}][{a}]"
            pairs = [_array(p, (2,), f"{where}[{k}]") for k, p in enumerate(table[s][a])]
            probs = _distribution([p[1] for p in pairs], f"{where} probabilities")
            row.append([(_number(p[0], f"{where}[{k}][0]")[0], q) for k, (p, q) in enumerate(zip(pairs, probs))])
        out.append(row)
    return out


def _depth(x) -> int:
    d = 0
    while isinstance(x, list) and x:
        d, x = d + 1, x[0]
    return d


def _nested_numbers(x, where: str):
    if isinstance(x, list):
        return [_nested_numbers(v, f"{where}[{i}]") for i, v in enumerate(x)]
    return _number(x, where)[0]


def _policy(spec, S: int, A: int):
    if not isinstance(spec, dict) or "kind" not in spec:
        raise InvalidMDP(f"policy: expected a table with a 'kind', got {spec!r}")
    kind = spec["kind"]
    extra = sorted(set(spec) - {"kind", "features"})
    if extra:
        raise InvalidMDP(f"policy: unknown key {extra[0]!r}")
    if kind == "tabular-softmax":
        return TabularSoftmax(S, A)
    if kind == "direct":
        return DirectPolicy(S, A)
    if kind == "linear-softmax":
        if "features" not in spec:
            raise InvalidMDP("policy.features: linear-softmax needs features [S][A][K]")
        feats = spec["features"]
        K = _depth(feats) == 3 and len(feats[0][0]) if isinstance(feats, list) and feats and feats[0] else 0
        if not K:
            raise InvalidMDP("policy.features: expected a non-empty [S][A][K] list")
        feats = _array(feats, (S, A, K), "policy.features")
        exact = [[[_number(v, f"policy.features[{s}][{a}][{k}]")[0] for k, v in enumerate(feats[s][a])]
                  for a in range(A)] for s in range(S)]
        return LinearSoftmax(tuple(tuple(tuple(phi) for phi in row) for row in exact))
    raise InvalidMDP(f"policy.kind: expected 'tabular-softmax', 'linear-softmax' or 'direct', got {kind!r}")


def _theta(values, policy) -> tuple:
    K = policy.n_params
    if values is None:
        if isinstance(policy, DirectPolicy):  # the uniform policy
            return tuple(Fraction(1, policy.n_actions) for _ in range(K))
        return (Fraction(0),) * K
    if not isinstance(values, list):
        raise InvalidMDP(f"theta: expected a list of {K} numbers, got {values!r}")
    if len(values) != K:
        order = "row-major (s, a) order" if not isinstance(policy, LinearSoftmax) else "one per feature"
        raise InvalidMDP(f"theta: expected {K} values ({order}) for {policy.describe()}, got {len(values)}")
    if isinstance(policy, DirectPolicy):  # a direct θ is itself a distribution per state
        A = policy.n_actions
        rows = [_distribution(values[s * A:(s + 1) * A], f"theta[{s * A}:{(s + 1) * A}]") for s in range(policy.n_states)]
        return tuple(v for row in rows for v in row)
    return tuple(_theta_value(v, f"theta[{k}]") for k, v in enumerate(values))


def _theta_value(value, where: str):
    """A softmax θ_k: a number, or "log(p/q)" for an exact z_k = p/q."""
    if isinstance(value, str):
        match = _LOG.fullmatch(value)
        if match:
            digits = len(match.group(1)) + len(match.group(2) or "")
            if digits > _MAX_NUMBER_TEXT:
                raise InvalidMDP(f"{where}: log(p/q) written with {digits:,} digits is past the limit "
                                 f"of {_MAX_NUMBER_TEXT:,}")
            p, q = int(match.group(1)), int(match.group(2) or 1)
            if p == 0 or q == 0:
                raise InvalidMDP(f"{where}: {value!r} needs p/q > 0")
            z = Fraction(p, q)
            _in_float_range(z, _short(value), where)
            _in_float_range(1 / z, _short(value), where)
            return LogRational(z)
    return _number(value, where)[0]


def to_document(mdp: FiniteMDP, policy, point, *, name: str = "") -> dict:
    """An MDP file's document (JSON-ready; exact values as strings) for an MDP, a policy and an exact point.

    ``point`` is in the policy's exact coordinates (z = e^θ for softmax, θ for direct), so a
    softmax θ_k is written "log(p/q)" and :func:`load` gives back the same point exactly.
    """
    s = str
    doc: dict = {"name": " ".join((name or mdp.name or "counterexample").split())[:MAX_NAME], "initial": [s(x) for x in mdp.initial],
                 "transitions": [[[s(x) for x in d] for d in row] for row in mdp.transitions]}
    if mdp.reward_distribution:
        doc["reward_distribution"] = [[[[s(r), s(p)] for r, p in o] for o in row] for row in mdp.reward_distribution]
    else:
        doc["rewards"] = [[[s(x) for x in d] for d in row] for row in mdp.rewards]
    doc["horizon"] = mdp.horizon
    doc["discount"] = s(mdp.discount)
    if isinstance(policy, DirectPolicy):
        doc["policy"] = {"kind": "direct"}
        doc["theta"] = [s(Fraction(v)) for v in point]
    else:
        if isinstance(policy, LinearSoftmax):
            doc["policy"] = {"kind": "linear-softmax",
                             "features": [[[s(v) for v in phi] for phi in row] for row in policy.features]}
        else:
            doc["policy"] = {"kind": "tabular-softmax"}
        doc["theta"] = ["0" if Fraction(z) == 1 else f"log({Fraction(z)})" for z in point]
    return doc
