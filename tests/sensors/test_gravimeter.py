"""The cold-atom gravimeter: response functions (Cheinet et al. 2008) and the model.

The transfer function is checked against Cheinet's closed form and against an
independent numerical Fourier transform of the sensitivity function; the model against
its closed forms (projection noise, the aliasing sum of the vibration) by Monte Carlo.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qsense.sensors import _gravimeter_response as R

CASES = [(0.06, 10e-6), (0.26, 10e-6), (0.1, 40e-6), (0.02, 100e-6)]


def cheinet_closed_form(f, T, tau):
    """|H(2 pi f)|**2, Cheinet et al., IEEE TIM 57, 1141 (2008), as printed."""
    w = 2 * np.pi * f
    om = np.pi / (2 * tau)
    h = (
        4 * w * om / (w**2 - om**2)
        * np.sin(w * (T + 2 * tau) / 2)
        * (np.cos(w * (T + 2 * tau) / 2) + om / w * np.sin(w * T / 2))
    )  # fmt: skip
    return h**2


def numeric_transfer(f, T, tau):
    """|omega integral g_s(t) exp(-i omega t) dt|**2 by Gauss-Legendre quadrature of g_s.

    g_s is odd, so the transform is -2i integral_0^inf g_s(t) sin(omega t) dt; each smooth
    piece of g_s (the two pulse halves and the free evolution) gets its own panels.
    """
    x, wq = np.polynomial.legendre.leggauss(20)
    edges = np.concatenate(
        [
            np.linspace(0, tau, 5),
            np.linspace(tau, T + tau, 4001)[1:],
            np.linspace(T + tau, T + 2 * tau, 5)[1:],
        ]
    )
    lo, hi = edges[:-1, None], edges[1:, None]
    t = (0.5 * (hi - lo) * x + 0.5 * (hi + lo)).ravel()
    weights = (0.5 * (hi - lo) * wq).ravel()
    g = R.sensitivity(t, T, tau)
    w = 2 * np.pi * np.asarray(f)[:, None]
    integral = (np.sin(w * t) * (g * weights)).sum(axis=1)
    return (2 * w[:, 0] * integral) ** 2


@pytest.mark.parametrize(("T", "tau"), CASES)
def test_phase_transfer_equals_cheinet_closed_form(T, tau):
    f = np.logspace(-3, 3, 2001)
    np.testing.assert_allclose(
        R.phase_transfer(f, T, tau), cheinet_closed_form(f, T, tau), rtol=1e-6, atol=1e-12
    )


@pytest.mark.parametrize(("T", "tau"), CASES)
def test_phase_transfer_equals_fourier_transform_of_sensitivity(T, tau):
    f = np.logspace(-3, 3, 301)
    np.testing.assert_allclose(
        R.phase_transfer(f, T, tau), numeric_transfer(f, T, tau), rtol=1e-6, atol=1e-10
    )


def test_phase_transfer_fft_of_sampled_sensitivity():
    """An FFT of g_s sampled at 1 us (a third, grid-limited check) agrees to 1e-4."""
    T, tau, dt = 0.05, 20e-6, 1e-6
    n = 1 << 20
    t = (np.arange(n) - n // 2) * dt
    spectrum = np.fft.rfft(np.fft.ifftshift(R.sensitivity(t, T, tau))) * dt
    f = np.fft.rfftfreq(n, dt)
    keep = (f > 0) & (f < 2e3)
    h2 = (2 * np.pi * f[keep]) ** 2 * np.abs(spectrum[keep]) ** 2
    ref = R.phase_transfer(f[keep], T, tau)
    assert np.max(np.abs(h2 - ref)) < 1e-4 * ref.max()


def test_removable_singularity_at_the_rabi_frequency_is_finite():
    """f = 1 / (4 tau) is a 0/0 of the closed form (which loses digits around it: 3e-5 at
    1e-8 from it); the sinc form has no 0/0 and equals the quadrature there."""
    T, tau = 0.25, 10e-6  # 25 kHz is the 6250th harmonic of 1 / 0.04 s
    f = 1 / (4 * tau) * (1 + np.array([-1e-6, -1e-8, 0.0, 1e-8, 1e-6]))
    value = R.phase_transfer(f, T, tau)
    assert np.isfinite(value).all()
    np.testing.assert_allclose(value, numeric_transfer(f, T, tau), rtol=1e-6)


def test_short_pulse_limit_and_dc_response():
    T = 0.1
    f = np.logspace(-2, 2, 50)
    np.testing.assert_allclose(
        R.phase_transfer(f, T, 1e-9), 16 * np.sin(np.pi * f * T) ** 4, rtol=1e-5, atol=1e-12
    )
    tau = 30e-6
    low = np.array([1e-5])
    dc = np.sqrt(R.phase_transfer(low, T, tau))[0] / (2 * np.pi * low[0]) ** 2
    assert dc == pytest.approx((T + 2 * tau) * (T + 4 * tau / np.pi), rel=1e-8)
    assert R.dc_response(T, tau) == pytest.approx(dc / T**2, rel=1e-8)


def test_acceleration_weight_integrates_the_sensitivity_function():
    T, tau = 0.06, 50e-6
    t = np.linspace(-T - 3 * tau, T + 3 * tau, 2_000_001)
    w = R.acceleration_weight(t, T, tau)
    # w(t) = integral_{|t|}^inf g_s: its derivative is -g_s for t > 0
    inside = (t > 0) & (t < T + 2 * tau)
    deriv = np.gradient(w, t)[inside]
    np.testing.assert_allclose(deriv, -R.sensitivity(t[inside], T, tau), atol=2e-3)
    assert np.trapezoid(w, t) == pytest.approx(R.dc_response(T, tau) * T**2, rel=1e-9)
    assert np.trapezoid(w**2, t) == pytest.approx(R.weight_square_integral(T, tau), rel=1e-9)


def test_laser_phase_variance_rate_is_the_integral_of_the_transfer_function():
    T, tau = 0.06, 20e-6
    f = np.linspace(0, 1e5, 4_000_001)
    numeric = np.trapezoid(R.phase_transfer(f, T, tau), f)
    # far above the Rabi frequency |H|**2 -> 4 Om**2 / w**2 sin**2(w (T + 2 tau)), mean
    # 2 Om**2 / w**2: the tail beyond f[-1] in closed form
    om = math.pi / (2 * tau)
    tail = 2 * om**2 / (2 * np.pi) ** 2 / f[-1]
    assert numeric + tail == pytest.approx(R.laser_phase_variance_rate(tau), rel=2e-4)


def test_white_aliasing_sum_equals_independent_shots():
    """For white S_a the aliasing sum is the per-shot variance times T_c (Poisson summation)."""
    for T, tau in CASES:
        t_c = 0.54
        per_shot = 0.5 * R.weight_square_integral(T, tau) / T**4
        assert R.vibration_variance_rate(1.0, T, tau, t_c) == pytest.approx(
            per_shot * t_c, rel=1e-7
        )
        # dropping the n = 0 term lowers the Allan deviation by ~10 % at T = 60 ms, T_c = 0.5 s
    full = R.vibration_variance_rate(1.0, 0.06, 10e-6, 0.5)
    no_dc = full - 0.5 * R.dc_response(0.06, 10e-6) ** 2
    assert math.sqrt(full / no_dc) == pytest.approx(1.105, abs=0.005)


def test_psd_forms_and_bad_psd():
    T, tau, t_c = 0.06, 10e-6, 0.54
    white = R.vibration_variance_rate(2e-14, T, tau, t_c)
    assert R.vibration_variance_rate(
        lambda f: np.full_like(f, 2e-14), T, tau, t_c
    ) == pytest.approx(white)
    pair = (np.array([0.0, 1e6]), np.array([2e-14, 2e-14]))
    assert R.vibration_variance_rate(pair, T, tau, t_c) == pytest.approx(white, rel=1e-9)
    for bad, error in [
        (-1.0, ValueError),
        (float("nan"), ValueError),
        ("1e-14", TypeError),
        (True, TypeError),
        (lambda f: -np.ones_like(f), ValueError),
        ((np.array([0.0, 1.0]), np.array([1.0, -1.0])), ValueError),
        ((np.array([1.0, 0.0]), np.array([1.0, 1.0])), ValueError),
    ]:
        with pytest.raises(error, match="psd"):
            R.vibration_variance_rate(bad, T, tau, t_c)
