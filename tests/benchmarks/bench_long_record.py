"""Benchmark: stability and ASD of a record on disk longer than one wants in memory.

Not run by CI (minutes, ~8 GB of disk at 1e9 samples). Usage::

    python tests/benchmarks/bench_long_record.py                  # 2e7, 2e8 and 1e9
    python tests/benchmarks/bench_long_record.py --sizes 2e7 2e8  # the scaling part only
    python tests/benchmarks/bench_long_record.py --dir /big/disk --keep
    python tests/benchmarks/bench_long_record.py --sizes 2e8 --stats mdev tdev totdev
    python tests/benchmarks/bench_long_record.py --record /big/r1e9.h5 --stats mdev

For each size it writes a white-FM phase record (float64, seeded) to an HDF5 file
chunk by chunk (h5py, chunks of ``--chunk`` samples, no compression), then, each in a
fresh interpreter so that its peak resident memory (VmHWM) is its own:

* ``read``: one plain read pass over the file, chunk by chunk (h5py), the floor;
* ``oadev``: ``qsense.stability.oadev`` (octave taus, with noise identification, EDF
  and confidence interval) of the record opened lazily: a dask array on the h5py
  dataset with the file's chunks, in a DataArray on ``time`` with its ``sample_rate``;
  the bytes it reads are counted and reported as passes over the file;
* the statistics named by ``--stats`` (any of :data:`STATS`, default oadev alone; oadev
  is always measured, as the reference), each the same default call
  (``S.mdev(lazy, taus="octave")``...) in its own fresh interpreter;
* ``asd``: ``qsense.spectral.asd`` of the same lazy record (reported as not available
  if the dask Welch path is missing or fails);
* ``inmemory``: the same OADEV of the record loaded into a numpy array first (when it
  takes under half the available memory), timed without the load: the cost of the
  arithmetic alone, with no read, which bounds how close to a read pass any streaming
  can come.

Each timing is printed with the child's CPU time (all threads), which the other
sessions' load inflates less than the wall time. Numba compile time (or its cache load)
is excluded: each child first runs the same
call on a small HDF5 record of the same kind and reports that time as ``compile``, then
on the record's first 2**23 samples (its own chunks: the kernels' other signatures).
With ``--cold``, ``read`` and ``oadev`` are measured once more with the file's pages
dropped from the page cache first (``posix_fadvise(DONTNEED)``), so that both read
the disk: a record longer than memory is never in the page cache, while an 8 GB one
on a 24 GB machine is after its first read.

Targets (issue 14): peak RSS < 2 GB for oadev and the ASD at 1e9 samples; time per
sample at 2e8 <= 1.5x that at 2e7; streaming oadev within 2x of the read pass; the
same 2 GB bar for every statistic of ``--stats``, whose peak must not grow with the
record. The machine has 2 cores shared with other sessions: the load average is
printed beside the timings. The file is deleted at the end unless ``--keep``;
``--record`` measures existing files (dataset ``phase`` with ``sample_rate``) instead,
never written nor deleted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATE = 1000.0  # Hz: a month at 1 kHz is 2.6e9 samples

#: The statistics ``--stats`` may name (streamed over the lazy record, octave taus).
STATS = ("adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev")


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    """CPU time (user + system, all threads) of this process so far, in s."""
    t = os.times()
    return t.user + t.system


def _available_bytes() -> float:
    """MemAvailable of /proc/meminfo, in bytes (0 if unknown)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024.0
    return 0.0


def write_record(path: Path, n: int, chunk: int, seed: int = 14) -> float:
    """White-FM phase (s) written chunk by chunk; returns the seconds it took."""
    import h5py
    import numpy as np

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    carry = 0.0
    with h5py.File(path, "w") as f:
        dset = f.create_dataset("phase", shape=(n,), dtype="f8", chunks=(min(chunk, n),))
        dset.attrs["sample_rate"] = RATE
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            y = rng.standard_normal(b - a) * (1e-12 / RATE)
            x = np.cumsum(y)
            x += carry
            carry = float(x[-1])
            dset[a:b] = x
    return time.perf_counter() - t0


class _Counted:
    """The h5py dataset ``dset`` as dask reads it, counting the bytes read (``nbytes``)."""

    def __init__(self, dset) -> None:
        import threading

        self.dset, self.shape, self.dtype, self.ndim = dset, dset.shape, dset.dtype, dset.ndim
        self.nbytes_read = 0
        self._lock = threading.Lock()

    def __getitem__(self, key):
        out = self.dset[key]
        with self._lock:
            self.nbytes_read += out.nbytes
        return out


