"""
Tests for iserverd.

Hypothesis runs derandomized and without deadlines so the suite is repeatable
and a slow CI machine cannot fail a property test on timing alone.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "iserverd",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("iserverd")
