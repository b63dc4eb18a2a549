"""Stability statistics of dask-backed records, streamed in bounded memory (private).

:func:`qsense.stability._pipeline.compute` routes a dask-backed record (a DataArray
whose data is a ``dask.array.Array`` chunked along ``time``, or a dask array plus
``rate``) here; the in-memory path is untouched. The numbers are those of the
in-memory path (the same estimators, EDF, bias and noise identification), summed in
another order: equal to ~1e-15 relative, with the same ``n``, ``edf`` and ``alpha``
(tests/stability/test_stream.py).

How the record is read, all with dask (no scheduler of our own):

* frequency input: one pass for the mean (and the NaN/inf check), one serial pass for
  the phase before each chunk (its carry), then the phase ``x = cumsum((y - mean) /
  rate)`` of each chunk from its carry, independently (the same additions, in the same
  order, as ``numpy.cumsum`` over the whole record);
* one task per block of consecutive chunks, given the block and the following blocks
  its window reaches (the statistic's largest window up to :data:`WINDOW_SAMPLES`), as
  they are: one numba walk (:mod:`._kernels_window`) reads the terms across the
  blocks through views (:mod:`._stream_window`), every factor per sub-block, the
  gap-free overlapping ones in pairs, and returns the partial sums (MTIE: the largest
  range) of the terms that start in the block;
* the same tasks gather the decimated phase ``x[::m]`` that noise identification reads
  (when shorter than :data:`GATHER_SAMPLES`; each from a divisor's), or, for longer
  ones, the shifted sums of the lag-1 autocorrelation of its differences (one tiled
  read of the block for all of them, :mod:`._kernels_acf`);
* long taus: ADEV and HDEV from the decimated phase ``x[::m]`` (exact: their terms read
  nothing else); OADEV, OHDEV, TOTDEV, MDEV and TDEV from lagged reads ``x[i]``,
  ``x[i+m]``, ... (MDEV, TDEV: of the phase's compensated prefix sums, run from the
  carries of the phase's own chunks inside each task, or, with gaps, each chunk of
  them from its carry; TOTDEV: of the reflected record), the lagged chunks read in the
  stage of the term's first sample, so that no chunk is held while the scheduler waits
  for its partner samples later (:mod:`._stream_long`);
* all of it in stages of :data:`._stream_run.STAGE_SAMPLES` positions, one
  ``dask.compute`` each (:func:`._stream_run.staged`), the partial sums added in a
  fixed order; several statistics of one record together (:func:`._stream_run.drive`).

Memory: a stage holds its chunks and their windows; a stage whose chunks exceed
``_stream_run.STAGE_BYTES`` (the lagged reads of MDEV, TDEV, TOTDEV) is computed in
batches of ``BATCH_BYTES``, and at most ``HOLD_BYTES`` of chunks are kept from one
batch to the next: 1.0-1.7 GB peak with the defaults, for any record length (1e9
samples in 2**22-sample chunks: OADEV 1.55 GB, ADEV 0.99 GB, MDEV 1.65 GB, TDEV 1.69
GB, OHDEV 1.61 GB, TOTDEV 1.63 GB, measured by tests/benchmarks/bench_long_record.py);
MTIE holds a halo of ``m`` samples per block.
Gaps (NaN) take the rules of the in-memory path, recomputed only where met
(:mod:`._stream_gaps`).

Cost: a record of at most :data:`PERSIST_BYTES` is read once (``dask.persist``) and
streamed from memory. A larger one: one read for the short taus and noise
identification, and reads of the long taus' lagged chunks that ``HOLD_BYTES`` cannot
keep until needed again (1e9 samples, octave taus: OADEV 1.73 reads of the file, MDEV
and TDEV 5.0, TOTDEV 5.4, OHDEV 3.0), MDEV and TDEV one more for the prefix sums'
carries, and for white/flicker PM rows of the B1 test one more pass for R(n) (MDEV
sums).
Measured: tests/benchmarks/bench_long_record.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from qsense._lazy import lazy_series, warn_small_chunks
from qsense.stability._kernels import _decimated_sum
from qsense.stability._kernels_acf import (
    SHIFT_POINTS,
    acf_block_sums,
    acf_decide,
    rg04_stops,
    shifts_of,
)
from qsense.stability._kernels_noise import acf_alphas, b1_ratios
from qsense.stability._registry import SPECS, Spec
from qsense.stability._stream_gaps import (
    GAP_STATISTICS,
    acf_gaps,
    decimated_terms,
    finite_span,
    prefix_carries,  # the gap-aware pass (._stream_long's, which finds the gaps)
    r1_nan,
    refuse_gap,
    refuse_inf,
    stat_terms,
)
from qsense.stability._stream_long import (
    LONG_KINDS,
    long_sums,
    long_tasks,
    prefix_sums,
    reflected,
)
from qsense.stability._stream_mtie import mtie_flow
from qsense.stability._stream_record import LazyRecord, frequency_record
from qsense.stability._stream_run import Flow, OnBlocks, drive
from qsense.stability._stream_span import span_view, strided_span
from qsense.stability._stream_window import Window, block_bounds, blocks_of, reached
from qsense.stability.noise_id import (
    _ACF_MIN_POINTS,
    _b1_decide,
    _dmax,
    _exponents_of,
    _last_identified,
    _pm_alpha,
)

__all__ = [
    "BLOCK_SAMPLES",
    "GATHER_SAMPLES",
    "STREAMED",
    "WINDOW_SAMPLES",
    "LazyRecord",
    "check_streamed",
    "drive",
    "flow",
    "prepare_lazy",
    "streamed",
]

#: The statistics a dask-backed record is streamed through.
STREAMED = ("adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev", "mtie")

#: Consecutive chunks are grouped into blocks of at least this many samples (one task
#: per block; 8 MB).
BLOCK_SAMPLES = 1 << 20

#: Largest window (samples) a block task reads beyond its block (512 MB, held as the
#: record's own chunks, not copied); longer windows take the long-tau reads.
WINDOW_SAMPLES = 1 << 26

#: Largest record (bytes of its values; 256 MB, 3.3e7 float64 samples) that is read
#: once into memory (``dask.persist``, in its chunks) before it is streamed: the passes
#: of one statistic (the carries, the statistic, R(n) of the B1 test) and of
#: ``analyse``'s several ones then read memory, not the file again.
PERSIST_BYTES = 1 << 28

#: Longest decimated phase ``x[::m]`` gathered in memory for noise identification
#: (64 MB); longer ones are reduced to shifted lag-1 sums in the pass.
GATHER_SAMPLES = 1 << 23

# Per statistic: (kind of block sum, order of the differences)
_KIND = {
    "oadev": ("diff2", 2),
    "adev": ("strided", 2),
    "hdev": ("strided", 3),
    "ohdev": ("diff3", 3),
    "mdev": ("mdev", 3),
    "tdev": ("mdev", 3),
    "totdev": ("totdev", 2),
    "mtie": ("mtie", 1),
}


def check_streamed(spec: Spec) -> None:
    """Refuse a statistic that is not streamed (ValueError naming ``data.compute()``)."""
    if spec.name not in STREAMED:
        raise ValueError(
            f"data is dask-backed, which {spec.name} does not stream (streamed: "
            f"{', '.join(STREAMED)}); pass data.compute() to compute it in memory"
        )


def prepare_lazy(
    spec: Spec,
    data: Any,
    rate: float | None,
    data_type: str,
    name: str = "data",
    merge: bool = False,
) -> LazyRecord:
    """Validate a dask-backed record for ``spec`` (no read for phase; one pass for
    frequency) and build its phase lazily (frequency: integrated with the mean
    removed, SP 1065 eq. 3); ``merge``: chunks much shorter than :data:`BLOCK_SAMPLES`
    (an HDF5 file's) are merged into blocks of that size, which cuts the tasks. A
    record of at most :data:`PERSIST_BYTES` is read into memory first, in its chunks."""
    check_streamed(spec)
    values, rate, _, _ = lazy_series(data, rate, name=name, min_length=2)
    if merge and values.numblocks[0] > 1 and np.mean(values.chunks[0]) < BLOCK_SAMPLES / 4:
        warn_small_chunks(values)
        values = values.rechunk({0: BLOCK_SAMPLES})  # a file's small chunks: fewer tasks
    if values.nbytes <= PERSIST_BYTES:  # small: read once, every pass from memory
        values = values.persist()
    n_in = int(values.shape[0])
    if data_type == "phase":
        return LazyRecord(values, rate, n_in, True)
    return frequency_record(values, rate, name)


# ---------------------------------------------------------------- block tasks

# Per block kind: the reads of a term at factor m, as multiples of m.
_READS = {"diff2": 3, "totdev": 3, "strided2": 3, "strided3": 4, "diff3": 4, "mdev": 4}


def _lags(kind: str, order: int) -> int:
    return _READS[kind + str(order) if kind == "strided" else kind]


def _stat_block(start, kind, order, ms, lo, hi, check, *blocks):
    """Sums and counts, per factor, of the terms whose first sample lies in the first of
    ``blocks`` (from the global index ``start``) and in ``[lo[k], hi[k])``, read through
    a :class:`Window` of the blocks (no copy), with the lag kernels."""
    w = Window(blocks, start)
    if check:
        refuse_inf(w.blocks[0])  # NaN: a gap, its terms skipped (._stream_gaps)
    lags = _lags(kind, order)
    return stat_terms(w.blocks, w.edges, ms, lo, hi, lags, kind)


def _decimated(xb: np.ndarray, a: int, ms: list[int]) -> list[np.ndarray]:
    """The samples of the block ``xb`` (global start ``a``) at the multiples of each
    factor of ``ms`` (ascending), each taken from the one of the previous factor when
    it divides it (one strided read of the block, then reads of short arrays: the
    strided reads of large factors touched a page per sample)."""
    out: list[np.ndarray] = []
    for m in ms:
        src = next((k for k in range(len(out) - 1, -1, -1) if m % ms[k] == 0), None)
        if src is None:
            out.append(xb[(-a) % m :: m].copy())
            continue
        p = ms[src]  # out[src][t] is the sample at a + (-a) % p + t p
        first = (-a) % m - (-a) % p
        out.append(out[src][first // p :: m // p].copy())
    return out


def _noise_block(start, n, gather, acf, base, dmax, shifts, *blocks):
    """Decimated phase ``x[::m]`` of the first block per factor of ``gather``, and the
    shifted lag-1 sums of every level of every factor of ``acf`` (one tiled read of the
    block for all of them, :func:`._kernels_acf.acf_block_sums`), one (dmax + 1, 5)
    array per factor."""
    w = Window(blocks, start)
    a, b = start, w.edges[1]
    xb = w.blocks[0]
    kept = _decimated(xb, a, gather)
    if not acf:
        return kept, []
    ext = []
    for m in acf:
        t1 = -(-b // m)
        last = min(t1 + dmax + base + 1, (n - 1) // m + 1)
        ext.append([w.value(t * m) for t in range(t1, last)])
    sums = acf_block_sums(xb, a, b, ext, np.asarray(acf, dtype=np.int64), n, base, dmax, shifts)
    return kept, list(sums)


# ---------------------------------------------------------------- passes


def _windowed(func, src: Any, reach: int, *args: Any) -> list[tuple[int, Any]]:
    """One ``func(start, *args, *blocks)`` task per block of ``src``, given the blocks
    its window of ``reach`` samples beyond the block needs (:mod:`._stream_window`):
    (start, task) pairs."""
    bounds = block_bounds(src.chunks[-1], BLOCK_SAMPLES)
    blocks = blocks_of(src, bounds)
    row = src.dtype.itemsize * (src.shape[0] if src.ndim == 2 else 1)
    sizes = [(b - a) * row for a, b in bounds]
    tasks = []
    for k, (a, _) in enumerate(bounds):
        end = reached(bounds, k, reach)
        tasks.append((a, OnBlocks(func, (a, *args), blocks[k:end], sizes[k:end])))
    return tasks


def _stat_tasks(
    spec: Spec, rec: LazyRecord, ms: np.ndarray, prefix: Any = None
) -> list[tuple[int, Any]]:
    """One task per block of the statistic's source (the phase; TOTDEV: the reflected
    phase; MDEV, TDEV: the phase's compensated prefix sums, from ``prefix`` = (shift,
    carries) of :func:`._stream_long.prefix_carries`), each returning (sums, counts)
    per factor of ``ms``, with its start."""
    kind, order = _KIND[spec.name]
    x, n = rec.x, rec.n_phase
    check = rec.check
    lags = _lags(kind, order)
    if kind == "totdev":
        e = int(min(ms.max(), n - 2))
        if rec.check:  # the reflected ends are not checked again
            x = x.map_blocks(_checked, dtype=np.float64)
        src = reflected(x, e, x[..., :1], x[..., n - 1 : n]) if e else x
        lo = np.where(ms <= e, e + 1 - ms, 0)
        hi = np.where(ms <= e, e + 1 - ms + n - 2, 0)
        check = False
    elif kind == "mdev":
        if rec.check:
            x = x.map_blocks(_checked, dtype=np.float64)  # NaN: the prefix sums' gaps
        src = prefix_sums(x, *prefix)
        lo, hi = np.zeros(ms.size, np.int64), np.maximum(n - 3 * ms + 1, 0)
        check = False
    else:
        src = x
        lo, hi = np.zeros(ms.size, np.int64), np.maximum(n - (lags - 1) * ms, 0)
    reach = (lags - 1) * int(ms.max()) if ms.size else 0
    return _windowed(_stat_block, src, reach, kind, order, ms, lo, hi, check)


def _checked(block: np.ndarray) -> np.ndarray:
    refuse_inf(block)
    return block


def _noise_plan(spec: Spec, n: int, ms: np.ndarray, long_strided: list[int]):
    """Factors whose decimated phase is gathered, and those reduced to lag-1 sums."""
    acf = n // ms >= _ACF_MIN_POINTS
    last = _last_identified(spec.name, n)
    length = (n - 1) // ms + 1
    gather = set(ms[acf & (length <= GATHER_SAMPLES)].tolist())
    gather |= set(ms[~acf & (ms <= last)].tolist())
    if np.any(~acf & (ms > last)):
        gather.add(int(last))
    gather |= set(long_strided)
    stream = sorted(ms[acf & (length > GATHER_SAMPLES)].tolist())
    return sorted(gather), stream


def _shifts(x: Any, n: int, ms: list[int], base: int, dmax: int) -> Flow:
    """Per factor, the shift of each level (:func:`._kernels_acf.shifts_of`, as the
    in-memory path takes them, from the head of the record); a :data:`Flow`."""
    if not ms:
        return []
    head = (SHIFT_POINTS + dmax + base) * max(ms) + 1
    ((head,),) = yield [[(0, x[: min(n, head)])]]
    return list(shifts_of(np.asarray(head, dtype=np.float64), np.asarray(ms), base, dmax))


def _acf_decision(r: list[float], dmax: int) -> tuple[float, int]:
    """(r1, d) of the RG04 loop (:func:`._kernels_acf.rg04_stops`) from the levels' r1
    of a record with gaps (gap-free sums: :func:`._kernels_acf.acf_decide`)."""
    d = 0
    while not rg04_stops(r[d], d, dmax):
        d += 1
    return r[d], d


# ---------------------------------------------------------------- the statistic


def _combine(results: list[tuple[np.ndarray, np.ndarray]], k: int):
    s = np.zeros(k)
    n = np.zeros(k, dtype=np.int64)
    for bs, bn in results:  # block order: a fixed order
        s += bs
        n += bn
    return s, n


def _values(spec: Spec, s: np.ndarray, n: np.ndarray, ms: np.ndarray, rate: float):
    """The raw values of the in-memory estimators from the sums (same scaling)."""
    mf = ms.astype(np.float64)
    if spec.name == "mtie":
        return np.where(n > 0, s, np.nan)
    scale = {
        "mdev": rate**2 / (2.0 * mf**4),
        "tdev": 1.0 / (6.0 * mf**2),
        "hdev": rate**2 / (6.0 * mf**2),
        "ohdev": rate**2 / (6.0 * mf**2),
    }.get(spec.name, rate**2 / (2.0 * mf**2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s * scale / np.maximum(n, 1), np.nan)


def _sums(spec: Spec, rec: LazyRecord, ms: np.ndarray, extra: list[tuple[int, Any]] = ()) -> Flow:
    """Sums and counts of ``spec`` at ``ms`` (block windows, long-tau reads), computed
    together with the ``extra`` (position, task) pairs (:func:`staged`); returns (s, n,
    the long factors, extra results)."""
    kind, order = _KIND[spec.name]
    rec = span_view(spec.name, rec)  # frequency gaps: the estimators' rows
    if kind == "mtie":  # two passes of its own (:mod:`._stream_mtie`)
        s, n = yield from mtie_flow(rec, ms, WINDOW_SAMPLES)
        return s, n, np.zeros(ms.size, bool), (yield [list(extra)])[0]
    if kind == "totdev" and rec.check:  # leading/trailing NaN trimmed, as in memory
        first, stop = yield from finite_span(rec.x)
        if stop - first < 3:  # no term (in memory: NaN, n = 0)
            done = yield [list(extra)]
            return np.zeros(ms.size), np.zeros(ms.size, np.int64), np.zeros(ms.size, bool), done[0]
        if stop - first < rec.n_phase:
            rec = replace(rec, x=rec.x[first:stop])
    width = {"diff2": 2, "strided": order, "diff3": 3, "mdev": 3, "totdev": 2}
    window = WINDOW_SAMPLES // (2 if kind == "mdev" else 1)  # MDEV's source: two rows
    long = width.get(kind, 0) * ms > window if kind in width else np.zeros(ms.size, bool)
    short = ms[~long]
    prefix = (yield from prefix_carries(rec.x)) if kind == "mdev" else None  # one pass
    stat = _stat_tasks(spec, rec, short, prefix) if short.size else []
    checks = []
    if rec.check and not short.size:  # the long-tau reads do not check the values
        checks = _windowed(_check_block, rec.x, 0, spec.name)
    lag = []
    if kind in LONG_KINDS:
        lag = yield from long_tasks(kind, rec, ms[long].tolist(), BLOCK_SAMPLES, prefix)
    done = yield [stat, *lag, list(extra), checks]
    s, n = np.zeros(ms.size), np.zeros(ms.size, dtype=np.int64)
    s[~long], n[~long] = _combine(done[0], short.size)
    if lag:
        s[long], n[long] = long_sums(done[1 : 1 + len(lag)])
    if kind == "strided" and rec.x.ndim == 2 and long.any():  # frequency gaps
        s[long], n[long] = yield from strided_span(rec, ms[long].tolist(), order, _windowed)
    return s, n, long, done[1 + len(lag)]


def _check_block(start: int, statistic: str, block: np.ndarray) -> None:
    if statistic in GAP_STATISTICS:
        refuse_inf(block)
    else:
        refuse_gap(statistic)(block)


def streamed(
    spec: Spec, rec: LazyRecord, m: np.ndarray, data_type: str, alpha: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw values (as the in-memory estimator), term counts and noise exponents of
    ``spec`` at the factors ``m`` of a dask-backed record (see the module docstring);
    ``alpha``: imposed exponents, one per factor (None: identified)."""
    return drive([flow(spec, rec, m, data_type, alpha)])[0]


