"""numba kernel of the NV magnetometer's time loop (:class:`~qsense.sensors.nv.NVMagnetometer`).

One call runs ``n`` output samples of a CW-ODMR lock over explicit state, so a long run
is the same in one call or many: the servo frequencies are read from ``state`` at the
start and written back at the end, and the photon counts come from the caller's
``numpy.random.Generator``, which numba advances in place (the same stream numpy gives).

Each output sample holds ``blocks`` modulation blocks of four sub-steps of ``dt``
seconds. Line ``i`` (of ``lines``, 1 or 2) is driven at ``fc_i + w_i[j] * depth`` in
sub-step ``j`` with the Walsh patterns ``w_0 = (+, -, +, -)``, ``w_1 = (+, +, -, -)``
(the two tones are square-wave frequency modulated at ``1 / (2 dt)`` and ``1 / (4 dt)``;
the patterns are orthogonal, so each line's demodulation cancels the other's dip
exactly). The detected counts of sub-step ``j`` are Poisson with mean
``R dt (1 - C sum_i L(fc_i + w_i[j] depth - f0_i))``, ``L(x) = h^2 / (x^2 + h^2)``,
``h = linewidth / 2``, and ``f0_i`` the line's true offset from its reference frequency;
from a mean of :data:`GAUSSIAN_FROM` counts up, the Poisson draw is replaced by its
normal limit ``mean + sqrt(mean) z`` (same mean and variance; skewness ``mean^-1/2 <=
0.3 %``; ten times faster, which is what makes an hour of an ensemble run in seconds).
After each block, line ``i``'s square-wave lock-in output ``sum_j w_i[j] N_j`` is turned
into a frequency error ``x_i = -sum_j w_i[j] N_j / K`` with the calibrated slope
``K = 4 R dt C |L'(depth)|`` (counts per Hz) and the integrator servo moves
``fc_i += gain * x_i``. A noiseless linear copy of the loop, ``lin_i += gain * (f0_i -
lin_i)``, runs beside it (the servo lag without the photon noise).
"""

from __future__ import annotations

import math

from qsense._numba import kernel

__all__ = ["GAUSSIAN_FROM", "STATE_SIZE", "WALSH", "nv_lock"]

#: Mean counts per sub-step from which the photon counts are drawn from the normal limit.
GAUSSIAN_FROM = 1e5

#: Entries of the state array: the servo frequencies ``fc_0, fc_1`` (Hz, offsets from
#: each line's reference frequency), then the noiseless linear loop's ``lin_0, lin_1``.
STATE_SIZE = 4
#: The Walsh modulation patterns of the two lines over a block's four sub-steps.
WALSH = ((1.0, -1.0, 1.0, -1.0), (1.0, 1.0, -1.0, -1.0))


@kernel
def nv_lock(  # pragma: no cover - numba
    f0,
    gen,
    lines,
    blocks,
    counts_per_step,
    contrast,
    half_width,
    depth,
    slope,
    gain,
    capture,
    state,
    out,
):
    """Run ``f0.shape[1]`` output samples of the ODMR lock.

    Parameters
    ----------
    f0 : float64 (2, n)
        True offset (Hz) of each line from its reference frequency, held over each
        output sample (row 1 unused with one line).
    gen : numpy.random.Generator
        Source of the photon counts (advanced in place).
    lines : int
        Lines tracked, 1 or 2.
    blocks : int
        Modulation blocks (four sub-steps each) per output sample.
    counts_per_step : float
        ``R dt``: mean detected photons per sub-step off resonance.
    contrast : float
        Dip depth C of each line.
    half_width : float
        Half width at half maximum of each line (Hz).
    depth : float
        Frequency deviation of the square-wave modulation (Hz).
    slope : float
        ``K = 4 R dt C |L'(depth)|``: lock-in counts per Hz of line offset.
    gain : float
        Integrator gain per block, in (0, 1].
    capture : float
        Offset (Hz) of a servo frequency from its line beyond which the block counts as
        out of lock (the error signal no longer points to the line).
    state : float64 (4,)
        Read and written: ``fc_0, fc_1, lin_0, lin_1`` (Hz).
    out : float64 (4, n)
        Written: the mean over each output sample's blocks of ``fc_0, fc_1, lin_0, lin_1``.

    Returns
    -------
    int
        Blocks in which a servo frequency was more than ``capture`` from its line (NaN
        included): the lock was lost there.
    """
    n = f0.shape[1]
    h2 = half_width * half_width
    fc0 = state[0]
    fc1 = state[1]
    lin0 = state[2]
    lin1 = state[3]
    inv_blocks = 1.0 / blocks
    outside = 0
    for k in range(n):
        t0 = f0[0, k]
        t1 = f0[1, k]
        s_fc0 = 0.0
        s_fc1 = 0.0
        s_lin0 = 0.0
        s_lin1 = 0.0
        for _ in range(blocks):
            s_fc0 += fc0
            s_fc1 += fc1
            s_lin0 += lin0
            s_lin1 += lin1
            if not abs(fc0 - t0) <= capture or (lines == 2 and not abs(fc1 - t1) <= capture):
                outside += 1
            e0 = 0.0
            e1 = 0.0
            for j in range(4):
                w0 = 1.0 if j % 2 == 0 else -1.0
                w1 = 1.0 if j < 2 else -1.0
                x = fc0 + w0 * depth - t0
                dip = h2 / (x * x + h2)
                if lines == 2:
                    x = fc1 + w1 * depth - t1
                    dip += h2 / (x * x + h2)
                mean = counts_per_step * (1.0 - contrast * dip)
                if not mean > 0.0:  # also NaN: no light, no counts
                    mean = 0.0
                if mean >= GAUSSIAN_FROM:
                    counts = mean + math.sqrt(mean) * gen.standard_normal()
                else:
                    counts = float(gen.poisson(mean))
                e0 += w0 * counts
                e1 += w1 * counts
            fc0 -= gain * e0 / slope
            lin0 += gain * (t0 - lin0)
            if lines == 2:
                fc1 -= gain * e1 / slope
                lin1 += gain * (t1 - lin1)
        out[0, k] = s_fc0 * inv_blocks
        out[1, k] = s_fc1 * inv_blocks
        out[2, k] = s_lin0 * inv_blocks
        out[3, k] = s_lin1 * inv_blocks
    state[0] = fc0
    state[1] = fc1
    state[2] = lin0
    state[3] = lin1
    return outside