def _open_lazy(path: str, counted: _Counted | None = None):
    """The record at ``path`` as a dask-backed DataArray on ``time`` with the file's
    chunks (through ``counted``, a :class:`_Counted` of its dataset, if given)."""
    import dask.array as da
    import h5py
    import xarray as xr

    dset = counted.dset if counted is not None else h5py.File(path, "r")["phase"]
    data = da.from_array(counted if counted is not None else dset, chunks=dset.chunks)
    return xr.DataArray(data, dims="time", attrs={"sample_rate": float(dset.attrs["sample_rate"])})


def _child(task: str, path: str) -> dict:
    """One measurement, run in a fresh interpreter (``--child``)."""
    import numpy as np

    out: dict = {"task": task}
    if task == "read":
        import h5py

        _evict_if_cold(path)
        t0, c0 = time.perf_counter(), _cpu_s()
        total = 0.0
        with h5py.File(path, "r") as f:
            dset = f["phase"]
            step = dset.chunks[0]
            buf = np.empty(step)
            for a in range(0, dset.shape[0], step):
                b = min(dset.shape[0], a + step)
                dset.read_direct(buf, np.s_[a:b], np.s_[0 : b - a])
                total += buf[0]
        out["seconds"], out["cpu_s"] = time.perf_counter() - t0, _cpu_s() - c0
    elif task in STATS:
        import h5py

        import qsense.stability as S

        stat = getattr(S, task)
        counted = _Counted(h5py.File(path, "r")["phase"])
        data = _open_lazy(path, counted)
        t0 = time.perf_counter()  # compile (or load from numba's cache) the kernels first,
        stat(_open_lazy(_small_record(path)), taus="octave")  # on the same kind of blocks
        out["compile_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()  # and on the record's first 2**23 samples (its chunks)
        stat(data[: 1 << 23], taus="octave")
        out["warm_s"] = time.perf_counter() - t0
        _evict_if_cold(path)
        counted.nbytes_read = 0
        t0, c0 = time.perf_counter(), _cpu_s()
        ds = stat(data, taus="octave")
        out["seconds"], out["cpu_s"] = time.perf_counter() - t0, _cpu_s() - c0
        out["passes"] = counted.nbytes_read / (counted.dtype.itemsize * counted.shape[0])
        out["taus"] = int(ds.tau.size)
        out["dev_first"] = float(ds.dev.values[0])
        out["alpha"] = ds.alpha.values.tolist()
    elif task == "inmemory":
        import h5py

        import qsense.stability as S

        with h5py.File(path, "r") as f:
            dset = f["phase"]
            rate = float(dset.attrs["sample_rate"])
            S.oadev(dset[: min(dset.shape[0], 200_000)], rate=rate, taus="octave")  # compile
            t0 = time.perf_counter()
            x = np.empty(dset.shape[0])
            dset.read_direct(x)
            out["load_s"] = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), _cpu_s()
        ds = S.oadev(x, rate=rate, taus="octave")
        out["seconds"], out["cpu_s"] = time.perf_counter() - t0, _cpu_s() - c0
        out["dev_first"] = float(ds.dev.values[0])
    elif task == "asd":
        import qsense.spectral as sp

        data = _open_lazy(path)
        sp.asd(_open_lazy(_small_record(path)), nperseg=1 << 12)
        _evict_if_cold(path)
        t0, c0 = time.perf_counter(), _cpu_s()
        try:
            ds = sp.asd(data, nperseg=1 << 16)
        except Exception as err:  # a benchmark reports, it does not fix
            out["error"] = f"{type(err).__name__}: {err}"[:300]
        else:
            out["seconds"], out["cpu_s"] = time.perf_counter() - t0, _cpu_s() - c0
            out["bins"] = int(next(iter(ds.sizes.values())))
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def _length(path: Path) -> int:
    import h5py

    with h5py.File(path, "r") as f:
        return int(f["phase"].shape[0])


def _small_record(path: str) -> str:
    """A 2e5-sample record beside ``path``, chunked alike (for the compile pass)."""
    small = str(path) + ".small.h5"
    if not os.path.exists(small):
        write_record(Path(small), 200_000, 1 << 15)
    return small


