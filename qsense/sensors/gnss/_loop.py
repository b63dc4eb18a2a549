"""Linear algebra of the locked steering loops: state space, Kalman gain, frequency axis."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

__all__ = ["frequencies", "kalman_gain", "state_space"]


def state_space(method: str, setup: dict[str, Any], rate: float) -> tuple[np.ndarray, ...]:
    """``(A, B, C, D)`` of the locked loop: ``s' = A s + B u``, ``y = C s + D u``.

    ``u`` = (free-running frequency, pulse time error); ``y`` the steered frequency.
    PI state: (time error, integrator before the update); Kalman state: (time error,
    predicted time error, predicted free frequency), at the steady-state gain.
    """
    step = 1.0 / rate
    if method == "pi":
        g = setup["kp"] + setup["ki"] * step  # c = -g m - I (I: integrator before)
        a = np.array([[1.0 - step * g, -step], [setup["ki"] * step, 1.0]])
        b = np.array([[step, -step * g], [0.0, setup["ki"] * step]])
        return a, b, np.array([-g, -1.0]), np.array([1.0, -g])
    k0, k1 = kalman_gain(setup, step)
    gain = 1.0 / setup["time_constant"]
    # rows over [x, x_hat, y_hat, free, pulse]: the updated estimates and c
    xh = np.array([k0, 1.0 - k0, 0.0, 0.0, k0])
    yh = np.array([k1, -k1, 1.0, 0.0, k1])
    c = -(yh + gain * xh)
    x_next = np.array([1.0, 0.0, 0.0, step, 0.0]) + step * c
    full = np.vstack([x_next, (1.0 - step * gain) * xh, yh])
    out = np.array([0.0, 0.0, 0.0, 1.0, 0.0]) + c
    return full[:, :3], full[:, 3:], out[:3], out[3:]


def frequencies(frequency: Any, rate: float) -> np.ndarray:
    """``frequency`` as a 1-D float array in (0, rate / 2] Hz, or an error naming it."""
    if isinstance(frequency, str | bytes | bool | xr.Dataset) or np.iscomplexobj(frequency):
        raise TypeError(f"frequency must be real numbers in Hz, got {frequency!r}")
    try:
        f = np.atleast_1d(np.asarray(frequency, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"frequency must be numeric, got {frequency!r}") from None
    if f.ndim != 1 or f.size == 0 or not np.all(np.isfinite(f) & (f > 0) & (f <= rate / 2)):
        raise ValueError(
            f"frequency must be a non-empty 1-D array of values in (0, rate / 2 = "
            f"{rate / 2!r}] Hz, got {frequency!r}"
        )
    return f


def kalman_gain(setup: dict[str, Any], step: float) -> tuple[float, float]:
    """Steady-state Kalman gain of the two-state clock filter (Riccati iteration)."""
    q00, q01, q11, r = setup["q00"], setup["q01"], setup["q11"], setup["r"]
    p00, p01, p11 = r, 0.0, 3.0 * r / setup["time_constant"] ** 2
    k0 = k1 = 0.0
    for _ in range(200000):
        s = p00 + r
        n0, n1 = p00 / s, p01 / s
        converged = abs(n0 - k0) <= 1e-13 * abs(n0) and abs(n1 - k1) <= 1e-13 * abs(n1)
        k0, k1 = n0, n1
        if converged:
            break
        p11 -= k1 * p01
        p01 -= k0 * p01
        p00 -= k0 * p00
        p00 += step * (2.0 * p01 + step * p11) + q00
        p01 += step * p11 + q01
        p11 += q11
    return k0, k1
