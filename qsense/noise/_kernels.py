"""numba kernel of :class:`qsense.noise.PowerLawStream`: the flicker filter recursion.

Compiled without fast-math (``fastmath=False``, stricter than the project's
:data:`qsense._numba.FASTMATH`): the stream promises that any chunking of a run gives
the same samples bit for bit, and a contracted multiply-add in one code path and not in
another could break that.
"""

from __future__ import annotations

from qsense._numba import kernel

__all__ = ["cascade"]


@kernel(fastmath=False)
def cascade(x, poles, zeros, gain, memory):  # pragma: no cover - numba
    """Filter ``x`` in place through ``gain * prod_k (1 - zeros[k] z**-1) / (1 - poles[k] z**-1)``.

    Direct form of each first-order section, applied in order ``k = 0, 1, ...``::

        v_k[n] = v_{k-1}[n] - zeros[k] v_{k-1}[n-1] + poles[k] v_k[n-1],   v_{-1} = x

    ``memory`` (length ``poles.size + 1``) holds the previous input ``x[n-1]`` in slot 0
    and the previous output ``v_k[n-1]`` of section ``k`` in slot ``k + 1``; it is
    read at entry and updated in place, so consecutive calls continue one recursion.
    The output sample is ``gain * v_last[n]``. Never raises.
    """
    n_sec = poles.size
    for i in range(x.size):
        v = x[i]
        prev = memory[0]
        memory[0] = v
        for k in range(n_sec):
            out = v - zeros[k] * prev + poles[k] * memory[k + 1]
            prev = memory[k + 1]
            memory[k + 1] = out
            v = out
        x[i] = gain * v
