"""Helpers of the streamed-statistics tests (test_stream*.py): chunkings of a record
and the comparison of a streamed result with the in-memory one."""

from __future__ import annotations

import numpy as np
import xarray as xr


def chunking(n: int, sizes: list[int]) -> tuple[int, ...]:
    """Chunk sizes covering ``n`` samples: ``sizes`` in turn (the last one cut), then
    the rest in one chunk."""
    out, left = [], n
    for s in sizes:
        if left <= 0:
            break
        out.append(min(s, left))
        left -= out[-1]
    if left > 0:
        out.append(left)
    return tuple(out)


def assert_same(got: xr.Dataset, ref: xr.Dataset, label: str) -> None:
    """The streamed result ``got`` equals the in-memory ``ref``: identical m, n, alpha,
    taus (and NaN edf where ref has one) and attributes; dev, dev_lo, dev_hi, edf to
    1e-12 relative."""
    for v in ("m", "n", "alpha"):
        np.testing.assert_array_equal(got[v].values, ref[v].values, err_msg=f"{label} {v}")
    np.testing.assert_array_equal(got.tau.values, ref.tau.values, err_msg=label)
    for v in ("dev", "dev_lo", "dev_hi", "edf"):
        np.testing.assert_allclose(
            got[v].values, ref[v].values, rtol=1e-12, atol=0, err_msg=f"{label} {v}"
        )
    np.testing.assert_array_equal(np.isnan(got.edf.values), np.isnan(ref.edf.values))
    assert got.attrs == ref.attrs
