"""GNSS timing: a receiver's 1PPS time error and a GNSS-disciplined oscillator.

:class:`GnssReceiver` is the time error of a timing receiver's one-pulse-per-second
output: white phase noise plus the sawtooth quantisation of the receiver's own clock
(the pulse can only leave on one of its clock edges), optionally with the published
sawtooth correction applied (the receiver reports the quantisation error of the next
pulse, u-blox ``TIM-TP.qErr``; a residual remains). :class:`DisciplinedOscillator` is an
:class:`~qsense.sensors.classical.Oscillator` steered to such a receiver by a
proportional-integral loop or by a Kalman filter on the two-state clock model, with an
optional holdover (GNSS absent for an interval, the loop holding its last frequency).

References
----------
PHYSICS.md sec. 1.6 (shared reference sheet): 1PPS error ~10-20 ns rms, ~1-3 ns with
the sawtooth correction; PPS Allan deviation at 1 s about 4e-9 (u-blox ZED-F9P) and
1e-8 (NEO-M8) measured by J. Ackermann (N8UR), as quoted in jmfriedt/max2771_fx2lp;
loop time constant at the crossover ``sigma_y,osc(tau) = sqrt(3) sigma_x / tau``.
u-blox, "Timing receiver description / integration manual" (TIM-TP message, qErr:
quantisation error of the next time pulse). NIST SP 1065 (2008) sec. 5.2 (white PM).
"""

from __future__ import annotations

from qsense.sensors.gnss._disciplined import DisciplinedOscillator
from qsense.sensors.gnss._receiver import GnssReceiver, crossover_tau

__all__ = ["DisciplinedOscillator", "GnssReceiver", "crossover_tau"]
