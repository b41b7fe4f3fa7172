"""Size limits that refuse at once, before any work: a horizon past the cap is a user error.

Every numeric route is linear in H + 1 in time and memory: the float64 DP keeps O(H·S)
numbers (``derive.exact.DynamicProgram``: occupancy and values per step, no (H+1) × (H+1)
table), the exact routes hold trajectories × (H + 2) cells under their budgets, and sampling
holds one chunk of trajectories at a time (``derive.sampling.default_chunk``: at least
``MIN_CHUNK`` trajectories, about ``LONG_CHUNK_CELLS`` trajectory-steps at long horizons).
The memory counted is that, at 32 bytes a cell (measured: ``examples/chain.json`` at
H = 100,000 and 200 samples peaked at 434 MB resident, ~150 MB of it the interpreter and
its libraries); a horizon whose count passes ``MEMORY_CAP`` is refused with the figure.
"""

from __future__ import annotations

from .errors import UserError

__all__ = ["MAX_HORIZON", "MAX_STEPS", "MEMORY_CAP", "BYTES_PER_CELL", "numeric_bytes", "check_horizon",
           "check_steps"]

BYTES_PER_CELL = 32          # per (step × state) of the DP, and per trajectory-step of a chunk held in memory
MEMORY_CAP = 2 * 2**30       # 2 GiB: the most a numeric run may plan to hold
MAX_HORIZON = 1_000_000      # H: past this even one trajectory per chunk is hours of sampling
MAX_STEPS = 2_000_000_000    # trajectory-steps of one sampling run: ~100 s at 20 M steps/s


def _chunk(horizon: int, trajectories: int) -> int:
    """Trajectories held at once by sampling: the sampler's chunk at this horizon, or ``trajectories`` if more."""
    from .sampling import LONG_CHUNK_CELLS, MIN_CHUNK

    T = int(horizon) + 1
    return max(int(trajectories), MIN_CHUNK, min(256, LONG_CHUNK_CELLS // T))


def numeric_bytes(horizon: int, *, states: int = 1, trajectories: int = 1) -> int:
    """Bytes a numeric run plans for: the DP's (H + 1) × S cells and one chunk's trajectories × (H + 2) cells."""
    T = int(horizon) + 1
    return BYTES_PER_CELL * (T * int(states) + _chunk(horizon, trajectories) * (T + 1))


def check_horizon(horizon: int, *, where: str = "horizon", cap: int = MAX_HORIZON, states: int = 1,
                  trajectories: int = 1) -> int:
    """``horizon`` when 0 <= H <= cap and its memory (``numeric_bytes``) fits ``MEMORY_CAP``; else a UserError
    naming ``where``, the value, and the cap or the memory it would need. ``trajectories``: held at once (a batch)."""
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0:
        raise UserError(f"{where}: expected an integer H >= 0, got {horizon!r}")
    if horizon > cap:
        raise UserError(f"{where}: H = {horizon:,} is past the limit of {cap:,} (it would need about "
                        f"{numeric_bytes(horizon, states=states, trajectories=trajectories) / 1e9:.3g} GB and hours "
                        f"of sampling; use a shorter horizon, e.g. --horizon {cap})")
    need = numeric_bytes(horizon, states=states, trajectories=trajectories)
    if need > MEMORY_CAP:
        fits = horizon
        while fits > 0 and numeric_bytes(fits, states=states, trajectories=trajectories) > MEMORY_CAP:
            fits //= 2
        raise UserError(f"{where}: H = {horizon:,} with {states:,} states and {_chunk(horizon, trajectories):,} "
                        f"trajectories held at once would need about {need / 1e9:.3g} GB, past the memory limit of "
                        f"{MEMORY_CAP / 1e9:.3g} GB (32 B per step × (states + trajectories)); use a shorter horizon, "
                        f"e.g. --horizon {fits:,}, or a smaller batch")
    return horizon


def check_steps(samples: int, horizon: int, *, where: str = "samples", cap: int = MAX_STEPS) -> None:
    """Refuse a sampling run of more than ``cap`` trajectory-steps, samples × (H + 1)."""
    steps = int(samples) * (int(horizon) + 1)
    if steps > cap:
        raise UserError(f"{where}: {int(samples):,} trajectories × {int(horizon) + 1:,} steps = {steps:,} "
                        f"trajectory-steps is past the limit of {cap:,}; use fewer samples or a shorter horizon")
