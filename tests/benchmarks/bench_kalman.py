"""Benchmark: qsense 2-state clock Kalman filter against filterpy and pykalman.

Run ``python tests/benchmarks/bench_kalman.py [n_steps]``.

- Compile time is measured apart, in fresh Python processes: once with an empty numba
  cache (``NUMBA_CACHE_DIR`` pointed at a new folder: a cold compile) and once more on
  that folder (a load from the cache); the steady-state timings below exclude it.
- ``StateSpace.filter`` (the public call: validation, kernel, Dataset) and the kernels
  alone (unrolled 2-state kernel, and the generic n-state kernel the public call used
  before it) are timed best of 7; filterpy runs the same n steps (best of 3) in the same
  run, so the ratios compare like with like. pykalman (much slower) runs
  ``min(n, 10_000)`` steps and is scaled per step. The smoother is timed the same way
  against filterpy's ``rts_smoother`` and pykalman's ``smooth``.
- Peak Python-heap memory of the filter call is measured with tracemalloc.

Timings on a shared machine are noisy: the load average is printed before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np

_FIRST_CALL = """
import time
t0 = time.perf_counter()
import numpy as np
from qsense.denoise import clock_model
t1 = time.perf_counter()
model = clock_model(1e-22, 1e-26, 1.0, r=1e-22, P0=np.diag([1e-18, 1e-22]))
y = np.arange(10.0) * 1e-12
model.filter(y)
t2 = time.perf_counter()
model.smooth(y)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def _first_call_times(cache_dir: str) -> tuple[float, float, float]:
    """(import, first filter, first smooth) seconds in a fresh process on ``cache_dir``."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL], env=env, capture_output=True, text=True, check=True
    )
    imp, filt, smooth = (float(v) for v in out.stdout.split())
    return imp, filt, smooth


def _best_of(func, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def _kernel_call(kern, model, arr):
    T, n = arr.shape[0], model.n_states
    xf, Pf = np.empty((T, n)), np.empty((T, n, n))
    xp, Pp = np.empty((1, n)), np.empty((1, n, n))
    innov = np.empty((T, 1))
    kern(arr, model.F, model.H, model.Q, model.R, model.x0, model.P0, xf, Pf, xp, Pp, innov)
    return xf


def main(n: int = 100_000) -> None:
    from qsense.denoise import _kernels, _kernels_small, clock_model

    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as cache:
        cold = _first_call_times(cache)
        warm = _first_call_times(cache)
    print(
        f"fresh process, empty numba cache: import {cold[0]:.2f} s, first filter "
        f"{cold[1]:.2f} s, first smooth {cold[2]:.2f} s (compile)"
    )
    print(
        f"fresh process, numba cache warm : import {warm[0]:.2f} s, first filter "
        f"{warm[1]:.2f} s, first smooth {warm[2]:.2f} s (cache load)"
    )

    rng = np.random.default_rng(0)
    model = clock_model(1e-22, 1e-26, 1.0, r=1e-22, P0=np.diag([1e-18, 1e-22]))
    y = np.cumsum(np.cumsum(rng.normal(0, 1e-13, n))) + rng.normal(0, 1e-11, n)
    arr = y[:, None].copy()
    model.filter(y[:10])  # compile or load outside the timings
    model.smooth(y[:10])
    _kernel_call(_kernels.kalman_filter, model, arr[:10])

    t_q = _best_of(lambda: model.filter(y), 7)
    t_s = _best_of(lambda: model.smooth(y), 7)
    t_k2 = _best_of(lambda: _kernel_call(_kernels_small.kalman_filter_n2, model, arr), 7)
    t_kg = _best_of(lambda: _kernel_call(_kernels.kalman_filter, model, arr), 7)
    tracemalloc.start()
    out = model.filter(y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    smoothed = model.smooth(y)

    from filterpy.kalman import KalmanFilter

    def run_filterpy(yy, smooth=False):
        kf = KalmanFilter(dim_x=2, dim_z=1)
        kf.x = model.x0.reshape(2, 1).copy()
        kf.P = model.P0.copy()
        kf.F, kf.H, kf.Q, kf.R = model.F[0], model.H[0], model.Q[0], model.R[0]
        xs = np.empty((yy.size, 2))
        Ps = np.empty((yy.size, 2, 2))
        for t, z in enumerate(yy):
            if t:
                kf.predict()
            kf.update(z)
            xs[t] = kf.x[:, 0]
            Ps[t] = kf.P
        if smooth:
            return kf.rts_smoother(xs[:, :, None], Ps)[0][:, :, 0]
        return xs

    t_fp = _best_of(lambda: run_filterpy(y), 3)
    t_fps = _best_of(lambda: run_filterpy(y, smooth=True), 1)
    xs_fp = run_filterpy(y[:1000])
    err_fp = np.max(np.abs(out["x"].values[:1000] - xs_fp) / np.abs(xs_fp).max(0))
    sm_fp = run_filterpy(y[:1000], smooth=True)
    sm_q = model.smooth(y[:1000])["x"].values
    err_fps = np.max(np.abs(sm_q - sm_fp) / np.abs(sm_fp).max(0))

    from pykalman import KalmanFilter as PyKF

    n_pk = min(n, 10_000)
    pk = PyKF(
        transition_matrices=model.F[0],
        observation_matrices=model.H[0],
        transition_covariance=model.Q[0],
        observation_covariance=model.R[0],
        initial_state_mean=model.x0,
        initial_state_covariance=model.P0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_pk = _best_of(lambda: pk.filter(y[:n_pk, None]), 1)
        t_pks = _best_of(lambda: pk.smooth(y[:n_pk, None]), 1)
        pk_means, _ = pk.filter(y[:1000, None])
        pk_smooth, _ = pk.smooth(y[:1000, None])
    err_pk = np.max(np.abs(out["x"].values[:1000] - pk_means) / np.abs(pk_means).max(0))
    err_pks = np.max(np.abs(sm_q - pk_smooth) / np.abs(pk_smooth).max(0))
    scale = n / n_pk
    assert np.all(np.isfinite(smoothed["x"].values))

    print(f"steps: {n} (2-state clock model, scalar phase measurement)")
    print(
        f"qsense filter  (public call): {t_q * 1e3:8.2f} ms  ({t_q / n * 1e9:5.1f} ns/step), "
        f"peak traced memory {peak / 1e6:.1f} MB"
    )
    print(f"  kernel only, unrolled n=2 : {t_k2 * 1e3:8.2f} ms  ({t_k2 / n * 1e9:5.1f} ns/step)")
    print(f"  kernel only, generic      : {t_kg * 1e3:8.2f} ms  ({t_kg / n * 1e9:5.1f} ns/step)")
    print(
        f"filterpy filter             : {t_fp * 1e3:8.1f} ms  ratio public {t_fp / t_q:6.0f}x, "
        f"unrolled kernel {t_fp / t_k2:6.0f}x, generic kernel {t_fp / t_kg:5.0f}x  "
        f"(max rel. state diff {err_fp:.1e})"
    )
    print(
        f"pykalman filter             : {t_pk * 1e3:8.1f} ms on {n_pk} steps -> "
        f"{t_pk * scale * 1e3:.0f} ms scaled; ratio {t_pk * scale / t_q:6.0f}x  "
        f"(max rel. state diff {err_pk:.1e})"
    )
    print(f"qsense smooth (public call) : {t_s * 1e3:8.2f} ms  ({t_s / n * 1e9:5.1f} ns/step)")
    print(
        f"filterpy filter+rts_smoother: {t_fps * 1e3:8.1f} ms  ratio {t_fps / t_s:6.0f}x  "
        f"(max rel. state diff {err_fps:.1e})"
    )
    print(
        f"pykalman smooth             : {t_pks * 1e3:8.1f} ms on {n_pk} steps -> "
        f"{t_pks * scale * 1e3:.0f} ms scaled; ratio {t_pks * scale / t_s:6.0f}x  "
        f"(max rel. state diff {err_pks:.1e})"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
