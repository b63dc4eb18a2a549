"""numba kernels of :mod:`qsense.environment.tides` (private).

Pure arithmetic on contiguous float64 arrays; they never raise. Each is checked against a
slow reference in tests/environment/test_tides.py.
"""

from __future__ import annotations

import math

import numpy as np

from qsense._numba import kernel

__all__ = ["earth_rotation_angle", "longman_tide", "tide_from_grid"]

_TWO_PI = 2.0 * math.pi


@kernel
def earth_rotation_angle(ut1_days):  # pragma: no cover - numba
    """Earth rotation angle (rad, IERS 2003 / IAU 2000, as erfa.era00) of UT1 days since J2000."""
    out = np.empty(ut1_days.size)
    for i in range(ut1_days.size):
        tu = ut1_days[i]
        f = tu - math.floor(tu)
        a = _TWO_PI * (f + 0.7790572732640 + 0.00273781191135448 * tu)
        a = a - _TWO_PI * math.floor(a / _TWO_PI)
        out[i] = a
    return out


@kernel
def _cubic(g, k, w0, w1, w2, w3, j):  # pragma: no cover - numba
    return w0 * g[k - 1, j] + w1 * g[k, j] + w2 * g[k + 1, j] + w3 * g[k + 2, j]


@kernel
def tide_from_grid(t, ut1_days, step, bodies, gm, dgrid, station, factors):  # pragma: no cover
    """Vertical gravity tide (m s-2, positive = g increases) at each sample.

    t : seconds of each sample from the first grid node; ut1_days : UT1 days since J2000;
    step : grid step (s); bodies : (nbody, ngrid, 3) celestial-intermediate positions (m);
    gm : (nbody,) GM (m3 s-2); dgrid : (ngrid, 2) the degree-2 order-1 coefficient
    D = sum GM Z (X - iY) / R**5 (s-2 m-... see tides.py) with its gravimetric factor applied;
    station : [r, sin(geocentric lat), cos(geocentric lat), lon, sin(geodetic lat),
    cos(geodetic lat)]; factors : [delta_20, delta_22, delta_3, delta_4, delta_horizontal].
    The grid holds nodes k - 1 .. k + 2 around every sample (tides.py pads it).
    """
    r, zr, pr, lon, sphi, cphi = (
        station[0],
        station[1],
        station[2],
        station[3],
        station[4],
        station[5],
    )
    d20, d22, d3, d4, dh = factors[0], factors[1], factors[2], factors[3], factors[4]
    cos_eps = cphi * pr + sphi * zr  # angle between geocentric radius and ellipsoid normal
    nb = bodies.shape[0]
    out = np.empty(t.size)
    for i in range(t.size):
        x = t[i] / step
        k = math.floor(x)
        u = x - k
        # 4-point Lagrange weights on nodes k-1, k, k+1, k+2
        w0 = -u * (u - 1.0) * (u - 2.0) / 6.0
        w1 = (u + 1.0) * (u - 1.0) * (u - 2.0) / 2.0
        w2 = -(u + 1.0) * u * (u - 2.0) / 2.0
        w3 = (u + 1.0) * u * (u - 1.0) / 6.0
        tu = ut1_days[i]
        f = tu - math.floor(tu)
        era = _TWO_PI * (f + 0.7790572732640 + 0.00273781191135448 * tu)
        lam = lon + era
        cl = math.cos(lam)
        sl = math.sin(lam)
        # station radius and ellipsoid normal, celestial-intermediate axes
        sx, sy = pr * cl, pr * sl
        nx, ny, nz = cphi * cl, cphi * sl, sphi
        dre = _cubic(dgrid, k, w0, w1, w2, w3, 0)
        dim = _cubic(dgrid, k, w0, w1, w2, w3, 1)
        radial = 6.0 * r * zr * pr * (cl * dre - sl * dim)
        tangential = 0.0
        for b in range(nb):
            g = bodies[b]
            bx = _cubic(g, k, w0, w1, w2, w3, 0)
            by = _cubic(g, k, w0, w1, w2, w3, 1)
            bz = _cubic(g, k, w0, w1, w2, w3, 2)
            dist = math.sqrt(bx * bx + by * by + bz * bz)
            ux, uy, uz = bx / dist, by / dist, bz / dist
            mu = sx * ux + sy * uy + zr * uz
            h = pr * (cl * ux + sl * uy)
            c = pr * (cl * uy - sl * ux)
            q = r / dist
            a2 = gm[b] / (dist * dist * dist) * r  # GM r / R^3
            p20 = 0.25 * (3.0 * zr * zr - 1.0) * (3.0 * uz * uz - 1.0)
            p22 = 0.75 * (h * h - c * c)
            p3 = 0.5 * (5.0 * mu * mu * mu - 3.0 * mu)
            p4 = (35.0 * mu**4 - 30.0 * mu * mu + 3.0) / 8.0
            radial += a2 * (2.0 * (d20 * p20 + d22 * p22) + q * (3.0 * d3 * p3 + 4.0 * d4 * q * p4))
            # the potential's gradient across the radius, projected on the ellipsoid normal
            un = ux * nx + uy * ny + uz * nz
            dp = 3.0 * mu + q * (
                0.5 * (15.0 * mu * mu - 3.0) + q * (140.0 * mu**3 - 60.0 * mu) / 8.0
            )
            tangential += a2 * dp * (un - mu * cos_eps)
        out[i] = -(radial * cos_eps + dh * tangential)
    return out


