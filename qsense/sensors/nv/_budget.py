"""Closed forms of the NV magnetometer (:class:`~qsense.sensors.nv.NVMagnetometer`).

**Line shape from the optical and microwave powers** (Dréau et al., PRB 84, 195204
(2011), eqs. as recalled; PHYSICS.md sec. 3.3, check against the paper): with the laser
saturation parameter ``s = P_laser / P_sat``, the optical pumping and cycling rates
``Gamma_p = Gamma_p_inf s / (1 + s)`` and ``Gamma_c = Gamma_c_inf s / (1 + s)`` (s-1) and
the Rabi angular frequency ``Omega_R = 2 pi rabi_frequency`` (rad/s; ``Omega_R`` grows as
``sqrt(P_MW)``, so a microwave power ``P`` gives ``rabi_frequency = f_ref sqrt(P /
P_ref)`` for a calibration point ``(P_ref, f_ref)`` of the antenna)::

    C     = Theta Omega_R^2 / (Omega_R^2 + Gamma_p Gamma_c)
    FWHM  = (Gamma_c / 2 pi) sqrt(1 + Omega_R^2 / (Gamma_p Gamma_c)) + 1 / (pi T2*)

The first term of the FWHM is Dréau's power-broadened width, written as recalled with
``1 / (2 pi)`` (PHYSICS.md writes ``Gamma_c / pi``: the factor 2 is uncertain, check);
the second is the inhomogeneous (T2*) width, added because the convolution of two
Lorentzians is a Lorentzian whose widths add (Dréau's model alone goes to zero width
at zero power).

**CW shot noise** (Barry et al., Rev. Mod. Phys. 92, 015004 (2020), sec. IV.A, eq. for a
Lorentzian as recalled): ``eta = P_F FWHM / (gamma C sqrt(R))`` with ``P_F = 4 / (3
sqrt 3)``, FWHM in Hz (not rad/s), ``gamma`` in Hz/T, ``R`` in detected photons/s, and
``eta = delta B_min sqrt(t)`` (T s^1/2): the standard deviation of a ``t``-second mean
times ``sqrt(t)``. The one-sided amplitude spectral density of the same white noise (the
convention of :mod:`qsense.spectral`) is ``sqrt(2) eta``; the Allan deviation is
``eta / sqrt(tau)``. ``1 / (3 sqrt 3 / 4) / FWHM`` is the inverse of the Lorentzian's
steepest slope, reached at the modulation depth ``FWHM / (2 sqrt 3)``; the simulated
square-wave lock at that depth reaches this limit (other depths: ``1 / |L'|``), refined
for a deep dip: Barry's formula takes the photon noise at the off-resonant rate ``R``
(``C << 1``), while the counts at the operating points have the Poisson variance
``R (1 - C L(depth))`` per tracked dip, so the budget's ``eta`` is Barry's (attribute
``eta_barry``) times ``sqrt(1 - n_dips C L(depth))`` (0.94 for one line with C = 0.15,
0.99 with C = 0.028).

**Laser RIN through the lock-in** (derived here; the linearisation of
:mod:`qsense.sensors.nv._run`): the demodulation at the modulation frequency reads the
fractional intensity PSD ``S_eps`` there, so the RIN's field ASD is ``field_per_hz (1 -
n_dips C L(depth)) sqrt(S_eps(f_mod - f)) / (C |L'(depth)|)`` times the loop response:
the shot-noise ASD with ``2 / R`` (shot noise's fractional PSD) replaced by ``S_eps``
and ``sqrt(1 - n C L)`` by ``(1 - n C L)``; with two lines the estimator's weights
``m_0i`` combine the lines, ``sqrt(sum_i m_0i^2 S_i)``. ``S_i`` is the PSD of the
sub-step samples where line ``i``'s Walsh pattern reads them: the only alias of the
block-decimated demodulation with non-zero weight is ``f_sub / 2`` for ``(+,-,+,-)``
and ``f_sub / 4`` for ``(+,+,-,-)`` (``f_sub = 2 f_mod``, the sub-step rate), so
``S_0(f) = h_0 + pi h_-1 / (f_sub cos(pi f / f_sub))`` and ``S_1`` the mean of the
Kasdin-Walter discrete flicker law ``pi h_-1 / (f_sub sin(pi f' / f_sub))`` at ``f' =
f_sub / 4 +- f`` (at ``f_mod``, ``pi / 2`` above the continuous ``h_-1 / f_mod``: the
sampled intensity folds the flicker above ``f_mod`` onto it). ADEV ``ASD(0) / sqrt(2 tau)``.

**Microwave reference** (:mod:`qsense.sensors.nv._run`): its fractional frequency
``y`` moves every drive by ``f_i y``, coherently, so the field sees ``(sum_i m_0i f_i)
y``: ``f_0 y / (a_0 G)`` with one line, ``(f_1 - f_0) y / (2 gamma G)`` with two on an
axial bias; ASD ``|sum_i m_0i f_i| sqrt(S_y(f))`` (flicker in the discrete law at the
block rate) times the loop response.

**Offset random walk**: ``h_-2 = q^2 / (2 pi^2)``, ASD ``sqrt(h_-2) / f``, ADEV from
:func:`qsense.noise.adev_from_h` (``q sqrt(tau / 3)`` for sampled taus).

**Pulsed readout** (Taylor et al., Nat. Phys. 4, 810 (2008); Barry et al. 2020 sec. V,
as recalled, check): Ramsey (DC) ``eta = sqrt(1/N + 1/(C^2 n)) sqrt(t_I + tau + t_R) /
(2 pi gamma e^(-tau/T2*) tau)`` for ``N`` spins and ``n`` detected photons per readout
(all spins), minimised over the free evolution ``tau``; Hahn echo (AC, a field at
``1 / tau``) the same with T2 and a factor ``pi / 2``. The two terms under the root are
the spin-projection and photon-shot-noise terms of the budget.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from qsense._validate import choice
from qsense.noise import adev_from_h
from qsense.sensors._build import budget_dataset

if TYPE_CHECKING:
    from qsense.sensors.nv.magnetometer import NVMagnetometer

__all__ = ["P_LORENTZ", "budget", "line_slope", "optimal_evolution"]

#: Barry et al. (2020) line-shape factor of a Lorentzian: 4 / (3 sqrt 3).
P_LORENTZ = 4.0 / (3.0 * math.sqrt(3.0))

_BARRY = (
    "Barry et al., Rev. Mod. Phys. 92, 015004 (2020), CW-ODMR shot noise for a Lorentzian: "
    "eta = (4/(3 sqrt 3)) FWHM / (gamma C sqrt R) at the optimal depth (1/|L'(depth)| "
    "otherwise), times sqrt(1 - n_dips C L(depth)) (Poisson variance of the dimmed counts); "
    "one-sided ASD sqrt(2) eta times the integrator loop response "
    "|g / (e^(i 2 pi f T_b) - 1 + g)| and the output's mean over M blocks "
    "|sin(M pi f T_b) / (M sin(pi f T_b))| (aliasing above rate/2 neglected); "
    "ADEV eta / sqrt(tau)"
)
_TAYLOR = (
    "Taylor et al., Nat. Phys. 4, 810 (2008); Barry et al., RMP 92, 015004 (2020): "
    "{what} eta = sqrt(1/N + 1/(C^2 n)) sqrt(t_I + tau + t_R) / ({factor}2 pi gamma "
    "e^(-tau/{t}) tau) at the best tau, split into the 1/N (spin projection) and "
    "1/(C^2 n) (photon shot noise) parts; ASD sqrt(2) eta, ADEV eta / sqrt(tau)"
)


def line_slope(half_width: float, depth: float) -> float:
    """``|L'(depth)|`` (1/Hz) of ``L(x) = h^2 / (x^2 + h^2)``, ``h = half_width``."""
    h2 = half_width * half_width
    return 2.0 * depth * h2 / (depth * depth + h2) ** 2


