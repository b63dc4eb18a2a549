"""Calibration: drift and tare models, coefficient and scale-factor estimation, studies.

Every analysis takes the data model's time series (a DataArray on ``time`` or a numpy
array plus ``rate`` in Hz) and returns an :class:`xarray.Dataset` with each estimate,
its 1-sigma uncertainty and units.

Studies (:mod:`~qsense.calibration.study`, :mod:`~qsense.calibration.runner`,
:mod:`~qsense.calibration.results`): :func:`load_study` validates a TOML study,
:func:`run_study` runs its Monte Carlo cases over dask.distributed into an HDF5 file
(each case saved atomically as it finishes, ``resume`` after a crash), and
:func:`open_results` reads the file back with the verdict table.
"""

from __future__ import annotations

from qsense.calibration.coefficients import fit_coefficients, fit_scale_factor
from qsense.calibration.drift import DRIFT_MODELS, DRIFT_NOISE, fit_drift
from qsense.calibration.results import StudyResults, open_results
from qsense.calibration.runner import run_study
from qsense.calibration.study import Study, StudyError, load_study, parse_study
from qsense.calibration.tares import detect_tares

__all__ = [
    "DRIFT_MODELS",
    "DRIFT_NOISE",
    "Study",
    "StudyError",
    "StudyResults",
    "detect_tares",
    "fit_coefficients",
    "fit_drift",
    "fit_scale_factor",
    "load_study",
    "open_results",
    "parse_study",
    "run_study",
]