def flow(spec: Spec, rec: LazyRecord, m: np.ndarray, data_type: str, alpha: Any) -> Flow:
    """:func:`streamed` as a :data:`Flow`, for :func:`drive` (several statistics of one
    record read together)."""
    n_ph = rec.n_phase
    kind, order = _KIND[spec.name]
    long_strided = m[order * m > WINDOW_SAMPLES].tolist() if kind == "strided" and m.size else []
    base, dmax = int(data_type == "freq"), _dmax(spec.name)
    gather, stream = _noise_plan(spec, n_ph, m, long_strided) if alpha is None else ([], [])
    gather = sorted(set(gather) | set(long_strided))
    shifts = (yield from _shifts(rec.x, n_ph, stream, base, dmax)) if stream else []
    noise = []
    if m.size and (gather or stream):
        reach = (dmax + base + 2) * max(stream) if stream else 0
        noise = _windowed(_noise_block, rec.x, reach, n_ph, gather, stream, base, dmax, shifts)
    if m.size:
        s, n, long, noise_done = yield from _sums(spec, rec, m, noise)
    else:
        s, n, long, noise_done = np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, bool), []
    decimated = {g: np.concatenate([blk[0][i] for blk in noise_done]) for i, g in enumerate(gather)}
    for k in np.flatnonzero(long).tolist() if kind == "strided" and rec.filled is None else []:
        xd = decimated[int(m[k])]
        s[k], n[k] = decimated_terms(*_decimated_sum(xd, xd.size, order), xd, order)
    vals = _values(spec, s, n, m, rec.rate)
    out_alpha = np.zeros(m.size, dtype=np.int64)
    valid = np.flatnonzero(n > 0)
    if alpha is None:
        acf_sums = {}
        for i, g in enumerate(stream):  # first/last values: NaN but in one block
            rows = np.stack([blk[1][i] for blk in noise_done])
            acf_sums[g] = np.concatenate([rows[:, :, :3].sum(0), np.nansum(rows[:, :, 3:], 0)], 1)
        if any(not np.isfinite(v[:, :3]).all() for v in acf_sums.values()):  # gaps
            known = (noise_done, shifts, acf_sums)
            acf_sums = yield from acf_gaps(_windowed, rec.x, n_ph, stream, base, dmax, known)
        own = dict(zip(m.tolist(), zip(s.tolist(), n.tolist(), strict=True), strict=True))
        out_alpha[valid] = yield from _alphas(
            spec,
            rec,
            m[valid],
            data_type,
            decimated,
            acf_sums,
            dict(zip(stream, shifts, strict=True)),
            own if spec.name == "oadev" and rec.filled is None else {},
        )
    else:
        out_alpha[valid] = alpha[valid]
    return vals, n, out_alpha


