"""Benchmark: the AT1 clock-ensemble time scale (qsense.fusion.ensemble_time_scale).

Run ``python tests/benchmarks/bench_ensemble.py [n_epochs] [n_clocks]`` (default 1e6 x 10).

- Compile time apart, in fresh Python processes: once with an empty numba cache
  (``NUMBA_CACHE_DIR`` pointed at a new folder: a cold compile) and once more on that
  folder (a load from the cache).
- The public call (validation, kernel, Dataset; ``taus=None``) and the kernel alone,
  best of 3; the Allan estimates (``taus="octave"``) once.
- No peer library implements AT1: the slow, plain-Python reference loop of the tests
  (``tests/test_ensemble.py:at1_reference``) runs ``min(n, 20_000)`` epochs in the same
  run and is scaled per epoch, for the ratio.
- Peak Python-heap memory of the public call with tracemalloc.

Timings on a shared machine are noisy: the load average is printed before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_FIRST_CALL = """
import time
t0 = time.perf_counter()
import numpy as np
from qsense.fusion import ensemble_time_scale
t1 = time.perf_counter()
x = np.cumsum(np.random.default_rng(0).normal(size=(50, 3)), axis=0) * 1e-12
ensemble_time_scale(x, 1.0, time_constant=10.0, taus=None)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _first_call(cache_dir: str) -> tuple[float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL], env=env, capture_output=True, text=True, check=True
    )
    imp, call = (float(v) for v in out.stdout.split())
    return imp, call


def phases(n: int, n_clocks: int, seed: int = 0) -> np.ndarray:
    """White FM + random-walk FM phases (s) of ``n_clocks`` clocks, levels 1 ... 3."""
    rng = np.random.default_rng(seed)
    scale = np.linspace(1.0, 3.0, n_clocks)
    y = rng.standard_normal((n, n_clocks)) * scale * 1e-12
    y += np.cumsum(rng.standard_normal((n, n_clocks)) * scale * 1e-14, axis=0)
    return np.cumsum(y, axis=0)


def best_of(k: int, f) -> float:
    times = []
    for _ in range(k):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
    n_clocks = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as cache:
        cold = _first_call(cache)
        warm = _first_call(cache)
    print(f"first call, empty numba cache: import {cold[0]:.2f} s, call {cold[1]:.2f} s")
    print(f"first call, from the cache:    import {warm[0]:.2f} s, call {warm[1]:.2f} s")

    from test_ensemble import at1_reference

    from qsense.fusion import ensemble_time_scale
    from qsense.fusion._kernels import at1, new_state

    x = phases(n, n_clocks)
    u = x - x[:, :1]
    tau_f = np.full(n_clocks, 100.0)
    args = (1.0, tau_f, 10 * tau_f, 2.5 / n_clocks, 4.0, 10.0, 3.0, 0)
    ensemble_time_scale(u[:100], 1.0, time_constant=100.0, taus=None)  # compiled

    def kernel_only():
        outs = [np.empty((n, n_clocks)) for _ in range(4)]
        at1(u, *args, new_state(n_clocks), *outs, np.empty((n, n_clocks), np.int8), np.empty(n))

    t_kernel = best_of(3, kernel_only)
    t_public = best_of(3, lambda: ensemble_time_scale(u, 1.0, time_constant=100.0, taus=None))
    t0 = time.perf_counter()
    ensemble_time_scale(u, 1.0, time_constant=100.0)
    t_allan = time.perf_counter() - t0
    tracemalloc.start()
    ensemble_time_scale(u, 1.0, time_constant=100.0, taus=None)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    n_ref = min(n, 20_000)
    t0 = time.perf_counter()
    at1_reference(u[:n_ref].tolist(), *args[:-1])
    t_ref = (time.perf_counter() - t0) * n / n_ref

    print(f"{n_clocks} clocks x {n:.0e} epochs (input {u.nbytes / 1e6:.0f} MB):")
    print(f"  kernel alone           {t_kernel:8.3f} s  ({t_kernel / n * 1e9:.0f} ns/epoch)")
    print(f"  ensemble_time_scale    {t_public:8.3f} s  (taus=None)")
    print(f"  with Allan estimates   {t_allan:8.3f} s  (taus='octave')")
    print(f"  peak Python heap       {peak / 1e6:8.0f} MB  (taus=None)")
    print(f"  Python reference loop  {t_ref:8.1f} s  (scaled from {n_ref} epochs)")
    print(f"  ratio reference / kernel: {t_ref / t_kernel:.0f}x")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
