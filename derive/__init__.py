"""derive: verify mathematical derivations step by step, starting with the policy-gradient theorem."""

from .check import check_step, verify_derivation, verify_proof
from .derivation import EQUAL, UNBIASED, Condition, Derivation, Goal, Proof, Rule, Step, rule
from .errors import UserError
from . import gradcheck  # the module, callable as gradcheck(estimator, ...)
from .gradcheck import assert_gradcheck
from .mdp import FiniteMDP
from .policies import DirectPolicy, LinearSoftmax, TabularSoftmax
from .semantics import Instance

__version__ = "0.1.0"

__all__ = [
    "check_step", "verify_derivation", "verify_proof",
    "EQUAL", "UNBIASED", "Condition", "Derivation", "Goal", "Proof", "Rule", "Step", "rule",
    "UserError", "gradcheck", "assert_gradcheck", "FiniteMDP", "DirectPolicy", "LinearSoftmax", "TabularSoftmax", "Instance",
    "__version__",
]
