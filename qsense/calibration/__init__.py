"""Calibration: drift and tare models, coefficient and scale-factor estimation.

Every analysis takes the data model's time series (a DataArray on ``time`` or a numpy
array plus ``rate`` in Hz) and returns an :class:`xarray.Dataset` with each estimate,
its 1-sigma uncertainty and units.
"""

from __future__ import annotations

from qsense.calibration.drift import DRIFT_MODELS, DRIFT_NOISE, fit_drift

__all__ = [
    "DRIFT_MODELS",
    "DRIFT_NOISE",
    "fit_drift",
]
