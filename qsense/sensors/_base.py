"""The face every sensor model shares (DESIGN.md, "Sensor models").

A model is a frozen keyword-only dataclass of SI parameters declared with
:func:`parameter` (unit, bounds, kind), validated once when it is built. The base class
gives it ``preset``/``presets`` (cited real instruments), ``params`` (a plain dict that
rebuilds the model) and ``from_attrs`` (the model back from a simulation file); the
helpers every ``simulate`` and ``noise_budget`` use are in :mod:`qsense.sensors._build`.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import xarray as xr

__all__ = ["Preset", "SensorModel", "parameter"]

Kind = Literal["float", "int", "bool", "choice", "vector", "mapping"]


# ---------------------------------------------------------------- parameters
@dataclass(frozen=True)
class _Spec:
    """How one model parameter is checked (stored in the dataclass field's metadata)."""

    unit: str
    kind: Kind = "float"
    minimum: float | None = None
    maximum: float | None = None
    open_minimum: bool = False
    open_maximum: bool = False
    options: tuple[str, ...] = ()
    optional: bool = False
    doc: str = ""

    def _bounds(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.open_minimum else '>='} {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"{'<' if self.open_maximum else '<='} {self.maximum:g}")
        return " and ".join(parts)

    def _number(self, where: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"{where} must be a real number in {self.unit}, got {type(value).__name__} "
                f"{value!r}"
            )
        out = float(value)
        low, high = self.minimum, self.maximum
        bad = not math.isfinite(out)
        if low is not None:
            bad |= out <= low if self.open_minimum else out < low
        if high is not None:
            bad |= out >= high if self.open_maximum else out > high
        if bad:
            bounds = self._bounds()
            raise ValueError(
                f"{where} must be a finite number{' ' + bounds if bounds else ''} "
                f"(unit {self.unit}), got {value!r}"
            )
        return out

    def check(self, where: str, value: Any) -> Any:
        """``value`` converted to its canonical type, or a ValueError/TypeError."""
        if value is None and self.optional:
            return None
        if self.kind == "float":
            return self._number(where, value)
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{where} must be an integer, got {type(value).__name__} {value!r}")
            return int(self._number(where, int(value)))
        if self.kind == "bool":
            if not isinstance(value, bool | np.bool_):
                raise TypeError(f"{where} must be True or False, got {value!r}")
            return bool(value)
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.options:
                raise ValueError(f"{where} must be one of {self.options}, got {value!r}")
            return value
        if self.kind == "vector":
            if isinstance(value, str | bytes | Mapping) or np.ndim(value) != 1:
                raise TypeError(f"{where} must be a 1-D sequence of numbers, got {value!r}")
            return tuple(self._number(f"{where}[{i}]", v) for i, v in enumerate(value))
        if not isinstance(value, Mapping):  # mapping {number: number}
            raise TypeError(f"{where} must be a mapping {{key: value}}, got {value!r}")
        out = {}
        for key, v in value.items():
            if isinstance(key, bool) or not isinstance(key, numbers.Real):
                raise TypeError(f"{where} keys must be numbers, got {key!r}")
            k = int(key) if float(key).is_integer() else float(key)
            out[k] = self._number(f"{where}[{key!r}]", v)
        return out


def parameter(
    default: Any = dataclasses.MISSING,
    *,
    unit: str,
    kind: Kind = "float",
    minimum: float | None = None,
    maximum: float | None = None,
    open_minimum: bool = False,
    open_maximum: bool = False,
    options: tuple[str, ...] = (),
    optional: bool = False,
    doc: str = "",
) -> Any:
    """Declare a model parameter: a dataclass field with its SI unit and its checks.

    Parameters
    ----------
    default : object, optional
        Default value; omitted for a required parameter.
    unit : str
        UDUNITS unit of the value (``"s"``, ``"m s-2"``, ``"1"``); stated in errors and
        in :meth:`SensorModel.units`.
    kind : {"float", "int", "bool", "choice", "vector", "mapping"}
        ``"vector"`` is stored as a tuple of floats, ``"mapping"`` as a dict
        ``{int or float: float}`` (for example ``{alpha: h_alpha}``).
    minimum, maximum : float, optional
        Bounds of every number, in ``unit``.
    open_minimum, open_maximum : bool
        Whether the bound itself is refused (``> minimum`` rather than ``>= minimum``).
    options : tuple of str
        The accepted values of a ``"choice"``.
    optional : bool
        Whether ``None`` (the feature is off) is accepted.
    doc : str
        One line describing the parameter.

    Returns
    -------
    dataclasses.Field
    """
    spec = _Spec(
        unit, kind, minimum, maximum, open_minimum, open_maximum, tuple(options), optional, doc
    )
    if isinstance(default, dict):
        frozen = dict(default)
        return dataclasses.field(default_factory=lambda: dict(frozen), metadata={"qsense": spec})
    return dataclasses.field(default=default, metadata={"qsense": spec})


@dataclass(frozen=True)
class Preset:
    """A real instrument's parameters and the source of every number.

    Attributes
    ----------
    name : str
        Key of :meth:`SensorModel.preset`.
    params : mapping
        Keyword arguments of the model (SI).
    citation : str
        Paper or datasheet the numbers come from (with table or equation).
    description : str
        What instrument this is.
    """

    name: str
    params: Mapping[str, Any]
    citation: str
    description: str = ""


# ---------------------------------------------------------------- the model face
def _encode(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {"__mapping__": [[k, _encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__mapping__"}:
        return {k: _decode(v) for k, v in value["__mapping__"]}
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


#: Every defined model class by its import path (filled by ``__init_subclass__``).
_MODELS: dict[str, type[SensorModel]] = {}


@dataclass(frozen=True, kw_only=True)
class SensorModel(abc.ABC):
    """Base class of every instrument model, quantum or classical.

    Subclasses are ``@dataclass(frozen=True, kw_only=True)`` with their parameters
    declared by :func:`parameter`, set the class attributes :attr:`measured` (name of
    the measured variable, e.g. ``"g"``), :attr:`quantity` (a key of
    :data:`qsense.quantities.QUANTITIES`) and :attr:`PRESETS`, may override
    :meth:`_check` for checks across parameters, and implement :meth:`simulate` and
    :meth:`noise_budget`.
    """

    #: Name of the measured variable in :meth:`simulate`'s Dataset.
    measured: ClassVar[str] = "data"
    #: Quantity of the measured variable (key of ``qsense.quantities.QUANTITIES``).
    quantity: ClassVar[str] = "fractional_frequency"
    #: Cited real instruments, by name.
    PRESETS: ClassVar[tuple[Preset, ...]] = ()

    def __post_init__(self) -> None:
        name = type(self).__name__
        for field in dataclasses.fields(self):
            spec = field.metadata.get("qsense")
            if spec is not None:
                value = spec.check(f"{name}: {field.name}", getattr(self, field.name))
                object.__setattr__(self, field.name, value)
        self._check()

    def _check(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Checks that involve several parameters; raise ValueError naming them."""

    # -- presets and parameters
    @classmethod
    def presets(cls) -> dict[str, str]:
        """The presets of this model: ``{name: citation}``."""
        return {p.name: p.citation for p in cls.PRESETS}

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> SensorModel:
        """The model of a cited real instrument, optionally with some parameters changed.

        Parameters
        ----------
        name : str
            One of :meth:`presets`.
        **overrides
            Parameters replacing the preset's (SI).

        Returns
        -------
        SensorModel
        """
        table = {p.name: p for p in cls.PRESETS}
        if not isinstance(name, str) or name not in table:
            raise ValueError(f"{cls.__name__} preset must be one of {tuple(table)}, got {name!r}")
        return cls(**{**table[name].params, **overrides})

    def params(self) -> dict[str, Any]:
        """The parameters as a plain dict; ``type(model)(**model.params())`` rebuilds it."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def units(cls) -> dict[str, str]:
        """The SI unit of each parameter (UDUNITS strings)."""
        return {
            f.name: f.metadata["qsense"].unit
            for f in dataclasses.fields(cls)
            if "qsense" in f.metadata
        }

    def model_attrs(self) -> dict[str, str]:
        """netCDF-safe attributes naming the model and its exact parameters (JSON)."""
        cls = type(self)
        return {
            "model": f"{cls.__module__}.{cls.__qualname__}",
            "model_params": json.dumps({k: _encode(v) for k, v in self.params().items()}),
            "model_param_units": json.dumps(self.units()),
        }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _MODELS[f"{cls.__module__}.{cls.__qualname__}"] = cls

    @staticmethod
    def from_attrs(attrs: Mapping[Any, Any]) -> SensorModel:
        """Rebuild the model recorded in a simulation's attributes.

        Parameters
        ----------
        attrs : mapping
            Attributes of a :meth:`simulate` Dataset (``model``, ``model_params``).

        Returns
        -------
        SensorModel
            Equal to the model that made the simulation; with
            ``qsense.seeding.seed_from_attrs(attrs)`` as ``seed`` it reproduces it.

        Notes
        -----
        Only a defined subclass of :class:`SensorModel` is rebuilt: a qsense model's
        module is imported by its name, any other model must have been defined (its
        module imported) first. Nothing else named in a file is imported.
        """
        if not isinstance(attrs, Mapping) or "model" not in attrs or "model_params" not in attrs:
            raise ValueError("attrs must hold 'model' and 'model_params' (a simulate() result)")
        path = str(attrs["model"])
        module = path.rpartition(".")[0]
        if path not in _MODELS and module.startswith("qsense.sensors."):
            try:
                importlib.import_module(module)
            except ImportError:
                pass
        if path not in _MODELS:
            raise ValueError(f"attrs['model'] names no defined SensorModel: {path!r}")
        try:
            params = json.loads(attrs["model_params"])
        except (TypeError, ValueError):
            raise ValueError(
                "attrs['model_params'] is not the JSON that simulate() wrote"
            ) from None
        if not isinstance(params, dict):
            raise ValueError("attrs['model_params'] is not the JSON that simulate() wrote")
        return _MODELS[path](**{k: _decode(v) for k, v in params.items()})

    # -- what every model implements
    @abc.abstractmethod
    def simulate(
        self,
        duration: float,
        *,
        seed: Any = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
    ) -> xr.Dataset:
        """Simulate ``duration`` seconds of the instrument (see :func:`simulation_dataset`)."""

    @abc.abstractmethod
    def noise_budget(self, tau: Any = None, frequency: Any = None) -> xr.Dataset:
        """The model's analytic prediction of each noise term (see :func:`budget_dataset`)."""
