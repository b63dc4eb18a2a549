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


#: Thread pools limited to one thread in each process of a parallel (pytest-xdist) run:
#: with one process per core, a second numba or OpenBLAS thread only competes with the
#: other process (OpenBLAS threads spin while they wait: test_lazy_drift_equals_in_memory
#: took 64 s with two BLAS threads, 21 s with one, at load 5 on 2 cores). Results do not
#: depend on it (qsense._numba: fixed partial sums). A user's own setting wins.
ONE_THREAD = ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config):
    """In the controlling process of an xdist run, before it starts the worker processes
    (they, and the notebooks' kernels they start, inherit its environment)."""
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        for name in ONE_THREAD:
            os.environ.setdefault(name, "1")


#: Modules whose tests start dask LocalClusters of worker processes: one after another
#: in one xdist process (in a parallel run where they could overlap, load ~4,
#: run_study(workers=2) and the CLI on a cluster took 99 and 74 s; 12 and 14 s in a
#: serial run), and never two clusters binding port 8787 at once.
LOCAL_CLUSTERS = (
    "tests/test_distributed.py",
    "tests/calibration/test_runner.py",
    "tests/calibration/test_runner_cli.py",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup`` (pytest-xdist), the tests of a module that share a
    module-scoped fixture of that module run in one process, so that the fixture (a
    Monte-Carlo run, a study file) is built once, not once per process; the tests that
    start LocalClusters (:data:`LOCAL_CLUSTERS`) run in one process. Without xdist the
    mark does nothing."""
    for item in items:
        module = item.nodeid.split("::")[0]
        if module in LOCAL_CLUSTERS:
            item.add_marker(pytest.mark.xdist_group("dask-local-clusters"))
            continue
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        shared = any(
            fd.scope in ("module", "package", "session") and fd.baseid == module
            for defs in info.name2fixturedefs.values()
            for fd in defs
        )
        if shared:
            item.add_marker(pytest.mark.xdist_group(module))
