"""numba kernels of the cold-atom gravimeter (:class:`qsense.sensors.gravimeter.AtomGravimeter`).

:func:`gravimeter_shots` runs a block of shots over explicit state (the lock's two
integrators, one per k direction, and its fringe-offset estimate), so a run chunked into
blocks equals one call; the atom counts come from the caller's
``numpy.random.Generator``, which numba advances in place. :func:`shot_vibration`
integrates a sampled ground acceleration against the interferometer's acceleration
weight, shot by shot.
"""

from __future__ import annotations

import math

from qsense._numba import kernel

__all__ = ["STATE_SIZE", "gravimeter_shots", "shot_vibration", "weight"]

#: Entries of the state array: lock integrators (m s-2) for +k and -k, the fringe-offset
#: estimate P0_hat, the contrast estimate C_hat.
STATE_SIZE = 4
#: Gain of the fringe-offset estimate per shot (exponential average of the readings).
OFFSET_GAIN = 1.0 / 128.0


@kernel
def weight(u, T, tau, omega_r):  # pragma: no cover - numba
    """Acceleration weight ``w(u)`` (s) at ``u`` s from the middle of the pi pulse."""
    a = abs(u)
    end = T + 2.0 * tau
    if a >= end:
        return 0.0
    if a >= T + tau:
        return (1.0 - math.cos(omega_r * (end - a))) / omega_r
    if a >= tau:
        return (T + tau - a) + 1.0 / omega_r
    return math.cos(omega_r * a) / omega_r + T + 1.0 / omega_r


@kernel
def shot_vibration(t_env, a_env, centers, T, tau, out):  # pragma: no cover - numba
    """``out[k] = integral w(t - centers[k]) a(t) dt`` in m (w in s, a in m s-2, t in s).

    ``a`` is ``a_env`` linearly interpolated on ``t_env`` (s, increasing, covering every
    window ``centers[k] +- (T + 2 tau)``). Each window is cut at the samples of ``t_env``
    and at the breakpoints of ``w`` (0, +-tau, +-(T + tau)); on each piece ``a`` is linear
    and ``w`` linear (free evolution) or a quarter sine wave (pulses), integrated by
    2-point Gauss-Legendre: exact in the free evolution, within (Omega_R tau)**4 / 4320 of
    the pulses' small share. Divided by T**2 this is the vibration in g units.
    """
    omega_r = math.pi / (2.0 * tau)
    half = T + 2.0 * tau
    node = 1.0 / math.sqrt(3.0)
    bps = (-T - tau, -tau, 0.0, tau, T + tau, half)
    m = t_env.size
    i = 0
    for k in range(centers.size):
        c = centers[k]
        x = c - half
        right = c + half
        while i + 2 < m and t_env[i + 1] <= x:
            i += 1
        j = 0
        acc = 0.0
        while x < right:
            nxt_w = c + bps[j]
            nxt_e = t_env[i + 1]
            nxt = nxt_w if nxt_w < nxt_e else nxt_e
            if nxt > x:
                mid = 0.5 * (x + nxt)
                hw = 0.5 * (nxt - x)
                slope = (a_env[i + 1] - a_env[i]) / (t_env[i + 1] - t_env[i])
                for s in (-node, node):
                    t = mid + hw * s
                    acc += hw * weight(t - c, T, tau, omega_r) * (a_env[i] + slope * (t - t_env[i]))
            x = nxt
            if nxt_w <= nxt_e and j < 5:
                j += 1
            elif nxt_w <= nxt_e:
                break
            if nxt_e <= nxt_w:
                if i + 2 < m:
                    i += 1
                else:
                    break
        out[k] = acc


@kernel
def gravimeter_shots(  # pragma: no cover - numba
    g_eff, phi_noise, det, gen, atoms, offset, contrast, scale, k_phase, gain, first, state, out
):
    """Run ``g_eff.size`` shots of the mid-fringe lock with alternating k-reversal.

    Parameters
    ----------
    g_eff : float64 (n,)
        Acceleration the atoms see relative to the reference mirror (m s-2).
    phi_noise : float64 (n,)
        Laser phase noise of each shot as the interferometer sees it (rad).
    det : float64 (n,)
        Detection noise on the measured transition probability (1).
    gen : numpy.random.Generator
        Source of the atom counts (advanced in place).
    atoms : int
        Atoms detected per shot.
    offset, contrast : float
        True fringe ``P = offset - (contrast / 2) cos(Phi)``.
    scale : float
        ``k_eff (T + 2 tau)(T + 4 tau / pi)``: rad per m s-2.
    k_phase : float
        Phase (rad) that does not reverse with k_eff.
    gain : float
        Integrator gain per shot of one k direction.
    first : int
        Index of the first shot since the start of the run: shot ``i`` has k direction
        ``+1`` for even ``i``, and fringe side ``+1`` when ``i // 2`` is even.
    state : float64 (4,)
        Read and written: ``[g_hat(+k), g_hat(-k), P0_hat, C_hat]``.
    out : float64 (7, n)
        Written: ``g, projection, detection, laser_phase, k_bias, lock_error,
        correction`` (m s-2).

    Returns
    -------
    int
        Shots whose phase error lay outside (-pi/2, pi/2), where the fringe slope changes
        sign and the lock pushes the wrong way (lock at risk).
    """
    outside = 0
    inv_n = 1.0 / atoms
    for k in range(g_eff.size):
        idx = first + k
        d = 1.0 if idx % 2 == 0 else -1.0
        side = 1.0 if (idx // 2) % 2 == 0 else -1.0
        slot = 0 if d > 0 else 1
        g_hat = state[slot]
        p0_hat = state[2]
        c_hat = state[3]
        eps = d * scale * (g_eff[k] - g_hat) + k_phase + phi_noise[k]
        if not abs(eps) < 0.5 * math.pi:  # NaN too
            outside += 1
        prob = offset - 0.5 * contrast * math.cos(side * 0.5 * math.pi + eps)
        if not 0.0 <= prob <= 1.0:
            prob = 0.5 if prob != prob else min(max(prob, 0.0), 1.0)
        n2 = gen.binomial(atoms, prob)
        qpn = n2 * inv_n - prob
        p_meas = n2 * inv_n + det[k]
        eps_hat = side * (p_meas - p0_hat) * 2.0 / c_hat
        step = d * eps_hat / scale
        reading = g_hat + step
        to_g = d * side * 2.0 / (c_hat * scale)
        out[0, k] = reading
        out[1, k] = to_g * qpn
        out[2, k] = to_g * det[k]
        out[3, k] = d * phi_noise[k] / scale
        out[4, k] = d * k_phase / scale
        out[5, k] = (
            d * ((contrast / c_hat) * math.sin(eps) - eps) / scale
            + to_g * (offset - p0_hat)
            + (d * side * (prob - offset - side * 0.5 * contrast * math.sin(eps)) * 2.0)
            / (c_hat * scale)
        )
        out[6, k] = g_hat
        state[slot] = g_hat + gain * step
        state[2] = p0_hat + OFFSET_GAIN * (p_meas - p0_hat)
    return outside
