"""Benchmark of qsense.sensors.classical.Oscillator and the GNSS-disciplined oscillator.

Not run by CI. Usage::

    python tests/benchmarks/bench_oscillator.py          # all cases, each in a fresh process

Issue 10's cases: one day of the cited OCXO preset at 1 Hz (86 400 samples: white,
flicker and random-walk FM plus drift, streamed in chunks) and 1e6 samples of the
``ocxo-gpsdo`` preset (the OCXO steered by its PI loop, and by its Kalman loop, to
corrected 1PPS pulses). Each case runs in its own interpreter so that its peak memory is
its own: best wall and CPU time of 3 runs after a warm-up, the tracemalloc peak of one
run (numpy buffers), the growth of the maximum resident set size over the baseline
after the warm-up, and the load average before and after. The numba compile time of the
loop kernels is measured apart (case "compile": first call in a fresh process, which
loads numba's on-disk cache when present, and a forced compile without the cache).

Peer, same run, same lengths: allantools' Kasdin-Walter generator
(``allantools.noise_kasdin.Noise``, one series per noise type: b = 0 white FM, -1
flicker FM, -2 random-walk FM, summed like the OCXO's three terms; its length must be a
power of two, so both libraries are also timed at 2**17 and 2**20). allantools has no
oscillator model and no steering loop: the peer covers the noise generation only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

DAY = 86_400
N_GPSDO = 1_000_000

# name: (library, samples, what, repeats)
CASES = {
    "OCXO 1 day at 1 Hz": ("ocxo", DAY, None, 3),
    "OCXO 2^17": ("ocxo", 2**17, None, 3),
    "allantools 3 types 2^17": ("allantools", 2**17, None, 3),
    "GPSDO pi 1e6": ("gpsdo", N_GPSDO, "pi", 3),
    "GPSDO kalman 1e6": ("gpsdo", N_GPSDO, "kalman", 3),
    "OCXO 2^20": ("ocxo", 2**20, None, 3),
    "allantools 3 types 2^20": ("allantools", 2**20, None, 3),
}


def _runner(lib: str, what):
    if lib == "ocxo":
        from qsense.sensors.classical import Oscillator

        osc = Oscillator.preset("ocxo")
        return lambda n: osc.simulate(float(n), seed=1)
    if lib == "gpsdo":
        from qsense.sensors.gnss import DisciplinedOscillator

        gpsdo = DisciplinedOscillator.preset("ocxo-gpsdo", method=what)
        return lambda n: gpsdo.simulate(float(n), seed=1)

    import numpy as np
    from allantools.noise_kasdin import Noise

    from qsense.sensors.classical import Oscillator

    h = Oscillator.preset("ocxo").h

    def run(n):
        np.random.seed(1)  # noqa: NPY002 - allantools draws from the legacy global RNG
        total = np.zeros(n)
        for b, alpha in ((0, 0), (-1, -1), (-2, -2)):
            gen = Noise(nr=n, qd=h[alpha], b=b)
            gen.generateNoise()
            total += gen.time_series
        return total

    return run


def compile_case() -> dict:
    """First calls in a fresh process, then forced compiles of the loop kernels."""
    t0 = time.perf_counter()
    import numba

    from qsense._numba import FASTMATH
    from qsense.sensors.gnss import DisciplinedOscillator
    from qsense.sensors.gnss._kernels import kalman_loop, pi_loop

    t1 = time.perf_counter()
    DisciplinedOscillator.preset("ocxo-gpsdo").simulate(100.0, seed=0)
    DisciplinedOscillator.preset("ocxo-gpsdo", method="kalman").simulate(100.0, seed=0)
    t2 = time.perf_counter()
    arr, flag, f8 = numba.float64[::1], numba.boolean[::1], numba.float64
    fresh_pi = numba.njit(cache=False, fastmath=set(FASTMATH))(pi_loop.py_func)
    fresh_kf = numba.njit(cache=False, fastmath=set(FASTMATH))(kalman_loop.py_func)
    t3 = time.perf_counter()
    fresh_pi.compile((arr, arr, flag, f8, f8, f8, f8, arr, arr, arr))
    fresh_kf.compile((arr, arr, flag, f8, f8, f8, f8, f8, f8, arr, arr, arr))
    t4 = time.perf_counter()
    return {
        "case": "compile",
        "import_s": t1 - t0,
        "first_calls_s": t2 - t1,
        "forced_compile_s": t4 - t3,
        "load": os.getloadavg(),
    }


def run_case(name: str) -> dict:
    if name == "compile":
        return compile_case()
    lib, n, what, repeats = CASES[name]
    run = _runner(lib, what)
    load_before = os.getloadavg()
    run(2**12)  # warm-up: imports, numba, filter design
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = run(n)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        del out
    tracemalloc.start()
    out = run(n)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del out
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "case": name,
        "n": n,
        "best_s": min(times),
        "times_s": times,
        "best_cpu_s": min(cpu),
        "tracemalloc_peak_MB": peak / 1e6,
        "maxrss_growth_MB": (rss - base_rss) * 1024 / 1e6,
        "maxrss_MB": rss * 1024 / 1e6,
        "load": [load_before, os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = ["compile", *CASES]
    parser.add_argument("--case", choices=names, help="run one case (internal)")
    parser.add_argument("--only", nargs="+", choices=names, help="run only these cases")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    results = {}
    for name in args.only or names:
        proc = subprocess.run(
            [sys.executable, __file__, "--case", name], capture_output=True, text=True, check=True
        )
        results[name] = r = json.loads(proc.stdout)
        if name == "compile":
            print(
                f"{name:24s} import {r['import_s']:.3f} s, first calls (numba cache or "
                f"compile) {r['first_calls_s']:.3f} s, forced compile of both loops "
                f"{r['forced_compile_s']:.3f} s  load {r['load'][0]:.2f}"
            )
            continue
        print(
            f"{name:24s} n={r['n']:>8d}  best {r['best_s']:7.3f} s  "
            f"({r['n'] / r['best_s'] / 1e6:6.2f} M samples/s; "
            f"runs {', '.join(f'{t:.3f}' for t in r['times_s'])}; CPU {r['best_cpu_s']:.3f} s)  "
            f"tracemalloc peak {r['tracemalloc_peak_MB']:7.1f} MB  "
            f"maxRSS growth {r['maxrss_growth_MB']:7.1f} MB (peak {r['maxrss_MB']:.0f} MB)  "
            f"load {r['load'][0][0]:.2f} -> {r['load'][1][0]:.2f}"
        )
    for ours, peer in (
        ("OCXO 2^17", "allantools 3 types 2^17"),
        ("OCXO 2^20", "allantools 3 types 2^20"),
        ("GPSDO pi 1e6", "allantools 3 types 2^20"),
    ):
        if ours in results and peer in results:
            a, b = results[ours], results[peer]
            print(
                f"{ours} / {peer}: time x{a['best_s'] / b['best_s']:.3f}, "
                f"tracemalloc peak x{a['tracemalloc_peak_MB'] / b['tracemalloc_peak_MB']:.2f}"
            )


if __name__ == "__main__":
    main()
