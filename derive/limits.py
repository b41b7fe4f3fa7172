"""Size limits that refuse at once, before any work: a horizon past the cap is a user error.

Every numeric route is at least linear in H + 1 (sampling, DP) and the DP keeps
(H + 1) × (H + 1) tables, so an unchecked ``"horizon": 1000000000`` would hang or exhaust
memory instead of saying why. The DP's tables are counted as allocated: two int64 index
grids and two float64 masks, 32 bytes per cell (measured peak on gym:FrozenLake8x8-v1:
H = 4,000, 606 MB resident; H = 10,000 used 3.3 GB).
"""

from __future__ import annotations

from .errors import UserError

__all__ = ["MAX_HORIZON", "MAX_STEPS", "DP_BYTES_PER_CELL", "dp_bytes", "check_horizon", "check_steps"]

DP_BYTES_PER_CELL = 32     # np.indices((T, T)) (2 × int64) and the two float64 masks of DynamicProgram
MAX_HORIZON = 5_000        # H: 32 × (H+1)² bytes of DP tables stay at ~800 MB
MAX_STEPS = 2_000_000_000  # trajectory-steps of one sampling run: ~100 s at 20 M steps/s


def dp_bytes(horizon: int) -> int:
    """Bytes the dynamic program allocates for its (H + 1) × (H + 1) tables."""
    return DP_BYTES_PER_CELL * (int(horizon) + 1) ** 2


def check_horizon(horizon: int, *, where: str = "horizon", cap: int = MAX_HORIZON) -> int:
    """``horizon`` when 0 <= H <= cap; otherwise a UserError naming ``where``, the value and the cap."""
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0:
        raise UserError(f"{where}: expected an integer H >= 0, got {horizon!r}")
    if horizon > cap:
        raise UserError(f"{where}: H = {horizon:,} is past the limit of {cap:,} (the dynamic program's tables would take "
                        f"{dp_bytes(horizon) / 1e9:.3g} GB, growing with (H + 1)²; "
                        f"use a shorter horizon, e.g. --horizon {cap})")
    return horizon


def check_steps(samples: int, horizon: int, *, where: str = "samples", cap: int = MAX_STEPS) -> None:
    """Refuse a sampling run of more than ``cap`` trajectory-steps, samples × (H + 1)."""
    steps = int(samples) * (int(horizon) + 1)
    if steps > cap:
        raise UserError(f"{where}: {int(samples):,} trajectories × {int(horizon) + 1:,} steps = {steps:,} "
                        f"trajectory-steps is past the limit of {cap:,}; use fewer samples or a shorter horizon")
