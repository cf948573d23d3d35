"""Shared pytest set-up. Hypothesis profiles: "ci" keeps the run bounded, "dev" searches longer.

Select with HYPOTHESIS_PROFILE=dev; the default is "ci" (fixed examples). Failures
print the reproduction blob and seed.
"""

import os

from hypothesis import HealthCheck, settings

# CI is derandomized: the examples are fixed per test, so a landing never fails on a
# draw no one has seen before. The dev profile draws afresh each run: run it by hand to
# hunt (it found the optimizer's missed fixed point and a quoting slip in a test).
settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    print_blob=True,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