def optimal_evolution(model: NVMagnetometer, coherence: float) -> tuple[float, float]:
    """The free evolution ``tau`` (s) minimising ``sqrt(t_I + tau + t_R) / (e^(-tau/T) tau)``
    and that minimum (s^-1/2), on a fine logarithmic grid refined once."""
    dead = model.init_time + model.readout_time

    def cost(t: np.ndarray) -> np.ndarray:
        return np.sqrt(dead + t) / (np.exp(-t / coherence) * t)

    grid = coherence * np.logspace(-4, 1.5, 2001)
    best = grid[np.argmin(cost(grid))]
    fine = best * np.linspace(0.99, 1.01, 2001)
    tau = float(fine[np.argmin(cost(fine))])
    return tau, float(cost(np.array([tau]))[0])


def _extra_terms(model, dimming, slope, loop, adev, asd, refs, attrs) -> None:
    """The laser RIN and offset random-walk terms of the CW budget (see the module doc)."""
    h0, h1 = model.laser_rin_white**2, model.laser_rin_flicker**2
    f_sub = 2.0 * model.modulation_frequency  # sub-step rate
    weights = model._estimator[0] * dimming / (model.contrast * slope)

    def rin(f: Any) -> Any:
        w = np.pi * np.asarray(f, dtype=np.float64) / f_sub
        s0 = h0 + np.pi * h1 / (f_sub * np.cos(w))  # line 0: at f_sub / 2 - f
        q = np.pi / 4.0  # line 1: the two sidebands of f_sub / 4
        s1 = h0 + np.pi * h1 / f_sub * 0.5 * (1.0 / np.sin(q + w) + 1.0 / np.sin(q - w))
        return np.sqrt(weights[0] ** 2 * s0 + weights[1] ** 2 * s1)

    if h0 > 0 or h1 > 0:
        eta_rin = float(rin(0.0)) / math.sqrt(2.0)
        adev["laser_rin"] = lambda t: eta_rin / np.sqrt(t)
        asd["laser_rin"] = lambda f: rin(f) * loop(f)
        refs["laser_rin"] = (
            "laser RIN S_eps = h_0 + h_-1/f read by the FM lock-in at f_mod (common mode "
            "cancelled): ASD field_per_hz (1 - n C L(depth)) sqrt(S_eps) / (C |L'(depth)|) "
            "times the loop response; ADEV ASD(0) / sqrt(2 tau) (qsense.sensors.nv._budget)"
        )
    h_mw = {0: model.microwave_white_fm**2, -1: model.microwave_flicker_fm**2 / (2 * math.log(2))}
    if h_mw[0] > 0 or h_mw[-1] > 0:
        pick = {"lower": [0], "upper": [1], "both": [0, 1]}[model.lines]
        freqs = np.zeros(2)
        freqs[: len(pick)] = model._line_pair[pick]
        scale = abs(float(model._estimator[0] @ freqs))  # T per unit y, coherent lines
        f_block = model.rate * model.blocks_per_sample
        h_field = {k: v * scale * scale for k, v in h_mw.items()}

        def microwave(f: Any) -> Any:
            f = np.asarray(f, dtype=np.float64)
            flicker = np.pi * h_field[-1] / (f_block * np.sin(np.pi * f / f_block))
            return np.sqrt(h_field[0] + flicker) * loop(f)

        adev["microwave"] = lambda t: adev_from_h(h_field, t, model.rate, model="table")
        asd["microwave"] = microwave
        refs["microwave"] = (
            "microwave reference y (h_0 white FM, h_-1 = floor^2 / (2 ln 2)) read 1:1 as a "
            "line offset f_line y: field S = (sum_i m_0i f_i)^2 S_y (two lines cancel "
            "all but (f_1 - f_0) / 2), times the loop response; ADEV qsense.noise.adev_from_h"
        )
    q = model.offset_random_walk
    if q > 0:
        h2 = q * q / (2.0 * math.pi**2)
        rate = model.rate

        def walk(t: np.ndarray) -> np.ndarray:
            m = t * rate
            sampled = np.all((np.abs(m - np.rint(m)) <= 1e-9 * np.maximum(1.0, m)) & (m >= 0.5))
            return adev_from_h({-2: h2}, t, rate, model="sampled" if sampled else "table")

        adev["offset_random_walk"] = walk
        asd["offset_random_walk"] = lambda f: math.sqrt(h2) / f
        refs["offset_random_walk"] = (
            "NIST SP 1065 (2008) sec. 5.2: random-walk offset, h_-2 = q^2 / (2 pi^2), "
            "ADEV q sqrt(tau / 3) (qsense.noise.adev_from_h)"
        )
    bias = model.bias_coefficients * model.bias_temperature_coefficient
    pair = (float(bias[0]), float(bias[1]) if bias.size > 1 else 0.0)
    attrs["bias_false_field_per_kelvin"] = float(model.estimate(*pair)[0])


