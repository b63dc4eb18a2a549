"""Reproducible random streams: one seed convention for every simulation in qsense.

A simulation takes ``seed`` (None, an int >= 0 or a :class:`numpy.random.SeedSequence`),
turns it into one ``SeedSequence``, spawns one child per noise term in a fixed order
(so adding a term never changes the others' samples) and records the sequence's entropy
and spawn key in the result's attributes. An unseeded run draws fresh entropy and
records it too, so the file alone reproduces every run::

    ss = seed_sequence(seed)
    streams = spawn(ss, 3)                # fresh children; ``ss`` is not advanced
    attrs.update(seed_attrs(ss))          # entropy + spawn key, netCDF-safe
    ...
    again = seed_from_attrs(ds.attrs)     # the same SeedSequence, from the file
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["Seed", "generator", "seed_attrs", "seed_from_attrs", "seed_sequence", "spawn"]

#: What a ``seed`` parameter accepts.
Seed = int | np.random.SeedSequence | None


def seed_sequence(seed: Any) -> np.random.SeedSequence:
    """Turn ``seed`` into a :class:`numpy.random.SeedSequence`.

    Parameters
    ----------
    seed : None, int >= 0 or numpy.random.SeedSequence
        ``None`` draws fresh entropy from the operating system (recorded by
        :func:`seed_attrs`, so the run can still be reproduced); a SeedSequence is
        returned as it is.

    Returns
    -------
    numpy.random.SeedSequence

    Examples
    --------
    >>> seed_sequence(7).entropy
    7
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            "seed must be None, a non-negative integer or a numpy SeedSequence, "
            f"got {type(seed).__name__} {seed!r}"
        )
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def spawn(ss: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent children of ``ss``, always the same ones.

    ``SeedSequence.spawn`` advances the parent, so spawning twice from one object gives
    different children; this spawns from a fresh copy, so the children depend only on
    the entropy and spawn key that :func:`seed_attrs` records.

    Parameters
    ----------
    ss : numpy.random.SeedSequence
    n : int
        Number of children (>= 0).

    Returns
    -------
    list of numpy.random.SeedSequence
    """
    fresh = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key, pool_size=ss.pool_size)
    return fresh.spawn(n)


def generator(ss: np.random.SeedSequence) -> np.random.Generator:
    """A PCG64 :class:`numpy.random.Generator` on ``ss`` (the package's bit generator).

    Parameters
    ----------
    ss : numpy.random.SeedSequence
        One stream's sequence, usually a child from :func:`spawn`.

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.Generator(np.random.PCG64(ss))


def seed_attrs(ss: np.random.SeedSequence) -> dict[str, Any]:
    """netCDF-safe attributes that rebuild ``ss``: ``seed`` and ``seed_spawn_key``.

    Parameters
    ----------
    ss : numpy.random.SeedSequence

    Returns
    -------
    dict
        ``seed``: the entropy, an int when it fits int64, a 1-D int64 array for a
        sequence of such ints, else its decimal string; ``seed_spawn_key`` (int64 array)
        only for a spawned sequence. :func:`seed_from_attrs` inverts it.

    Examples
    --------
    >>> seed_attrs(np.random.SeedSequence(3))
    {'seed': 3}
    """
    entropy = ss.entropy
    if isinstance(entropy, numbers.Integral):
        seed: Any = int(entropy) if int(entropy) < 2**63 else str(entropy)
    elif all(int(e) < 2**63 for e in entropy):  # a SeedSequence built from a sequence
        seed = np.asarray(entropy, dtype=np.int64)
    else:
        seed = str([int(e) for e in entropy])
    attrs: dict[str, Any] = {"seed": seed}
    if ss.spawn_key:
        attrs["seed_spawn_key"] = np.asarray(ss.spawn_key, dtype=np.int64)
    return attrs


def seed_from_attrs(attrs: Mapping[Any, Any]) -> np.random.SeedSequence:
    """The SeedSequence recorded by :func:`seed_attrs` (for example in a loaded file).

    Parameters
    ----------
    attrs : mapping
        Attributes holding ``seed`` and, for a spawned sequence, ``seed_spawn_key``.

    Returns
    -------
    numpy.random.SeedSequence

    Examples
    --------
    >>> ss = np.random.SeedSequence(5).spawn(2)[1]
    >>> seed_from_attrs(seed_attrs(ss)).spawn_key
    (1,)
    """
    if not isinstance(attrs, Mapping) or "seed" not in attrs:
        raise ValueError("attrs must be a mapping with a 'seed' entry (see seed_attrs)")
    raw = attrs["seed"]
    if isinstance(raw, str):
        text = raw.strip()
        try:
            entropy: Any = (
                [int(v) for v in text.strip("[]").split(",")] if text.startswith("[") else int(text)
            )
        except ValueError:
            raise ValueError(f"attrs['seed'] is not a recorded entropy, got {raw!r}") from None
    elif isinstance(raw, numbers.Integral) and not isinstance(raw, bool):
        entropy = int(raw)
    else:
        arr = np.asarray(raw)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"attrs['seed'] is not a recorded entropy, got {raw!r}")
        entropy = [int(v) for v in arr]
    key = attrs.get("seed_spawn_key")
    spawn_key = () if key is None else tuple(int(v) for v in np.atleast_1d(key))
    return np.random.SeedSequence(entropy, spawn_key=spawn_key)
