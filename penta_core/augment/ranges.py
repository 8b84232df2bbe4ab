"""``[min, max]`` parameter ranges: the validation shared by MIDI and audio transforms.

Every transform's constructor takes a range and checks it the same way, so
the messages name the parameter and the accepted form whichever kind of
sample the transform edits; the check lives here, apart from either kind.
"""
from __future__ import annotations

import math
from collections.abc import Sequence


def check_range(name: str, value: Sequence[float], *, lo: float | None = None,
                hi: float | None = None, open_lo: bool = False) -> tuple[float, float]:
    """Validate a ``[min, max]`` range; raise ``ValueError`` naming ``name``.

    Parameters
    ----------
    name : the parameter name used in the message, e.g. ``"time_stretch"``.
    value : a pair of finite numbers with ``min <= max``.
    lo, hi : optional bounds both ends must respect.
    open_lo : ``lo`` itself is excluded.

    Returns
    -------
    tuple of float : ``(min, max)``.
    """
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a [min, max] pair of numbers, got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name} must hold finite numbers, got {value!r}")
    if low > high:
        raise ValueError(f"{name}: min ({low:g}) must not exceed max ({high:g})")
    if lo is not None and (low <= lo if open_lo else low < lo):
        raise ValueError(f"{name} must be {'>' if open_lo else '>='} {lo:g}, got min {low:g}")
    if hi is not None and high > hi:
        raise ValueError(f"{name} must be <= {hi:g}, got max {high:g}")
    return low, high


def range_pair(name: str, value: Sequence[float]) -> tuple[float, float]:
    """``(min, max)`` from a two-item sequence; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, (str, bytes)) or len(value) != 2:
        raise ValueError(f"{name} must be a [min, max] pair, got {value!r}")
    return value[0], value[1]
