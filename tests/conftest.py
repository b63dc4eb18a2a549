"""Shared test fixtures: where reference data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

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
