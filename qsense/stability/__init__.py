"""Frequency-stability analysis: the Allan family with confidence intervals.

Every statistic takes ``f(data, rate=None, data_type="phase", taus="octave", ci=0.683,
bias_correction=True)`` and returns an :class:`xarray.Dataset` on ``tau`` (s) with
``dev``, ``dev_lo``, ``dev_hi``, ``n``, ``edf`` and ``alpha``; values, term counts and
tau sets reproduce Stable32 (NIST SP 1065).
"""

from __future__ import annotations

from qsense.stability.compare import three_cornered_hat
from qsense.stability.deviations import (
    adev,
    gcodev,
    hdev,
    mdev,
    mtie,
    oadev,
    ohdev,
    tdev,
    tierms,
    totdev,
)
from qsense.stability.dynamic import dynamic_adev
from qsense.stability.noise_id import noise_id
from qsense.stability.total import htotdev, mtotdev, theo1, theobr, theoh, ttotdev

__all__ = [
    "adev",
    "dynamic_adev",
    "gcodev",
    "hdev",
    "htotdev",
    "mdev",
    "mtie",
    "mtotdev",
    "noise_id",
    "oadev",
    "ohdev",
    "tdev",
    "theo1",
    "theobr",
    "theoh",
    "three_cornered_hat",
    "tierms",
    "totdev",
    "ttotdev",
]
