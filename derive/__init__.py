"""derive: verify mathematical derivations step by step, starting with the policy-gradient theorem.

A derivation is a chain of lines, each obtained from the one above by a named rule; derive
checks every step symbolically (SymPy) and on a battery of concrete finite MDPs, exactly, and
says of each step what was shown ("proved symbolically", "checked on 20 MDPs (scope)", "failed"
with a counterexample, or "undecided").

Where to look
-------------
* The notation — ``derive.notation``: J(θ), ∇_θ (``grad``), P(τ;θ) (``P``), π_θ(a_t|s_t)
  (``pi``), R(τ), Σ_τ (``sum_tau``), Σ_t / Π_t (``sum_t``, ``prod_t``, with ``upper=``), samples
  τ^(i), d_t(s), Q_t(s,a), baselines, the discounted forms. Every element with its LaTeX:
  docs/writing.md, "The notation".
* The rules — ``derive.rules``: plain ``Expr -> Expr`` rewrites (likelihood ratio,
  log-derivative trick, gradient–sum swap, …), each with its side conditions; listed with their
  LaTeX in docs/writing.md, "The rules".
* Writing a derivation — ``Derivation``, ``Step``, ``Goal``, ``Proof``: docs/writing.md walks
  through a proof script from start to finish; end the script with

      if __name__ == "__main__":
          from derive.cli import run_proofs

          raise SystemExit(run_proofs([PROOF], path=__file__))

  so that ``python my_proof.py`` prints its report (exit 0 when verified, 1 when not).
* Checking from Python — ``verify_proof``, ``verify_derivation``, ``check_step``; the reports
  print as short text and render as tables in Jupyter (``to_dict()`` has everything).

The command line (``derive --help``; every subcommand has ``--help``)
---------------------------------------------------------------------
* ``derive verify [PATH ...]`` — check proof scripts (default: the bundled proofs); ``-v`` every
  step, ``-q`` the summary, ``--json``; ``--seed N`` replays a run; ``--mdp FILE`` checks on your
  MDP files; ``--save-counterexample FILE`` writes a failure's MDP for replay.
* ``derive check FILE`` — check every line of a derivation written in LaTeX or Markdown.
* ``derive gradient FILE`` — J(θ) and ∇J(θ) of a finite MDP file, exactly or by DP.
* ``derive estimate FILE`` — a Monte-Carlo ∇J against the exact one, with a statistical test.
* ``derive gradcheck module:function`` — test your policy-gradient estimator (or, with
  ``--loss``, a training loss) against exact gradients; docs/gradcheck.md.
* ``derive latex PATH`` — write a proof script's derivations as LaTeX, Markdown or PDF; docs/latex.md.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Public names and the module each lives in: imported on first use (PEP 562), so that
# `derive --help` and `derive --version` do not pay for SymPy and NumPy.
_EXPORTS = {
    "check_step": "check", "verify_derivation": "check", "verify_proof": "check",
    "EQUAL": "derivation", "UNBIASED": "derivation", "Condition": "derivation", "Derivation": "derivation",
    "Goal": "derivation", "Proof": "derivation", "Rule": "derivation", "Step": "derivation", "rule": "derivation",
    "UserError": "errors", "gradcheck": "gradcheck", "assert_gradcheck": "gradcheck", "FiniteMDP": "mdp",
    "DirectPolicy": "policies", "LinearSoftmax": "policies", "TabularSoftmax": "policies", "Instance": "semantics",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'derive' has no attribute {name!r}")
    mod = importlib.import_module(f".{module}", __name__)
    # derive.gradcheck is the module itself, callable as gradcheck(estimator, ...).
    value = mod if name == module == "gradcheck" else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_EXPORTS})
