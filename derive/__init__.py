"""derive: verify mathematical derivations step by step, starting with the policy-gradient theorem."""

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
