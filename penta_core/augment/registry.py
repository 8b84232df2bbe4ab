"""The registry of augmentation transforms: each parameter declared once.

A transform is declared here by its kind (``midi`` or ``audio``), its name
(its key under ``augment.<kind>`` in ``params.yaml`` and in every variant's
``transform`` record) and the :class:`Bounds` its ``[min, max]`` range must
respect. Parameter validation (:mod:`penta_core.core.params`) and the
transform chains (:mod:`.transform`) both read it: one validator, one set of
limits per parameter.

Declarations only, no transform code: every stage validates the whole
parameter tree, so this module is a code dependency of every stage, while
the transforms themselves (:mod:`.midi`, :mod:`.audio`) are dependencies of
the augment stage alone.

To add a transform: declare it below, write its class (a subclass of
:class:`~penta_core.augment.transform.Transform` with the same ``kind`` and
``name``) and give it a default range in ``params.yaml`` and ``DEFAULTS``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

KINDS = ("midi", "audio")


@dataclass(frozen=True)
class Bounds:
    """The values both ends of a ``[min, max]`` range may take.

    Parameters
    ----------
    lo, hi : the outermost values allowed.
    open_lo, open_hi : ``lo`` / ``hi`` themselves are excluded.
    integer : both ends must be whole numbers.

    Example
    -------
    >>> Bounds(0, 4, open_lo=True).check("augment.midi.velocity_scale", [0.8, 1.2])
    (0.8, 1.2)
    """

    lo: float
    hi: float
    open_lo: bool = False
    open_hi: bool = False
    integer: bool = False

    def describe(self) -> str:
        """The accepted form, as error messages state it."""
        numbers = "whole numbers" if self.integer else "numbers"
        interval = f"{'(' if self.open_lo else '['}{self.lo:g}, {self.hi:g}{')' if self.open_hi else ']'}"
        return f"a [min, max] pair of {numbers} within {interval}"

    def _accepts(self, v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
            return False
        if self.integer and not float(v).is_integer():
            return False
        above = v > self.lo if self.open_lo else v >= self.lo
        below = v < self.hi if self.open_hi else v <= self.hi
        return above and below

    def check(self, key: str, value: Any) -> tuple[float, float]:
        """Validate ``value`` as the range of ``key``; ``ValueError`` naming ``key`` otherwise.

        Parameters
        ----------
        key : the parameter's full name, e.g. ``"augment.midi.duration_factor"``.
        value : a two-item list or tuple.

        Returns
        -------
        tuple : ``(min, max)``, as ints when ``integer`` and floats otherwise.
        """
        if not (isinstance(value, (list, tuple)) and len(value) == 2):
            raise ValueError(f"'{key}' must be a [min, max] pair, got {value!r}")
        if not all(self._accepts(v) for v in value):
            raise ValueError(f"'{key}' must be {self.describe()}, got {value!r}")
        if value[0] > value[1]:
            raise ValueError(f"'{key}' must be a [min, max] pair with min <= max, got {value!r}")
        cast = int if self.integer else float
        return cast(value[0]), cast(value[1])


# Per kind, in the order a variant's chain applies them, which is also the
# order of the random draws: reordering changes every variant.
TRANSFORMS: dict[str, dict[str, Bounds]] = {
    "midi": {
        "transpose_semitones": Bounds(-24, 24, integer=True),
        "duration_factor": Bounds(0.25, 4.0),
        "velocity_scale": Bounds(0, 4.0, open_lo=True),
        "note_dropout": Bounds(0, 0.9),
        # Last: milliseconds measured on the final tempo map, only on the notes kept.
        "timing_jitter_ms": Bounds(0, 200),
    },
    "audio": {
        "pitch_shift_semitones": Bounds(-24, 24),
        "speed_factor": Bounds(0.25, 4.0),
        "noise_snr_db": Bounds(-20, 120),
        # Last: its clipping guard sees the final peak, and it keeps the noise's SNR.
        "gain_db": Bounds(-60, 24),
    },
}


def param_key(kind: str, name: str) -> str:
    """The dotted params key of a transform, e.g. ``augment.midi.duration_factor``."""
    return f"augment.{kind}.{name}"


def declared(kind: str) -> dict[str, Bounds]:
    """``name -> Bounds`` of the transforms of ``kind``, in chain order."""
    if kind not in TRANSFORMS:
        raise ValueError(f"transform kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return TRANSFORMS[kind]


def check_range(kind: str, name: str, value: Any) -> tuple[float, float]:
    """Validate the ``[min, max]`` range of a registered transform (see :meth:`Bounds.check`)."""
    bounds = declared(kind).get(name)
    if bounds is None:
        raise ValueError(f"'{param_key(kind, name)}' is not a registered transform")
    return bounds.check(param_key(kind, name), value)
