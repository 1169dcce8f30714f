"""Shared pytest configuration: the suite runs against the installed wheel."""

import os

from hypothesis import HealthCheck, settings

# Deterministic enough for CI, thorough enough to find edge cases.
settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("PITR_HYPOTHESIS_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")
