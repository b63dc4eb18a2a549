"""Frequency input with gaps, streamed by :mod:`._stream` (private; see
:mod:`._stream_gaps` for the rules).

As :func:`._phase.to_phase` (:func:`freq_gap_record`): the mean of the finite samples
(one pass of chunk sums and counts), each gap integrated as the mean, the carries
(phase, span) before each chunk in one serial pass; ``span`` is the number of missing
samples before each phase point. Noise identification (and its R(n) pass) reads the
phase marked NaN at the points a gap ends on, as in memory; the estimators read the
rows (phase filled, span) (:func:`span_view`) and keep a term iff its span is equal at
its first and last read (it straddles no gap), as the in-memory mode 2
(:mod:`._kernels_stream_span`): the long ADEV/HDEV taus from decimated rows
(:func:`strided_span`), MTIE's windows and their count (:func:`first_pass_span`,
:func:`span_windows`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import dask
import dask.array as da
import numpy as np

from qsense.stability import _stream_run
from qsense.stability._kernels_stream_span import decimated_sum_span, short_ranges_span
from qsense.stability._stream_gaps import gap_refused

__all__ = [
    "FREQ_GAP_STATISTICS",
    "first_pass_span",
    "freq_gap_record",
    "span_view",
    "span_windows",
    "strided_span",
]


#: Statistics whose streamed path handles gaps in frequency input (all streamed).
FREQ_GAP_STATISTICS = ("oadev", "ohdev", "adev", "hdev", "mdev", "tdev", "totdev", "mtie")


def _freq_sums(y: np.ndarray) -> tuple[float, int, int]:
    """Sum and number of the finite samples of one chunk, and its NaN count."""
    ok = ~np.isnan(y)
    return float(np.sum(y[ok])), int(ok.sum()), int(y.size - ok.sum())


def _phase_chunk(y, carry, span, mean, rate, first, rows):
    """Phase points of one chunk of frequency ``y`` with gaps, as :func:`._phase.to_phase`:
    the running sum of ``(y - mean) / rate`` (a gap as the mean: 0) from ``carry``;
    ``rows`` False: the phase with NaN at the points a gap ends on (what noise
    identification reads); True: rows (phase filled, ``span`` = missing samples before
    each point, from ``span``), what the estimators read."""
    y = np.asarray(y, dtype=np.float64)
    gap = np.isnan(y)
    d = np.empty(y.size + 1)
    d[0] = carry
    np.divide(np.where(gap, 0.0, y - mean), rate, out=d[1:])
    x = np.cumsum(d)
    if not rows:
        x[1:][gap] = np.nan
        return x[0 if first else 1 :]
    s = np.empty(y.size + 1)
    s[0] = span
    np.cumsum(gap, out=s[1:])
    s[1:] += span
    return np.stack([x, s])[:, 0 if first else 1 :]


def _last_point(y, carry, span, mean, rate):
    """The carry (phase, span) into the next chunk (:func:`_phase_chunk`)."""
    out = _phase_chunk(y, carry, span, mean, rate, True, True)
    return float(out[0, -1]), float(out[1, -1])


def freq_gap_record(cls: Any, values: Any, rate: float, n_in: int, name: str) -> Any:
    """The ``cls`` (``._stream_record.LazyRecord``) of the frequency ``values`` with gaps: the
    mean of the finite samples (one pass), the carries (phase, span) before each chunk
    (one serial pass, stage by stage as ``._stream_record._carries``), ``x`` the phase with
    NaN at the points a gap ends on, ``filled`` its estimators' rows (phase filled,
    span)."""
    blocks = list(values.to_delayed().ravel())
    sums = dask.compute(*[dask.delayed(_freq_sums, pure=True)(b) for b in blocks])
    count = sum(s[1] for s in sums)
    if count == 0:
        raise ValueError(f"{name} is all NaN; a record needs finite samples")
    mean = sum(s[0] for s in sums) / count
    starts = np.concatenate([[0], np.cumsum(values.chunks[0])])[:-1].tolist()
    carries, carry, k = [(0.0, 0.0)], (0.0, 0.0), 0
    while k < len(blocks):
        stage, chain = starts[k] // _stream_run.STAGE_SAMPLES, []
        while k < len(blocks) and starts[k] // _stream_run.STAGE_SAMPLES == stage:
            carry = dask.delayed(_last_point, pure=True, nout=2)(blocks[k], *carry, mean, rate)
            chain.append(carry)
            k += 1
        done = dask.compute(*chain)
        carries.extend(done)
        carry = done[-1]
    carries = carries[:-1]

    def build(src: Any, rows: bool) -> Any:
        parts = []
        for j, (blk, size) in enumerate(zip(src.to_delayed().ravel(), src.chunks[0], strict=True)):
            args = (blk, *carries[j], mean, rate, j == 0, rows)
            ph = dask.delayed(_phase_chunk, pure=True)(*args)
            shape = (2, size + (j == 0)) if rows else (size + (j == 0),)
            parts.append(da.from_delayed(ph, shape, dtype=np.float64))
        return da.concatenate(parts, axis=-1)

    filled = cls(build(values, True), rate, n_in, False)
    return cls(build(values, False), rate, n_in, False, filled=filled)


def span_view(spec_name: str, rec: Any) -> Any:
    """The record the sums of ``spec_name`` read: a frequency record with gaps gives
    its estimators' rows (phase filled, span: a term valid iff its span is equal at
    its first and last read, as the in-memory mode 2); refused for the statistics
    that do not stream it."""
    if rec.filled is None:
        return rec
    if spec_name not in FREQ_GAP_STATISTICS:
        raise gap_refused(f"{spec_name} of frequency input")
    return rec.filled


def strided_span(rec: Any, ms: list[int], order: int, windowed: Any) -> Generator:
    """Sums and counts of the ADEV/HDEV long taus ``ms`` of a frequency record with
    gaps (``rec``: its rows (phase filled, span)): the decimated rows gathered by one
    more pass (``windowed``: :mod:`._stream`'s task builder), the span rule on them."""
    (done,) = yield [windowed(_gather_rows, rec.x, 0, list(ms))]
    s, n = np.zeros(len(ms)), np.zeros(len(ms), dtype=np.int64)
    for i in range(len(ms)):
        s[i], n[i] = decimated_sum_span(np.concatenate([b[i] for b in done], axis=1), order)
    return s, n


def _gather_rows(start: int, ms: list[int], *blocks: np.ndarray) -> list[np.ndarray]:
    """The rows at the multiples of each factor of ``ms`` in the first block."""
    xb = np.asarray(blocks[0])
    return [xb[:, (-start) % m :: m].copy() for m in ms]


# ---------------------------------------------------------------- MTIE


def first_pass_span(rows: np.ndarray, size: int, ms: np.ndarray, counts: np.ndarray) -> tuple:
    """MTIE's pass-1 task (``._stream_mtie._first_pass``) on the rows (phase filled,
    span) of a frequency record with gaps, block and halo: the block's largest and
    smallest phase, the largest range per short factor of the windows that straddle
    no gap, and (the indices in the block where the span steps, its first and last
    span) for :func:`span_windows`."""
    x, sp = rows[0, :size], rows[1, :size]
    out = short_ranges_span(rows, ms, counts) if ms.size else np.zeros(0)
    steps = np.flatnonzero(np.diff(sp)) + 1
    return float(x.max()), float(x.min()), out, (steps, float(sp[0]), float(sp[-1]))


def span_windows(parts: list[tuple], starts: np.ndarray, n: int, ms: np.ndarray) -> np.ndarray:
    """Number of MTIE windows per factor of ``ms`` that straddle no gap: the runs of
    equal span (cut where it steps, inside a block or between two) of length ``L``
    each hold ``max(L - m, 0)``."""
    cuts = [
        np.asarray(p[0], dtype=np.int64) + a for p, a in zip(parts, starts.tolist(), strict=True)
    ]
    edges = [a for k, a in enumerate(starts.tolist()) if k and parts[k][1] != parts[k - 1][2]]
    steps = np.sort(np.concatenate([*cuts, np.asarray(edges, dtype=np.int64)]))
    runs = np.diff(np.concatenate([[0], steps, [n]]))
    length, times = np.unique(runs[runs > 0], return_counts=True)
    out = np.zeros(ms.size, dtype=np.int64)
    for k, m in enumerate(np.asarray(ms).tolist()):
        out[k] = int(np.sum(times * np.maximum(length - m, 0)))
    return out
