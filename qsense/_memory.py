"""The process's memory policy, set once when qsense's numerical modules are imported.

numpy advises transparent huge pages (``madvise(MADV_HUGEPAGE)``) for every array of 4
MiB or more. Where the kernel's THP ``defrag`` setting makes an advised allocation
compact memory synchronously (``always``, ``madvise`` or ``defer+madvise``, with THP
``enabled``; ``madvise``/``madvise`` is a common default), the first large arrays of a
process wait while the kernel moves pages, for seconds once the page cache fills memory.
Measured on the 2-core test machine (``madvise``/``madvise``), advice on against off,
fresh processes:

* in-memory MDEV of 1e8 samples 20.8-25.6 s against 2.5-2.8 s;
* ``power_law`` of 5e7 samples (flicker and white FM) 59-62 s against 14-28 s;
* an hour of the NV magnetometer at 1 kHz 9.2-12.0 s against 2.9-3.1 s;
* the Kalman filter of 1e7 samples 3.9-4.7 s against 0.30 s, ``remove_drift`` 5.3-5.7
  s against 1.3 s;
* the default calibration study 60.5-64.4 s against 51.6-52.1 s (36 s of system time
  against 18 s);
* the chunk reads of a streamed OADEV of 2e8 samples 3.85 s of CPU against 1.17 s.

Where memory is free to compact the advice gains less than it can cost (the ASD of
3.3e7 samples: 1.0 s with it against 1.35 s for a second call, 15.5 s against 1.5 s
for a first). So qsense turns numpy's advice off on import, with the switch numpy
documents for kernels where the advice is slow
(``numpy._core.multiarray._set_madvise_hugepage``), unless the user set numpy's own
variable ``NUMPY_MADVISE_HUGEPAGE`` (their setting wins) or the kernel does not compact
for the advice. It changes how fast memory is mapped, never a value.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["THP", "compacts_for_advice", "huge_page_policy"]

#: Where Linux states its transparent huge page settings.
THP = Path("/sys/kernel/mm/transparent_hugepage")


def _mode(path: Path) -> str | None:
    """The bracketed (active) word of a sysfs choice file, or None where unreadable."""
    try:
        text = path.read_text()
    except OSError:
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else None


def compacts_for_advice(root: Path = THP) -> bool:
    """Whether the kernel compacts memory synchronously for a huge-page advised mapping.

    Parameters
    ----------
    root : pathlib.Path
        The THP settings directory (``enabled`` and ``defrag`` files).

    Returns
    -------
    bool
        True where THP is ``always`` or ``madvise`` and ``defrag`` is ``always``,
        ``madvise`` or ``defer+madvise``; False elsewhere (no THP, ``defer`` or
        ``never`` defrag, another system).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "enabled").write_text("always [madvise] never")
    >>> _ = (d / "defrag").write_text("always defer defer+madvise [madvise] never")
    >>> compacts_for_advice(d)
    True
    """
    return _mode(root / "enabled") in ("always", "madvise") and _mode(root / "defrag") in (
        "always",
        "madvise",
        "defer+madvise",
    )


def huge_page_policy(environ: dict[str, str] | None = None, root: Path = THP) -> bool:
    """Turn numpy's huge-page advice off where it compacts synchronously.

    Parameters
    ----------
    environ : dict, optional
        The environment (``os.environ`` when None): ``NUMPY_MADVISE_HUGEPAGE`` set
        means the user chose, and numpy is left as they set it.
    root : pathlib.Path
        The THP settings directory (see :func:`compacts_for_advice`).

    Returns
    -------
    bool
        Whether the advice was turned off.
    """
    environ = os.environ if environ is None else environ
    core = getattr(np, "_core", None) or np.core
    switch = getattr(core.multiarray, "_set_madvise_hugepage", None)
    if switch is None or "NUMPY_MADVISE_HUGEPAGE" in environ or not compacts_for_advice(root):
        return False
    switch(False)
    return True
