"""Benchmark of qsense.noise.power_law against allantools' Kasdin-Walter generator.

Not run by CI. Usage::

    python tests/benchmarks/bench_noise.py          # all cases, each in a fresh process

Each case runs in its own interpreter so that its peak memory is its own: the script
reports the best wall and CPU (process) time of 3 runs after a small warm-up, the
tracemalloc peak of one run (numpy-allocated buffers only; the FFT library's internal
scratch is not traced) and the growth of the process's maximum resident set size over
its baseline after the warm-up (which does include it).

Requirement (issue 2): 1e7 samples of flicker FM in well under 10 s.
Peer: ``allantools.noise_kasdin.Noise`` (the same method, length a power of two), run
in the same session at the same length; ``b = -1`` is a 1/f series like qsense's flicker
FM frequency output, ``b = -3`` the 1/f**3 phase like qsense's flicker FM phase output.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc

N_REQ = 10_000_000
N_PEER = 2**23  # allantools needs a power of two

CASES = {
    "qsense FFM freq 1e7": ("qsense", N_REQ, "freq"),
    "qsense FFM freq 2^23": ("qsense", N_PEER, "freq"),
    "allantools b=-1 2^23": ("allantools", N_PEER, -1),
    "qsense FFM phase 2^23": ("qsense", N_PEER, "phase"),
    "allantools b=-3 2^23": ("allantools", N_PEER, -3),
}


def _runner(lib: str, n: int, kind):
    if lib == "qsense":
        from qsense.noise import power_law

        return lambda size: power_law(size, rate=1.0, h={-1: 1e-24}, data_type=kind, seed=1)

    import numpy as np
    from allantools.noise_kasdin import Noise

    def run(size):
        np.random.seed(1)  # noqa: NPY002 - allantools draws from the legacy global RNG
        gen = Noise(nr=size, qd=1e-24, b=kind)
        gen.generateNoise()
        return gen.time_series

    return run


def run_case(name: str) -> dict:
    lib, n, kind = CASES[name]
    run = _runner(lib, n, kind)
    run(2**12)  # warm-up: imports, FFT plans
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, cpu = [], []
    for _ in range(3):
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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=list(CASES), help="run one case (internal)")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    results = {}
    for name in CASES:
        proc = subprocess.run(
            [sys.executable, __file__, "--case", name], capture_output=True, text=True, check=True
        )
        results[name] = json.loads(proc.stdout)
        r = results[name]
        print(
            f"{name:24s} n={r['n']:>9d}  best {r['best_s']:6.3f} s  "
            f"(runs {', '.join(f'{t:.3f}' for t in r['times_s'])}; CPU {r['best_cpu_s']:.3f} s)  "
            f"tracemalloc peak {r['tracemalloc_peak_MB']:7.1f} MB  "
            f"maxRSS growth {r['maxrss_growth_MB']:7.1f} MB"
        )
    for ours, peer in (
        ("qsense FFM freq 2^23", "allantools b=-1 2^23"),
        ("qsense FFM phase 2^23", "allantools b=-3 2^23"),
    ):
        a, b = results[ours], results[peer]
        print(
            f"{ours} / {peer}: time x{a['best_s'] / b['best_s']:.2f}, "
            f"CPU x{a['best_cpu_s'] / b['best_cpu_s']:.2f}, "
            f"tracemalloc peak x{a['tracemalloc_peak_MB'] / b['tracemalloc_peak_MB']:.2f}"
        )
    req = results["qsense FFM freq 1e7"]["best_s"]
    print(f"requirement: 1e7 flicker FM samples in {req:.3f} s (< 10 s: {req < 10})")


if __name__ == "__main__":
    main()
