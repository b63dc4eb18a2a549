"""An inertial seismometer described by its poles and zeros (STS-2, a geophone).

:class:`Seismometer` turns a vertical ground-acceleration driver into the recorded
channel in digitizer counts through the instrument's velocity response::

    H(s) = A0 * prod(s - z_i) / prod(s - p_j) * G * D        [counts per (m/s)]

(s = 2 pi i f in rad/s, A0 the normalization factor making ``|A0 prod/prod| = 1`` at
the normalization frequency, G the generator constant in V/(m/s), D the digitizer gain
in counts/V: the SEED/StationXML "PolesZeros" stage, Laplace in rad/s). The channel
is simulated by the bilinear (Tustin) discretization of the acceleration response
``H(s)/s`` with :func:`scipy.signal.bilinear_zpk` (or its zero-order hold, from the
exactly discretized state space), run as second-order sections carried
from chunk to chunk; :meth:`Seismometer.to_acceleration` inverts a recorded channel
back to ground acceleration by spectral division with a water level, for the
vibration correction of an atom gravimeter.

References
----------
SEED Reference Manual v2.4 (FDSN, 2012), Appendix C (poles and zeros, A0);
FDSN StationXML 1.1, ``PolesZeros``. Streckeisen STS-2 manual and the IRIS Nominal
Response Library (NRL) STS-2 response: poles -0.037004 +/- 0.037016i, -251.33,
-131.04 +/- 467.29i rad/s, two zeros at 0, A0 = 6.0077e7 (normalizing at 0.02 Hz, not at
the 1 Hz the file names: |A0 H(1 Hz)| = 1.0147), 1500 V/(m/s), as in
the BW.RJOB StationXML shipped with ObsPy. J. Havskov and G. Alguacil, "Instrumentation
in Earthquake Seismology", Springer (2016), ch. 2 (the geophone's response
``G s^2 / (s^2 + 2 h w0 s + w0^2)``). T. Tustin / A. V. Oppenheim and R. W. Schafer,
"Discrete-Time Signal Processing", sec. 7.1 (bilinear transform: analog frequency
``(2 fs / 2 pi) tan(pi f / fs)`` appears at digital frequency ``f``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.fft
import scipy.linalg
import scipy.signal
import xarray as xr

from qsense._validate import choice, positive_float, positive_int, real_array
from qsense.quantities import quantity_attrs
from qsense.seeding import Seed, generator, seed_sequence, spawn
from qsense.sensors._base import Preset, SensorModel, parameter
from qsense.sensors._build import (
    budget_dataset,
    environment_driver,
    samples_in,
    simulation_dataset,
    start_time,
)
from qsense.signal import GRID_RTOL, as_series, time_grid

__all__ = ["Seismometer"]

#: Samples filtered per step in :meth:`Seismometer.simulate` (bounds working memory).
CHUNK_SAMPLES = 1 << 18

_COUNTS_ATTRS = {
    "units": "count",
    "long_name": "recorded seismometer channel (digitizer counts)",
    "quantity": "digitizer_counts",
}


def _pz(h: float, f0: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Real and imaginary parts of a damped oscillator's poles (h < 1), rad/s."""
    w0 = 2.0 * math.pi * f0
    re, im = -h * w0, w0 * math.sqrt(1.0 - h * h)
    return (re, re), (im, -im)


_GEO_RE, _GEO_IM = _pz(0.707, 4.5)

