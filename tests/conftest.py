import os

from hypothesis import HealthCheck, settings

# CI sets CI=true, which makes Hypothesis load its "ci" profile; keep both profiles modest.
settings.register_profile("derive", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "derive")


import pytest


@pytest.fixture(scope="session")
def bundled_reports():
    """Every bundled proof verified once per test session on its own battery (a fresh seed, no minimisation):
    {script name: (proofs, reports)}. The tests that read these reports share the one run."""
    from pathlib import Path

    from derive.check import verify_proof
    from derive.loader import load_proofs, proof_files

    root = Path(__file__).resolve().parent.parent
    out = {}
    for script in proof_files([str(root / "proofs")]):
        proofs = load_proofs(script)
        out[Path(script).name] = (proofs, [verify_proof(p, path=str(script), minimize=False) for p in proofs])
    return out
