"""NV-centre magnetometry: resonances, CW-ODMR spectra, ODMR fitting, the magnetometer model.

:func:`resonances` solves the NV spin Hamiltonian (optionally with 14N/15N hyperfine)
for the four <111> orientations or one axis; :func:`odmr` draws a CW-ODMR spectrum with
photon shot noise; :func:`fit_odmr` fits it without hand-given start values;
:func:`vector_field` recovers the field vector from an ensemble's eight lines (with the
T_d-symmetry ambiguity stated, and resolved by a bias field); :class:`NVMagnetometer`
is the lock-in magnetometer model (:class:`NVRun`: a run of it continued chunk by chunk).
"""

from __future__ import annotations

from qsense.sensors.nv._run import NVRun
from qsense.sensors.nv.fit import OdmrFit, fit_odmr
from qsense.sensors.nv.magnetometer import NVMagnetometer
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
from qsense.sensors.nv.vector import VectorField, vector_field

__all__ = [
    "DD_DT",
    "D_ZERO_FIELD",
    "GAMMA_E",
    "NITROGEN",
    "NV_AXES",
    "T_REFERENCE",
    "NVMagnetometer",
    "NVRun",
    "OdmrFit",
    "VectorField",
    "field_from_lines",
    "fit_odmr",
    "odmr",
    "resonances",
    "vector_field",
]
