"""Frequency-stability analysis: the Allan family with confidence intervals.

Every statistic takes ``f(data, rate=None, data_type="phase", taus="octave", ci=0.683,
bias_correction=True, *, bias="stable32", alpha=None)`` and returns an
:class:`xarray.Dataset` on ``tau`` (s) with ``dev``, ``dev_lo``, ``dev_hi``, ``n``,
``edf`` and ``alpha``; values, term counts and tau sets reproduce Stable32 (NIST SP
1065). The statistics and their facts (estimator, tau rule, EDF, bias and noise rules,
labels) are listed once, in :mod:`qsense.stability._registry`.

A record too short for any averaging time of a named tau set (e.g. 2 samples) gives an
empty result with a ``UserWarning``; an empty, all-NaN, infinite, 2-D or non-numeric
record raises ``ValueError``/``TypeError`` naming ``data``.

The public functions are imported on first use (``qsense.stability.oadev`` loads
:mod:`.deviations` and its numba kernels then), so importing the package is light.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from qsense.stability._registry import PUBLIC

__all__ = sorted(PUBLIC)

#: Submodules reachable as attributes (``qsense.stability.deviations``).
_SUBMODULES = ("compare", "deviations", "dynamic", "time_error", "total")


def __getattr__(name: str) -> Any:
    """Import a statistic (or a public submodule) on first access."""
    module = PUBLIC.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f"qsense.stability.{module}"), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"qsense.stability.{name}")
    raise AttributeError(f"module 'qsense.stability' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


class _Package(types.ModuleType):
    """The package module, keeping ``noise_id`` the function.

    Importing the submodule ``qsense.stability.noise_id`` makes the import system set the
    package attribute ``noise_id`` to that module; an eager ``from .noise_id import
    noise_id`` used to rebind it to the function, which a lazy package cannot do. This
    refuses that one assignment (the submodule stays in ``sys.modules``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in PUBLIC and name not in _SUBMODULES:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