def budget(model: NVMagnetometer, tau: Any, frequency: Any, readout: str) -> xr.Dataset:
    readout = choice("readout", readout, ("cw", "ramsey", "hahn_echo"))
    for name, axis in (("tau", tau), ("frequency", frequency)):
        if isinstance(axis, xr.Dataset) or np.iscomplexobj(axis):
            raise TypeError(f"{name} must be real numbers in s or Hz, got {axis!r}")
    adev: dict[str, Any] = {}
    asd: dict[str, Any] = {}
    refs: dict[str, str] = {}
    attrs: dict[str, Any] = {"readout": readout}
    if readout == "cw":
        hw, depth = model.linewidth / 2.0, model.depth
        slope = line_slope(hw, depth)
        eta_barry = model.field_per_hz / (model.contrast * slope * math.sqrt(model.photon_rate))
        # Poisson variance at the operating points: R (1 - C L(depth)) per tracked dip.
        dips = 2.0 if model.lines == "both" else 1.0
        dimming = 1.0 - dips * model.contrast * hw * hw / (depth * depth + hw * hw)
        eta = eta_barry * math.sqrt(max(dimming, 0.0))
        gain = model.loop_gain
        t_block = model.block_seconds
        blocks = model.blocks_per_sample

        nyquist = model.rate / 2.0

        def loop(f: np.ndarray) -> np.ndarray:
            if np.any(f > nyquist):
                raise ValueError(
                    f"frequency must be <= rate / 2 = {nyquist:g} Hz (the output's Nyquist "
                    f"frequency) for the CW budget, got {f!r}"
                )
            w = np.pi * f * t_block  # < pi / 2 / blocks: sin(w) > 0
            z = np.exp(2j * w)
            mean = np.abs(np.sin(blocks * w) / (blocks * np.sin(w)))  # output average
            return np.abs(gain / (z - 1.0 + gain)) * mean

        adev["shot_noise"] = lambda t: eta / np.sqrt(t)
        asd["shot_noise"] = lambda f: math.sqrt(2.0) * eta * loop(f)
        refs["shot_noise"] = _BARRY
        attrs.update(eta=eta, eta_barry=eta_barry, eta_units="T s1/2")
        _extra_terms(model, dimming, slope, loop, adev, asd, refs, attrs)
    else:
        coherence, factor, what = (
            (model.t2_star, 1.0, "Ramsey (DC)")
            if readout == "ramsey"
            else (model.t2, 2.0 / math.pi, "Hahn echo (AC, field amplitude at 1/tau)")
        )
        evolution, cost = optimal_evolution(model, coherence)
        # 1 / (2 pi gamma_line) in T per rad, gamma_line the first tracked line's Hz/T.
        a, _ = model.line_coefficients
        scale = cost / abs(a[0] * model.flux_gain) / (2.0 * math.pi * factor)
        parts = {
            "spin_projection": scale / math.sqrt(model.spins),
            "photon_shot_noise": scale / (model.max_contrast * math.sqrt(model.readout_photons)),
        }
        text = _TAYLOR.format(
            what=what,
            factor="" if readout == "ramsey" else "(2/pi) ",
            t="T2*" if readout == "ramsey" else "T2",
        )
        for name, eta in parts.items():
            adev[name] = lambda t, e=eta: e / np.sqrt(t)
            asd[name] = math.sqrt(2.0) * eta
            refs[name] = text
        attrs.update(eta=math.hypot(*parts.values()), eta_units="T s1/2", free_evolution=evolution)
    ds = budget_dataset(
        model,
        tau=tau,
        frequency=frequency,
        adev=adev if tau is not None else None,
        asd=asd if frequency is not None else None,
        references=refs,
    )
    ds.attrs.update(attrs)
    return ds
