"""Benchmark of the fast stability statistics against allantools, in the same run.

Not run by CI. Usage::

    python tests/benchmarks/bench_stability.py            # every case, fresh process each
    python tests/benchmarks/bench_stability.py --only oadev

Each case runs in its own interpreter. For qsense it times (best of 7, after a warm-up
call on a short record, so JIT/cache-load time is excluded and reported apart as
``first_s``) both the raw kernel (``qsense.stability._kernels[_modified].<stat>_raw``: the
deviation and term counts only, which is what allantools computes) and the public
function (which adds noise identification, EDF and the confidence interval per tau).
allantools (2024.06, LGPL, used as a peer only) is timed once or best of 7 on the same
data and taus. Peak memory: tracemalloc peak of one call (numpy allocations) of the
kernel and of the public function (which copies the input once).

Targets (issue 3), for the PUBLIC functions: oadev, mdev, tdev, hdev, ohdev, totdev at
1e6 points with octave taus and at 1e5 points with 'all' taus >= 20x faster than
allantools; oadev at 1e7 points >= 20x; MTIE on the 557k-point Cs5071A record in
seconds with O(N) memory (allantools is not run on it: its MTIE builds an N x m window
array). Each line ends with "target met" / "target NOT met" for the public ratio.
The public time is split into the kernel, the noise identification
(``noise_id.identify_alphas``) and the rest (input copy and checks, EDF, confidence
interval, Dataset), each best of 7.
The machine has 2 shared cores: timings are noisy; the load average is printed first.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

CS = (
    Path(__file__).resolve().parents[2]
    / "datasets/reference/stability/allantools/tests/Cs5071A/5071A_phase.txt.gz"
)
FAST = ("oadev", "mdev", "tdev", "hdev", "ohdev", "totdev")
CASES = {
    **{f"{s} 1e6 octave": (s, 10**6, "octave") for s in FAST},
    **{f"{s} 1e5 all": (s, 10**5, "all") for s in FAST},
    "oadev 1e7 octave": ("oadev", 10**7, "octave"),
    "mtie Cs5071A all": ("mtie", "cs", "all"),
    "mtie Cs5071A decade": ("mtie", "cs", "decade"),
}


def _data(n):
    import numpy as np

    if n == "cs":
        return np.loadtxt(CS)
    rng = np.random.default_rng(12345)
    return np.cumsum(rng.normal(size=n)) * 1e-9  # white FM phase (s)


def _best(fn, repeat=7):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), times


def _peak(fn):
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6, (rss - base) * 1024 / 1e6


def run_case(name: str, with_peer: bool) -> dict:
    import numpy as np

    import qsense.stability as S
    from qsense.stability import _kernels, _kernels_modified
    from qsense.stability._taus import averaging_factors
    from qsense.stability.noise_id import identify_alphas

    stat, n, taus = CASES[name]
    x = _data(n)
    m = averaging_factors(stat, taus, x.size, 1.0)
    raw = getattr(_kernels_modified if stat in ("mdev", "tdev") else _kernels, f"{stat}_raw")
    public = getattr(S, stat)
    t0 = time.perf_counter()
    raw(x[:4096], m[m < 1000], 1.0)
    public(x[:4096], 1.0)
    first = time.perf_counter() - t0
    out = {"case": name, "n": int(x.size), "n_taus": int(m.size), "first_s": first}
    out["raw_s"], out["raw_times"] = _best(lambda: raw(x, m, 1.0))
    out["public_s"], out["public_times"] = _best(lambda: public(x, 1.0, "phase", taus))
    if stat != "mtie":
        out["noise_id_s"], _ = _best(lambda: identify_alphas(x, m, stat, "phase"))
    out["raw_peak_MB"], out["raw_rss_MB"] = _peak(lambda: raw(x, m, 1.0))
    out["public_peak_MB"], out["public_rss_MB"] = _peak(lambda: public(x, 1.0, "phase", taus))
    out["input_MB"] = x.nbytes / 1e6
    if with_peer and stat != "mtie":  # allantools' MTIE needs an N x m window array
        import allantools

        peer = getattr(allantools, stat)
        repeat = 1 if x.size * m.size > 5e7 else 7
        # allantools takes the factors as taus (s) with rate 1 Hz; its "all" is every m
        out["peer_s"], out["peer_times"] = _best(
            lambda: peer(x, rate=1.0, data_type="phase", taus=m.astype(float)), repeat
        )
        ours = np.sqrt(raw(x, m, 1.0)[0])
        ref = peer(x, rate=1.0, data_type="phase", taus=m.astype(float))
        k = min(ours.size, ref[1].size)
        out["max_rel_diff_vs_peer"] = float(np.nanmax(np.abs(ours[:k] / ref[1][:k] - 1)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=list(CASES), help="run one case (internal)")
    parser.add_argument("--only", help="run the cases whose name contains this text")
    parser.add_argument("--no-peer", action="store_true", help="skip allantools")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, not args.no_peer)))
        return
    with open("/proc/loadavg") as fh:
        print(f"load average (1, 5, 15 min): {' '.join(fh.read().split()[:3])}", flush=True)
    for name in CASES:
        if args.only and args.only not in name:
            continue
        cmd = [sys.executable, __file__, "--case", name] + (["--no-peer"] if args.no_peer else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout)
        line = (
            f"{name:22s} N={r['n']:>9d} taus={r['n_taus']:>3d}  kernel {r['raw_s'] * 1e3:8.1f} ms"
            f"  public {r['public_s'] * 1e3:8.1f} ms  first call {r['first_s']:5.2f} s"
            f"  peak kernel {r['raw_peak_MB']:6.1f} MB public {r['public_peak_MB']:6.1f} MB"
            f" (input {r['input_MB']:.0f} MB)"
        )
        if "noise_id_s" in r:
            line += f"  noise-id {r['noise_id_s'] * 1e3:6.1f} ms"
        if "peer_s" in r:
            ratio = r["peer_s"] / r["public_s"]
            line += (
                f"  allantools {r['peer_s'] * 1e3:9.1f} ms  x{r['peer_s'] / r['raw_s']:6.1f} kernel"
                f"  x{ratio:6.1f} public  (max rel diff {r['max_rel_diff_vs_peer']:.1e})"
                f"  target {'met' if ratio >= 20 else 'NOT met'}"
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
