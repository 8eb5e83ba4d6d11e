"""Shared fixtures and the Hypothesis profiles (a small one for CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def scalesim_dir() -> Path:
    """SCALE-Sim's reference runs (../shared/scalesim, beside the checkout)."""
    d = SHARED / "scalesim"
    if not d.is_dir():
        pytest.skip(f"SCALE-Sim reference data not found at {d}")
    return d
