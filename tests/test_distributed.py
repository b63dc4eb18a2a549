"""A lazy analysis on a LocalCluster with 2 worker processes gives the threaded numbers."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")

from qsense import _lazy  # noqa: E402
from qsense.denoise import hampel, remove_drift  # noqa: E402
from qsense.signal import make_series  # noqa: E402
from qsense.spectral import asd  # noqa: E402


@pytest.fixture(autouse=True)
def small_tasks(monkeypatch):
    """Tasks of the record's own 4001-sample chunks, so that both workers get some."""
    monkeypatch.setattr(_lazy, "MIN_CHUNK", 1)


@pytest.fixture(scope="module")
def client():
    """One LocalCluster for the module: 2 worker processes, 1 thread each."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as cl,
    ):
        yield cl


@pytest.fixture(scope="module")
def record():
    x = np.random.default_rng(2).normal(size=30_000).cumsum() * 1e-12
    x[1000:1010] = np.nan
    eager = make_series(x, rate=10.0, units="s", attrs={"quantity": "phase"})
    return eager.copy(data=da.from_array(x, chunks=4_001))


def _on_cluster(client, func):
    with distributed.get_task_stream(client) as stream, client.as_current():
        with dask.config.set(scheduler=client.get):
            out = func()
            out = out.compute() if hasattr(out, "compute") else out
    workers = {t["worker"] for t in stream.data}
    return out, workers


def _threaded(func):
    with dask.config.set(scheduler="threads"):
        out = func()
        return out.compute() if hasattr(out, "compute") else out


@pytest.mark.parametrize(
    "analysis",
    [
        lambda r: asd(r, nperseg=2048),
        lambda r: hampel(r, window_samples=21),
        lambda r: remove_drift(r, data_type="phase"),
    ],
    ids=["asd", "hampel", "remove_drift"],
)
def test_cluster_equals_threads(client, record, analysis):
    on_cluster, workers = _on_cluster(client, lambda: analysis(record))
    assert len(workers) == 2, workers  # both worker processes took tasks
    xr.testing.assert_identical(on_cluster, _threaded(lambda: analysis(record)))


def test_cluster_oadev_equals_threads(client, record):
    stability = pytest.importorskip("qsense.stability")
    record = record.fillna(0.0)  # the dask stability path streams gap-free records
    try:
        threaded = _threaded(lambda: stability.oadev(record, data_type="phase"))
    except (TypeError, ValueError) as err:  # the dask stability path not in this tree yet
        pytest.skip(f"oadev does not take a dask-backed record in this tree: {err}")
    on_cluster, workers = _on_cluster(client, lambda: stability.oadev(record, data_type="phase"))
    assert workers
    xr.testing.assert_identical(on_cluster, threaded)
