"""Pieces shared by the whole-record and the streaming power-law generators.

The noise types, the input checks of their parameters, the per-alpha filter and
innovation variance table, the random streams (one per alpha) and the attributes that
let a file reproduce a run: one copy each, read by :mod:`._kasdin` and :mod:`._stream`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from qsense import __version__
from qsense._validate import positive_float
from qsense.seeding import generator, seed_attrs, spawn

#: The power-law exponents of S_y(f) handled here, in the order of the random streams.
ALPHAS = (-2, -1, 0, 1, 2)


def coefficients(h: Any, name: str = "h") -> np.ndarray:
    """``h`` mapping -> float64 array of the 5 coefficients in :data:`ALPHAS` order."""
    if not isinstance(h, Mapping):
        raise TypeError(
            f"{name} must be a mapping {{alpha: h_alpha}} with alpha in {ALPHAS}, "
            f"got {type(h).__name__} {h!r}"
        )
    out = np.zeros(len(ALPHAS))
    for key, value in h.items():
        if (
            isinstance(key, bool)
            or not isinstance(key, numbers.Real)
            or not np.isfinite(float(key))
            or float(key) not in ALPHAS
        ):
            raise ValueError(f"{name} has key {key!r}; the accepted alpha keys are {ALPHAS}")
        out[ALPHAS.index(int(key))] = positive_float(f"{name}[{int(key)}]", value, allow_zero=True)
    if not np.any(out > 0):
        raise ValueError(f"{name} must have at least one coefficient > 0, got {dict(h)!r}")
    return out


def innovation_variance(alpha: int, rate: float) -> float:
    """Variance ``s**2`` of the white innovation of term ``alpha`` per unit ``h_alpha``.

    The one-sided PSD of the Kasdin-Walter process of order ``beta`` is ``(2 s**2 /
    rate) / (2 sin(pi f / rate))**beta`` ~ ``2 s**2 / rate * (rate / (2 pi f))**beta`` for
    ``f << rate``, matched to ``h_alpha f**alpha`` (frequency terms) or ``h_alpha
    f**alpha / (2 pi f)**2`` (phase terms, since ``S_y = (2 pi f)**2 S_x``).
    """
    if alpha == -2:
        return 2.0 * np.pi**2 / rate
    if alpha == -1:
        return np.pi
    if alpha == 0:
        return 0.5 * rate
    if alpha == 1:
        return 1.0 / (4.0 * np.pi)
    return rate / (8.0 * np.pi**2)


#: alpha -> (beta: order of the filtered quantity's 1/f**beta law, is a phase term).
TERMS = {-2: (2, False), -1: (1, False), 0: (0, False), 1: (1, True), 2: (0, True)}


def generators(ss: np.random.SeedSequence) -> list[np.random.Generator]:
    """One PCG64 generator per alpha, in :data:`ALPHAS` order, whether a term is present
    or not, so adding a term never changes the others' samples."""
    return [generator(child) for child in spawn(ss, len(ALPHAS))]


def noise_attrs(
    coeffs: np.ndarray,
    data_type: str,
    ss: np.random.SeedSequence,
    method: str,
    **extra: Any,
) -> dict[str, Any]:
    """netCDF-safe attributes that, with the sample count and rate, reproduce a run.

    ``h_alpha`` (int64 [-2..2]), ``h`` (the 5 coefficients), ``data_type``, ``method``,
    any ``extra`` parameters, ``seed`` and ``seed_spawn_key``
    (:func:`qsense.seeding.seed_attrs`) and ``qsense_version``.
    """
    return {
        "h_alpha": np.asarray(ALPHAS, dtype=np.int64),
        "h": np.array(coeffs, dtype=np.float64),
        "data_type": data_type,
        "method": method,
        **extra,
        **seed_attrs(ss),
        "qsense_version": __version__,
    }
