"""Shared test fixtures: where reference data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Seeded property tests: the same examples on every run and machine (project rule:
# every random generator is seeded). Widen locally with HYPOTHESIS_PROFILE=explore.
settings.register_profile("seeded", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "seeded"))

ROOT = Path(__file__).resolve().parents[1]
#: Test-only reference fixtures copied into the project (with PROVENANCE.md).
REFERENCE = ROOT / "datasets" / "reference"
#: The workplace's shared data beside the project (unlicensed sets stay there).
SHARED = ROOT.parent / "shared" / "datasets"


@pytest.fixture
def reference_dir() -> Path:
    """Folder of test-only reference fixtures shipped in the repository."""
    return REFERENCE


@pytest.fixture
def shared_dir() -> Path:
    """Folder ../shared/datasets; tests using it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED} (unlicensed data is not copied)")
    return SHARED
