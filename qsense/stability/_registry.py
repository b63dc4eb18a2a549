"""The one registry of the stability statistics: a frozen spec per statistic.

Every fact about a statistic that more than one module needs lives here, once: its
estimator (named as ``"module:function"`` and imported on first use, so that this
module stays light: no numpy, no numba, and ``import qsense`` stays fast), its input
(phase record, or two records), its tau rule and Stable32 stop ratio, its EDF method,
its bias rule, its noise-identification family, the number of terms Stable32 uses for
its B1 noise test, its units, long name, plot label and plot slope family, and the
public module that defines it. The pipeline, the tau selection, the EDF, the bias,
the noise identification, the cornered hat, the plot and ``qsense.__init__`` all read
this table; none of them keeps its own list of names.

Adding a statistic: write its estimator ``raw(x, m, rate, span) -> (values, n)``
(a kernel module), add one :class:`Spec` to :data:`SPECS` (and its name to
:data:`Statistic` if it has an EDF), and write its public function (a few lines
calling :func:`qsense.stability._pipeline.compute`) with its docstring.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = [
    "PUBLIC",
    "SINGLE",
    "SPECS",
    "STATISTICS",
    "BiasTable",
    "Spec",
    "Statistic",
    "TauSet",
    "spec_of",
    "statistic_function",
]

#: Bias tables of the ``bias=`` argument (see :mod:`qsense.stability._bias`).
BiasTable = Literal["stable32", "sp1065"]

#: The named Stable32 tau sets (``taus=`` also takes an array of seconds).
TauSet = Literal["octave", "decade", "all"]

#: A single-record statistic with an EDF, a noise-identification rule and a bias rule.
Statistic = Literal[
    "adev",
    "oadev",
    "mdev",
    "tdev",
    "hdev",
    "ohdev",
    "totdev",
    "mtotdev",
    "ttotdev",
    "htotdev",
    "theo1",
    "theobr",
    "theoh",
]

EdfMethod = Literal["greenhall", "totdev", "mtotdev", "htotdev", "theo1", "none"]
BiasRule = Literal["none", "totdev", "mtotdev", "htotdev", "theo1"]
TauRule = Literal["stable32", "total", "theo", "theoh"]
NoiseFamily = Literal["allan", "hadamard", "theo"]
SlopeFamily = Literal["allan", "modified", "time", "none"]


@dataclass(frozen=True)
class Spec:
    """Everything the package knows about one statistic.

    Attributes
    ----------
    name : str
        Public name (``"oadev"``), also ``attrs["statistic"]`` of its result.
    long_name : str
        ``long_name`` of ``dev`` (``"overlapping Allan deviation"``).
    label : str
        y-axis label of :func:`qsense.plot.stability` (matplotlib mathtext allowed).
    units : {"1", "s"}
        Units of ``dev``.
    module : str
        Module (under ``qsense.stability``) that defines the public function.
    raw : str
        ``"module:function"`` of the estimator ``raw(x, m, rate, span) -> (values, n)``
        (x: phase in s, NaN at gaps; m: int64 factors; span: frequency-gap counts or
        None; values: the variance, or the value itself for ``kind="value"``; n: int64
        number of terms); a two-record statistic's is ``raw(x1, x2, m, rate)``. Empty
        for statistics with their own runner (TheoH).
    records : {1, 2}
        Number of input records (2 for the codeviation).
    reads : {"phase", "freq"}
        What the estimator differences: the phase ``x`` (every statistic but one) or
        the M = N - 1 fractional frequencies ``y`` (HTOT, whose windows and term
        counts are of frequency samples). The pipeline always hands over the phase
        record (frequency input integrated once); a ``"freq"`` estimator differentiates
        it back, exactly, at its own cost.
    kind : {"variance", "value"}
        ``"variance"``: ``dev = sqrt(values / bias)`` with a chi-square interval;
        ``"value"``: ``dev = values`` with no interval (MTIE, TIE rms).
    tau_rule : {"stable32", "total", "theo", "theoh"}
        How :func:`qsense.stability._taus.factors` picks the averaging factors.
    tau_scale : float
        ``tau = tau_scale * m / rate`` (0.75 for the Theo statistics).
    many : {"stable32", "total", "fast"}
        Stable32's "all" (many-tau) set: its geometric grid with spacing chosen from
        the statistic's own limit (``"stable32"``) or from TOTDEV's limit (N - 1) / 2
        (``"total"``: the whole total family), or MTIE's fast ``m = 2**k - 1``.
    stop_ratio : int
        Stable32 stop ratio r of the named tau sets (``m * r < N - 1``); also sets the
        last factor at which Stable32 identifies the noise, ``(N - 1) // (2 r)``.
        0: none (Theo statistics).
    hard_max : callable
        ``hard_max(N) -> int``: largest factor with at least one term on N phase points
        (limit of explicit taus).
    edf : str
        EDF method of :mod:`qsense.stability._edf` (``"none"`` for no interval).
    greenhall : tuple of (int, bool, bool) or None
        ``(d, overlapping, modified)`` of the Greenhall & Riley EDF.
    bias : str
        Bias rule of :mod:`qsense.stability._bias` (``"none"``: divisor 1).
    noise : {"allan", "hadamard", "theo"}
        Noise-identification family: lag-1 ACF with at most 2 (Allan) or 3 (Hadamard)
        differences; Theo statistics get one alpha per record.
    b1_terms : callable
        ``b1_terms(N, m) -> int``: the number of terms Stable32 uses as N of its B1
        noise test (its '#' column).
    slopes : {"allan", "modified", "time", "none"}
        Power-law guide slopes of the plot.
    """

    name: str
    long_name: str
    label: str
    units: Literal["1", "s"] = "1"
    module: str = "deviations"
    raw: str = ""
    records: int = 1
    reads: Literal["phase", "freq"] = "phase"
    kind: Literal["variance", "value"] = "variance"
    tau_rule: TauRule = "stable32"
    tau_scale: float = 1.0
    many: Literal["stable32", "total", "fast"] = "stable32"
    stop_ratio: int = 4
    hard_max: Callable[[int], int] = lambda n: (n - 1) // 2
    edf: EdfMethod = "greenhall"
    greenhall: tuple[int, bool, bool] | None = None
    bias: BiasRule = "none"
    noise: NoiseFamily = "allan"
    b1_terms: Callable[[int, int], int] = lambda n, m: n - 2 * m
    slopes: SlopeFamily = "allan"

    def estimator(self) -> Callable[..., Any]:
        """The raw estimator function (imported on first use)."""
        return _resolve(self.raw)

    def function(self) -> Callable[..., Any]:
        """The public function ``qsense.stability.<name>``."""
        return getattr(importlib.import_module(f"qsense.stability.{self.module}"), self.name)


_CACHE: dict[str, Callable[..., Any]] = {}


def _resolve(path: str) -> Callable[..., Any]:
    func = _CACHE.get(path)
    if func is None:
        module, _, attr = path.partition(":")
        func = _CACHE[path] = getattr(importlib.import_module(module), attr)
    return func


_K = "qsense.stability._kernels:"
_KM = "qsense.stability._kernels_modified:"
_KT = "qsense.stability._total_raw:"
_THIRD = lambda n: n // 3  # noqa: E731 - MDEV/TDEV: 3m phase points per term
_THIRD_1 = lambda n: (n - 1) // 3  # noqa: E731 - Hadamard: 3m + 1 phase points
_ALL = lambda n: n - 1  # noqa: E731 - one difference over the whole record
_MOD_TERMS = lambda n, m: n - 3 * m + 1  # noqa: E731
_HAD_TERMS = lambda n, m: n - 3 * m  # noqa: E731

_SPECS: tuple[Spec, ...] = (
    Spec(
        "adev",
        "Allan deviation",
        r"ADEV $\sigma_y(\tau)$",
        raw=_K + "adev_raw",
        stop_ratio=5,
        greenhall=(2, False, False),
        b1_terms=lambda n, m: (n - 1) // m - 1,
    ),
    Spec(
        "oadev",
        "overlapping Allan deviation",
        r"overlapping ADEV $\sigma_y(\tau)$",
        raw=_K + "oadev_raw",
        greenhall=(2, True, False),
    ),
    Spec(
        "mdev",
        "modified Allan deviation",
        r"MDEV Mod $\sigma_y(\tau)$",
        raw=_KM + "mdev_raw",
        hard_max=_THIRD,
        greenhall=(2, True, True),
        b1_terms=_MOD_TERMS,
        slopes="modified",
    ),
    Spec(
        "tdev",
        "time deviation",
        r"TDEV $\sigma_x(\tau)$ (s)",
        units="s",
        raw=_KM + "tdev_raw",
        hard_max=_THIRD,
        greenhall=(2, True, True),
        b1_terms=_MOD_TERMS,
        slopes="time",
    ),
    Spec(
        "hdev",
        "Hadamard deviation",
        r"HDEV $H\sigma_y(\tau)$",
        raw=_K + "hdev_raw",
        stop_ratio=5,
        hard_max=_THIRD_1,
        greenhall=(3, False, False),
        noise="hadamard",
        b1_terms=lambda n, m: (n - 1) // m - 2,
    ),
    Spec(
        "ohdev",
        "overlapping Hadamard deviation",
        r"overlapping HDEV $H\sigma_y(\tau)$",
        raw=_K + "ohdev_raw",
        hard_max=_THIRD_1,
        greenhall=(3, True, False),
        noise="hadamard",
        b1_terms=_HAD_TERMS,
    ),
    Spec(
        "totdev",
        "total deviation",
        r"TOTDEV $\sigma_{tot}(\tau)$",
        raw=_K + "totdev_raw",
        stop_ratio=2,
        many="total",
        edf="totdev",
        bias="totdev",
        b1_terms=lambda n, m: n - 2,
    ),
    Spec(
        "mtotdev",
        "modified total deviation",
        "MTOTDEV",
        module="total",
        raw=_KT + "mtot_raw",
        tau_rule="total",
        stop_ratio=3,
        many="total",
        hard_max=lambda n: n // 3,
        edf="mtotdev",
        bias="mtotdev",
        b1_terms=_MOD_TERMS,
        slopes="modified",
    ),
    Spec(
        "ttotdev",
        "time total deviation",
        "TTOTDEV (s)",
        units="s",
        module="total",
        raw=_KT + "ttot_raw",
        tau_rule="total",
        stop_ratio=3,
        many="total",
        hard_max=lambda n: n // 3,
        edf="mtotdev",
        bias="mtotdev",
        b1_terms=_MOD_TERMS,
        slopes="time",
    ),
    Spec(
        "htotdev",
        "Hadamard total deviation",
        "HTOTDEV",
        reads="freq",
        module="total",
        raw=_KT + "htot_raw",
        tau_rule="total",
        stop_ratio=3,
        many="total",
        hard_max=_THIRD_1,
        edf="htotdev",
        bias="htotdev",
        noise="hadamard",
        b1_terms=_HAD_TERMS,
    ),
    Spec(
        "theo1",
        "Theo1 deviation",
        "Theo1 deviation",
        module="total",
        raw=_KT + "theo1_raw",
        tau_rule="theo",
        tau_scale=0.75,
        stop_ratio=0,
        hard_max=_ALL,
        edf="theo1",
        bias="theo1",
        noise="theo",
    ),
    Spec(
        "theobr",
        "bias-removed Theo1 deviation",
        "TheoBR deviation",
        module="total",
        raw=_KT + "theobr_raw",
        tau_rule="theo",
        tau_scale=0.75,
        stop_ratio=0,
        hard_max=_ALL,
        edf="theo1",
        noise="theo",
    ),
    Spec(
        "theoh",
        "ThêoH deviation",
        "TheoH deviation",
        module="total",
        tau_rule="theoh",
        tau_scale=0.75,
        stop_ratio=0,
        hard_max=_ALL,
        edf="theo1",
        noise="theo",
    ),
    Spec(
        "mtie",
        "maximum time interval error",
        "MTIE (s)",
        units="s",
        module="time_error",
        raw=_K + "mtie_raw",
        kind="value",
        stop_ratio=2,
        many="fast",
        hard_max=_ALL,
        edf="none",
        slopes="none",
    ),
    Spec(
        "tierms",
        "rms time interval error",
        "TIE rms (s)",
        units="s",
        module="time_error",
        raw=_K + "tierms_raw",
        kind="value",
        hard_max=_ALL,
        edf="none",
        slopes="time",
    ),
    Spec(
        "gcodev",
        "Groslambert codeviation",
        "Groslambert codeviation",
        module="compare",
        raw=_K + "gcodev_raw",
        records=2,
        kind="value",
        edf="none",
    ),
)

#: Every statistic by name.
SPECS: dict[str, Spec] = {s.name: s for s in _SPECS}

#: The statistics with an EDF, a noise-identification rule and a bias rule.
STATISTICS: tuple[str, ...] = get_args(Statistic)

#: Every single-record statistic (what ``statistic=`` accepts by name in the cornered
#: hat and the dynamic deviation): :data:`STATISTICS` plus MTIE and TIE rms.
SINGLE: tuple[str, ...] = tuple(s.name for s in _SPECS if s.records == 1)

#: The public names of ``qsense.stability`` (and, but for ``noise_id``, of ``qsense``):
#: every statistic plus the functions that run one over several records or windows, or
#: several over one record (``analyse``, with ``per_statistic`` to split its result).
PUBLIC: dict[str, str] = {
    **{s.name: s.module for s in _SPECS},
    "analyse": "analyse",
    "dynamic_adev": "dynamic",
    "noise_id": "noise_id",
    "per_statistic": "analyse",
    "three_cornered_hat": "compare",
}


def spec_of(name: str) -> Spec:
    """The :class:`Spec` of ``name``; ValueError naming ``statistic`` if unknown."""
    try:
        return SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(f"statistic must be one of {tuple(SPECS)}, got {name!r}") from None


def statistic_function(statistic: Any) -> Callable[..., Any]:
    """The public function of a single-record statistic named ``statistic``, or itself.

    A callable must have the signature of :func:`qsense.stability.oadev`:
    ``f(data, rate, data_type, taus, ci, bias_correction) -> xarray.Dataset``.
    ValueError/TypeError naming ``statistic`` otherwise.
    """
    if callable(statistic):
        return statistic
    if not isinstance(statistic, str):
        raise TypeError(
            f"statistic must be a statistic name or a callable, got {type(statistic).__name__}"
        )
    name = statistic.lower()
    if name not in SINGLE:
        raise ValueError(f"statistic must be one of {SINGLE} or a callable, got {statistic!r}")
    return SPECS[name].function()
