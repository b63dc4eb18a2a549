"""Benchmark of qsense.sensors.clock.AtomicClock: 1e6 cycles with a flicker-FM LO.

Not run by CI. Usage::

    python tests/benchmarks/bench_clock.py            # every case, each in a fresh process
    python tests/benchmarks/bench_clock.py --case "1e6 cycles, 100 LO samples"

Each case runs in its own interpreter, so its compile time and peak memory are its own.
The script reports the compile time apart (the first 10-cycle call in the fresh
process, loading numba's on-disk cache when present; and, as case "cold compile", the same
first call with ``NUMBA_CACHE_DIR`` pointed at an empty folder, so everything compiles),
then the best wall and CPU time of the runs, the tracemalloc peak of one run
(numpy buffers), the growth of the process's maximum resident set size over its
baseline after warm-up, and the load average before and after.

Requirement (issue 10): simulating 1e6 cycles of a clock with a flicker-FM LO at 100
LO samples per cycle (1e8 LO samples) in seconds, in bounded memory (the LO is
generated and consumed in blocks of 2**20 samples; the output is 10 float64 variables
per cycle, 80 MB for 1e6 cycles).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

# name: (cycles, LO samples per cycle, repeats)
CASES = {
    "1e6 cycles, 100 LO samples": (1_000_000, 100, 2),
    "1e6 cycles, ideal LO": (1_000_000, 0, 3),
    "1e5 cycles, 100 LO samples": (100_000, 100, 3),
}


def _clock(samples: int):
    from qsense.sensors.classical import Oscillator
    from qsense.sensors.clock import AtomicClock

    lo = None if samples == 0 else Oscillator(h={-1: 3e-27})
    return AtomicClock(
        nu0=9_192_631_770.0,
        ramsey_time=0.5,
        cycle_time=1.0,
        atoms=10**6,
        lo=lo,
        lo_samples_per_cycle=max(samples, 2),
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(name: str) -> dict:
    cycles, samples, repeats = CASES[name]
    load_before = os.getloadavg()
    clock = _clock(samples)
    t = time.perf_counter()
    clock.simulate(10.0, seed=0)  # compile (or load from cache) the kernel
    first_call = time.perf_counter() - t
    baseline = _rss_mb()
    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        ds = clock.simulate(float(cycles), seed=1)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        del ds
    rss_growth = _rss_mb() - baseline
    tracemalloc.start()
    clock.simulate(float(cycles), seed=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "case": name,
        "cycles": cycles,
        "lo_samples_per_cycle": samples,
        "first_call_s": round(first_call, 3),
        "best_wall_s": round(min(walls), 3),
        "best_cpu_s": round(min(cpus), 3),
        "lo_samples_per_s": round(cycles * samples / min(walls), 0),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        "rss_growth_mb": round(rss_growth, 1),
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=list(CASES))
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    for name in CASES:
        out = subprocess.run(
            [sys.executable, __file__, "--case", name],
            capture_output=True,
            text=True,
            check=True,
        )
        print(out.stdout.strip())
    with tempfile.TemporaryDirectory() as cache:
        code = (
            "import time; t = time.perf_counter(); import bench_clock as b; "
            "c = b._clock(100); c.simulate(10.0, seed=0); "
            'print(\'{"case": "cold compile", "first_call_s": %.3f}\' '
            "% (time.perf_counter() - t))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=os.path.dirname(os.path.abspath(__file__)),
            env={**os.environ, "NUMBA_CACHE_DIR": cache},
        )
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
