"""Benchmark: `derive check` on each seed (target < 5 s each, parsing included), against peers run here.

Run:  python benchmarks/bench_check.py [--repeats N]

For each seed file (tests/corpus/ holds copies of both):
1. `derive check SEED` end to end in a fresh process (imports, grammar, parsing, every check),
   against the peer `derive verify` of the bundled proof script that transcribes the same seed
   (proofs/policy_gradient.py, proofs/seed004.py) in a fresh process. Wall time and the
   child's CPU time (user + system) are both printed: on a shared machine the wall time
   measures the load as much as derive.
2. Parsing alone: derive's Lark grammar on every display row, against the peer
   `sympy.parsing.latex.parse_latex` (ANTLR backend) on the same rows, and how many rows each
   reads without an error (ANTLR's "reads" are often wrong readings: see docs/reading.md).
3. The reader's own share: building the LALR parser from the grammar (once per process; Lark's
   cache makes later processes load the tables instead) and reading every row into notation
   (extract, parse, transform), against the whole `derive check`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [("000_c387f8faedb148aa.txt", "proofs/policy_gradient.py"), ("004_f3d3b6a434486237.txt", "proofs/seed004.py")]
TARGET = 5.0
sys.path.insert(0, str(ROOT))  # this checkout's derive, installed or not


def wall(cmd: list[str], repeats: int) -> tuple[float, int, float]:
    """Median wall time, exit code and median CPU time (user + system) of a fresh process."""
    times, cpus, code = [], [], 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        code = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), code, statistics.median(cpus)


def reading_times(path: Path) -> tuple[float, float, float]:
    """(grammar analysed from scratch, grammar loaded from Lark's cache, every row read into notation), seconds."""
    import lark

    from derive.read.document import time_base_evidence
    from derive.read.extract import extract_rows
    from derive.read.parse import NotUnderstood, parse_tree, parser, read_row

    grammar = (ROOT / "derive" / "read" / "latex.lark").read_text(encoding="utf-8")
    t0 = time.perf_counter()
    lark.Lark(grammar, parser="lalr", propagate_positions=False)
    t_build = time.perf_counter() - t0
    parser.cache_clear()
    t0 = time.perf_counter()
    parser()
    t_cached = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = extract_rows(path.read_text(encoding="utf-8"))
    trees = [parse_tree(r) for r in rows]
    base, _ = time_base_evidence(trees)
    for r, tr in zip(rows, trees):
        if not isinstance(tr, NotUnderstood):
            read_row(r, tr, base=base)
    return t_build, t_cached, time.perf_counter() - t0


def parse_times(path: Path) -> tuple[float, int, float, int, int]:
    from derive.read.extract import extract_rows
    from derive.read.parse import NotUnderstood, parse_tree, parser

    parser()  # grammar compiled once, as in a run
    rows = extract_rows(path.read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    ours = sum(not isinstance(parse_tree(r), NotUnderstood) for r in rows)
    t_ours = time.perf_counter() - t0
    try:
        from sympy.parsing.latex import parse_latex
    except ImportError:
        return t_ours, ours, float("nan"), -1, len(rows)
    t0 = time.perf_counter()
    theirs = 0
    for r in rows:
        try:
            parse_latex(r.text.lstrip("= "))
            theirs += 1
        except Exception:  # the peer's failure on this row (or its missing antlr4 runtime)
            pass
    return t_ours, ours, time.perf_counter() - t0, theirs, len(rows)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    ok = True
    for seed, proof in SEEDS:
        path = ROOT / "tests" / "corpus" / seed
        t_check, code, c_check = wall([sys.executable, "-m", "derive", "check", str(path)], args.repeats)
        t_verify, vcode, c_verify = wall([sys.executable, "-m", "derive", "verify", proof], args.repeats)
        t_ours, ours, t_peer, theirs, n = parse_times(path)
        t_build, t_cached, t_read = reading_times(path)
        ok &= t_check < TARGET
        print(f"{seed}: derive check {t_check:.2f} s wall, {c_check:.2f} s CPU (exit {code}, target < {TARGET:.0f} s: "
              f"{'met' if t_check < TARGET else 'MISSED'}); peer derive verify {proof} {t_verify:.2f} s wall, "
              f"{c_verify:.2f} s CPU (exit {vcode}); ratio {t_check / t_verify:.2f} wall, {c_check / c_verify:.2f} CPU")
        print(f"  reader: grammar analysed {t_build * 1000:.0f} ms, loaded from the cache {t_cached * 1000:.0f} ms "
              f"(ratio {t_cached / t_build:.3f}); every row read into notation {t_read * 1000:.0f} ms "
              f"({t_read / c_check:.1%} of the check's CPU)")
        print(f"  parsing {n} rows: derive's Lark grammar {t_ours * 1000:.0f} ms ({ours} read); "
              f"peer sympy parse_latex (ANTLR) {t_peer * 1000:.0f} ms ({theirs} without an error); "
              f"ratio {t_ours / t_peer:.2f}" if theirs >= 0 else "  (sympy's LaTeX parser unavailable)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
