"""Bad records, made dask-backed, thrown at the functions with a dask path (hypothesis).

Every record kind of :mod:`bad_records` that can be a dask array (numeric, bool,
complex, object and string arrays; DataArrays on any time coordinate) is chunked in
3-sample chunks and given to the Welch PSD/ASD, the Hampel filter and drift removal.
Each must return a correct result or raise ValueError/TypeError naming the parameter,
at call time or when the lazy result is computed. Kinds that cannot be dask arrays
(strings, scalars, lists, None, Datasets) are passed as they are.
"""

from __future__ import annotations

import bad_records
import dask.array as da
import numpy as np
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.denoise import hampel, remove_drift
from qsense.spectral import asd, psd

HERE = __file__


def _lazy(data):
    if isinstance(data, xr.DataArray):
        return data.chunk(dict.fromkeys(data.dims, 3))
    if isinstance(data, np.ndarray) and data.ndim >= 1:
        return da.from_array(data, chunks=3)
    return data


def _computed(result):
    return result.compute() if hasattr(result, "compute") else result


CALLS = {
    "psd": (lambda d, r: psd(d, r), ("data", "rate", "nperseg")),
    "asd": (lambda d, r: asd(d, r, nperseg=2), ("data", "rate", "nperseg")),
    "hampel": (lambda d, r: hampel(d, r, window_samples=3), ("data", "rate")),
    "remove_drift_freq": (lambda d, r: remove_drift(d, r), ("data", "rate")),
    "remove_drift_phase": (
        lambda d, r: remove_drift(d, r, data_type="phase"),
        ("data", "rate"),
    ),
}


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(sorted(CALLS)),
    bad_records.kinds,
    st.integers(0, 12),
    st.integers(0, 2**16),
    bad_records.rates,
)
def test_dask_paths_refuse_bad_records_by_name(label, kind, n, seed, rate):
    call, names = CALLS[label]
    data = _lazy(bad_records.record(kind, n, seed))
    bad_records.check(
        f"{label}:{kind}:n={n}:rate={rate!r}",
        lambda: _computed(call(data, rate)),
        names,
        HERE,
    )


def test_every_kind_once_on_every_dask_path():
    """Deterministic sweep: each kind at 8 samples and rate 1 Hz on each function."""
    for label, (call, names) in CALLS.items():
        for kind in bad_records.KINDS:
            data = _lazy(bad_records.record(kind, 8, 1))
            bad_records.check(
                f"{label}:{kind}",
                lambda call=call, data=data: _computed(call(data, 1.0)),
                names,
                HERE,
            )
