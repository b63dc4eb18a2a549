"""NV resonances (exact spin Hamiltonian) and CW-ODMR spectra with photon shot noise."""

from __future__ import annotations

from typing import Any

import numpy as np

from qsense import _validate
from qsense.seeding import Seed, generator, seed_sequence
from qsense.sensors.nv._hamiltonian import NV_AXES, nv_frame, transitions

__all__ = [
    "DD_DT",
    "D_ZERO_FIELD",
    "GAMMA_E",
    "NITROGEN",
    "NV_AXES",
    "T_REFERENCE",
    "field_from_lines",
    "odmr",
    "resonances",
]

#: Zero-field splitting (Hz) at T_REFERENCE; Doherty et al., Phys. Rep. 528, 1 (2013).
D_ZERO_FIELD = 2.870e9
#: dD/dT near room temperature (Hz/K); Acosta et al., PRL 104, 070801 (2010).
DD_DT = -74.2e3
#: Temperature (K) at which ``D`` is given when ``temperature`` is passed.
T_REFERENCE = 300.0
_MU_B_OVER_H = 9.2740100783e-24 / 6.62607015e-34  # Hz/T (CODATA 2018)
#: Electron gyromagnetic ratio (Hz/T) = g mu_B / h with g = 2.0028 (Loubser & van Wyk,
#: Rep. Prog. Phys. 41, 1201 (1978); Doherty et al., Phys. Rep. 528, 1 (2013)): 28.032 GHz/T
#: (the often-quoted 28.025 GHz/T is the free-electron g = 2.0023).
GAMMA_E = 2.0028 * _MU_B_OVER_H
#: Nitrogen hyperfine parameters (spin, A_par, A_perp, quadrupole P, nuclear gamma), Hz and
#: Hz/T. 14N: A_par = -2.14 MHz, A_perp = -2.70 MHz, P = -4.945 MHz; 15N: A_par = +3.03 MHz,
#: A_perp = +3.65 MHz (Felton et al., PRB 79, 075203 (2009); Doherty et al. 2013, table 3).
#: Nuclear gyromagnetic ratios 14N 3.077 MHz/T, 15N -4.316 MHz/T.
NITROGEN: dict[str, tuple[float, float, float, float, float]] = {
    "14N": (1.0, -2.14e6, -2.70e6, -4.945e6, 3.0766e6),
    "15N": (0.5, 3.03e6, 3.65e6, 0.0, -4.3156e6),
}


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _vector(name: str, value: Any) -> np.ndarray:
    v = _validate.real_array(name, value)
    if v.shape != (3,):
        raise ValueError(f"{name} must be a 3-vector (x, y, z), got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


def resonances(
    B: Any,
    *,
    D: float = D_ZERO_FIELD,
    E: float = 0.0,
    gamma: float = GAMMA_E,
    temperature: float | None = None,
    nitrogen: str | None = None,
    axes: Any = "ensemble",
) -> np.ndarray:
    """ODMR transition frequencies of NV centres, from the exact spin Hamiltonian.

    H/h = D Sz^2 + E (Sx^2 - Sy^2) + gamma B.S in each NV's frame (z along its axis,
    x along the crystal [001] made orthogonal to z, or [100] for an axis near [001]),
    plus, with ``nitrogen``, A_par Sz Iz + A_perp (Sx Ix + Sy Iy) + P Iz^2 - gamma_n B.I
    (9x9 for 14N, 6x6 for 15N), diagonalised with numpy.

    Parameters
    ----------
    B : array_like, shape (3,)
        Magnetic field (T) in the crystal frame.
    D : float
        Zero-field splitting (Hz), default 2.870 GHz (at 300 K when ``temperature`` is given).
    E : float
        Transverse (strain) splitting parameter (Hz).
    gamma : float
        Electron gyromagnetic ratio (Hz/T), default :data:`GAMMA_E` = 28.032 GHz/T (g = 2.0028).
    temperature : float, optional
        Temperature (K); D becomes D + dD/dT (temperature - 300 K), dD/dT = -74.2 kHz/K.
    nitrogen : {"14N", "15N"}, optional
        Include the nitrogen hyperfine structure (3 or 2 lines per transition).
    axes : "ensemble" or array_like, shape (3,)
        The four <111> orientations, or the axis (crystal frame) of one NV.

    Returns
    -------
    numpy.ndarray
        Frequencies (Hz): (4, 2) for the ensemble, (2,) for one axis; with ``nitrogen``
        a trailing axis of 3 (14N) or 2 (15N) lines, one per nuclear projection.
        For each NV, [ms=0 -> lower, ms=0 -> upper], ascending.

    Raises
    ------
    ValueError
        Non-finite or wrongly shaped input, or a field so close to a level anti-crossing
        (|gamma B| ~ D) that the hyperfine states cannot be labelled.
    """
    b = _vector("B", B)
    d = _finite("D", D)
    e = _finite("E", E)
    g = _finite("gamma", gamma)
    if temperature is not None:
        t = _validate.positive_float("temperature", temperature)
        d = d + DD_DT * (t - T_REFERENCE)
    nucleus = None
    if nitrogen is not None:
        nucleus = NITROGEN[_validate.choice("nitrogen", nitrogen, tuple(NITROGEN))]
    if isinstance(axes, str):
        _validate.choice("axes", axes, ("ensemble",))
        axis_list = NV_AXES
    else:
        a = _vector("axes", axes)
        if not np.linalg.norm(a) > 0:
            raise ValueError(f"axes must be a non-zero 3-vector, got {a!r}")
        axis_list = a[None, :]
    out = np.array([transitions(nv_frame(ax) @ b, d, e, g, nucleus) for ax in axis_list])
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"B = {b!r} T is too close to a level anti-crossing (|gamma B| ~ D) to label "
            "the hyperfine states; use nitrogen=None there"
        )
    return out if isinstance(axes, str) else out[0]


