"""The record the streamed statistics read (private; see :mod:`._stream`):
:class:`LazyRecord`, and the phase of a dask-backed frequency record integrated chunk
by chunk: the mean removed across chunks (SP 1065 eq. 3), the phase before each chunk
from one serial pass, then every chunk's phase independently from it, with the same
additions, in the same order, as ``numpy.cumsum`` over the whole record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np

from qsense.stability import _stream_run
from qsense.stability._stream_span import freq_gap_record

__all__ = ["LazyRecord", "frequency_record"]


@dataclass(frozen=True)
class LazyRecord:
    """A validated dask-backed record: phase ``x`` (s, dask, N points), input length."""

    x: Any
    rate: float
    n_in: int
    check: bool  # the values are still to be checked for NaN/inf (phase input)
    filled: Any = None  # frequency gaps: the record of the estimators' rows (._stream_span)

    @property
    def n_phase(self) -> int:
        return int(self.x.shape[-1])


def _integrate(y: np.ndarray, carry: float, mean: float, rate: float, first: bool) -> np.ndarray:
    """Phase of one chunk: the running sum of ``(y - mean) / rate`` from ``carry`` (the
    ``first`` chunk also holds the leading point, ``carry`` itself)."""
    d = np.empty(y.size + 1)
    d[0] = carry
    np.divide(np.asarray(y, dtype=np.float64) - mean, rate, out=d[1:])
    return np.cumsum(d)[0 if first else 1 :]


def frequency_record(values: Any, rate: float, name: str) -> LazyRecord:
    """The record of the validated frequency ``values`` (dask, 1-D): one pass for the
    mean and the NaN/inf check (ValueError naming ``name`` for inf), then the phase
    integrated lazily (gaps: :func:`._stream_span.freq_gap_record`)."""
    n_in = int(values.shape[0])
    nan, inf, total = dask.compute(da.isnan(values).any(), da.isinf(values).any(), values.sum())
    if inf:
        raise ValueError(f"{name} contains infinite values; use NaN for a gap")
    if nan:  # gaps: the finite mean, gaps integrated as it, marked (._stream_gaps)
        return freq_gap_record(LazyRecord, values, rate, n_in, name)
    mean = float(total) / n_in
    carries = _carries(values, mean, rate)
    x = _integrated(values, mean, rate, carries)
    return LazyRecord(x, rate, n_in, False)


def _carries(values: Any, mean: float, rate: float) -> tuple[float, ...]:
    """The phase before each chunk of the frequency ``values``: a serial chain of
    :func:`_last_phase` tasks, computed stage by stage (``STAGE_SAMPLES``) from the
    last stage's value, so that dask holds at most a stage of chunks (it may read the
    chain's chunks ahead of the chain)."""
    blocks = values.to_delayed().ravel()
    starts = np.concatenate([[0], np.cumsum(values.chunks[0])])[:-1].tolist()
    out, carry = [0.0], 0.0
    k = 0
    while k < len(blocks):
        stage = starts[k] // _stream_run.STAGE_SAMPLES
        chain = []
        while k < len(blocks) and starts[k] // _stream_run.STAGE_SAMPLES == stage:
            carry = dask.delayed(_last_phase, pure=True)(blocks[k], carry, mean, rate, k == 0)
            chain.append(carry)
            k += 1
        done = dask.compute(*chain)
        out.extend(done)
        carry = done[-1]
    return tuple(out[:-1])


def _last_phase(y: np.ndarray, carry: float, mean: float, rate: float, first: bool) -> float:
    """The last phase point of :func:`_integrate` (the carry into the next chunk)."""
    return float(_integrate(y, carry, mean, rate, first)[-1])


def _integrated(values: Any, mean: float, rate: float, carries: tuple[float, ...]) -> Any:
    """Phase points 0, 1, ..., n of the frequency ``values``: one task per chunk from
    its carry (the phase before it, from one serial pass of :func:`_last_phase`: the
    same additions, in the same order, as ``numpy.cumsum`` over the whole record)."""
    parts = []
    for k, (blk, size) in enumerate(
        zip(values.to_delayed().ravel(), values.chunks[0], strict=True)
    ):
        ph = dask.delayed(_integrate, pure=True)(blk, carries[k], mean, rate, k == 0)
        parts.append(da.from_delayed(ph, (size + (k == 0),), dtype=np.float64))
    return da.concatenate(parts)