_PRESETS = (
    Preset(
        "sts2",
        {
            "poles_real": (-0.037004, -0.037004, -251.33, -131.04, -131.04),
            "poles_imag": (0.037016, -0.037016, 0.0, -467.29, 467.29),
            "zeros_real": (0.0, 0.0),
            "zeros_imag": (0.0, 0.0),
            "normalization_frequency": 0.02,
            "generator_constant": 1500.0,
            "digitizer_gain": 1677850.0,
            "rate": 100.0,
            "self_noise_asd": 5e-10,
        },
        citation=(
            "Streckeisen STS-2 (120 s, generation 1) nominal response of the IRIS NRL as written "
            "in the BW.RJOB StationXML of ObsPy (shared datasets/gravity/seismometer_obspy/"
            "BW_RJOB.xml: poles -0.037004 +/- 0.037016i, -251.33, -131.04 +/- 467.29i rad/s, 2 "
            "zeros at 0, A0 = 6.0077e7 (the file says at 1 Hz; it is the A0 of 0.02 Hz, where "
            "the file states the sensitivity), 1500 V/(m/s), digitizer 1677850 counts/V, "
            "total 2.5168e9 counts/(m/s) at 0.02 Hz); self-noise: of order the Peterson (1993) "
            "NLNM minimum (-185 dB re 1 (m/s2)2/Hz), below which the STS-2 stays from ~0.01 "
            "to 10 Hz (Ringler & Hutt, SRL 81(6), 972 (2010); flat approximation, check "
            "against the paper)"
        ),
        description=(
            "Streckeisen STS-2 broadband seismometer, vertical, on a 24-bit digitizer at 100 Hz: "
            "flat velocity response 2.5168e9 counts/(m/s) from 1/120 Hz to ~40 Hz; self-noise "
            "taken as white acceleration 5e-10 m s-2/sqrt(Hz)."
        ),
    ),
    Preset(
        "geophone",
        {
            "poles_real": _GEO_RE,
            "poles_imag": _GEO_IM,
            "zeros_real": (0.0, 0.0),
            "zeros_imag": (0.0, 0.0),
            "normalization_frequency": 50.0,
            "generator_constant": 28.2,
            "digitizer_gain": 1.0,
            "rate": 200.0,
            "self_noise_asd": 2.5e-9,
        },
        citation=(
            "4.5 Hz geophone, damping 0.707: measured LGT-4.5 transduction 0.282 V/(cm/s) at "
            "damping 0.707, coil 381-383 ohm (seismicnet.com/geophone/lgt45_testing.html); "
            "response G s^2/(s^2 + 2 h w0 s + w0^2) (Havskov & Alguacil 2016, ch. 2); "
            "self-noise: the coil's Johnson noise sqrt(4 k T R) = 2.5 nV/sqrt(Hz) (380 ohm, "
            "300 K) over 28.2 V/(m/s), referred to acceleration at the 4.5 Hz corner"
        ),
        description=(
            "4.5 Hz moving-coil geophone, shunt-damped to 0.707, read in volts (digitizer_gain "
            "1) at 200 Hz; 28.2 V/(m/s) above the corner. Self-noise white 2.5e-9 m s-2/sqrt(Hz) "
            "(valid near the corner; the real one rises as f^-2 below it and as f above it)."
        ),
    ),
)


def _complex(real: tuple, imag: tuple) -> np.ndarray:
    return np.asarray(real, dtype=np.float64) + 1j * np.asarray(imag, dtype=np.float64)


def _conjugate_closed(roots: np.ndarray) -> bool:
    """Whether ``roots`` is its own complex conjugate as a multiset (a real response)."""
    left = np.sort_complex(roots)
    right = np.sort_complex(np.conj(roots))
    scale = max(1.0, float(np.max(np.abs(roots)))) if roots.size else 1.0
    return bool(np.all(np.abs(left - right) <= 1e-9 * scale))


def _check_band(band: Any) -> tuple[float, float] | None:
    if band is None:
        return None
    if isinstance(band, str | bytes) or np.ndim(band) != 1 or len(band) != 2:
        raise TypeError(f"band must be None or (f_low, f_high) in Hz, got {band!r}")
    low = positive_float("band[0]", band[0], allow_zero=True)
    high = positive_float("band[1]", band[1])
    if not low < high:
        raise ValueError(f"band must have f_low < f_high (Hz), got {band!r}")
    return low, high


def _band_taper(f: np.ndarray, band: tuple[float, float] | None) -> np.ndarray:
    """Raised-cosine pass band: 1 inside, 0 an octave outside (``band`` checked)."""
    if band is None:
        return np.ones_like(f)
    low, high = band
    out = np.ones_like(f)
    if low > 0:
        below = f < low
        x = np.clip((f[below] - low / 2) / (low / 2), 0.0, 1.0)
        out[below] = 0.5 * (1.0 - np.cos(np.pi * x))
    above = f > high
    x = np.clip((f[above] - high) / high, 0.0, 1.0)
    out[above] = 0.5 * (1.0 + np.cos(np.pi * x))
    return out


