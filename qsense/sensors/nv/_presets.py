"""Cited presets of :class:`qsense.sensors.nv.NVMagnetometer`.

The papers give a measured sensitivity and some of the parameters (contrast, linewidth,
coherence times); the optical/microwave parameters of the Dréau et al. model are then
chosen to reproduce the stated contrast and linewidth, and the photon collection rate
``photon_rate`` is derived so that the model's own CW shot-noise budget (one-sided ASD,
``sqrt(2) * eta``, see :mod:`qsense.sensors.nv._budget`) equals the published
sensitivity. The real-instrument terms of the ensemble presets (residual laser RIN,
offset random walk, the bias magnet's temperature coefficient) are typical values
assumed here, not read from the cited papers, chosen small enough that the published
floor stays the model's floor (within 1 % at 1 mHz). Each citation says which
numbers were taken from the paper as recalled (marked "check": not verified against
the text here) and which are derived.
"""

from __future__ import annotations

import math

from qsense.sensors._base import Preset

__all__ = ["PRESETS"]

_MT_111 = 1e-3 / math.sqrt(3.0)  # 1 mT along [111] (the NV axis of orientation 0), per component

PRESETS = (
    Preset(
        "single-nv-probe",
        {
            "max_contrast": 0.3,
            "laser_saturation": 0.05,
            "rabi_frequency": 0.15e6,
            "t2_star": 2e-6,
            "t2": 50e-6,
            "photon_rate": 5e4,
            "ensemble": False,
            "bias_field": (2 * _MT_111,) * 3,
            "lines": "lower",
            "loop_bandwidth": 5.0,
            "readout_photons": 0.03,
            "spins": 1,
        },
        citation=(
            "Single NV in a scanning diamond tip. Dréau et al., PRB 84, 195204 (2011): "
            "Theta ~ 0.3, Gamma_p_inf ~ 5e6 s-1, Gamma_c_inf ~ 8e7 s-1 for one NV (as recalled, "
            "check); a laser at s = 0.05 and a Rabi frequency of 0.15 MHz give C = 0.15 and "
            "FWHM = 1.0 MHz (with T2* = 2 us). Scanning-probe sensitivities of ~1-6 uT/sqrt(Hz) "
            "(PHYSICS.md sec. 3.6: 5.76 uT/sqrt(Hz) for a real scanning tip, "
            "LeaCasse/nv-center-magnetometry; Rondin et al., Rep. Prog. Phys. 77, 056503 "
            "(2014), typical values, check): with the typical collection rate R = 5e4 s-1 of a "
            "tip (assumed) the model gives 1.12 uT/sqrt(Hz). Pulsed readout: 0.03 photons "
            "per shot (Taylor et al., Nat. Phys. 4, 810 (2008), typical), T2 = 50 us "
            "(typical shallow NV, assumed)"
        ),
        description=(
            "Scanning single-NV probe, 2 mT bias along its axis, tracking the ms=0 -> -1 "
            "line with a 5 Hz loop: about 1.1 uT/sqrt(Hz)."
        ),
    ),
    Preset(
        "bulk-ensemble",
        {
            "max_contrast": 0.03,
            "laser_saturation": 0.02,
            "rabi_frequency": 0.25e6,
            "t2_star": 0.5e-6,
            "t2": 5e-6,
            "photon_rate": 2.29e16,
            "ensemble": True,
            "bias_field": (_MT_111,) * 3,
            "lines": "lower",
            "loop_bandwidth": 100.0,
            "readout_photons": 1e9,
            "spins": 10**12,
            "laser_rin_white": 1e-9,
            "laser_rin_flicker": 3e-8,
            "offset_random_walk": 3e-15,
        },
        citation=(
            "Bulk NV-ensemble CW-ODMR magnetometer at the level of J. F. Barry et al., PNAS 113, "
            "14133 (2016): about 15 pT/sqrt(Hz) (as recalled, check). Typical ensemble "
            "numbers (assumed, check): T2* = 0.5 us, T2 = 5 us, per-line contrast ceiling "
            "Theta = 0.03; the Dréau parameters s = 0.02 and a 0.25 MHz Rabi frequency give C = "
            "2.8 % and FWHM = 1.67 MHz; R = 2.29e16 s-1 (about 7 mW of collected fluorescence) "
            "is derived so that the CW shot-noise ASD is 15 pT/sqrt(Hz). Pulsed readout: "
            "1e12 NVs, 1e9 photons per shot (assumed). Real-instrument terms (typical, "
            "assumed, not from the paper): residual laser RIN 1e-9 Hz^-1/2 white (-180 dB/Hz, "
            "what is left of a DPSS laser's RIN after a reference-photodiode subtraction) "
            "with a 1/f corner near 1 kHz (3e-8 Hz^-1/2 at 1 Hz), giving 1.7 pT/sqrt(Hz) "
            "through the lock-in; an offset random walk of 3e-15 T s^-1/2, whose Allan "
            "deviation crosses the shot-noise floor near 1000 s; the bias source's "
            "temperature coefficient 0 (a stabilised coil assumed)"
        ),
        description=(
            "Bulk-diamond NV ensemble, 1 mT along [111], tracking the ms=0 -> -1 line of "
            "the [111] orientation with a 100 Hz loop: 15 pT/sqrt(Hz) shot-noise floor."
        ),
    ),
    Preset(
        "flux-concentrator",
        {
            "max_contrast": 0.03,
            "laser_saturation": 0.02,
            "rabi_frequency": 0.25e6,
            "t2_star": 0.5e-6,
            "t2": 5e-6,
            "photon_rate": 4.82e13,
            "ensemble": True,
            "bias_field": (_MT_111,) * 3,
            "lines": "both",
            "loop_bandwidth": 1000.0,
            "modulation_frequency": 16000.0,
            "flux_gain": 254.0,
            "readout_photons": 1e8,
            "spins": 10**11,
            "laser_rin_white": 1e-8,
            "laser_rin_flicker": 3e-7,
            "offset_random_walk": 3e-16,
            "bias_temperature_coefficient": -3.5e-4,
        },
        citation=(
            "I. Fescenko et al., 'Diamond magnetometer enhanced by ferrite flux "
            "concentrators', Phys. Rev. Research 2, 023394 (2020): noise floor about "
            "0.9 pT/sqrt(Hz) over 10-1000 Hz, flux concentrators enhancing the field at the "
            "diamond by about 254, and simultaneous driving of the ms=0 -> -1 and 0 -> +1 "
            "resonances to cancel the temperature dependence (all as recalled, check). "
            "Ensemble contrast and linewidth as in 'bulk-ensemble' (assumed); R = 4.82e13 "
            "s-1 is derived so that the two-line CW shot-noise ASD referred to the external "
            "field is 0.9 pT/sqrt(Hz). Real-instrument terms (typical, assumed, not from "
            "the paper): residual laser RIN 1e-8 Hz^-1/2 white with a 1/f corner near 1 kHz "
            "(45 fT/sqrt(Hz) through the lock-in); an offset random walk of 3e-16 T s^-1/2 "
            "(Allan deviation crossing the floor near 1e4 s); a samarium-cobalt bias magnet, "
            "-3.5e-4 /K (a typical SmCo grade's remanence coefficient), whose drift two-line "
            "tracking does not cancel: -1.38 nT/K referred to the external field"
        ),
        description=(
            "NV ensemble between ferrite flux concentrators (gain 254), both lines of the "
            "[111] orientation tracked with a 1 kHz loop: 0.9 pT/sqrt(Hz) and temperature "
            "rejection."
        ),
    ),
)
