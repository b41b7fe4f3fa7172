"""Size limits that refuse at once, before any work: a horizon past the cap is a user error.

Every numeric route is at least linear in H + 1 (sampling, DP) and the DP keeps
(H + 1) × (H + 1) tables, so an unchecked ``"horizon": 1000000000`` would hang or exhaust
memory instead of saying why.
"""

from __future__ import annotations

from .errors import UserError

__all__ = ["MAX_HORIZON", "MAX_STEPS", "check_horizon", "check_steps"]

MAX_HORIZON = 10_000       # H: (H+1)² DP cells stay below ~800 MB of float64
MAX_STEPS = 2_000_000_000  # trajectory-steps of one sampling run: ~100 s at 20 M steps/s


def check_horizon(horizon: int, *, where: str = "horizon", cap: int = MAX_HORIZON) -> int:
    """``horizon`` when 0 <= H <= cap; otherwise a UserError naming ``where``, the value and the cap."""
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0:
        raise UserError(f"{where}: expected an integer H >= 0, got {horizon!r}")
    if horizon > cap:
        raise UserError(f"{where}: H = {horizon:,} is past the limit of {cap:,} (the work grows with H + 1; "
                        f"use a shorter horizon, e.g. --horizon {cap})")
    return horizon


def check_steps(samples: int, horizon: int, *, where: str = "samples", cap: int = MAX_STEPS) -> None:
    """Refuse a sampling run of more than ``cap`` trajectory-steps, samples × (H + 1)."""
    steps = int(samples) * (int(horizon) + 1)
    if steps > cap:
        raise UserError(f"{where}: {int(samples):,} trajectories × {int(horizon) + 1:,} steps = {steps:,} "
                        f"trajectory-steps is past the limit of {cap:,}; use fewer samples or a shorter horizon")
