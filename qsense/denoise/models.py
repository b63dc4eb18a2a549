"""Ready-made state-space models: local level, local linear trend, atomic clock.

The clock's process noise (the h_alpha relations ``q1 = h_0 / 2``, ``q2 = 2 pi^2 h_-2``)
is :func:`qsense.sensors.classical.clock_process_noise`; ``clock_q`` is that function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qsense._validate import positive_float
from qsense.denoise.kalman import StateSpace
from qsense.sensors.classical import clock_process_noise

#: The clock model's process noise, kept under its old name (it lives in
#: :mod:`qsense.sensors.classical`, the clock room, since issue 10).
clock_q = clock_process_noise

__all__ = ["clock_model", "clock_q", "local_level", "local_linear_trend"]


def local_level(q: float, r: float, *, x0: Any = None, P0: Any = None) -> StateSpace:
    """Local-level (random walk plus noise) model.

    ``level[t] = level[t-1] + w``, ``w ~ N(0, q)``; ``y[t] = level[t] + v``, ``v ~ N(0, r)``
    (Harvey 1989, sec. 2.3.1).

    Parameters
    ----------
    q : float
        Level random-walk variance per step (>= 0), in measurement units squared.
    r : float
        Measurement-noise variance (> 0), in measurement units squared.
    x0 : array_like, shape (1,), optional
        Prior mean of the level at the first sample (see :class:`StateSpace`).
    P0 : array_like, shape (1, 1), optional
        Prior covariance of the level at the first sample, measurement units squared.

    Returns
    -------
    StateSpace
        One state (``level``), one measurement.

    Examples
    --------
    >>> local_level(0.1, 1.0).n_states
    1
    """
    q = positive_float("q", q, allow_zero=True)
    r = positive_float("r", r)
    return StateSpace([[1.0]], [[1.0]], [[q]], [[r]], x0, P0, state_names=["level"])


def local_linear_trend(
    q_level: float, q_slope: float, r: float, *, x0: Any = None, P0: Any = None
) -> StateSpace:
    """Local linear trend model (Harvey 1989, sec. 2.3.2).

    ``level[t] = level[t-1] + slope[t-1] + w1``, ``slope[t] = slope[t-1] + w2``,
    ``y[t] = level[t] + v``; ``w1 ~ N(0, q_level)``, ``w2 ~ N(0, q_slope)``,
    ``v ~ N(0, r)``, all per step.

    Parameters
    ----------
    q_level : float
        Level disturbance variance per step (>= 0), measurement units squared.
    q_slope : float
        Slope disturbance variance per step (>= 0), (measurement units per step) squared.
    r : float
        Measurement-noise variance (> 0), measurement units squared.
    x0 : array_like, shape (2,), optional
        Prior mean of (level, slope) at the first sample (see :class:`StateSpace`).
    P0 : array_like, shape (2, 2), optional
        Prior covariance of (level, slope) at the first sample.

    Returns
    -------
    StateSpace
        States ``level`` and ``slope`` (per step), one measurement.

    Examples
    --------
    >>> local_linear_trend(0.0, 1e-4, 1.0).state_names
    ['level', 'slope']
    """
    q1 = positive_float("q_level", q_level, allow_zero=True)
    q2 = positive_float("q_slope", q_slope, allow_zero=True)
    r = positive_float("r", r)
    F = [[1.0, 1.0], [0.0, 1.0]]
    return StateSpace(
        F, [[1.0, 0.0]], np.diag([q1, q2]), [[r]], x0, P0, state_names=["level", "slope"]
    )


def clock_model(
    h0: float,
    hm2: float,
    tau0: float,
    *,
    r: float | None = None,
    q3: float = 0.0,
    drift: bool = False,
    x0: Any = None,
    P0: Any = None,
) -> StateSpace:
    """Atomic-clock state-space model (phase, frequency[, drift]) observed through phase.

    Parameters
    ----------
    h0 : float
        White-FM level h_0 (s), >= 0.
    hm2 : float
        Random-walk-FM level h_-2 (1/s), >= 0.
    tau0 : float
        Sampling interval in s (> 0); ``1 / rate``.
    r : float, optional
        Phase measurement-noise variance in s^2 (white PM, > 0). Default
        ``1e-3 * Q[0, 0]``, small against the white-FM phase step.
    q3 : float
        Random-run diffusion coefficient (s^-3) of the drift state; needs
        ``drift=True``.
    drift : bool
        Add a linear-frequency-drift state (1/s).
    x0 : array_like, shape (2,) or (3,), optional
        Prior mean of the state at the first sample (s, 1[, 1/s]; see
        :class:`StateSpace`).
    P0 : array_like, shape (2, 2) or (3, 3), optional
        Prior covariance of the state at the first sample, in the state units squared.

    Returns
    -------
    StateSpace
        States ``phase`` (s), ``freq`` (fractional) [, ``drift`` (1/s)], transition
        ``F = [[1, tau0, tau0^2/2], [0, 1, tau0], [0, 0, 1]]`` and ``Q`` of
        :func:`qsense.sensors.classical.clock_process_noise`; measurement ``H = [1, 0(, 0)]``.

    Notes
    -----
    Zucca & Tavella (2005), IEEE Trans. UFFC 52(2), eqs. for the 3-state clock; see
    :func:`qsense.sensors.classical.clock_process_noise` for the h_alpha relations
    ``q1 = h_0 / 2``, ``q2 = 2 pi^2 h_-2``.
    A flicker-FM component (h_-1) has no finite-dimensional exact model and is not
    represented.

    Examples
    --------
    >>> m = clock_model(1e-22, 1e-28, 1.0, r=1e-24)
    >>> m.state_names
    ['phase', 'freq']
    """
    tau0 = positive_float("tau0", tau0)
    Q = clock_process_noise(h0, hm2, tau0, q3=q3, drift=drift)
    if r is None:
        r = 1e-3 * Q[0, 0]
    r = positive_float("r", r)
    F = np.array([[1.0, tau0, tau0**2 / 2], [0.0, 1.0, tau0], [0.0, 0.0, 1.0]])
    names = ["phase", "freq", "drift"]
    k = 3 if drift else 2
    H = np.zeros((1, k))
    H[0, 0] = 1.0
    return StateSpace(F[:k, :k], H, Q, [[r]], x0, P0, state_names=names[:k])
