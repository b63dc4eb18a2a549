"""Spectral analysis of sensor time series.

Welch PSD and ASD with chi-square confidence bounds and a NaN-gap policy
(:mod:`~qsense.spectral.density`); noise floor, tone and band SNR and sensitivity
(:mod:`~qsense.spectral.floor`); maximum-likelihood power-law (``h_alpha``) fits and the
PSD -> Allan variance integral (:mod:`~qsense.spectral.powerlaw`); phase noise
``L(f) <-> S_y(f)`` (:mod:`~qsense.spectral.phasenoise`); coherence and transfer
functions between two channels. The Allan deviation -> ``h_alpha`` inversion of the
power-law table is :func:`qsense.noise.h_from_adev`, re-exported here.

Every function takes the data model (a DataArray on ``time``, or an array plus
``rate`` in Hz) or a spectrum made by :func:`psd`, and returns xarray.
"""

from __future__ import annotations

from qsense.noise import h_from_adev
from qsense.spectral.cross import coherence, transfer_function
from qsense.spectral.density import asd, default_nperseg, equivalent_dof, psd
from qsense.spectral.floor import noise_floor, sensitivity, snr_band, snr_tone
from qsense.spectral.phasenoise import phase_noise_to_psd, psd_to_phase_noise
from qsense.spectral.powerlaw import avar_from_psd, fit_power_law

__all__ = [
    "asd",
    "avar_from_psd",
    "coherence",
    "default_nperseg",
    "equivalent_dof",
    "fit_power_law",
    "h_from_adev",
    "noise_floor",
    "phase_noise_to_psd",
    "psd",
    "psd_to_phase_noise",
    "sensitivity",
    "snr_band",
    "snr_tone",
    "transfer_function",
]
