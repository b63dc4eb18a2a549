"""Benchmark of ``qsense.stability.analyse`` against allantools, in the same run.

Not run by CI. Usage::

    python tests/benchmarks/bench_analyse.py             # both cases, fresh process each
    python tests/benchmarks/bench_analyse.py --only 1e6

Target (issue 14): ``analyse`` on adev, oadev, mdev, tdev, hdev, ohdev and totdev at 1e6
points, octave taus, WITH confidence intervals and noise identification, at least 20x
faster than allantools computing the same seven statistics (without intervals:
``allantools.<stat>(x, rate=1.0, data_type="phase", taus="octave")``); the same ratio
is reported at 1e5 points with Stable32's "all" taus (goal 20x), where allantools is
given each statistic's factors as its taus (its own "all" is every integer m).

Each case runs in its own interpreter, twice more for the compile times:

- ``cold_s``: the first ``analyse`` call (on 4096 points) with an empty numba cache
  (``NUMBA_CACHE_DIR`` set to a fresh directory): compilation of every kernel;
- ``first_s``: the same first call with the package's numba cache (loading it);
- ``warm``: best of 7 of ``analyse`` on the full record, after that first call.

The sum of the seven single calls (best of 3 each) shows what the sharing saves;
allantools is timed once per statistic (best of 3 at 1e5). ``max_rel_diff`` compares
the deviations with allantools' where their taus coincide (a sanity check).
The machine has 2 shared cores: the load average is printed before and after. Under
load the wall-clock ratio is unreliable (a parallel numba region waits for its slower
thread, allantools runs on one): the CPU time of all threads is printed beside it.
``--threading-layer workqueue`` (or ``NUMBA_NUM_THREADS=1``) runs the qsense cases with
that numba threading layer (results do not depend on it): measured here at load 9-11,
numba's default OpenMP layer spin-waits at every parallel region and took 275-640 ms for
what workqueue did in 52-96 ms (``OMP_WAIT_POLICY=passive``: 98-134 ms).

Measured (2026-12-05, 2 cores shared with other sessions). Before the kernel work of
that day, at load 0.0-0.5: 1e6 octave 30.8 ms (CPU 39.1 ms), allantools 850 ms,
x27.6 (CPU x21.7); 1e5 all 37.9 ms (CPU 56.6 ms), allantools 663 ms, x17.5 (CPU
x11.7). After it (TOTDEV as OADEV's sum plus edge terms, one pass for both; L1-sized
blocks; OADEV, OHDEV and MDEV factors in pairs; ADEV/HDEV one decimation; compiled
Greenhall EDFs; shared work arrays), CPU time of ``analyse`` per call, best of 15, old
and new code run alternately at load 1.5-3.5: 1e6 octave 37-39 -> 30.5-31 ms (one
thread: 36.4-38.5 -> 29.0-31.1), 1e5 all 52-56 -> 39 ms (one thread: 56.5-57 ->
39.6-41.5). This script then, at load 2.2 (the other core busy: analyse's wall time
equalled its CPU time): 1e6 octave 32.0-34.0 ms against allantools 796-851 ms,
x24.9-25.0; 1e5 all 37.8-39.9 ms against 635-671 ms, x16.8. At such loads a parallel
region waits for a busy core and the other sessions' memory traffic slows both
libraries: compare the CPU times there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

STATS = ("adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev")
CASES = {"1e6 octave": (10**6, "octave"), "1e5 all": (10**5, "all")}


def _data(n: int):
    import numpy as np

    rng = np.random.default_rng(12345)
    return np.cumsum(rng.normal(size=n)) * 1e-9  # white FM phase (s)


CPU: dict[str, float] = {}  # least process (CPU) time of the last _best call, all threads


def _best(fn, repeat):
    times, cpu = [], []
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU["last"] = min(cpu)
    return min(times), times


def first_call() -> dict:
    """The first analyse call of a fresh interpreter (import excluded)."""
    x = _data(4096)
    import qsense.stability as S

    t0 = time.perf_counter()
    S.analyse(x, 1.0, "phase", STATS, "octave")
    return {"first_s": time.perf_counter() - t0}


def run_case(name: str, with_peer: bool) -> dict:
    import numpy as np

    import qsense.stability as S

    n, taus = CASES[name]
    x = _data(n)
    S.analyse(x[:4096], 1.0, "phase", STATS, "octave")  # JIT / cache load
    out = {"case": name, "n": n}
    ds = S.analyse(x, 1.0, "phase", STATS, taus)
    out["n_taus"] = {s: int((ds.m.sel(statistic=s) > 0).sum()) for s in STATS}
    out["analyse_s"], out["analyse_times"] = _best(
        lambda: S.analyse(x, 1.0, "phase", STATS, taus), 7
    )
    out["analyse_cpu_s"] = CPU["last"]
    singles = {}
    for s in STATS:
        f = getattr(S, s)
        singles[s] = _best(lambda f=f: f(x, 1.0, "phase", taus), 3)[0]
    out["singles_s"] = singles
    if not with_peer:
        return out
    import allantools

    split = S.per_statistic(ds)
    peer, peer_cpu, diffs = {}, {}, {}
    for s in STATS:
        f = getattr(allantools, s)
        m = split[s].m.values.astype(float)
        peer_taus = "octave" if taus == "octave" else m
        peer[s], _ = _best(
            lambda f=f, t=peer_taus: f(x, rate=1.0, data_type="phase", taus=t),
            1 if n >= 10**6 else 3,
        )
        peer_cpu[s] = CPU["last"]
        t_peer, d_peer = f(x, rate=1.0, data_type="phase", taus=peer_taus)[:2]
        ours = split[s].dev.to_series()
        common = np.intersect1d(np.asarray(t_peer, float), ours.index.values)
        if common.size:
            a = ours.loc[common].values
            b = np.asarray(d_peer)[np.searchsorted(t_peer, common)]
            diffs[s] = float(np.nanmax(np.abs(a / b - 1)))
    out["peer_s"], out["peer_cpu_s"], out["max_rel_diff"] = peer, peer_cpu, diffs
    return out


def _load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def _run(args: list[str], env: dict | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=list(CASES), help="run one case (internal)")
    parser.add_argument("--first", action="store_true", help="time a first call (internal)")
    parser.add_argument("--only", help="run the cases whose name contains this text")
    parser.add_argument("--no-peer", action="store_true", help="skip allantools")
    parser.add_argument(
        "--no-compile", action="store_true", help="skip the first-call (compile) timings"
    )
    parser.add_argument(
        "--threading-layer",
        choices=("default", "workqueue", "omp", "tbb"),
        default="default",
        help="numba threading layer of the timed processes (default: numba's choice)",
    )
    args = parser.parse_args()
    if args.first:
        print(json.dumps(first_call()))
        return
    if args.case:
        print(json.dumps(run_case(args.case, not args.no_peer)))
        return
    print(f"load average (1, 5, 15 min): {_load()}", flush=True)
    env = dict(os.environ)
    print(
        "numpy huge-page advice in both libraries' process: "
        + (
            f"NUMPY_MADVISE_HUGEPAGE={env['NUMPY_MADVISE_HUGEPAGE']} (set by you)"
            if "NUMPY_MADVISE_HUGEPAGE" in env
            else "qsense._memory's choice (off where the kernel compacts for it; allantools "
            "took 1.6 s at 1e6 with it on, 0.66 s off)"
        ),
        flush=True,
    )
    if args.threading_layer != "default":
        env["NUMBA_THREADING_LAYER"] = args.threading_layer
        print(f"numba threading layer: {args.threading_layer}")
    if not args.no_compile:
        with tempfile.TemporaryDirectory() as cache:
            cold = _run(["--first"], {**env, "NUMBA_CACHE_DIR": cache})["first_s"]
        cached = _run(["--first"], env)["first_s"]
        print(
            f"first analyse call of a fresh process: {cold:.2f} s with an empty numba cache "
            f"(compilation), {cached:.2f} s with the cache (not in the timings below)",
            flush=True,
        )
    for name in CASES:
        if args.only and args.only not in name:
            continue
        r = _run(["--case", name] + (["--no-peer"] if args.no_peer else []), env)
        ours, singles = r["analyse_s"], sum(r["singles_s"].values())
        print(
            f"\n{name}: N = {r['n']}, taus per statistic {r['n_taus']}\n"
            f"  analyse (7 statistics, CI + noise ID) {ours * 1e3:8.1f} ms  (median of 7 "
            f"{sorted(r['analyse_times'])[3] * 1e3:.1f} ms)\n"
            f"  sum of the 7 single calls           {singles * 1e3:8.1f} ms  "
            f"(sharing saves x{singles / ours:.2f})",
            flush=True,
        )
        if "peer_s" in r:
            peer = sum(r["peer_s"].values())
            ratio = peer / ours
            detail = ", ".join(f"{s} {t * 1e3:.0f}" for s, t in r["peer_s"].items())
            print(
                f"  allantools (7 statistics, no CI)    {peer * 1e3:8.1f} ms  ({detail} ms)\n"
                f"  ratio allantools / analyse          x{ratio:7.1f}  "
                f"target 20x {'met' if ratio >= 20 else 'NOT met'}\n"
                f"  CPU time (all threads): analyse {r['analyse_cpu_s'] * 1e3:.1f} ms, "
                f"allantools {sum(r['peer_cpu_s'].values()) * 1e3:.1f} ms, ratio "
                f"x{sum(r['peer_cpu_s'].values()) / r['analyse_cpu_s']:.1f}\n"
                f"  max rel diff vs allantools at common taus "
                + ", ".join(f"{s} {d:.1e}" for s, d in r["max_rel_diff"].items()),
                flush=True,
            )
    print(f"\nload average after: {_load()}")


if __name__ == "__main__":
    main()