def _alphas(spec, rec, m, data_type, decimated, acf_sums, shifts, oadev_sums) -> Flow:
    """:func:`qsense.stability.noise_id.identify_alphas` from the gathered decimated
    phase and the streamed lag-1 sums (R(n) by one more pass where B1 needs it;
    ``oadev_sums``: OADEV (sum, count) per factor already computed, not read again)."""
    name, n_ph = spec.name, rec.n_phase
    dmax, last = _dmax(name), _last_identified(name, n_ph)
    base = int(data_type == "freq")
    out = np.zeros(m.size, dtype=np.int64)
    acf = n_ph // m >= _ACF_MIN_POINTS
    r1 = np.zeros(m.size)
    d = np.zeros(m.size, dtype=np.int64)
    for k in np.flatnonzero(acf).tolist():
        g = int(m[k])
        if g in decimated:
            r, dd = acf_alphas(decimated[g], np.ones(1, dtype=np.int64), bool(base), dmax)
            r1[k], d[k] = r[0], dd[0]
        else:
            if acf_sums[g].shape[1] == 7:  # gaps (._stream_gaps)
                rs = [r1_nan(acf_sums[g][q]) for q in range(dmax + 1)]
                r1[k], d[k] = _acf_decision(rs, dmax)
            else:  # every level summed: decided as in memory
                nz = np.array([(n_ph - 1) // g + 1 - base])
                r, dd, _ = acf_decide(acf_sums[g][None], nz, np.asarray(shifts[g])[None], dmax)
                r1[k], d[k] = r[0], dd[0]
    if acf.any():
        out[acf] = _exponents_of(r1[acf], d[acf], data_type)[1]
    kept = ~acf & (m > last)
    b1_at = np.flatnonzero(~acf & ~kept).tolist()
    order = np.argsort(m, kind="stable")
    if kept.any() and kept[order[0]]:
        b1_at.append(-1)  # the factor `last` for the first kept factor
    factors_b1 = [int(m[k]) if k >= 0 else int(last) for k in b1_at]
    found = yield from _b1_alphas(spec, rec, factors_b1, decimated, oadev_sums)
    first_kept = None
    for k, a in zip(b1_at, found, strict=True):
        if k >= 0:
            out[k] = a
        else:
            first_kept = a
    if kept.any():
        if kept[order[0]]:
            out[order[0]] = first_kept
        for prev, k in zip(order[:-1].tolist(), order[1:].tolist(), strict=True):
            if kept[k]:
                out[k] = out[prev]
    return out


def _b1_alphas(spec: Spec, rec: LazyRecord, ms: list[int], decimated, oadev_sums) -> Flow:
    """B1 alphas at ``ms`` (decimated phase gathered), R(n) streamed where needed (the
    OADEV sums from ``oadev_sums`` where there, the MDEV ones by one more pass)."""
    one = np.ones(1, dtype=np.int64)
    ratios = [b1_ratios(decimated[g], one) for g in ms]
    b1 = np.array([r[0][0] for r in ratios])
    ny = np.array([r[1][0] for r in ratios], dtype=np.int64)
    out, pm = _b1_decide(b1, ny, spec.name, rec.n_phase, np.array(ms, dtype=np.int64))
    if pm.size:
        pm_ms = np.array(sorted({ms[i] for i in pm.tolist()}), dtype=np.int64)
        if all(g in oadev_sums for g in pm_ms.tolist()):
            s_oa = np.array([oadev_sums[g][0] for g in pm_ms.tolist()])
            n_oa = np.array([oadev_sums[g][1] for g in pm_ms.tolist()])
        else:
            s_oa, n_oa, _, _ = yield from _sums(SPECS["oadev"], replace(rec, filled=None), pm_ms)
        s_mo, n_mo, _, _ = yield from _sums(SPECS["mdev"], replace(rec, filled=None), pm_ms)
        with np.errstate(invalid="ignore", divide="ignore"):
            rn = (s_mo / n_mo / pm_ms.astype(np.float64) ** 2) / (s_oa / n_oa)
        by_m = dict(zip(pm_ms.tolist(), rn.tolist(), strict=True))
        for i in pm.tolist():
            out[i] = _pm_alpha(by_m[ms[i]], ms[i])
    return out.tolist()
