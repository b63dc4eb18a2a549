"""Physical quantities of the data model: one table of units and names for the package.

Every series qsense makes (a simulated gravimeter's ``g``, a magnetometer's ``B``, a
clock's fractional frequency, an environment driver) takes its ``units``, ``long_name``
and, where the CF conventions define one, ``standard_name`` from :data:`QUANTITIES`, so
units are written once. Units are UDUNITS strings in SI; display units (uGal, nT, ppb)
are conversions at the edge, never stored.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal, get_args

__all__ = ["QUANTITIES", "Quantity", "quantity_attrs"]

#: The quantities of the data model (the ``quantity`` attribute of a series).
Quantity = Literal[
    "gravity",
    "acceleration",
    "velocity",
    "magnetic_field",
    "fractional_frequency",
    "phase",
    "temperature",
    "pressure",
    "tilt",
    "frequency",
]

# CF standard names (CF Standard Name Table, v84): only where one fits the quantity as
# qsense stores it. Gravity is the magnitude of the acceleration of free fall; CF has
# no name for it, nor for a fractional frequency or a clock's time error.
_TABLE: dict[str, dict[str, str]] = {
    "gravity": {"units": "m s-2", "long_name": "acceleration of free fall (gravity)"},
    "acceleration": {"units": "m s-2", "long_name": "acceleration"},
    "velocity": {"units": "m s-1", "long_name": "ground velocity"},
    "magnetic_field": {
        "units": "T",
        "long_name": "magnetic flux density",
        "standard_name": "magnetic_flux_density",
    },
    "fractional_frequency": {"units": "1", "long_name": "fractional frequency deviation"},
    "phase": {"units": "s", "long_name": "phase (time error)"},
    "temperature": {
        "units": "K",
        "long_name": "temperature",
        "standard_name": "air_temperature",
    },
    "pressure": {"units": "Pa", "long_name": "air pressure", "standard_name": "air_pressure"},
    "tilt": {"units": "rad", "long_name": "tilt angle"},
    "frequency": {"units": "Hz", "long_name": "frequency"},
}

#: ``quantity -> {"units", "long_name"[, "standard_name"]}``, read-only.
QUANTITIES = MappingProxyType({k: MappingProxyType(v) for k, v in _TABLE.items()})

if set(get_args(Quantity)) != set(_TABLE):  # pragma: no cover - guards the two lists
    raise ImportError("qsense.quantities: Quantity and the attribute table disagree")


def quantity_attrs(quantity: Quantity, *, long_name: str | None = None) -> dict[str, str]:
    """Attributes ``units``, ``long_name``, ``quantity`` (and ``standard_name``) of a quantity.

    Parameters
    ----------
    quantity : str
        One of :data:`QUANTITIES` (``"gravity"``, ``"magnetic_field"``, ...).
    long_name : str, optional
        Replaces the table's descriptive name (for example ``"gravity tide"``); the
        units and CF standard name stay those of the quantity.

    Returns
    -------
    dict of str
        A new dict, safe to modify.

    Examples
    --------
    >>> quantity_attrs("magnetic_field")["units"]
    'T'
    >>> quantity_attrs("gravity", long_name="gravity tide")["long_name"]
    'gravity tide'
    """
    if not isinstance(quantity, str) or quantity not in _TABLE:
        raise ValueError(f"quantity must be one of {tuple(_TABLE)}, got {quantity!r}")
    out = {"quantity": quantity, **_TABLE[quantity]}
    if long_name is not None:
        if not isinstance(long_name, str):
            raise TypeError(f"long_name must be a str, got {type(long_name).__name__}")
        out["long_name"] = long_name
    return out
