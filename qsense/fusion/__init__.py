"""Quantum + classical fusion, auxiliary-channel correction and clock ensembles.

Four tools, all on the data model's DataArrays (or numpy arrays plus ``rate`` in Hz):

- :func:`complementary`: a complementary filter that takes the low frequencies from one
  sensor (typically the quantum, absolute one) and the high frequencies from another
  (a seismometer, an OCXO, a fluxgate), with the crossover chosen where their measured
  spectra cross (:func:`crossover_frequency`).
- :func:`kalman_fuse`: a Kalman filter/smoother that estimates the classical sensor's
  bias and drift against the quantum absolute reference and returns the classical record
  with them removed, plus the bias track with its uncertainty.
- :func:`regress_out`: removes an environmental coupling (vibration, pressure, tilt,
  temperature) estimated by least squares or as a frequency-domain transfer function,
  reporting the coupling and the fraction of variance removed.
- :func:`ensemble_time_scale`: an AT1 clock-ensemble time scale (Allan, Gray & Machlan
  1974) from the clocks' phase differences: each clock's deviation from the ensemble,
  its weight and frequency over time, and the ensemble's estimated stability.
"""

from __future__ import annotations

from qsense.fusion._pairs import complementary, crossover_frequency, kalman_fuse, regress_out
from qsense.fusion.ensemble import ensemble_time_scale
from qsense.fusion.vibration import vibration_correction

__all__ = [
    "complementary",
    "crossover_frequency",
    "ensemble_time_scale",
    "kalman_fuse",
    "regress_out",
    "vibration_correction",
]
