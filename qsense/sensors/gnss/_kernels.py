"""numba kernels of :class:`qsense.sensors.gnss.DisciplinedOscillator`: the steering loops.

Each kernel runs one chunk of the loop over explicit state passed in and updated in
place, so a long run goes chunk by chunk with the same result as one call. Kernels never
raise. The slow references are in tests/sensors/test_gnss.py.
"""

from __future__ import annotations

from qsense._numba import kernel

__all__ = ["kalman_loop", "pi_loop"]

# State layouts (float64 arrays), shared with the Python side:
#: PI loop: time error x (s), integrator (1), steering c (1), running mean of c (1).
PI_STATE = 4
#: Kalman loop: x (s), estimated x (s), estimated free frequency (1), covariance P00
#: (s**2), P01 (s), P11 (1), steering c (1).
KALMAN_STATE = 7


@kernel
def pi_loop(  # pragma: no cover - numba
    free, pps, available, step, kp, ki, smooth, state, freq, phase
):
    """Proportional-integral steering of an oscillator to a 1PPS reference.

    For each sample ``k`` (``step = 1 / rate`` in s)::

        phase[k] = x                             time error before the update (s)
        if available[k]:
            m = x + pps[k]                       measured time error (s)
            integ += ki * step * m
            c = -(kp * m + integ)                steering (fractional frequency)
            mean += smooth * (c - mean)          its running mean
        else:                                    holdover: the running mean of the
            c = mean                             steering (the loop's frequency) is held
        freq[k] = free[k] + c
        x += freq[k] * step

    ``kp`` in 1/s, ``ki`` in 1/s**2, ``smooth`` (0 < smooth <= 1) the weight of the
    exponential running mean; ``state = [x, integ, c, mean]`` is read at entry and
    written back at exit.
    """
    x = state[0]
    integ = state[1]
    c = state[2]
    mean = state[3]
    for k in range(free.size):
        phase[k] = x
        if available[k]:
            m = x + pps[k]
            integ += ki * step * m
            c = -(kp * m + integ)
            mean += smooth * (c - mean)
        else:
            c = mean
        y = free[k] + c
        freq[k] = y
        x += y * step
    state[0] = x
    state[1] = integ
    state[2] = c
    state[3] = mean


@kernel
def kalman_loop(  # pragma: no cover - numba
    free, pps, available, step, q00, q01, q11, r, gain, state, freq, phase
):
    """Kalman-filter steering: estimate (time error, free frequency), steer both out.

    The filter's model is the two-state clock (:func:`clock_process_noise`): ``x[k+1] =
    x[k] + step (y[k] + c[k])``, ``y[k+1] = y[k] + w``, with ``Q = [[q00, q01], [q01,
    q11]]`` and the measurement ``m = x + pps`` of variance ``r``. For each sample::

        phase[k] = x
        if available[k]: Kalman update of (xh, yh, P) with m = x + pps[k]
                         c = -(yh + gain * xh)       (gain in 1/s)
        else: c = -yh                                holdover: the frequency estimate
        freq[k] = free[k] + c
        x += freq[k] * step
        predict: xh += step (yh + c); P = F P F' + Q

    ``state = [x, xh, yh, P00, P01, P11, c]``, read at entry and written back at exit.
    """
    x = state[0]
    xh = state[1]
    yh = state[2]
    p00 = state[3]
    p01 = state[4]
    p11 = state[5]
    c = state[6]
    for k in range(free.size):
        phase[k] = x
        if available[k]:
            innov = x + pps[k] - xh
            s = p00 + r
            k0 = p00 / s
            k1 = p01 / s
            xh += k0 * innov
            yh += k1 * innov
            p11 -= k1 * p01
            p01 -= k0 * p01
            p00 -= k0 * p00
            c = -(yh + gain * xh)
        else:
            c = -yh
        y = free[k] + c
        freq[k] = y
        x += y * step
        xh += step * (yh + c)
        p00 += step * (2.0 * p01 + step * p11) + q00
        p01 += step * p11 + q01
        p11 += q11
    state[0] = x
    state[1] = xh
    state[2] = yh
    state[3] = p00
    state[4] = p01
    state[5] = p11
    state[6] = c