@dataclass(frozen=True, kw_only=True)
class Seismometer(SensorModel):
    """A seismometer with a poles-and-zeros velocity response and a digitizer.

    Parameters
    ----------
    poles_real, poles_imag : sequence of float
        Real and imaginary parts of the poles in rad/s (Laplace, as in StationXML
        ``LAPLACE (RADIANS/SECOND)``); real parts < 0 (a stable sensor), complex poles in
        conjugate pairs.
    zeros_real, zeros_imag : sequence of float
        The zeros likewise (conjugate pairs; a velocity sensor has two at 0).
    normalization_frequency : float
        Frequency in Hz where ``|A0 prod(s - z) / prod(s - p)| = 1`` (> 0).
    generator_constant : float
        Sensor gain in V/(m/s) at the normalization frequency (> 0).
    digitizer_gain : float
        Digitizer gain in counts/V (> 0); 1 gives the channel in volts.
    rate : float
        Sample rate of the channel in Hz (> 0).
    self_noise_asd : float
        Self-noise as a white equivalent ground acceleration, one-sided ASD in
        m s-2 Hz-1/2 (>= 0); added to the ground acceleration before the response.
    discretization : {"bilinear", "zoh"}
        How the analog response becomes the digital filter of :meth:`simulate`:
        the bilinear (Tustin) transform (default; for sampled ground motion), or the
        zero-order hold (exact when the acceleration is constant over each sample).

    Notes
    -----
    ``simulate`` returns ``counts`` (the recorded channel, float digitizer counts, not
    rounded; ``units = "count"``), ``truth`` (the environment's ``acceleration``
    driver, m s-2) and ``self_noise`` (m s-2): ``counts`` is the response to
    ``truth + self_noise``. The acceleration-to-counts response is ``H(s)/s`` (one zero
    at 0 is cancelled; without one, a pole at 0 is added: an integrator). It is
    discretized at ``rate`` (the filter starts at rest), by default with the bilinear
    transform (scipy.signal.bilinear_zpk, no prewarping), whose digital response at ``f``
    is the analog one at ``(rate / pi) tan(pi f / rate)``: 0.8 % in frequency at
    ``f = rate / 20`` (hence in amplitude on the flat-velocity band, where the
    acceleration response goes as 1/f), 0.03 % at ``rate / 100``. Poles above the
    Nyquist frequency (the STS-2's 40 and 79 Hz at 100 Hz) are folded in by the
    transform, so only the band well below ``rate / 2`` is faithful.

    Examples
    --------
    >>> sts2 = Seismometer.preset("sts2")
    >>> round(float(abs(sts2.response(0.02)) / (1500 * 1677850)), 9)
    1.0
    """

    measured: ClassVar[str] = "counts"
    quantity: ClassVar[str] = "acceleration"
    PRESETS: ClassVar[tuple[Preset, ...]] = _PRESETS

    poles_real: tuple = parameter(unit="rad s-1", kind="vector", doc="pole real parts")
    poles_imag: tuple = parameter(unit="rad s-1", kind="vector", doc="pole imaginary parts")
    zeros_real: tuple = parameter((), unit="rad s-1", kind="vector", doc="zero real parts")
    zeros_imag: tuple = parameter((), unit="rad s-1", kind="vector", doc="zero imaginary parts")
    normalization_frequency: float = parameter(
        1.0, unit="Hz", minimum=0.0, open_minimum=True, doc="where |A0 H| = 1"
    )
    generator_constant: float = parameter(
        unit="V s m-1", minimum=0.0, open_minimum=True, doc="sensor gain"
    )
    digitizer_gain: float = parameter(
        1.0, unit="count V-1", minimum=0.0, open_minimum=True, doc="digitizer gain"
    )
    rate: float = parameter(unit="Hz", minimum=0.0, open_minimum=True, doc="sample rate")
    self_noise_asd: float = parameter(
        0.0, unit="m s-2 Hz-1/2", minimum=0.0, doc="white self-noise in ground acceleration"
    )
    discretization: str = parameter(
        "bilinear",
        unit="1",
        kind="choice",
        options=("bilinear", "zoh"),
        doc="discretization of the response",
    )

    def _check(self) -> None:
        for a, b in (("poles_real", "poles_imag"), ("zeros_real", "zeros_imag")):
            if len(getattr(self, a)) != len(getattr(self, b)):
                raise ValueError(
                    f"Seismometer: {a} and {b} must have the same length, got "
                    f"{len(getattr(self, a))} and {len(getattr(self, b))}"
                )
        if not self.poles_real:
            raise ValueError("Seismometer: poles_real must hold at least one pole, got ()")
        if any(re >= 0.0 for re in self.poles_real):
            raise ValueError(
                "Seismometer: poles_real must all be < 0 rad/s (a stable sensor), got "
                f"{self.poles_real!r}"
            )
        if len(self.zeros_real) > len(self.poles_real):
            raise ValueError(
                f"Seismometer: zeros_real must not outnumber the poles, got "
                f"{len(self.zeros_real)} zeros and {len(self.poles_real)} poles"
            )
        for name, roots in (("poles", self.poles), ("zeros", self.zeros)):
            if not _conjugate_closed(roots):
                raise ValueError(
                    f"Seismometer: {name}_imag must come in complex-conjugate pairs (a real "
                    f"sensor), got {name} {roots!r}"
                )
        shape = self._shape(np.array([self.normalization_frequency]))[0]
        if not (np.isfinite(shape) and abs(shape) > 0.0):
            raise ValueError(
                "Seismometer: normalization_frequency must not fall on a zero or pole, got "
                f"{self.normalization_frequency!r} Hz"
            )

    # -- the response
    @property
    def poles(self) -> np.ndarray:
        """The poles in rad/s (complex)."""
        return _complex(self.poles_real, self.poles_imag)

    @property
    def zeros(self) -> np.ndarray:
        """The zeros in rad/s (complex)."""
        return _complex(self.zeros_real, self.zeros_imag)

    def _shape(self, f: np.ndarray) -> np.ndarray:
        s = 2j * np.pi * f
        num = np.ones(f.shape, dtype=np.complex128)
        den = np.ones(f.shape, dtype=np.complex128)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for zero in self.zeros:
                num *= s - zero
            for pole in self.poles:
                den *= s - pole
            num /= den
        return num

    @property
    def a0(self) -> float:
        """Normalization factor A0 (units rad/s to the power #poles - #zeros)."""
        return float(1.0 / abs(self._shape(np.array([self.normalization_frequency]))[0]))

    @property
    def sensitivity(self) -> float:
        """Overall sensitivity at the normalization frequency in counts/(m/s)."""
        return self.generator_constant * self.digitizer_gain

    def response(
        self, frequency: Any, *, input: Literal["velocity", "acceleration"] = "velocity"
    ) -> np.ndarray:
        """Complex response of the recorded channel at ``frequency``.

        Parameters
        ----------
        frequency : float or array-like of float
            Frequencies in Hz (finite, >= 0).
        input : {"velocity", "acceleration"}
            Ground quantity the response is per: counts per (m/s) (SEED convention) or
            counts per (m s-2) (``H / (2 pi i f)``).

        Returns
        -------
        numpy.ndarray of complex128, the shape of ``frequency``
            ``A0 G D prod(s - z) / prod(s - p)`` at ``s = 2 pi i f``; the acceleration
            response at 0 Hz is 0 with a zero at 0 left after the division, else inf.
        """
        choice("input", input, ("velocity", "acceleration"))
        if isinstance(frequency, bool):
            raise TypeError(f"frequency must be real numbers in Hz, got {frequency!r}")
        f = real_array("frequency", frequency)
        if not np.all(np.isfinite(f) & (f >= 0)):
            raise ValueError(f"frequency must be finite and >= 0 Hz, got {frequency!r}")
        flat = f.reshape(-1)
        h = self.a0 * self.sensitivity * self._shape(flat)
        if input == "acceleration":
            with np.errstate(divide="ignore", invalid="ignore"):
                h = h / (2j * np.pi * flat)
            at_zero = flat == 0
            if np.any(at_zero):
                h[at_zero] = 0.0 if self._zero_at_origin() else complex(np.inf, 0.0)
        return h.reshape(f.shape)

    def _zero_at_origin(self) -> bool:
        return bool(np.any(self.zeros == 0))

    def _acceleration_zpk(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Analog zeros, poles and gain of counts per (m s-2)."""
        zeros, poles = self.zeros, self.poles
        if self._zero_at_origin():
            k = int(np.flatnonzero(zeros == 0)[0])
            zeros = np.delete(zeros, k)
        else:
            poles = np.append(poles, 0.0)
        return zeros, poles, self.a0 * self.sensitivity

    def sos(self) -> np.ndarray:
        """The discretization at :attr:`rate` of the acceleration response.

        Returns
        -------
        numpy.ndarray, shape (sections, 6)
            Second-order sections (scipy.signal's layout) taking ground acceleration in
            m s-2 to counts: the bilinear transform (scipy.signal.bilinear_zpk), or with
            ``discretization="zoh"`` the zero-order hold (poles ``exp(p T)``, zeros and
            gain from the exactly discretized state space ``expm`` of
            ``[[A T, B T], [0, 0]]``; one pure delay section per pole beyond the zeros).
        """
        z, p, k = self._acceleration_zpk()
        if self.discretization == "bilinear":
            zd, pd, kd = scipy.signal.bilinear_zpk(z, p, k, self.rate)
            return scipy.signal.zpk2sos(zd, pd, kd)
        a, b, c, _ = scipy.signal.zpk2ss(z, p, k)  # strictly proper: D = 0
        order = a.shape[0]
        block = np.zeros((order + 1, order + 1))
        block[:order, :order] = a / self.rate
        block[:order, order:] = b / self.rate
        exp = scipy.linalg.expm(block)
        ad, bd = exp[:order, :order], exp[:order, order:]
        # SISO transfer function: C (zI - Ad)^-1 Bd = (poly(Ad - Bd C) - poly(Ad)) / poly(Ad)
        num = (np.poly(ad - bd @ c) - np.poly(ad))[1:]  # the leading terms cancel exactly
        first = int(np.flatnonzero(np.abs(num) > 0)[0])
        num = num[first:]
        zd = np.roots(num)
        pd = np.exp(p / self.rate)
        sos = scipy.signal.zpk2sos(zd, pd, float(num[0]))
        delays = np.tile([0.0, 1.0, 0.0, 1.0, 0.0, 0.0], (pd.size - zd.size, 1))
        return np.vstack([sos, delays])

    # -- simulate
    def simulate(
        self,
        duration: Any,
        *,
        seed: Seed = None,
        start: Any = None,
        environment: xr.Dataset | None = None,
        chunk_samples: int = CHUNK_SAMPLES,
    ) -> xr.Dataset:
        """Record ``duration`` seconds of the environment's ground acceleration.

        Parameters
        ----------
        duration : float or numpy.timedelta64
            Length in s (at least 2 samples at :attr:`rate`).
        seed : int >= 0, numpy.random.SeedSequence or None
            Root seed; one child for the self-noise.
        start : datetime-like, optional
            UTC time of the first sample.
        environment : xarray.Dataset
            Must hold ``acceleration`` (vertical ground acceleration, m s-2) covering the
            simulation, linearly interpolated to the channel's samples.
        chunk_samples : int
            Samples filtered per step (the filter state is carried); the result does
            not depend on it.

        Returns
        -------
        xarray.Dataset
            ``counts`` (units ``count``), ``truth`` (ground acceleration, m s-2) and
            ``self_noise`` (m s-2); see the class Notes.
        """
        n = samples_in(duration, self.rate)
        chunk = positive_int("chunk_samples", chunk_samples)
        t0 = start_time(start)
        ss = seed_sequence(seed)
        (noise_ss,) = spawn(ss, 1)
        times = time_grid(n, self.rate, t0)
        truth = environment_driver(
            environment, "acceleration", times, quantity="acceleration", required=True
        )
        assert truth is not None  # required=True
        sigma = self.self_noise_asd * math.sqrt(self.rate / 2.0)
        rng = generator(noise_ss)
        noise = np.empty(n)
        counts = np.empty(n)
        sos = self.sos()
        zi = np.zeros((sos.shape[0], 2))
        for i in range(0, n, chunk):
            j = min(n, i + chunk)
            noise[i:j] = sigma * rng.standard_normal(j - i)
            counts[i:j], zi = scipy.signal.sosfilt(sos, truth[i:j] + noise[i:j], zi=zi)
        ds = simulation_dataset(
            self,
            rate=self.rate,
            start=t0,
            measured=counts,
            truth=truth,
            terms={"self_noise": noise},
            seed=ss,
            duration=duration,
            attrs={
                "a0": self.a0,
                "discretization": f"{self.discretization}, filter at rest at start",
            },
        )
        ds["counts"].attrs = dict(_COUNTS_ATTRS)
        ds["truth"].attrs["long_name"] = "true vertical ground acceleration"
        return ds

    # -- inversion
    def to_acceleration(
        self,
        data: Any,
        rate: float | None = None,
        *,
        water_level_db: float = 60.0,
        response: Literal["analog", "digital"] = "analog",
        band: tuple[float, float] | None = None,
    ) -> Any:
        """Ground acceleration from a recorded channel (deconvolution with a water level).

        Parameters
        ----------
        data : xarray.DataArray or array-like, shape (n,)
            The channel in counts (no gaps: fill or cut them first), n >= 2.
        rate : float, optional
            Sample rate in Hz (required for a plain array).
        water_level_db : float
            Water level in dB below the largest velocity response ``|H|`` over the
            record's frequencies
            (> 0; ObsPy's convention, default 60): where ``|H|`` is lower, it is raised
            to that level (phase kept) before dividing, so bands the sensor does not
            see (DC, far below the corner) are not blown up.
        response : {"analog", "digital"}
            Divide by the analog response (a real record) or by this model's bilinear
            discretization (exact inverse of :meth:`simulate`; needs ``rate`` equal to
            :attr:`rate`).
        band : (float, float), optional
            Pass band ``(f_low, f_high)`` in Hz, ``0 <= f_low < f_high``: the result is
            tapered to 0 by a raised cosine over the octave below ``f_low`` (none when
            ``f_low = 0``) and the octave above ``f_high``. Recommended with
            ``response="digital"``, whose response vanishes at the Nyquist frequency
            (bilinear zeros at z = -1), where rounding noise would be raised to the
            water level. None: no band limit.

        Returns
        -------
        xarray.DataArray or numpy.ndarray, shape (n,)
            Ground acceleration in m s-2, a DataArray on the same time coordinate when
            ``data`` is one.

        Notes
        -----
        The mean is removed (a velocity sensor does not see DC), the record is
        zero-padded to at least twice its length (scipy.fft.next_fast_len) against
        circular wrap-around, divided in the frequency domain by the velocity response
        ``H(f)`` (counts per m/s) with the water level applied to it (so the flat band
        sets the level, as in ObsPy's ``remove_response`` to velocity), multiplied by
        ``2 pi i f`` (velocity to acceleration), transformed back and cut to ``n``.
        No taper is applied: the first and last few corner periods carry the start-up
        transient.
        """
        choice("response", response, ("analog", "digital"))
        if isinstance(water_level_db, bool):
            raise TypeError(f"water_level_db must be a number in dB, got {water_level_db!r}")
        level_db = positive_float("water_level_db", water_level_db)
        x, r = as_series(data, rate, name="data", allow_nan=False, min_length=2)
        band = _check_band(band)
        if response == "digital" and abs(r - self.rate) > GRID_RTOL * self.rate:
            raise ValueError(
                f"rate must be the model's rate {self.rate!r} Hz for response='digital', "
                f"got {r!r} Hz"
            )
        n = x.size
        nfft = scipy.fft.next_fast_len(2 * n, real=True)
        spectrum = scipy.fft.rfft(x - x.mean(), nfft)
        freqs = scipy.fft.rfftfreq(nfft, 1.0 / r)
        omega = 2j * np.pi * freqs
        if response == "analog":
            h = self.response(freqs)  # counts per (m/s)
        else:
            _, h = scipy.signal.sosfreqz(self.sos(), worN=freqs, fs=r)
            h = h * omega  # counts per (m s-2) times i omega
        mag = np.abs(h)
        level = np.max(mag) * 10.0 ** (-level_db / 20.0)
        low = mag < level  # raised to the level, phase kept (a zero: phase 0)
        h[low] = np.where(mag[low] > 0, h[low] * (level / np.maximum(mag[low], 1e-300)), level)
        inverse = omega / h
        if band is not None:
            inverse *= _band_taper(freqs, band)
        out = scipy.fft.irfft(spectrum * inverse, nfft)[:n]
        if isinstance(data, xr.DataArray):
            attrs = quantity_attrs("acceleration", long_name="ground acceleration")
            attrs["sample_rate"] = r
            return xr.DataArray(out, dims=("time",), coords=data.coords, attrs=attrs)
        return out

    # -- noise budget
    def noise_budget(self, tau: Any = None, frequency: Any = None) -> xr.Dataset:
        """The self-noise in ground acceleration: ASD and Allan deviation.

        Parameters
        ----------
        tau : float or array-like of float, optional
            Averaging times in s (> 0).
        frequency : float or array-like of float, optional
            Fourier frequencies in Hz (> 0).

        Returns
        -------
        xarray.Dataset
            Term ``self_noise`` (ASD ``self_noise_asd``; Allan deviation
            ``self_noise_asd / sqrt(2 tau)``) and ``total``, m s-2.
        """
        asd = self.self_noise_asd
        return budget_dataset(
            self,
            tau=tau,
            frequency=frequency,
            adev=None if tau is None else {"self_noise": lambda t: asd / np.sqrt(2.0 * t)},
            asd=None if frequency is None else {"self_noise": asd},
            references={
                "self_noise": (
                    "white acceleration noise of one-sided PSD S: Allan variance S / (2 tau) "
                    "(NIST SP 1065 (2008) sec. 5.2); level from the preset's citation"
                )
            },
        )
