"""Cited presets of :class:`qsense.sensors.gravimeter.AtomGravimeter`."""

from __future__ import annotations

from qsense.sensors._base import Preset

__all__ = ["PRESETS"]

PRESETS = (
    Preset(
        "aqg",
        {
            "T": 0.060,
            "pulse_duration": 10e-6,
            "cycle_time": 0.54,
            "atoms": 10**5,
            "contrast": 0.4,
            "detection_noise": 2e-3,
            "laser_phase_psd": 1e-11,
        },
        citation=(
            "Menoret et al., Sci. Rep. 8, 12300 (2018) (AQG-A01) and the AQG-B measurement "
            "sequence as restated by its users (T = 60 ms, cycle 1.85 Hz = 0.54 s, 1e6 "
            "atoms trapped): T and cycle_time verified; atoms detected, contrast, pulse "
            "length and the noise levels are typical values (PHYSICS.md 2.4-2.5), not "
            "the instrument's"
        ),
        description="Exail/Muquans AQG-like transportable absolute quantum gravimeter (Rb-87)",
    ),
    Preset(
        "gain",
        {
            "T": 0.260,
            "pulse_duration": 20e-6,
            "cycle_time": 1.5,
            "atoms": 10**6,
            "contrast": 0.5,
            "detection_noise": 1e-3,
            "laser_phase_psd": 1e-12,
        },
        citation=(
            "Freier et al., J. Phys. Conf. Ser. 723, 012050 (2016); Hauth et al., Appl. "
            "Phys. B 113, 49 (2013): T = 260 ms and 96 nm s-2 Hz-1/2 from PHYSICS.md; "
            "cycle time, atoms, contrast, pulse length and noise levels are typical "
            "values, not verified against the papers"
        ),
        description="GAIN-like (HU Berlin) mobile lab gravimeter (Rb-87)",
    ),
)
