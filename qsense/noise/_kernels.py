"""numba kernel of :class:`qsense.noise.PowerLawStream`: the flicker filter bank."""

from __future__ import annotations

from qsense._numba import kernel

__all__ = ["ar_bank"]


@kernel
def ar_bank(x, poles, weights, direct, memory):  # pragma: no cover - numba
    """Filter ``x`` in place through ``direct + sum_k weights[k] / (1 - poles[k] z**-1)``.

    A bank of first-order autoregressive (Gauss-Markov) filters driven by the same
    input, summed with fixed weights::

        s_k[n] = poles[k] s_k[n-1] + x[n]
        y[n]   = direct x[n] + sum_k weights[k] s_k[n]

    ``memory`` (length ``poles.size``) holds ``s_k[n-1]``; it is read at entry and
    updated in place, so consecutive calls continue one recursion. Never raises.

    The loop over ``k`` vectorises (fast-math reassociation of the weighted sum). Every
    sample runs the same instructions (the bank's size is fixed), so how a record is cut
    into calls never changes a bit of the output; only the outer loop's bounds move.
    """
    n_bank = poles.size
    for i in range(x.size):
        v = x[i]
        acc = 0.0
        for k in range(n_bank):
            s = poles[k] * memory[k] + v
            memory[k] = s
            acc += weights[k] * s
        x[i] = acc + direct * v
