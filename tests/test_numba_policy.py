"""The package-wide numba policy of qsense._numba."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_PROBE = "import os, qsense._numba; print(os.environ['OMP_WAIT_POLICY'])"


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("active", "active")])
def test_openmp_waits_passively_unless_the_user_says_otherwise(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == expected


_ADVICE = (
    "import qsense.signal; from numpy._core.multiarray import _set_madvise_hugepage as s; "
    "print(s(True))"
)


@pytest.mark.parametrize("given", [None, "1", "0"])
def test_numpy_huge_page_advice_is_off_where_the_kernel_compacts_unless_the_user_chose(given):
    """Importing qsense's numerical modules turns numpy's huge-page advice off where the
    kernel's THP settings compact memory for it (qsense._memory: 10x slower first calls
    measured); numpy's own NUMPY_MADVISE_HUGEPAGE, when set, wins."""
    from qsense._memory import compacts_for_advice

    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if given is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = given
    out = subprocess.run(
        [sys.executable, "-c", _ADVICE], env=env, capture_output=True, text=True, check=True
    )
    expected = given == "1" if given is not None else not compacts_for_advice()
    assert out.stdout.split()[-1] == str(expected)


@pytest.mark.parametrize(
    ("enabled", "defrag", "compacts"),
    [
        ("always [madvise] never", "always defer defer+madvise [madvise] never", True),
        ("[always] madvise never", "[always] defer defer+madvise madvise never", True),
        ("always [madvise] never", "always defer [defer+madvise] madvise never", True),
        ("always [madvise] never", "always [defer] defer+madvise madvise never", False),
        ("always [madvise] never", "always defer defer+madvise madvise [never]", False),
        ("always madvise [never]", "always defer defer+madvise [madvise] never", False),
        (None, "always defer defer+madvise [madvise] never", False),
        ("garbled", "", False),
    ],
)
def test_the_kernel_settings_that_compact_for_the_advice(tmp_path, enabled, defrag, compacts):
    """The bracketed choice of the sysfs files decides; no file (another system) or an
    unreadable one means no compaction, and numpy is then left alone."""
    from qsense._memory import compacts_for_advice, huge_page_policy

    if enabled is not None:
        (tmp_path / "enabled").write_text(enabled)
    (tmp_path / "defrag").write_text(defrag)
    assert compacts_for_advice(tmp_path) is compacts
    assert huge_page_policy({"NUMPY_MADVISE_HUGEPAGE": "1"}, tmp_path) is False
    if not compacts:
        assert huge_page_policy({}, tmp_path) is False
