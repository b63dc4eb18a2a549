"""Phase noise ``L(f)`` (dBc/Hz) <-> PSD of fractional frequency ``S_y(f)`` (IEEE Std 1139).

IEEE Std 1139-2008, sec. 3 (and NIST SP 1065 sec. 5.2, eqs. 63-66)::

    S_phi(f) = 2 L(f)           (linear L; L_dB = 10 log10 L, in dBc/Hz)
    S_y(f) = (f / nu0)**2 S_phi(f)

with ``S_phi`` the one-sided PSD of phase in rad**2/Hz and ``nu0`` the carrier
frequency in Hz. ``L(f)`` is defined as ``S_phi(f) / 2`` (the small-angle single
sideband measure), so the conversion is exact in both directions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from qsense._validate import positive_float, real_array

__all__ = ["phase_noise_to_psd", "psd_to_phase_noise"]


def _curve(values: Any, frequency: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Values and frequencies (Hz) of a spectrum argument, as float64 arrays."""
    if isinstance(values, xr.Dataset):
        if "psd" not in values:
            raise ValueError(f"{name} must hold a variable 'psd' (a Dataset from psd())")
        values = values["psd"]
    if isinstance(values, xr.DataArray):
        if values.dims != ("frequency",) or "frequency" not in values.coords:
            raise ValueError(
                f"{name} must be 1-D on dimension 'frequency' with a frequency coordinate (Hz), "
                f"got dims {values.dims}"
            )
        if frequency is not None:
            raise TypeError(f"frequency must not be given when {name} is a DataArray")
        frequency = values["frequency"].values
        values = values.values
    if frequency is None:
        raise ValueError(f"frequency (Hz) must be given when {name} is a plain array")
    v = np.atleast_1d(real_array(name, values))
    f = np.atleast_1d(real_array("frequency", frequency))
    if v.size == 0:
        raise ValueError(f"{name} must hold at least one value, got an empty array")
    if v.ndim != 1 or v.shape != f.shape:
        raise ValueError(
            f"{name} and frequency must be 1-D of the same length, got {v.shape} and {f.shape}"
        )
    if not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ValueError("frequency must be finite and >= 0 Hz")
    return v, f


def phase_noise_to_psd(phase_noise: Any, frequency: Any = None, *, nu0: float) -> xr.DataArray:
    """``S_y(f)`` (1/Hz) from single-sideband phase noise ``L(f)`` in dBc/Hz.

    Parameters
    ----------
    phase_noise : xarray.DataArray on ``frequency`` or array-like, shape (k,)
        ``L(f)`` in dBc/Hz (finite).
    frequency : array-like, shape (k,), optional
        Offset (Fourier) frequencies in Hz (> 0); required for a plain array.
    nu0 : float
        Carrier frequency in Hz (> 0).

    Returns
    -------
    xarray.DataArray, shape (k,)
        ``S_y(f) = 2 (f / nu0)**2 10**(L / 10)`` on ``frequency``, named ``psd``, units
        ``"Hz-1"``, attribute ``nu0``.

    Examples
    --------
    >>> float(phase_noise_to_psd([-100.0], [1e3], nu0=1e7)[0])   # 2e-10 (1e-4)**2
    2e-18
    """
    nu0 = positive_float("nu0", nu0)
    level, f = _curve(phase_noise, frequency, "phase_noise")
    if np.any(f <= 0):
        raise ValueError("frequency must be > 0 Hz (L(f) is undefined at the carrier)")
    if not np.all(np.isfinite(level)):
        raise ValueError("phase_noise must be finite (dBc/Hz)")
    with np.errstate(all="ignore"):  # in logs, then checked: no overflow warning leaks
        s_y = 10.0 ** ((level + 20.0 * np.log10(f / nu0) + 10.0 * np.log10(2.0)) / 10.0)
    if not np.all(np.isfinite(s_y)):
        raise ValueError(
            f"phase_noise, frequency and nu0={nu0!r} give an S_y(f) beyond the floating-point "
            "range; check their units (dBc/Hz, Hz, Hz)"
        )
    return xr.DataArray(
        s_y,
        dims=("frequency",),
        coords={"frequency": ("frequency", f, {"units": "Hz"})},
        name="psd",
        attrs={
            "units": "Hz-1",
            "quantity": "fractional_frequency",
            "long_name": "PSD of fractional frequency S_y",
            "nu0": nu0,
        },
    )


def psd_to_phase_noise(psd: Any, frequency: Any = None, *, nu0: float) -> xr.DataArray:
    """Single-sideband phase noise ``L(f)`` in dBc/Hz from ``S_y(f)`` (1/Hz).

    Parameters
    ----------
    psd : xarray.Dataset (from :func:`qsense.spectral.psd`), DataArray or array-like (k,)
        One-sided PSD of fractional frequency in 1/Hz (>= 0).
    frequency : array-like, shape (k,), optional
        Fourier frequencies in Hz; required for a plain array. The bin at 0 Hz is
        dropped (``L`` is undefined at the carrier).
    nu0 : float
        Carrier frequency in Hz (> 0).

    Returns
    -------
    xarray.DataArray
        ``L(f) = 10 log10(S_y(f) nu0**2 / (2 f**2))`` on the positive frequencies, named
        ``phase_noise``, units ``"dBc Hz-1"``, attribute ``nu0``. A zero PSD gives
        ``-inf``.

    Examples
    --------
    >>> float(psd_to_phase_noise([2e-18], [1e3], nu0=1e7)[0])
    -100.0
    """
    nu0 = positive_float("nu0", nu0)
    s_y, f = _curve(psd, frequency, "psd")
    if not np.all(np.isfinite(s_y)) or np.any(s_y < 0):
        raise ValueError("psd must be finite and >= 0")
    keep = f > 0
    if not np.any(keep):
        raise ValueError(
            "frequency must hold a positive frequency: psd is given only at 0 Hz, where "
            "L(f) is undefined"
        )
    with np.errstate(divide="ignore"):  # in logs: nu0**2 overflows for nu0 > 1e154 Hz
        level = (
            10.0 * np.log10(s_y[keep]) + 20.0 * np.log10(nu0) - 10.0 * np.log10(2.0 * f[keep] ** 2)
        )
    return xr.DataArray(
        level,
        dims=("frequency",),
        coords={"frequency": ("frequency", f[keep], {"units": "Hz"})},
        name="phase_noise",
        attrs={"units": "dBc Hz-1", "long_name": "single-sideband phase noise L(f)", "nu0": nu0},
    )
