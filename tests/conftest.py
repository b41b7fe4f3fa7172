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


# The tests that read ``bundled_reports`` run on one xdist worker, so the session's run of every bundled proof
# is made once, not once on each worker (about 2 minutes of work each). xdist's own --dist loadgroup does not
# group tests under pytest 9 (it renames nodes through an attribute pytest no longer reads), hence this scheduler.
SHARED_RUN = ("tests/test_bundled_proofs.py::test_bundled_proof_is_verified[",
              "tests/test_latex_bundled.py::test_committed_derivation_is_up_to_date[")


@pytest.hookimpl(optionalhook=True)  # an xdist hook: harmless where xdist is not loaded
def pytest_xdist_make_scheduler(config, log):
    """Under --dist load: load scheduling, one test per work unit, except the tests of SHARED_RUN (one unit)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedRunScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "bundled_reports" if nodeid.startswith(SHARED_RUN) else nodeid

    return SharedRunScheduling(config, log)
