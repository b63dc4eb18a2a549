"""Denoising: Kalman filter/RTS smoother, robust outlier removal, drift removal,
wavelet and Savitzky-Golay smoothing, lock-in demodulation.

Every function takes the data model's time series (a DataArray on ``time`` or a numpy
array plus ``rate`` in Hz) and returns DataArrays/Datasets on the same time grid; NaN
gaps survive.
"""

from __future__ import annotations

from qsense.denoise.drift import DRIFT_METHODS, remove_drift
from qsense.denoise.kalman import FitResult, StateSpace, fit
from qsense.denoise.lockin import lockin
from qsense.denoise.models import clock_model, clock_q, local_level, local_linear_trend
from qsense.denoise.robust import MAD_TO_SIGMA, hampel, mad_filter
from qsense.denoise.smoothing import savgol_smooth, wavelet_denoise

__all__ = [
    "DRIFT_METHODS",
    "MAD_TO_SIGMA",
    "FitResult",
    "StateSpace",
    "clock_model",
    "clock_q",
    "fit",
    "hampel",
    "local_level",
    "local_linear_trend",
    "lockin",
    "mad_filter",
    "remove_drift",
    "savgol_smooth",
    "wavelet_denoise",
]