def odmr(
    freqs: Any,
    B: Any,
    *,
    contrast: float = 0.01,
    linewidth: float = 1e6,
    rate: float | None = None,
    dwell_seconds: float = 1e-3,
    seed: Seed = None,
    **hamiltonian: Any,
) -> np.ndarray:
    """CW-ODMR spectrum: normalised fluorescence with Lorentzian dips at the resonances.

    S(f) = 1 - sum_lines C (Gamma/2)^2 / ((f - f_k)^2 + (Gamma/2)^2), summed over every
    line of :func:`resonances` (each with the full contrast C), clipped at 0; with
    ``rate``, photon shot noise: N_k ~ Poisson(R dwell S(f_k)) and the output is
    N_k / (R dwell).

    Parameters
    ----------
    freqs : array_like
        Microwave frequencies (Hz), 1-D, finite.
    B : array_like, shape (3,)
        Field (T) in the crystal frame.
    contrast : float
        Fractional dip depth C of each line (0 < C < 1).
    linewidth : float
        Full width at half maximum Gamma (Hz).
    rate : float, optional
        Detected photon rate R off resonance (photons/s); None: noiseless.
    dwell_seconds : float
        Integration time per frequency point (s).
    seed : int, SeedSequence or None
        Seed of the shot noise.
    **hamiltonian
        Keywords passed to :func:`resonances` (D, E, gamma, temperature, nitrogen, axes).

    Returns
    -------
    numpy.ndarray
        Normalised signal (1 off resonance), same length as ``freqs``.
    """
    f = _validate.real_array("freqs", freqs)
    if f.ndim != 1 or f.size == 0:
        raise ValueError(f"freqs must be a non-empty 1-D array, got shape {f.shape}")
    if not np.all(np.isfinite(f)):
        raise ValueError("freqs must be finite (got NaN or inf)")
    c = _validate.positive_float("contrast", contrast)
    if c >= 1:
        raise ValueError(f"contrast must be below 1, got {contrast!r}")
    hw = _validate.positive_float("linewidth", linewidth) / 2
    lines = np.ravel(resonances(B, **hamiltonian))
    s = 1.0 - c * np.sum(hw**2 / ((f[:, None] - lines[None, :]) ** 2 + hw**2), axis=1)
    s = np.clip(s, 0.0, None)
    if rate is None:
        return s
    n = _validate.positive_float("rate", rate) * _validate.positive_float(
        "dwell_seconds", dwell_seconds
    )
    return generator(seed_sequence(seed)).poisson(n * s) / n


def field_from_lines(
    f_lower: float,
    f_upper: float,
    *,
    sigma_lower: float = 0.0,
    sigma_upper: float = 0.0,
    D: float = D_ZERO_FIELD,
    E: float = 0.0,
    gamma: float = GAMMA_E,
) -> tuple[float, float]:
    """Field magnitude |B| (T) from the two lines of one NV, exactly, with its uncertainty.

    From the invariants of the spin-1 Hamiltonian (trace and trace of the square),
    (gamma B)^2 = (fl^2 + fu^2 - fl fu - D^2 - 3 E^2) / 3, exact for any field direction;
    the 1-sigma error is propagated linearly from ``sigma_lower`` and ``sigma_upper``
    (independent).

    Parameters
    ----------
    f_lower, f_upper : float
        The ms=0 -> lower and ms=0 -> upper transition frequencies (Hz) of the same NV.
    sigma_lower, sigma_upper : float
        Their 1-sigma uncertainties (Hz).
    D, E : float
        Zero-field and strain splitting (Hz).
    gamma : float
        Electron gyromagnetic ratio (Hz/T).

    Returns
    -------
    (float, float)
        |B| (T) and its 1-sigma uncertainty (T); the uncertainty is inf at |B| = 0.

    Raises
    ------
    ValueError
        Non-finite input, f_lower > f_upper, or lines inconsistent with D and E (the
        right-hand side is negative beyond 3 sigma).
    """
    fl, fu = _finite("f_lower", f_lower), _finite("f_upper", f_upper)
    if fl > fu:
        raise ValueError(f"f_lower must not exceed f_upper, got {fl!r} > {fu!r}")
    sl = _validate.positive_float("sigma_lower", sigma_lower, allow_zero=True)
    su = _validate.positive_float("sigma_upper", sigma_upper, allow_zero=True)
    d, e, g = _finite("D", D), _finite("E", E), _finite("gamma", gamma)
    rhs = (fl * fl + fu * fu - fl * fu - d * d - 3 * e * e) / 3
    drhs = np.hypot((2 * fl - fu) * sl, (2 * fu - fl) * su) / 3
    if rhs < -3 * drhs:
        raise ValueError(
            f"f_lower = {fl!r} Hz and f_upper = {fu!r} Hz are inconsistent with D = {d!r} Hz "
            f"and E = {e!r} Hz: (gamma B)^2 = {rhs:.4g} Hz^2 < 0"
        )
    b = np.sqrt(max(rhs, 0.0)) / abs(g)
    err = drhs / (2 * g * g * b) if b > 0 else (0.0 if drhs == 0 else np.inf)
    return float(b), float(err)
