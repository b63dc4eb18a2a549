"""Benchmark: qsense total / Theo statistics against allantools, same data, same run.

Run ``python tests/benchmarks/bench_total.py [--n 10000] [--stats mtotdev,theo1]
[--max-m M]``. For each statistic, at Stable32 octave taus on a seeded random-walk
phase record of ``n`` points:

* numba compile time (first call minus a warm call, so it is reported apart);
* qsense warm time, public API (pipeline with noise identification and EDF) and the raw
  estimator alone; peak Python/numpy memory of the public call (tracemalloc);
* allantools time at the same taus (``--max-m`` limits both to m <= M, so that a
  ratio on fewer taus stays a like-for-like comparison), the speed-up and the largest
  relative difference of the deviations (allantools has no bias correction: qsense is
  run with ``bias_correction=False``).

Timings on a shared 2-core machine are noisy; the script prints them, nothing is
asserted. Not collected by pytest (tests/benchmarks is ignored).
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

from qsense.stability import _total_raw, total

__all__ = ["main"]

STATS = ("mtotdev", "ttotdev", "htotdev", "theo1")
RAW = {
    "mtotdev": _total_raw.mtot_raw,
    "ttotdev": _total_raw.ttot_raw,
    "htotdev": _total_raw.htot_raw,
    "theo1": _total_raw.theo1_raw,
}


def _best(func, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench(stat: str, x: np.ndarray, max_m: int | None, run_allantools: bool) -> dict:
    """Time one statistic; returns the figures printed by :func:`main`."""
    f = getattr(total, stat)
    scale = 0.75 if stat == "theo1" else 1.0
    m_all = f(x, 1.0, "phase", "octave", bias_correction=False).m.values
    m = m_all if max_m is None else m_all[m_all <= max_m]
    taus = m * scale

    def call():
        return f(x, 1.0, "phase", taus, bias_correction=False)

    # compile time: a first call in a fresh process also loads the numba cache
    t0 = time.perf_counter()
    call()
    first = time.perf_counter() - t0
    warm = _best(call)
    raw = _best(lambda: RAW[stat](x, m.astype(np.int64), 1.0, None))
    tracemalloc.start()
    ds = call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out = {
        "stat": stat,
        "m": m,
        "compile_s": first - warm,
        "qsense_s": warm,
        "raw_s": raw,
        "peak_mb": peak / 1e6,
    }
    if run_allantools:
        import allantools

        t0 = time.perf_counter()
        # allantools labels Theo1 by m tau0 (not 0.75 m tau0): give it m
        at_in = m.astype(float)
        at_taus, ad, _, _ = getattr(allantools, stat)(x, rate=1.0, data_type="phase", taus=at_in)
        out["allantools_s"] = time.perf_counter() - t0
        # allantools may drop taus; compare the common ones
        common = np.isin(m, np.round(at_taus).astype(np.int64))
        out["allantools_taus"] = int(np.size(at_taus))
        rel = ds.dev.values[common] / np.asarray(ad)[: common.sum()] - 1.0
        out["max_rel_diff"] = float(np.max(np.abs(rel)))
    return out


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (prints one line per statistic)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000, help="phase points")
    p.add_argument("--stats", default=",".join(STATS))
    p.add_argument("--max-m", type=int, default=None, help="only taus with m <= this")
    p.add_argument("--no-allantools", action="store_true")
    args = p.parse_args(argv)
    x = np.cumsum(np.random.default_rng(20261128).normal(size=args.n)) * 1e-9
    print(f"n = {args.n} phase points, random-walk phase, octave taus, rate 1 Hz")
    for stat in args.stats.split(","):
        r = bench(stat, x, args.max_m, not args.no_allantools)
        line = (
            f"{stat:8s} m={r['m'][0]}..{r['m'][-1]} ({r['m'].size} taus): "
            f"compile {r['compile_s']:.2f} s, qsense {r['qsense_s'] * 1e3:.1f} ms "
            f"(raw {r['raw_s'] * 1e3:.1f} ms), peak {r['peak_mb']:.2f} MB"
        )
        if "allantools_s" in r:
            at = r["allantools_s"]
            line += (
                f"; allantools {at:.1f} s -> x{at / r['qsense_s']:.0f}"
                f" (raw x{at / r['raw_s']:.0f}) on its {r['allantools_taus']} taus, max rel diff"
                f" {r['max_rel_diff']:.1e}"
            )
        print(line, flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"process max RSS {rss:.0f} MB (includes allantools, numba, xarray)")


if __name__ == "__main__":
    main()