@kernel
def longman_tide(jd_ut, lat, lon, height, factor):  # pragma: no cover - numba
    """Longman (1959) vertical gravity tide, m s-2, positive = g increases.

    jd_ut : UT Julian dates; lat, lon : geodetic degrees (east positive); height : m;
    factor : the elastic factor (1 + h - 3k/2). Longman's equations in SI units.
    """
    deg = math.pi / 180.0
    mu_g = 6.670e-11  # Longman's Newtonian constant, SI
    mass_moon = 7.3537e22
    mass_sun = 1.993e30
    e = 0.05490
    m = 0.074804
    c = 3.84402e8  # mean Earth-Moon distance (m)
    c1 = 1.495e11  # mean Earth-Sun distance (m)
    incl = 5.145 * deg
    a_earth = 6.378270e6
    phi = lat * deg
    cphi, sphi = math.cos(phi), math.sin(phi)
    cc = 1.0 / math.sqrt(1.0 + 0.006738 * sphi * sphi)
    r = cc * a_earth + height
    ap = 1.0 / (c * (1.0 - e * e))
    out = np.empty(jd_ut.size)
    for i in range(jd_ut.size):
        jd = jd_ut[i]
        big_t = (jd - 2415020.0) / 36525.0
        t0 = (jd - 0.5 - math.floor(jd - 0.5)) * 24.0  # UT hours
        s = (270.434164 + 481267.8831 * big_t - 0.001133 * big_t**2 + 0.0000019 * big_t**3) * deg
        p = (334.329556 + 4069.0347 * big_t - 0.010325 * big_t**2 - 0.0000125 * big_t**3) * deg
        hs = (279.696678 + 36000.768925 * big_t + 0.0003025 * big_t**2) * deg
        nn = (259.183275 - 1934.1420 * big_t + 0.002078 * big_t**2 + 0.0000022 * big_t**3) * deg
        p1 = (281.220833 + 1.719175 * big_t + 0.000453 * big_t**2 + 0.000003 * big_t**3) * deg
        e1 = 0.01675104 - 0.0000418 * big_t
        omega = (23.452294 - 0.0130125 * big_t) * deg
        cos_i = math.cos(omega) * math.cos(incl) - math.sin(omega) * math.sin(incl) * math.cos(nn)
        big_i = math.acos(cos_i)
        sin_i = math.sin(big_i)
        nu = math.asin(math.sin(incl) * math.sin(nn) / sin_i)
        tt = (15.0 * (t0 - 12.0) + lon) * deg  # hour angle of the mean Sun
        chi = tt + hs - nu
        cos_a = math.cos(nn) * math.cos(nu) + math.sin(nn) * math.sin(nu) * math.cos(omega)
        sin_a = math.sin(omega) * math.sin(nn) / sin_i
        alpha = 2.0 * math.atan(sin_a / (1.0 + cos_a))
        xi = nn - alpha
        sigma = s - xi
        ll = (
            sigma
            + 2.0 * e * math.sin(s - p)
            + 1.25 * e * e * math.sin(2.0 * (s - p))
            + 3.75 * m * e * math.sin(s - 2.0 * hs + p)
            + 1.375 * m * m * math.sin(2.0 * (s - hs))
        )
        half = 0.5 * big_i
        cos_th = sphi * sin_i * math.sin(ll) + cphi * (
            math.cos(half) ** 2 * math.cos(ll - chi) + math.sin(half) ** 2 * math.cos(ll + chi)
        )
        inv_d = (
            1.0 / c
            + ap * e * math.cos(s - p)
            + ap * e * e * math.cos(2.0 * (s - p))
            + 1.875 * ap * m * e * math.cos(s - 2.0 * hs + p)
            + ap * m * m * math.cos(2.0 * (s - hs))
        )
        l1 = hs + 2.0 * e1 * math.sin(hs - p1)
        chi1 = tt + hs
        cos_ph = math.sin(omega) * sphi * math.sin(l1) + cphi * (
            math.cos(0.5 * omega) ** 2 * math.cos(l1 - chi1)
            + math.sin(0.5 * omega) ** 2 * math.cos(l1 + chi1)
        )
        ap1 = 1.0 / (c1 * (1.0 - e1 * e1))
        inv_d1 = 1.0 / c1 + ap1 * e1 * math.cos(hs - p1)
        g_moon = mu_g * mass_moon * r * inv_d**3 * (3.0 * cos_th**2 - 1.0) + 1.5 * (
            mu_g * mass_moon * r * r * inv_d**4 * (5.0 * cos_th**3 - 3.0 * cos_th)
        )
        g_sun = mu_g * mass_sun * r * inv_d1**3 * (3.0 * cos_ph**2 - 1.0)
        out[i] = -factor * (g_moon + g_sun)
    return out
