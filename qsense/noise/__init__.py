"""Power-law noise of oscillators and sensors, and its Allan deviation.

The one-sided power spectral density of fractional frequency of most oscillators is a
sum of power laws (IEEE Std 1139; Barnes et al. 1971; NIST SP 1065 sec. 5.2)::

    S_y(f) = sum over alpha of h[alpha] * f**alpha,   alpha in {-2, -1, 0, 1, 2}

    alpha   noise type                  S_x(f) = S_y(f) / (2 pi f)**2
    -----   -------------------------   ------------------------------
     -2     random-walk FM (RWFM)       f**-4
     -1     flicker FM (FFM)            f**-3
      0     white FM (WFM)              f**-2
     +1     flicker PM (FPM)            f**-1
     +2     white PM (WPM)              f**0

with ``S_y`` in 1/Hz and ``h[alpha]`` in Hz**(-1-alpha). :func:`power_law` draws a
realisation by the method of Kasdin & Walter (1992), :func:`adev_from_h` gives the
Allan deviation those coefficients imply, :func:`h_from_adev` inverts it for a single
noise type and :func:`psd_from_h` evaluates the model spectrum. :class:`PowerLawStream`
generates the same five noise types chunk by chunk with a state that can be saved and
restored (exact white and random-walk terms, flicker terms by a cascade of log-spaced
first-order filters, Plaszczynski 2007), for models that simulate long records.

References
----------
N. J. Kasdin and T. Walter, "Discrete simulation of power law noise", Proc. 1992 IEEE
Frequency Control Symposium, pp. 274-283. N. J. Kasdin, "Discrete simulation of colored
noise and stochastic processes and 1/f^alpha power law noise generation", Proc. IEEE
83(5), 802-827 (1995). W. J. Riley, "Handbook of Frequency Stability Analysis", NIST
SP 1065 (2008), sec. 5 (power-law noise, Allan variance of each type). J. Rutman,
Proc. IEEE 66(9), 1048-1075 (1978), Table 1. S. Plaszczynski, "Generating long streams
of 1/f^alpha noise", Fluctuation and Noise Letters 7(1), R1-R13 (2007),
doi:10.1142/S0219477507003635, arXiv:astro-ph/0510081.
"""

from qsense.noise._allan import adev_from_h, h_from_adev, psd_from_h
from qsense.noise._common import ALPHAS
from qsense.noise._kasdin import power_law
from qsense.noise._stream import PowerLawStream

__all__ = ["ALPHAS", "PowerLawStream", "adev_from_h", "h_from_adev", "power_law", "psd_from_h"]

for _obj in (PowerLawStream, adev_from_h, h_from_adev, power_law, psd_from_h):
    _obj.__module__ = __name__  # documented (and pickled) as qsense.noise.<name>
del _obj
