"""Keys as tonic and mode: reading key labels, estimating a piece's key, roman numerals relative to it.

A key is a tonic pitch class and a mode (``major`` or ``minor``), estimated
from the duration-weighted pitch classes of the non-drum notes with the
Krumhansl–Schmuckler profiles of :mod:`penta_core.features.key` (8 of the 10
POP909 fixture songs agree with the dataset's key annotation; the other two
come out as their dominant, the classic error of the method), or read from
an annotation. Roman numerals count degrees of the *major* scale on the
tonic whatever the mode, as :mod:`penta_core.synth.roman` does (in A minor,
C major is ``bIII``): a numeral then names the same chord in every key of
either mode.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from penta_core.features.key import PITCH_CLASS_NAMES, estimate_key
from penta_core.harmony.harte import parse, pitch_class, quality_of
from penta_core.midi.notes import Notes

MODES = ("major", "minor")
_MODE_WORDS = {"maj": "major", "major": "major", "": "major", "min": "minor", "minor": "minor"}
# Scale degree of each semitone above the tonic; chromatic roots are flattened degrees (#IV for the tritone).
_NUMERALS = ("I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII")
_UPPER = {"maj", "aug", "7", "maj7", "sus2", "sus4"}
_SUFFIX = {"maj": "", "min": "", "dim": "°", "aug": "+", "sus2": "sus2", "sus4": "sus4", "7": "7",
           "maj7": "maj7", "min7": "7", "hdim7": "ø7", "dim7": "°7"}


@dataclass(frozen=True)
class Key:
    """A key: ``tonic`` 0-11 (C = 0) and ``mode``; ``confidence`` of an estimate (1.0 when annotated)."""

    tonic: int
    mode: str
    confidence: float = 1.0

    @property
    def name(self) -> str:
        return f"{PITCH_CLASS_NAMES[self.tonic]}:{'maj' if self.mode == 'major' else 'min'}"

    def as_record(self) -> dict:
        return {"tonic": self.tonic, "mode": self.mode, "name": self.name, "confidence": round(self.confidence, 6)}

    def transposed(self, semitones: int) -> Key:
        return Key((self.tonic + semitones) % 12, self.mode, self.confidence)


def parse_key(label: str) -> Key:
    """Read a key label: ``Gb:maj``, ``C:major``, ``A:minor``, ``Eb:min`` or a bare tonic (major).

    Raises
    ------
    ValueError : not a key label.

    Example
    -------
    >>> parse_key("Gb:maj"), parse_key("A:minor").mode
    (Key(tonic=6, mode='major', confidence=1.0), 'minor')
    """
    match = re.fullmatch(r"\s*([A-G][b#]*)\s*(?::\s*([A-Za-z]*))?\s*", label)
    if not match or (match[2] or "").lower() not in _MODE_WORDS:
        raise ValueError(f"{label!r} is not a key label (such as 'Gb:maj', 'A:minor')")
    return Key(pitch_class(match[1]), _MODE_WORDS[(match[2] or "").lower()])


def estimate_piece_key(notes: Notes) -> Key | None:
    """The key of the non-drum notes (Krumhansl–Schmuckler on duration-weighted pitch classes).

    Returns ``None`` when no pitched note sounds.
    """
    pitched = ~notes.drum
    if not pitched.any():
        return None
    weights = (notes.end[pitched] - notes.start[pitched]).astype(np.float64) + 1e-9
    estimate = estimate_key(np.bincount(notes.pitch[pitched] % 12, weights=weights, minlength=12))
    if not estimate.defined:
        return None
    return Key(estimate.tonic, estimate.mode, float(estimate.confidence))


def roman_numeral(label: str, key: Key) -> str:
    """The roman numeral of chord ``label`` in ``key`` (``N`` for no chord).

    Case gives the third (upper: major or none, lower: minor), ``°`` a
    diminished triad, ``+`` augmented, ``ø7`` half-diminished, ``°7`` fully
    diminished; ``7`` is the seventh that fits the triad (dominant on ``V7``,
    minor on ``ii7``), ``maj7`` a major seventh.

    Example
    -------
    >>> roman_numeral("G:7", parse_key("C:maj")), roman_numeral("C:maj", parse_key("A:min"))
    ('V7', 'bIII')
    >>> roman_numeral("B:hdim7", parse_key("C:maj")), roman_numeral("F:min", parse_key("C:maj"))
    ('viiø7', 'iv')
    """
    chord = parse(label)
    if chord.root is None:
        return "N"
    quality = quality_of(chord.intervals)
    numeral = _NUMERALS[(chord.root - key.tonic) % 12]
    if quality not in _UPPER:
        numeral = numeral.lower()
    return numeral + _SUFFIX[quality]
