"""Benchmark of qsense.sensors.gravimeter.AtomGravimeter: an hour and a week of AQG-like shots.

Not run by CI. Usage::

    python tests/benchmarks/bench_gravimeter.py            # every case, each in a fresh process
    python tests/benchmarks/bench_gravimeter.py --case "1 h, white vibration"

Requirement (issue 11): one hour of AQG-like shots (0.54 s cycle, 6667 shots) with
projection and detection noise, laser phase noise and vibration in well under a second;
7 days (1.12e6 shots) in seconds. Peers (issue 11): qgrav ~10 min per simulated hour,
py-aisim ~11 min.

Each case runs in its own interpreter: the first call (compile, or load from numba's
on-disk cache) is reported apart, then the best wall and CPU time of the repeats, the
tracemalloc peak of one run (numpy buffers), the growth of the maximum resident set over
its baseline, and the load average before and after. The sampled-acceleration cases build
the environment (white ground acceleration at the given rate plus a tide-like gravity
driver) before timing; its size is reported.
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

HOUR, DAY = 3600.0, 86400.0
# name: (seconds, sampled acceleration rate in Hz or 0 for the white-ASD path, repeats)
CASES = {
    "1 h, white vibration": (HOUR, 0.0, 5),
    "1 h, sampled acceleration 200 Hz + tide": (HOUR, 200.0, 5),
    "7 d, white vibration": (7 * DAY, 0.0, 2),
    "1 d, sampled acceleration 100 Hz + tide": (DAY, 100.0, 2),
}


def _model():
    from qsense.sensors import AtomGravimeter

    # AQG preset: projection (1e5 atoms), detection 2e-3, laser phase 1e-11 rad2/Hz
    return AtomGravimeter.preset("aqg", vibration_asd=3e-7)


def _environment(seconds: float, rate: float):
    import numpy as np
    import xarray as xr

    from qsense.signal import time_grid

    n = int((seconds + 4.0) * rate)
    t0 = np.datetime64("2000-01-01T00:00:00", "ns") - np.timedelta64(2, "s")
    a = np.random.default_rng(0).standard_normal(n) * 1e-5
    tide = 1e-6 * np.sin(2 * np.pi * np.arange(n) / rate / 44714.0)
    return xr.Dataset(
        {
            "acceleration": ("time", a, {"units": "m s-2"}),
            "gravity": ("time", tide, {"units": "m s-2"}),
        },
        coords={"time": time_grid(n, rate, t0)},
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(name: str) -> dict:
    seconds, rate, repeats = CASES[name]
    load_before = os.getloadavg()
    model = _model()
    env = _environment(seconds, rate) if rate else None
    t = time.perf_counter()
    model.simulate(60.0, seed=0, environment=env)  # compile (or load from cache)
    first_call = time.perf_counter() - t
    baseline = _rss_mb()
    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        ds = model.simulate(seconds, seed=1, environment=env)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        shots = ds.sizes["time"]
        del ds
    rss_growth = _rss_mb() - baseline
    tracemalloc.start()
    model.simulate(seconds, seed=1, environment=env)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "case": name,
        "shots": shots,
        "environment_samples": 0 if env is None else env.sizes["time"],
        "first_call_s": round(first_call, 3),
        "best_wall_s": round(min(walls), 4),
        "best_cpu_s": round(min(cpus), 4),
        "us_per_shot": round(min(walls) / shots * 1e6, 3),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        "rss_growth_mb": round(rss_growth, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES))
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    for name in CASES:
        out = subprocess.run(
            [sys.executable, __file__, "--case", name], capture_output=True, text=True, check=True
        )
        print(out.stdout.strip())
    with tempfile.TemporaryDirectory() as cache:  # everything compiles: the cold first call
        out = subprocess.run(
            [sys.executable, __file__, "--case", "1 h, white vibration"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "NUMBA_CACHE_DIR": cache},
        )
        print("cold compile:", out.stdout.strip())


if __name__ == "__main__":
    main()
