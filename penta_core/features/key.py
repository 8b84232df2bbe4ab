"""Key and mode from a pitch-class profile (Krumhansl–Schmuckler).

Shared by the MIDI features (duration-weighted pitch classes) and the audio
features (mean chroma), so both kinds of sample name keys the same way. The
pitch-class names here are the only ones in the project: chord labels, the
validation report's key counts and the synthetic pieces' keys all use them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# One spelling per pitch class, whatever the mode: the one most key signatures
# and chord charts use (C#, F# sharp; Eb, Ab, Bb flat). docs/features.md says so.
PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _profiles() -> np.ndarray:
    """24 x 12 matrix of centred, unit-norm key profiles: rows 0-11 major, 12-23 minor."""
    rows = [np.roll(KK_MAJOR, tonic) for tonic in range(12)]
    rows += [np.roll(KK_MINOR, tonic) for tonic in range(12)]
    mat = np.array(rows)
    mat = mat - mat.mean(axis=1, keepdims=True)
    return mat / np.linalg.norm(mat, axis=1, keepdims=True)


_PROFILES = _profiles()


@dataclass(frozen=True)
class KeyEstimate:
    """Result of :func:`estimate_key`.

    ``confidence`` is the Pearson correlation of the best key (-1..1) and
    ``margin`` how far it is ahead of the runner-up; ``defined`` is False when
    the profile carries no information (empty or flat), in which case the key
    is reported as C major with zero confidence.
    """

    tonic: int
    mode: str
    confidence: float
    margin: float
    defined: bool

    @property
    def name(self) -> str:
        return f"{PITCH_CLASS_NAMES[self.tonic]} {self.mode}" if self.defined else "undefined"


def estimate_key(profile: np.ndarray) -> KeyEstimate:
    """Estimate key and mode from a 12-bin pitch-class profile.

    Parameters
    ----------
    profile : array of shape (12,), non-negative weights with C at index 0
        (note durations per pitch class, or mean chroma).

    Returns
    -------
    KeyEstimate : tonic (0-11, C=0), mode (``"major"`` or ``"minor"``),
        correlation of the winning key and its margin over the second best.

    Example
    -------
    >>> import numpy as np
    >>> estimate_key(np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1.0])).name
    'C major'
    """
    profile = np.asarray(profile, dtype=np.float64)
    if profile.shape != (12,):
        raise ValueError(f"profile must have shape (12,), got {profile.shape}")
    return key_of_finite_profile(np.nan_to_num(profile))


def key_of_finite_profile(profile: np.ndarray) -> KeyEstimate:
    """:func:`estimate_key` of a float64 profile of shape (12,) known to be finite (no checks)."""
    centred = profile - profile.sum() / 12  # profile.mean(), without its overhead
    norm = math.sqrt(centred.dot(centred))  # np.linalg.norm(centred)
    if norm < 1e-12:
        return KeyEstimate(0, "major", 0.0, 0.0, False)
    scores = _PROFILES @ (centred / norm)
    # A stable sort makes ties (symmetric profiles) resolve the same way everywhere.
    order = (-scores).argsort(kind="stable")
    best, second = int(order[0]), int(order[1])
    return KeyEstimate(
        tonic=best % 12,
        mode="major" if best < 12 else "minor",
        confidence=float(scores[best]),
        margin=float(scores[best] - scores[second]),
        defined=True,
    )
