"""Names of the single-record Allan-family statistics, defined once for the package."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["STATISTICS", "Statistic"]

#: A statistic with an EDF, a noise-identification rule and a bias rule.
Statistic = Literal[
    "adev",
    "oadev",
    "mdev",
    "tdev",
    "hdev",
    "ohdev",
    "totdev",
    "mtotdev",
    "ttotdev",
    "htotdev",
    "theo1",
    "theobr",
    "theoh",
]

#: The same names as a tuple, for validation.
STATISTICS: tuple[str, ...] = get_args(Statistic)
