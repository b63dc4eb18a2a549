"""Streaming power-law noise: :class:`PowerLawStream` and the design of its flicker filter."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from qsense._validate import choice, positive_float, positive_int
from qsense.noise._common import (
    ALPHAS,
    TERMS,
    coefficients,
    generators,
    innovation_variance,
    noise_attrs,
)
from qsense.noise._kernels import ar_bank
from qsense.seeding import Seed, seed_attrs, seed_from_attrs, seed_sequence
from qsense.signal import DataType

__all__ = ["PowerLawStream"]

_METHOD = (
    "PowerLawStream: white and random-walk terms exact (Kasdin-Walter 1992); flicker terms "
    "by a bank of log-spaced first-order filters (Plaszczynski 2007), 3 per decade"
)
#: Version tag of the dictionary written by :meth:`PowerLawStream.state`.
_FORMAT = "qsense.noise.PowerLawStream/1"

# ---------------------------------------------------------------- flicker filter design
#: First-order sections per decade of frequency. The ripple of the log-spaced ladder is
#: about 4 exp(-pi**2 / ln(10**(1/d))) in PSD: 8e-4 for d = 2, 1e-5 for d = 3 (measured).
_PER_DECADE = 3
#: Highest corner, in u = sin(pi f / rate) (Nyquist is u = 1): the truncated top of the
#: ladder changes the PSD at Nyquist by about (1 / _U_TOP)**2 (measured 2.5e-5).
_U_TOP = 100.0
#: Lowest corner at f = _KAPPA / tau_max: the Allan variance of flicker FM at tau_max is
#: then 0.09 % low, less at shorter tau (quadrature of the design spectrum).
_KAPPA = 0.01
#: Allowed ``tau_max * rate``, in samples, and the default.
_SAMPLES_MIN, _SAMPLES_MAX, _SAMPLES_DEFAULT = 100.0, 1e10, 1e9


def _radius(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radius ``r`` and ``1 - r`` of the pole (or zero) whose section has its corner at ``u``.

    ``|1 - r exp(-i w)|**2 = (1 - r)**2 + 4 r u**2 = 4 r (u_c**2 + u**2)`` with ``u = sin(w
    / 2)`` and ``u_c = (1 - r) / (2 sqrt(r))``, so ``r = (sqrt(1 + u_c**2) - u_c)**2 = 1 /
    (sqrt(1 + u_c**2) + u_c)**2`` and ``1 - r = 2 u_c / (sqrt(1 + u_c**2) + u_c)``, both
    written without cancellation (``1 - r`` stays exact for corners near 0).
    """
    root = np.sqrt(1.0 + u * u) + u
    return 1.0 / (root * root), 2.0 * u / root


def response(poles: np.ndarray, weights: np.ndarray, direct: float, u: np.ndarray) -> np.ndarray:
    """``|direct + sum_k weights[k] / (1 - poles[k] z**-1)|**2`` at ``u = sin(w / 2)``."""
    u = np.asarray(u, dtype=np.float64)
    flat = u.ravel()
    # 1 - p exp(-i w) = (1 - p) + p (2 sin(w/2)**2 + i sin(w)), accurate for p near 1
    step = 2.0 * flat * flat + 2j * flat * np.sqrt(1.0 - flat * flat)
    den = (1.0 - poles)[:, None] + poles[:, None] * step[None, :]
    return (np.abs(direct + np.sum(weights[:, None] / den, axis=0)) ** 2).reshape(u.shape)


