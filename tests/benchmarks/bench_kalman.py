"""Benchmark: qsense 2-state clock Kalman filter against filterpy and pykalman.

Run ``python tests/benchmarks/bench_kalman.py [n_steps]``. The numba first call
(compilation, or loading from numba's cache) is timed apart and excluded from the
steady-state timing. filterpy runs the same n steps; pykalman (much slower) runs
``min(n, 10_000)`` steps and its time is scaled per step. Peak Python-heap memory of
the qsense filter is measured with tracemalloc. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
import warnings

import numpy as np


def _best_of(func, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def main(n: int = 100_000) -> None:
    from qsense.denoise import _kernels, clock_model

    rng = np.random.default_rng(0)
    model = clock_model(1e-22, 1e-26, 1.0, r=1e-22, P0=np.diag([1e-18, 1e-22]))
    y = np.cumsum(np.cumsum(rng.normal(0, 1e-13, n))) + rng.normal(0, 1e-11, n)

    t0 = time.perf_counter()
    model.filter(y[:10])
    first_call = time.perf_counter() - t0
    sigs = len(_kernels.kalman_filter.signatures)

    t_q = _best_of(lambda: model.filter(y), 5)
    tracemalloc.start()
    out = model.filter(y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    from filterpy.kalman import KalmanFilter

    def run_filterpy(yy):
        kf = KalmanFilter(dim_x=2, dim_z=1)
        kf.x = model.x0.reshape(2, 1).copy()
        kf.P = model.P0.copy()
        kf.F, kf.H, kf.Q, kf.R = model.F[0], model.H[0], model.Q[0], model.R[0]
        xs = np.empty((yy.size, 2))
        for t, z in enumerate(yy):
            if t:
                kf.predict()
            kf.update(z)
            xs[t] = kf.x[:, 0]
        return xs

    t_fp = _best_of(lambda: run_filterpy(y), 1)
    xs_fp = run_filterpy(y[:1000])
    err_fp = np.max(np.abs(out["x"].values[:1000] - xs_fp) / np.abs(xs_fp).max(0))

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
        pk_means, _ = pk.filter(y[:1000, None])
    err_pk = np.max(np.abs(out["x"].values[:1000] - pk_means) / np.abs(pk_means).max(0))
    t_pk_scaled = t_pk * n / n_pk

    print(
        f"steps: {n}; numba first call (compile or cache load): {first_call:.2f} s "
        f"({sigs} signature(s))"
    )
    print(
        f"qsense  filter: {t_q * 1e3:8.2f} ms  ({t_q / n * 1e9:.0f} ns/step), "
        f"peak traced memory {peak / 1e6:.1f} MB"
    )
    print(
        f"filterpy      : {t_fp * 1e3:8.1f} ms  ratio {t_fp / t_q:8.0f}x  "
        f"(max rel. state diff {err_fp:.1e})"
    )
    print(
        f"pykalman      : {t_pk * 1e3:8.1f} ms on {n_pk} steps -> {t_pk_scaled * 1e3:.0f} ms "
        f"scaled; ratio {t_pk_scaled / t_q:8.0f}x  (max rel. state diff {err_pk:.1e})"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
