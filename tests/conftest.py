import os

from hypothesis import HealthCheck, settings

# CI sets CI=true, which makes Hypothesis load its "ci" profile; keep both profiles modest.
settings.register_profile("derive", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "derive")