def flicker_design(samples_max: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Poles, weights and direct term of the flicker filter bank for ``tau_max * rate =
    samples_max``.

    The ladder ``H = prod_k (1 - q_k z**-1) / (1 - p_k z**-1)`` has its poles' corners at
    ``u_k = _U_TOP * rho**-k`` (``rho = 10**(1/3)``, down to below ``pi * _KAPPA /
    samples_max``) and each zero's corner at ``sqrt(rho) u_k``. Poles and zeros
    interlace on (0, 1), so its partial fractions ``H = D + sum_k r_k / (1 - p_k z**-1)``
    have positive residues ``r_k = prod_j (p_k - q_j) / (p_k prod_{j != k} (p_k - p_j))``
    (computed from differences of ``1 - p`` and ``1 - q``, exact where the radii crowd
    near 1) and ``D = prod_k q_k / p_k``: a bank of first-order filters with positive
    weights, no cancellation. The gain ``g`` (folded into the weights)
    makes the log-mean of ``2 u g**2 |H|**2`` over one ripple period (ending at u = 0.1)
    equal to 1.
    """
    rho = 10.0 ** (1.0 / _PER_DECADE)
    u_low = math.pi * _KAPPA / samples_max
    n_bank = math.ceil(_PER_DECADE * math.log10(_U_TOP / u_low)) + 1
    u_pole = _U_TOP * rho ** -np.arange(n_bank, dtype=np.float64)
    poles, e_p = _radius(u_pole)
    zeros, e_q = _radius(u_pole * math.sqrt(rho))
    residues = np.empty(n_bank)
    for k in range(n_bank):
        others = np.delete(e_p, k) - e_p[k]  # p_k - p_j
        residues[k] = np.prod((e_q - e_p[k]) / np.append(others, poles[k]))
    direct = float(np.prod(zeros / poles))
    u = 0.1 * rho ** (-np.arange(64, dtype=np.float64) / 64.0)
    log_mean = float(np.mean(np.log(2.0 * u * response(poles, residues, direct, u))))
    gain = math.exp(-0.5 * log_mean)
    return poles, gain * residues, gain * direct


def _tau_max(value: Any, rate: float, name: str = "tau_max", *, allow_none: bool = True) -> float:
    if value is None and allow_none:
        return _SAMPLES_DEFAULT / rate
    tau = positive_float(name, value)
    if not _SAMPLES_MIN <= tau * rate <= _SAMPLES_MAX:
        raise ValueError(
            f"{name} must be between {_SAMPLES_MIN:g} and {_SAMPLES_MAX:g} samples "
            f"({_SAMPLES_MIN / rate:g} to {_SAMPLES_MAX / rate:g} s at rate {rate!r} Hz), "
            f"got {value!r} s"
        )
    return tau


# ---------------------------------------------------------------- state helpers
def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _array(name: str, value: Any, size: int, kind: str) -> np.ndarray:
    """1-D array of ``size`` finite floats (``kind="f"``) or unsigned 64-bit words ("u")."""
    arr = np.asarray(value)
    numeric = np.issubdtype(arr.dtype, np.integer) or (
        kind == "f" and np.issubdtype(arr.dtype, np.floating)
    )
    if arr.dtype == bool or not numeric:
        raise TypeError(f"{name} must be a numeric array as written by state(), got {value!r}")
    if arr.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got shape {arr.shape}")
    if kind == "u":
        if np.any(arr < 0):
            raise ValueError(f"{name} must hold unsigned 64-bit words, got {value!r}")
        return np.ascontiguousarray(arr, dtype=np.uint64)
    arr = np.array(arr, dtype=np.float64, order="C")  # a fresh contiguous copy
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


def _words(bit_generator: np.random.PCG64) -> list[int]:
    """The PCG64 state as six unsigned 64-bit words (netCDF has no 128-bit integer)."""
    st = bit_generator.state
    mask = (1 << 64) - 1
    s, inc = int(st["state"]["state"]), int(st["state"]["inc"])
    return [s >> 64, s & mask, inc >> 64, inc & mask, int(st["has_uint32"]), int(st["uinteger"])]


def _set_words(bit_generator: np.random.PCG64, w: np.ndarray) -> None:
    words = [int(v) for v in w]
    bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": (words[0] << 64) | words[1], "inc": (words[2] << 64) | words[3]},
        "has_uint32": words[4],
        "uinteger": words[5],
    }


_STATE_KEYS = (
    "format",
    "h_alpha",
    "h",
    "rate",
    "data_type",
    "tau_max",
    "seed",
    "samples",
    "rng_state",
    "flicker_poles",
    "flicker_weights",
    "flicker_direct",
    "flicker_memory",
    "random_walk_sum",
    "phase_sum",
    "last_phase",
)


# ---------------------------------------------------------------- the stream
class PowerLawStream:
    """Power-law oscillator noise generated chunk by chunk, with a state to carry or save.

    The five noise types of :func:`qsense.noise.power_law`, ``S_y(f) = sum h[alpha]
    f**alpha`` (alpha = -2 random-walk FM, -1 flicker FM, 0 white FM, +1 flicker PM, +2
    white PM), with the same coefficient conventions, the same innovation variances
    (the table in :func:`~qsense.noise.power_law`) and the same random streams, produced
    by :meth:`next` in chunks of any length. Any chunking gives the same samples bit for
    bit as one call, and :meth:`state` / :meth:`from_state` carry a run across a save
    and load.

    Parameters
    ----------
    h : mapping {int: float}
        One-sided PSD coefficients of fractional frequency, ``h[alpha]`` in
        Hz**(-1-alpha), alpha in {-2, -1, 0, 1, 2}; omitted alphas are 0, values >= 0,
        at least one > 0.
    rate : float
        Sample rate in Hz (> 0).
    data_type : {"freq", "phase"}
        ``"freq"``: fractional frequency (dimensionless); ``"phase"``: phase (time
        error) in s.
    seed : int >= 0, numpy.random.SeedSequence or None
        Seed of the random streams: one child of ``SeedSequence(seed)`` per alpha in
        :data:`~qsense.noise.ALPHAS` order, as in :func:`~qsense.noise.power_law`, so
        adding a term never changes the others. ``None`` draws fresh entropy, recorded
        in :attr:`attrs` and :meth:`state`.
    tau_max : float, optional
        Longest averaging time in s for which the flicker terms must hold their law
        (between 100 and 1e10 samples, ``100 / rate`` to ``1e10 / rate``). Default
        ``1e9 / rate``, longer than any record held in memory. The cost per sample grows
        with ``log10(tau_max * rate)``: 3 first-order filters per decade, 39 at the default.

    Notes
    -----
    **White and random-walk terms** are exact and equal to :func:`power_law`'s for the
    same seed, bit for bit: ``s w`` and ``s * cumsum(w)`` with the running sum carried
    in the state (``s**2`` from the table in :func:`power_law`).

    **Flicker terms** (alpha = -1 on frequency, +1 on phase) replace the Kasdin-Walter
    fractional integrator ``(1 - z**-1)**(-1/2)``, whose memory never ends, by first-order
    filters with logarithmically spaced corners, the "several 1/f**2 filters spaced
    logarithmically" of Plaszczynski (2007, abstract; the idea is Keshner's, Proc. IEEE
    70, 212 (1982)). The design is a ladder of pole-zero sections, with the corners placed
    in the variable ``u = sin(pi f / rate)``, in which a digital first-order section is an
    exact Lorentzian ratio and the Kasdin-Walter target is an exact power law::

        S(f) = (2 s**2 / rate) g**2 |H|**2,    target (Kasdin 1995): (2 s**2 / rate) / (2 u)
        |H|**2 = prod_k (q_k / p_k) (v_k**2 + u**2) / (c_k**2 + u**2)
        c_k = 100 * 10**(-k/3)  (poles, k = 0..K-1, down to 0.01 pi / (tau_max rate))
        v_k = 10**(1/6) c_k     (zeros);  radius r = (sqrt(1 + c**2) - c)**2

    with the gain ``g`` fixed on the log-mean over one ripple period. Poles and zeros
    interlace, so the partial-fraction form of ``H`` has positive weights: it is run as a
    bank of AR(1) (Gauss-Markov) filters on the same white input, ``s_k[n] = p_k
    s_k[n-1] + w[n]``, ``y[n] = g (D w[n] + sum_k r_k s_k[n])`` (a numba kernel; the
    ``s_k`` are part of the state). The filter is minimum-phase like the Kasdin-Walter
    integrator, so matching the magnitude also matches the impulse response: for the
    same seed the flicker samples follow :func:`power_law`'s closely (tested).

    **Stated band** (quadrature of the design spectrum, any rate):

    - PSD within 3e-5 of the Kasdin-Walter law ``h_alpha f**alpha`` (its discrete form
      above) for ``1 / tau_max <= f <= rate / 2``, within 0.2 % from ``0.1 / tau_max``;
      flat (stationary) below ``0.01 / tau_max``.
    - Allan variance within 0.1 % (deviation 0.05 %) of :func:`adev_from_h` with
      ``model="sampled"`` for ``1 / rate <= tau <= tau_max``: 1e-5 at ``tau = 1 / rate``,
      -0.09 % at ``tau_max`` (flicker FM; flicker PM is within 3e-5 throughout).

    Like :func:`power_law`, every filter starts at rest, so the first ``k`` samples do
    not depend on how many follow. **PM terms** in frequency output are differenced,
    ``y[i] = (x[i+1] - x[i]) rate``, with the previous phase sample carried in the state
    (one phase sample is drawn at construction); **FM terms** in phase output are
    summed, ``x[0] = 0, x[i+1] = x[i] + y[i] / rate``, with the running sum carried.

    :meth:`next` returns plain numpy samples; there is no DataArray method (a model
    builds its own Dataset). ``qsense.signal.make_series(values, rate, attrs=stream.attrs,
    **qsense.signal.attrs_for(data_type))`` wraps a chunk when needed.

    Examples
    --------
    >>> stream = PowerLawStream({-1: 1e-24, 0: 1e-22}, rate=1.0, seed=3)
    >>> a = stream.next(1000)
    >>> saved = stream.state()
    >>> b = stream.next(500)
    >>> c = PowerLawStream.from_state(saved).next(500)
    >>> bool(np.array_equal(b, c)), a.dtype.name
    (True, 'float64')
    """

    def __init__(
        self,
        h: Mapping[int, float],
        rate: float,
        *,
        data_type: DataType = "freq",
        seed: Seed = None,
        tau_max: float | None = None,
    ) -> None:
        coeffs = coefficients(h)
        rate = positive_float("rate", rate)
        data_type = choice("data_type", data_type, ("phase", "freq"))
        ss = seed_sequence(seed)
        tau_max = _tau_max(tau_max, rate)
        poles, weights, direct = flicker_design(tau_max * rate)
        self._setup(coeffs, rate, data_type, ss, tau_max, poles, weights, direct)
        if data_type == "freq" and np.any(coeffs[[ALPHAS.index(1), ALPHAS.index(2)]] > 0):
            self._last_phase = float(self._terms(1, phase=True)[0])  # x[0] of the PM terms

    def _setup(self, coeffs, rate, data_type, ss, tau_max, poles, weights, direct) -> None:
        self._coeffs = coeffs
        self._rate = rate
        self._data_type = data_type
        self._ss = ss
        self._tau_max = tau_max
        self._poles, self._weights, self._direct = poles, weights, direct
        self._gens = generators(ss)
        self._scale = [
            math.sqrt(c * innovation_variance(a, rate)) for a, c in zip(ALPHAS, coeffs, strict=True)
        ]
        self._memory = np.zeros((2, poles.size))  # flicker FM, flicker PM
        self._rw_sum = 0.0  # running sum of the random walk's unit steps
        self._phase_sum = 0.0  # running sum of the FM frequency (phase output)
        self._last_phase = 0.0  # previous PM phase sample (frequency output)
        self._samples = 0

    # ------------------------------------------------------------ generation
    def _terms(self, n: int, *, phase: bool) -> np.ndarray | None:
        """Sum of the PM (``phase=True``, phase in s) or FM terms, next ``n`` samples."""
        total = None
        for idx, alpha in enumerate(ALPHAS):
            beta, is_phase = TERMS[alpha]
            if is_phase != phase or self._coeffs[idx] == 0:
                continue
            w = self._gens[idx].standard_normal(n)
            if beta == 2 and n:
                w[0] += self._rw_sum
                np.cumsum(w, out=w)
                self._rw_sum = float(w[-1])
            elif beta == 1:
                ar_bank(w, self._poles, self._weights, self._direct, self._memory[int(is_phase)])
            w *= self._scale[idx]
            if total is None:
                total = w
            else:
                total += w
        return total

    def next(self, n: int) -> np.ndarray:
        """The next ``n`` samples.

        Parameters
        ----------
        n : int
            Number of samples (>= 0).

        Returns
        -------
        numpy.ndarray of float64, shape (n,)
            Fractional frequency (dimensionless) or phase in s, per ``data_type``.
        """
        n = positive_int("n", n, minimum=0)
        if self._data_type == "freq":
            y = self._terms(n, phase=False)
            values = np.zeros(n) if y is None else y
            x = self._terms(n, phase=True)
            if x is not None:
                prev = np.empty(n + 1)
                prev[0] = self._last_phase
                prev[1:] = x
                values += np.diff(prev) * self._rate
                self._last_phase = float(prev[n])
        else:
            x = self._terms(n, phase=True)
            values = np.zeros(n) if x is None else x
            y = self._terms(n, phase=False)
            if y is not None:
                acc = np.empty(n + 1)
                acc[0] = self._phase_sum
                acc[1:] = y
                np.cumsum(acc, out=acc)
                self._phase_sum = float(acc[n])
                values += acc[:n] / self._rate
        self._samples += n
        return values

    # ------------------------------------------------------------ description
    @property
    def rate(self) -> float:
        """Sample rate in Hz."""
        return self._rate

    @property
    def data_type(self) -> str:
        """``"freq"`` (fractional frequency) or ``"phase"`` (s)."""
        return self._data_type

    @property
    def h(self) -> dict[int, float]:
        """The non-zero coefficients ``{alpha: h_alpha}``."""
        return {a: float(c) for a, c in zip(ALPHAS, self._coeffs, strict=True) if c > 0}

    @property
    def tau_max(self) -> float:
        """Longest averaging time (s) of the stated band of the flicker terms."""
        return self._tau_max

    @property
    def samples(self) -> int:
        """Number of samples returned so far."""
        return self._samples

    @property
    def seed_sequence(self) -> np.random.SeedSequence:
        """The SeedSequence of the run (the parent of the five streams)."""
        return self._ss

    @property
    def attrs(self) -> dict[str, Any]:
        """netCDF-safe attributes that reproduce the run: the attributes of
        :func:`power_law` (``h_alpha``, ``h``, ``data_type``, ``method``, ``seed``,
        ``seed_spawn_key``, ``qsense_version``) and ``tau_max`` (s)."""
        return noise_attrs(self._coeffs, self._data_type, self._ss, _METHOD, tau_max=self._tau_max)

    def __repr__(self) -> str:
        return (
            f"PowerLawStream(h={self.h!r}, rate={self._rate!r}, data_type={self._data_type!r}, "
            f"tau_max={self._tau_max!r}, samples={self._samples})"
        )

    # ------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """Everything needed to continue the run, as netCDF/HDF5-safe values.

        Returns
        -------
        dict
            Scalars (str, int, float) and 1-D numpy arrays (int64, uint64, float64), so
            it can be stored as attributes of a netCDF variable or an HDF5 group:
            ``format``, ``h_alpha``, ``h``, ``rate`` (Hz), ``data_type``, ``tau_max``
            (s), ``seed`` and ``seed_spawn_key`` (:func:`qsense.seeding.seed_attrs`),
            ``samples``, ``rng_state`` (uint64, six words per alpha: the 128-bit PCG64
            state and increment, high word first, ``has_uint32``, ``uinteger``),
            ``flicker_poles``, ``flicker_weights``, ``flicker_direct``,
            ``flicker_memory`` (filter bank memory of flicker FM then flicker PM),
            ``random_walk_sum``,
            ``phase_sum`` and ``last_phase``. :meth:`from_state` continues from it.
        """
        words = [w for gen in self._gens for w in _words(gen.bit_generator)]
        return {
            "format": _FORMAT,
            "h_alpha": np.asarray(ALPHAS, dtype=np.int64),
            "h": self._coeffs.copy(),
            "rate": self._rate,
            "data_type": self._data_type,
            "tau_max": self._tau_max,
            **seed_attrs(self._ss),
            "samples": self._samples,
            "rng_state": np.asarray(words, dtype=np.uint64),
            "flicker_poles": self._poles.copy(),
            "flicker_weights": self._weights.copy(),
            "flicker_direct": self._direct,
            "flicker_memory": self._memory.ravel().copy(),
            "random_walk_sum": self._rw_sum,
            "phase_sum": self._phase_sum,
            "last_phase": self._last_phase,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> PowerLawStream:
        """Rebuild a stream from :meth:`state`; it continues exactly where that one was.

        Parameters
        ----------
        state : mapping
            The dictionary :meth:`state` returned, possibly read back from a netCDF or
            HDF5 file (numpy scalars and arrays accepted).

        Returns
        -------
        PowerLawStream
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                "state must be the mapping returned by PowerLawStream.state(), "
                f"got {type(state).__name__}"
            )
        missing = [key for key in _STATE_KEYS if key not in state]
        if missing:
            raise ValueError(f"state is missing the entries {missing} (see PowerLawStream.state)")
        if str(state["format"]) != _FORMAT:
            raise ValueError(f"state['format'] must be {_FORMAT!r}, got {state['format']!r}")
        h_alpha = _array("state['h_alpha']", state["h_alpha"], len(ALPHAS), "f")
        if not np.array_equal(h_alpha, ALPHAS):
            raise ValueError(f"state['h_alpha'] must be {list(ALPHAS)}, got {state['h_alpha']!r}")
        h = _array("state['h']", state["h"], len(ALPHAS), "f")
        coeffs = coefficients(dict(zip(ALPHAS, h.tolist(), strict=True)), name="state['h']")
        rate = positive_float("state['rate']", state["rate"])
        data_type = choice("state['data_type']", state["data_type"], ("phase", "freq"))
        tau_max = _tau_max(state["tau_max"], rate, name="state['tau_max']", allow_none=False)
        try:
            ss = seed_from_attrs(state)
        except (TypeError, ValueError) as err:
            raise ValueError(f"state['seed'] is not a recorded seed: {err}") from None
        samples = positive_int("state['samples']", state["samples"], minimum=0)
        words = _array("state['rng_state']", state["rng_state"], 6 * len(ALPHAS), "u")
        poles, weights, direct = flicker_design(tau_max * rate)
        size = poles.size
        stored = {
            "flicker_poles": _array("state['flicker_poles']", state["flicker_poles"], size, "f"),
            "flicker_weights": _array(
                "state['flicker_weights']", state["flicker_weights"], size, "f"
            ),
            "flicker_direct": np.array(
                [_finite("state['flicker_direct']", state["flicker_direct"])]
            ),
        }
        for key, want in (
            ("flicker_poles", poles),
            ("flicker_weights", weights),
            ("flicker_direct", [direct]),
        ):
            if not np.allclose(stored[key], want, rtol=1e-9, atol=0.0):
                raise ValueError(
                    f"state[{key!r}] does not match the filter of tau_max={tau_max!r} s at "
                    f"rate={rate!r} Hz; the state was edited or written by another version"
                )
        memory = _array("state['flicker_memory']", state["flicker_memory"], 2 * size, "f")

        self = cls.__new__(cls)
        self._setup(
            coeffs,
            rate,
            data_type,
            ss,
            tau_max,
            stored["flicker_poles"],
            stored["flicker_weights"],
            float(stored["flicker_direct"][0]),
        )
        for i, gen in enumerate(self._gens):
            _set_words(gen.bit_generator, words[6 * i : 6 * i + 6])
        self._memory[:] = memory.reshape(2, size)
        self._rw_sum = _finite("state['random_walk_sum']", state["random_walk_sum"])
        self._phase_sum = _finite("state['phase_sum']", state["phase_sum"])
        self._last_phase = _finite("state['last_phase']", state["last_phase"])
        self._samples = samples
        return self
