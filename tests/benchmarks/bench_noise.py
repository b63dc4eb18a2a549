"""Benchmark of qsense.noise: power_law and the streaming PowerLawStream against allantools.

Not run by CI. Usage::

    python tests/benchmarks/bench_noise.py          # all cases, each in a fresh process

Each case runs in its own interpreter so that its peak memory is its own: the script
reports the best wall and CPU (process) time of 3 runs (1 for the 1e8 stream) after a
small warm-up, the tracemalloc peak of one run (numpy-allocated buffers only; the FFT
library's internal scratch is not traced), the growth of the process's maximum resident
set size over its baseline after the warm-up (which does include it) and the load
average before and after.

Requirements: 1e7 samples of flicker FM in well under 10 s (issue 2); 1e8 samples of
flicker FM streamed in bounded memory (issue 9: PowerLawStream in chunks of 2**20; its
memory must not grow with the length). Peers, run in the same session at the same
length: ``allantools.noise_kasdin.Noise`` (the Kasdin-Walter method, length a power of
two; ``b = -1`` is a 1/f series like qsense's flicker FM frequency output, ``b = -3``
the 1/f**3 phase like its phase output) and ``allantools.noise.pink`` (Voss-McCartney
flicker, pure Python, so compared at 2**14). The numba compile time of the stream's
kernel is measured apart (case "stream compile"): the first call in a fresh process
(loading numba's on-disk cache when present) and a forced compile without the cache.
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

N_REQ = 10_000_000
N_PEER = 2**23  # allantools needs a power of two
N_STREAM = 100_000_000
N_PINK = 2**14
CHUNK = 2**20

# name: (library, samples, kind, repeats)
CASES = {
    "qsense FFM freq 1e7": ("qsense", N_REQ, "freq", 3),
    "qsense FFM freq 2^23": ("qsense", N_PEER, "freq", 3),
    "stream FFM freq 2^23": ("stream", N_PEER, "freq", 3),
    "allantools b=-1 2^23": ("allantools", N_PEER, -1, 3),
    "qsense FFM phase 2^23": ("qsense", N_PEER, "phase", 3),
    "stream FFM phase 2^23": ("stream", N_PEER, "phase", 3),
    "allantools b=-3 2^23": ("allantools", N_PEER, -3, 3),
    "stream FFM freq 2^14": ("stream", N_PINK, "freq", 3),
    "allantools pink 2^14": ("pink", N_PINK, None, 3),
    "stream FFM freq 1e8": ("stream", N_STREAM, "freq", 1),
}


def _runner(lib: str, n: int, kind):
    if lib == "qsense":
        from qsense.noise import power_law

        return lambda size: power_law(size, rate=1.0, h={-1: 1e-24}, data_type=kind, seed=1)

    if lib == "stream":
        from qsense.noise import PowerLawStream

        def stream(size):
            gen = PowerLawStream({-1: 1e-24}, 1.0, data_type=kind, seed=1)
            done, last = 0, None
            while done < size:
                last = gen.next(min(CHUNK, size - done))
                done += last.size
            return last

        return stream

    if lib == "pink":
        from allantools.noise import pink

        return lambda size: pink(size)

    import numpy as np
    from allantools.noise_kasdin import Noise

    def run(size):
        np.random.seed(1)  # noqa: NPY002 - allantools draws from the legacy global RNG
        gen = Noise(nr=size, qd=1e-24, b=kind)
        gen.generateNoise()
        return gen.time_series

    return run


def compile_case() -> dict:
    """First call in a fresh process, then a forced compile of the kernel without cache."""
    t0 = time.perf_counter()
    import numba
    import numpy as np

    from qsense._numba import FASTMATH
    from qsense.noise import PowerLawStream
    from qsense.noise._kernels import ar_bank

    t1 = time.perf_counter()
    PowerLawStream({-1: 1.0}, 1.0, seed=0).next(1)
    t2 = time.perf_counter()
    fresh = numba.njit(cache=False, fastmath=set(FASTMATH))(ar_bank.py_func)
    arr = numba.float64[::1]
    t3 = time.perf_counter()
    fresh.compile((arr, arr, arr, numba.float64, arr))
    t4 = time.perf_counter()
    x = np.zeros(4)
    fresh(x, np.zeros(2), np.ones(2), 1.0, np.zeros(2))
    return {
        "case": "stream compile",
        "import_s": t1 - t0,
        "first_call_s": t2 - t1,
        "forced_compile_s": t4 - t3,
        "load": os.getloadavg(),
    }


def run_case(name: str) -> dict:
    if name == "stream compile":
        return compile_case()
    lib, n, kind, repeats = CASES[name]
    run = _runner(lib, n, kind)
    load_before = os.getloadavg()
    run(2**12)  # warm-up: imports, FFT plans, numba
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
    names = [*CASES, "stream compile"]
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
        if name == "stream compile":
            print(
                f"{name:24s} import {r['import_s']:.3f} s, first call (numba cache or compile) "
                f"{r['first_call_s']:.3f} s, forced compile {r['forced_compile_s']:.3f} s  "
                f"load {r['load'][0]:.2f}"
            )
            continue
        print(
            f"{name:24s} n={r['n']:>9d}  best {r['best_s']:7.3f} s  "
            f"({r['n'] / r['best_s'] / 1e6:6.1f} M samples/s; "
            f"runs {', '.join(f'{t:.3f}' for t in r['times_s'])}; CPU {r['best_cpu_s']:.3f} s)  "
            f"tracemalloc peak {r['tracemalloc_peak_MB']:7.1f} MB  "
            f"maxRSS growth {r['maxrss_growth_MB']:7.1f} MB (peak {r['maxrss_MB']:.0f} MB)  "
            f"load {r['load'][0][0]:.2f} -> {r['load'][1][0]:.2f}"
        )
    for ours, peer in (
        ("qsense FFM freq 2^23", "allantools b=-1 2^23"),
        ("stream FFM freq 2^23", "allantools b=-1 2^23"),
        ("stream FFM freq 2^23", "qsense FFM freq 2^23"),
        ("qsense FFM phase 2^23", "allantools b=-3 2^23"),
        ("stream FFM phase 2^23", "allantools b=-3 2^23"),
        ("stream FFM freq 2^14", "allantools pink 2^14"),
    ):
        if ours not in results or peer not in results:
            continue
        a, b = results[ours], results[peer]
        print(
            f"{ours} / {peer}: time x{a['best_s'] / b['best_s']:.3f}, "
            f"CPU x{a['best_cpu_s'] / b['best_cpu_s']:.3f}, "
            f"tracemalloc peak x{a['tracemalloc_peak_MB'] / b['tracemalloc_peak_MB']:.2f}"
        )
    if "qsense FFM freq 1e7" in results:
        req = results["qsense FFM freq 1e7"]["best_s"]
        print(f"requirement: 1e7 flicker FM samples in {req:.3f} s (< 10 s: {req < 10})")
    if "stream FFM freq 1e8" in results:
        r = results["stream FFM freq 1e8"]
        print(
            f"requirement: 1e8 flicker FM samples streamed in {r['best_s']:.1f} s, "
            f"tracemalloc peak {r['tracemalloc_peak_MB']:.1f} MB "
            f"(the output alone would be {8 * N_STREAM / 1e6:.0f} MB), "
            f"maxRSS growth {r['maxrss_growth_MB']:.1f} MB"
        )


if __name__ == "__main__":
    main()
