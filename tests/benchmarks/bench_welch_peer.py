"""Benchmark: the Welch ASD of a long record, streamed and in memory, against scipy.

Not run by CI (a 2e8-sample record needs ~8 GB of memory for scipy). Usage::

    python tests/benchmarks/bench_welch_peer.py --record /big/r2e8.h5
    python tests/benchmarks/bench_welch_peer.py --record /big/r2e8.h5 --repeat 3
    python tests/benchmarks/bench_welch_peer.py --record r.h5 --tasks streamed inmemory

The record is an HDF5 file with dataset ``phase`` and attribute ``sample_rate`` (as
written by ``bench_long_record.py``). Three tasks, each in a fresh interpreter so that
its peak resident memory (VmHWM) is its own, run in turn ``--repeat`` times (the order
rotated each round, so the other sessions' load falls on all of them alike):

* ``streamed``: ``qsense.spectral.asd`` of the record opened lazily (a dask array on
  the h5py dataset with the file's chunks), read and transformed chunk by chunk;
* ``inmemory``: ``qsense.spectral.asd`` of the record read into a numpy array first
  (the read is not timed);
* ``scipy``: :func:`scipy.signal.welch` of the same in-memory array with the same
  parameters (``nperseg``, Hann window, 50 % overlap, constant detrend; the read is not
  timed).

Each is first run on a small record (imports, FFT plans). Printed: wall and CPU time
(os.times, all threads) of each run, peak RSS, the best of the runs, the ratios of the
best wall and CPU times against scipy, and the largest relative difference of each
qsense PSD from scipy's over the bins (rounding only: ~1e-13 or less is expected).
The load average is printed before and after; the machine's other sessions inflate
wall time more than CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_long_record import _available_bytes, _cpu_s, _open_lazy, _peak_rss_mb

TASKS = ("streamed", "inmemory", "scipy")


def _read(path: str) -> tuple:
    import h5py
    import numpy as np

    with h5py.File(path, "r") as f:
        dset = f["phase"]
        x = np.empty(dset.shape[0])
        dset.read_direct(x)
        return x, float(dset.attrs["sample_rate"])


def _child(task: str, path: str, nperseg: int, out: str) -> dict:
    """One timed run in this (fresh) interpreter; the PSD is saved to ``out``."""
    import numpy as np
    import scipy.signal

    import qsense.spectral as sp

    warm = np.random.default_rng(0).normal(size=8 * nperseg)
    if task == "streamed":
        import dask.array as da

        sp.asd(da.from_array(warm, chunks=3 * nperseg), rate=1.0, nperseg=nperseg)
        data = _open_lazy(path)
        t0, c0 = time.perf_counter(), _cpu_s()
        psd = sp.asd(data, nperseg=nperseg)["asd"].values ** 2
    elif task == "inmemory":
        sp.asd(warm, rate=1.0, nperseg=nperseg)
        x, rate = _read(path)
        t0, c0 = time.perf_counter(), _cpu_s()
        psd = sp.asd(x, rate=rate, nperseg=nperseg)["asd"].values ** 2
    else:
        kw = dict(window="hann", nperseg=nperseg, noverlap=nperseg // 2, detrend="constant")
        scipy.signal.welch(warm, fs=1.0, **kw)
        x, rate = _read(path)
        t0, c0 = time.perf_counter(), _cpu_s()
        psd = scipy.signal.welch(x, fs=rate, **kw)[1]
    seconds, cpu = time.perf_counter() - t0, _cpu_s() - c0
    np.save(out, psd)
    return {"task": task, "seconds": seconds, "cpu_s": cpu, "peak_rss_mb": _peak_rss_mb()}


def _run(task: str, path: str, nperseg: int, out: str) -> dict:
    cmd = [sys.executable, __file__, "--child", task, path, str(nperseg), out]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode:
        return {"task": task, "error": res.stderr.strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", help="HDF5 record (dataset 'phase'), required")
    parser.add_argument("--nperseg", type=int, default=1 << 16, help="segment length")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each task")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        task, path, nperseg, out = args.child
        print(json.dumps(_child(task, path, int(nperseg), out)))
        return
    if args.record is None:
        parser.error("--record is required")
    import numpy as np

    size = Path(args.record).stat().st_size
    tasks = list(dict.fromkeys(args.tasks))
    if size * 5 > _available_bytes():  # scipy holds the record, its padded copy, spectra
        tasks = [t for t in tasks if t == "streamed"]
        print(f"in-memory tasks skipped: {size / 1e9:.1f} GB record, too little memory")
    print(f"{args.record}: {size / 1e9:.2f} GB, nperseg={args.nperseg}")
    print(f"load average before: {os.getloadavg()}", flush=True)
    runs: dict[str, list] = {t: [] for t in tasks}
    with tempfile.TemporaryDirectory(prefix="qsense_welch_") as tmp:
        outs = {t: str(Path(tmp) / f"{t}.npy") for t in tasks}
        for r in range(args.repeat):
            for t in tasks[r % len(tasks) :] + tasks[: r % len(tasks)]:
                res = _run(t, args.record, args.nperseg, outs[t])
                runs[t].append(res)
                if "seconds" in res:
                    print(
                        f"  {t:9s} {res['seconds']:7.2f} s  CPU {res['cpu_s']:7.2f} s  "
                        f"peak RSS {res['peak_rss_mb']:6.0f} MB",
                        flush=True,
                    )
                else:
                    print(f"  {t:9s} failed: {res.get('error')}", flush=True)
        spectra = {t: np.load(outs[t]) for t in tasks if os.path.exists(outs[t])}
    print(f"load average after: {os.getloadavg()}")
    best = {}
    for t in tasks:
        ok = [r for r in runs[t] if "seconds" in r]
        if ok:
            best[t] = (min(r["seconds"] for r in ok), min(r["cpu_s"] for r in ok))
            print(f"best {t:9s} {best[t][0]:7.2f} s  CPU {best[t][1]:7.2f} s")
    if "scipy" in best:
        for t in ("streamed", "inmemory"):
            if t in best:
                wall, cpu = (s / q for s, q in zip(best["scipy"], best[t], strict=True))
                print(f"scipy / qsense {t}: wall x{wall:.2f}, CPU x{cpu:.2f}")
    if "scipy" in spectra:
        ref = spectra["scipy"]
        for t in ("streamed", "inmemory"):
            if t in spectra:
                rel = np.max(np.abs(spectra[t] - ref) / ref)
                print(f"max |psd_{t} / psd_scipy - 1| = {rel:.2e}")


if __name__ == "__main__":
    main()
