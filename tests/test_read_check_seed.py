"""derive check draws a fresh seed every run: a claim fitted to one seed's battery, primes or
directions passes only on that seed, the seed is printed, and --seed replays the run exactly."""

import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import derive.check as C
from derive.battery import default_battery
from derive.read import check_text

ROOT = Path(__file__).resolve().parent.parent
N_RANDOM = 2


def _run(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "derive", "check", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _gamma_fitted(seed: int) -> str:
    """∇J = Σ ∇P R (1 + 10^15 Π_k (γ − γ_k)) over the γ of seed's battery: true there, false at any other γ."""
    gammas = sorted({Fraction(x.mdp.discount) for x in default_battery(seed=seed, n_random=N_RANDOM)})
    factors = r" \cdot ".join(r"\left(\gamma - \frac{%d}{%d}\right)" % (g.numerator, g.denominator) for g in gammas)
    return ("$$\n\\nabla_\\theta J(\\theta) = \\sum_\\tau \\nabla_\\theta P(\\tau;\\theta) R(\\tau) "
            f"\\left(1 + 1000000000000000 \\cdot {factors}\\right)\n$$\n")


def test_a_gamma_polynomial_fitted_to_one_seed_fails_on_another():
    doc = _gamma_fitted(11)
    # The mechanism: on seed 11's battery the factor is 1, so the line passes there ...
    assert check_text(doc, seed=11, n_random=N_RANDOM, minimize=False).verified
    # ... and nowhere else: a fresh seed draws other γ.
    other = check_text(doc, seed=12, n_random=N_RANDOM, minimize=False)
    assert not other.verified and other.lines[0].verdict == "fails"


def _primes_drawn(text: str, seed: int, monkeypatch):
    """The primes derive check draws on a document at seed, in order (one per instance)."""
    drawn = []
    orig = C.random_prime

    def record(rng):
        p = orig(rng)
        drawn.append(p)
        return p

    monkeypatch.setattr(C, "random_prime", record)
    assert check_text(text, seed=seed, n_random=N_RANDOM, minimize=False).verified
    monkeypatch.undo()
    return drawn


def _plus(n: int) -> str:
    return f"$$\nJ(\\theta) = J(\\theta) + {n} \\cdot \\sum_s 1\n$$\n"


def test_j_plus_the_product_of_one_seeds_primes_fails_on_another(monkeypatch):
    primes = _primes_drawn(_plus(0), 21, monkeypatch)
    assert len(set(primes)) >= len(default_battery(seed=21, n_random=N_RANDOM))   # a prime per instance
    n = math.prod(set(primes))
    # Every instance draws its own prime: N, a multiple of all of them, passes on seed 21 ...
    assert check_text(_plus(n), seed=21, n_random=N_RANDOM, minimize=False).verified
    # ... and fails on a seed that draws others (which a fresh seed does).
    other = check_text(_plus(n), seed=22, n_random=N_RANDOM, minimize=False)
    assert not other.verified and other.lines[0].verdict == "fails"


def test_a_multiple_of_all_but_one_instance_prime_still_fails(monkeypatch):
    # A false line must agree on every instance: missing one instance's prime is enough to fail.
    primes = _primes_drawn(_plus(0), 31, monkeypatch)
    n = math.prod(set(primes[1:]) - {primes[0]})
    rep = check_text(_plus(n), seed=31, n_random=N_RANDOM, minimize=False)
    assert not rep.verified and rep.lines[0].verdict == "fails"


def test_cli_prints_a_fresh_seed_and_replays_it(tmp_path):
    doc = tmp_path / "one.md"
    doc.write_text(_plus(0), encoding="utf-8")
    runs = [_run("one.md", "--random", "1", cwd=tmp_path) for _ in range(2)]
    seeds = []
    for r in runs:
        assert r.returncode == 0, r.stderr
        last = r.stdout.strip().splitlines()[-1]
        assert last.startswith("seed ") and last.endswith("replays this run"), last
        seeds.append(int(last.split()[1].rstrip(":")))
        assert f"derive check one.md --seed {seeds[-1]} --random 1 replays this run" in last
    assert seeds[0] != seeds[1]
    again = _run("one.md", "--random", "1", "--seed", str(seeds[0]), "--json", cwd=tmp_path)
    data = json.loads(again.stdout)
    assert data["seed"] == seeds[0] and data["verified"]


def test_cli_replay_is_exact_on_a_failing_line(tmp_path):
    doc = tmp_path / "g.md"
    doc.write_text(_plus(1) + "\n$$\nR(\\tau) = \\sum_{t=0}^{H} \\gamma^{t+1} r_t\n$$\n", encoding="utf-8")
    one, two = (_run("g.md", "--random", str(N_RANDOM), "--seed", "12", "--json", cwd=tmp_path) for _ in range(2))
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert one.returncode == 1 and a["seed"] == 12
    assert [ln["verdict"] for ln in a["lines"] if ln.get("kind") != "result"][:2] == ["fails", "fails"]
    a.pop("seconds"), b.pop("seconds")
    assert a == b
