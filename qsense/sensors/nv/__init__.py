"""NV-centre magnetometry: exact ground-state resonances, CW-ODMR spectra, ODMR fitting.

:func:`resonances` solves the NV spin Hamiltonian (optionally with 14N/15N hyperfine)
for the four <111> orientations or one axis; :func:`odmr` draws a CW-ODMR spectrum with
photon shot noise; :func:`fit_odmr` fits it without hand-given start values.
"""

from __future__ import annotations

from qsense.sensors.nv.fit import OdmrFit, fit_odmr
from qsense.sensors.nv.odmr import (
    D_ZERO_FIELD,
    DD_DT,
    GAMMA_E,
    NITROGEN,
    NV_AXES,
    T_REFERENCE,
    field_from_lines,
    odmr,
    resonances,
)

__all__ = [
    "DD_DT",
    "D_ZERO_FIELD",
    "GAMMA_E",
    "NITROGEN",
    "NV_AXES",
    "T_REFERENCE",
    "OdmrFit",
    "field_from_lines",
    "fit_odmr",
    "odmr",
    "resonances",
]
