"""Cited presets of :class:`qsense.sensors.clock.AtomicClock`.

Each citation says which numbers were read in the source (abstract or paper) and which
are typical values marked "(check)" that could not be verified when the preset was
written. Where a paper gives the measured stability but not every parameter, the
remaining parameter is derived so that the Itano formula reproduces the measurement,
and the citation says so.
"""

from __future__ import annotations

from qsense.sensors._base import Preset

__all__ = ["PRESETS"]

_DAY = 86400.0

PRESETS = (
    Preset(
        "cs-fountain",
        {
            "nu0": 9_192_631_770.0,
            "ramsey_time": 0.5,
            "cycle_time": 0.8,
            "atoms": 600_000,
            "contrast": 1.0,
            "zeeman_coefficient": 427.45e8,
        },
        citation=(
            "G. Santarelli et al., Phys. Rev. Lett. 82, 4619 (1999) (abstract: 6e5 detected "
            "atoms, 4e-14 tau^-1/2 with a cryogenic sapphire LO, projection-noise limited); "
            "nu0: SI definition of the second; T_R = 0.5 s (typical fountain, check); "
            "T_c = 0.8 s derived so that the Itano formula with C = 1 gives the measured "
            "4.0e-14 tau^-1/2 (the paper's T_c not verified); K_Z = 427.45 Hz/G^2 = "
            "4.2745e10 Hz/T^2 (J. Vanier and C. Audoin, The Quantum Physics of Atomic "
            "Frequency Standards, 1989), equal to the Breit-Rabi (g_J + g_I)^2 (mu_B/h)^2 / "
            "(2 nu0) with g_J = 2.002540, g_I = 0.4013e-3 (checked in the tests)"
        ),
        description=(
            "Laser-cooled caesium fountain primary standard (LNE-SYRTE FO1 class), "
            "projection-noise limited; lo=None stands for the cryogenic sapphire LO"
        ),
    ),
    Preset(
        "rb-pop",
        {
            "nu0": 6_834_682_610.904324,
            "ramsey_time": 3.0e-3,
            "cycle_time": 4.0e-3,
            "pulse_duration": 0.15e-3,
            "atoms": 60_000_000,
            "contrast": 0.35,
            "drift": 1e-14 / _DAY,
            "zeeman_coefficient": 575.15e8,
        },
        citation=(
            "S. Micalizio et al., Metrologia 49, 425 (2012), arXiv:1111.3450 (abstract: "
            "1.7e-13 tau^-1/2, drift below 1e-14/day, used here as the drift); T_R = 3 ms, "
            "tau_p = 0.15 ms, T_c = 4 ms, C = 0.35 (check); atoms is an effective number "
            "(a vapour cell is detection-noise limited) derived so that the Itano formula "
            "gives the measured 1.7e-13 tau^-1/2; nu0: 87Rb hyperfine frequency "
            "6 834 682 610.904 324 Hz, CCTF 2004 Recommendation 1 (secondary representation); "
            "K_Z = 575.15 Hz/G^2 (D. A. Steck, 'Rubidium 87 D Line Data'), equal to the "
            "Breit-Rabi (g_J + |g_I|)^2 (mu_B/h)^2 / (2 nu0) with Steck's g_J = 2.00233113, "
            "|g_I| = 0.000995141 (g-factors recalled, check)"
        ),
        description=(
            "Vapour-cell rubidium clock, pulsed optical pumping (POP), Ramsey interrogation "
            "with optical detection (INRIM)"
        ),
    ),
    Preset(
        "sr-lattice",
        {
            "nu0": 429_228_004_229_873.19,
            "ramsey_time": 0.5,
            "cycle_time": 1.0,
            "atoms": 450,
            "contrast": 1.0,
            "zeeman_coefficient": -23.38e6,
        },
        citation=(
            "E. Oelker et al., Nat. Photonics 13, 714 (2019) (abstract: 4.8e-17 tau^-1/2 per "
            "clock, 3.5e-17 tau^-1/2 dominated by projection noise in synchronous "
            "comparison, cryogenic silicon-cavity LO); T_R = 0.5 s, T_c = 1 s (check); "
            "atoms derived so that the Itano formula gives 3.5e-17 tau^-1/2; nu0: 87Sr "
            "clock transition measured at NIST/JILA, 429 228 004 229 873.19(15) Hz (H. "
            "Leopardi et al., 'Measurement of the 27Al+ and 87Sr absolute optical frequencies' "
            "(2021), abstract; CIPM 2009 Rec. 2: ...873.7 Hz at 1e-15); "
            "K_Z = -23.38 MHz/T^2 = "
            "-0.2338 Hz/G^2 (B. Lu et al., Chin. Phys. B 31, 043101 (2022), abstract: 88Sr "
            "and the 87Sr mF = +-9/2 clock states; "
            "consistent with Boyd et al., PRA 76, 022510 (2007), check)"
        ),
        description=(
            "87Sr optical lattice clock (JILA); lo=None stands for the silicon-cavity laser"
        ),
    ),
)
