"""numba kernel of the atomic clock's time loop (:class:`qsense.sensors.clock.AtomicClock`).

One call runs a block of clock cycles over explicit state, so a long run is the same
whether it is made in one call or many: the state array (the servo's four correction
components and the output phase) is read at the start and written back at the end, and
the random atom counts come from the caller's ``numpy.random.Generator``, which numba
advances in place.
"""

from __future__ import annotations

import math

from qsense._numba import kernel

__all__ = ["STATE_SIZE", "clock_cycles"]

#: Entries of the state array: corrections driven by the LO's cycle mean, by the
#: aliased LO noise (Dick effect), by the reference shifts and by the projection noise
#: (fractional frequency), then the output phase (s).
STATE_SIZE = 5


@kernel
def clock_cycles(  # pragma: no cover - numba
    y, w, ref, gen, atoms, contrast, gain, slope, cycle_time, first, state, out
):
    """Run ``ref.size`` clock cycles.

    Parameters
    ----------
    y : float64 (n, s)
        LO fractional frequency, ``s`` samples per cycle (``s = 0``: an ideal LO).
    w : float64 (s,)
        Weight of each sample in the frequency the atoms measure (sum 1).
    ref : float64 (n,)
        Fractional shift of the atomic reference in each cycle.
    gen : numpy.random.Generator
        Source of the atom counts (advanced in place).
    atoms : int
        Atoms detected per cycle.
    contrast : float
        Ramsey fringe contrast C.
    gain : float
        Servo gain per cycle.
    slope : float
        ``2 pi nu0 T_eff``: Ramsey phase (rad) per unit fractional frequency.
    cycle_time : float
        Cycle time in s.
    first : int
        Index of the first cycle since the start of the run (sets the fringe side).
    state : float64 (5,)
        Read and written: ``[c_lo, c_dick, c_ref, c_qpn, phase]``.
    out : float64 (7, n)
        Written: ``freq, lo, dick, qpn, servo_lag, phase, error``.

    Returns
    -------
    int
        Cycles whose Ramsey phase error lay outside (-pi/2, pi/2), where the fringe
        slope changes sign and the servo pushes the wrong way (lock at risk).
    """
    n = ref.size
    s = y.shape[1]
    c_lo = state[0]
    c_dick = state[1]
    c_ref = state[2]
    c_qpn = state[3]
    phase = state[4]
    inv_s = 1.0 / s if s > 0 else 0.0
    outside = 0
    for k in range(n):
        ybar = 0.0
        wbar = 0.0
        for i in range(s):
            ybar += y[k, i]
            wbar += w[i] * y[k, i]
        ybar *= inv_s
        c = c_lo + c_dick + c_ref + c_qpn
        linear = wbar + c - ref[k]  # frequency error the atoms see
        side = 1.0 if (first + k) % 2 == 0 else -1.0
        phi = slope * linear
        if not abs(phi) < 0.5 * math.pi:  # NaN too: counted, never passed on as p
            outside += 1
        prob = 0.5 * (1.0 - side * contrast * math.sin(phi))
        if not 0.0 <= prob <= 1.0:
            prob = 0.5 if prob != prob else min(max(prob, 0.0), 1.0)
        excited = gen.binomial(atoms, prob)
        error = -side * (2.0 * excited / atoms - 1.0) / (contrast * slope)
        freq = ybar + c
        out[0, k] = freq
        out[1, k] = ybar + c_lo
        out[2, k] = c_dick
        out[3, k] = c_qpn
        out[4, k] = c_ref - ref[k]
        out[5, k] = phase
        out[6, k] = error
        phase += freq * cycle_time
        c_lo -= gain * (ybar + c_lo)
        c_dick -= gain * (wbar - ybar + c_dick)
        c_ref -= gain * (c_ref - ref[k])
        c_qpn -= gain * (error - linear + c_qpn)
    state[0] = c_lo
    state[1] = c_dick
    state[2] = c_ref
    state[3] = c_qpn
    state[4] = phase
    return outside