def _evict_if_cold(path: str) -> None:
    """With QSENSE_BENCH_COLD=1, drop the file's pages from the page cache
    (posix_fadvise DONTNEED after fsync), so the next read comes from the disk."""
    if os.environ.get("QSENSE_BENCH_COLD") != "1":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _run(task: str, path: Path, cold: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", task, str(path)]
    env = {**os.environ, "QSENSE_BENCH_COLD": "1" if cold else "0"}
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if res.returncode:
        return {"task": task, "error": res.stderr.strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=float, default=[2e7, 2e8, 1e9])
    parser.add_argument("--chunk", type=int, default=1 << 22, help="samples per HDF5 chunk")
    parser.add_argument("--dir", default=None, help="directory for the files (default /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    parser.add_argument("--no-asd", action="store_true")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="also measure read and oadev with the file evicted from the page cache",
    )
    parser.add_argument(
        "--stats",
        nargs="+",
        default=["oadev"],
        choices=STATS,
        help="statistics measured (each in a fresh interpreter; oadev always)",
    )
    parser.add_argument(
        "--record", nargs="+", default=None, help="existing HDF5 records to measure instead"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    stats = ["oadev"] + [s for s in dict.fromkeys(args.stats) if s != "oadev"]
    workdir = Path(tempfile.mkdtemp(prefix="qsense_long_", dir=args.dir))
    print(f"load average before: {os.getloadavg()}; files in {workdir}", flush=True)
    rows = {}
    try:
        for size in args.record or args.sizes:
            if args.record:
                path = Path(size)
                n = _length(path)
                print(f"n={n:.0e}: {path} ({path.stat().st_size / 1e9:.2f} GB)", flush=True)
            else:
                n = int(size)
                need = 8 * n * 1.05
                free = shutil.disk_usage(workdir).free
                if free < need + 2e9:
                    print(f"n={n:.0e}: skipped, {free / 1e9:.1f} GB free < {need / 1e9:.1f} GB")
                    continue
                path = workdir / f"record_{n}.h5"
                wt = write_record(path, n, args.chunk)
                print(f"n={n:.0e}: wrote {path.stat().st_size / 1e9:.2f} GB in {wt:.1f} s")
            tasks = ["read", *stats] + ([] if args.no_asd else ["asd"])
            if 8 * n < 0.5 * _available_bytes():
                tasks.append("inmemory")
            res = {t: _run(t, path, False) for t in tasks}
            if args.cold:
                res.update({f"{t}_cold": _run(t, path, True) for t in ("read", "oadev")})
            rows[n] = res
            load = os.getloadavg()
            for t, r in res.items():
                if "seconds" in r:
                    print(
                        f"  {t:6s} {r['seconds']:8.2f} s  {1e9 * r['seconds'] / n:6.2f} ns/sample"
                        f"  CPU {r.get('cpu_s', float('nan')):7.2f} s"
                        f"  peak RSS {r['peak_rss_mb']:7.0f} MB"
                        + (f"  compile {r['compile_s']:.1f} s" if "compile_s" in r else "")
                        + (f"  reads {r['passes']:.2f} x the file" if "passes" in r else "")
                        + (f"  ({r['taus']} taus, alpha {r['alpha']})" if "taus" in r else ""),
                        flush=True,
                    )
                else:
                    print(f"  {t:6s} not available: {r.get('error')}", flush=True)
            for suffix in ("", "_cold") if args.cold else ("",):
                o, r = res.get("oadev" + suffix, {}), res.get("read" + suffix, {})
                if "seconds" in o and "seconds" in r:
                    ratio = o["seconds"] / r["seconds"]
                    verdict = "met" if ratio <= 2.0 else "NOT met"
                    label = "page cache" if not suffix else "from disk"
                    print(f"  oadev / read pass ({label}) = {ratio:.2f} (target <= 2: {verdict})")
            o, m, r = (res.get(t, {}) for t in ("oadev", "inmemory", "read"))
            if "seconds" in o and "seconds" in m and "seconds" in r:
                print(
                    f"  oadev in memory (no read) / read pass = {m['seconds'] / r['seconds']:.2f}; "
                    f"streamed / in memory = {o['seconds'] / m['seconds']:.2f}"
                )
            for t in (*stats, "asd"):
                if "peak_rss_mb" in res.get(t, {}) and "seconds" in res[t]:
                    ok = res[t]["peak_rss_mb"] < 2048
                    print(f"  {t} peak RSS < 2 GB: {'met' if ok else 'NOT met'}")
            print(f"  load average after: {load}", flush=True)
            if not args.record:
                path.unlink()
                Path(str(path) + ".small.h5").unlink(missing_ok=True)
        sizes = sorted(rows)
        for small, big in itertools.pairwise(sizes):
            for t in stats:
                a, b = rows[small].get(t, {}), rows[big].get(t, {})
                if "seconds" in a and "seconds" in b:
                    ratio = (b["seconds"] / big) / (a["seconds"] / small)
                    verdict = "met" if ratio <= 1.5 else "NOT met"
                    label = f"{t} time per sample {big:.0e} / {small:.0e}"
                    growth = b["peak_rss_mb"] / a["peak_rss_mb"]
                    print(f"{label} = {ratio:.2f} (<= 1.5: {verdict}); peak RSS x{growth:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
