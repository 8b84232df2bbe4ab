"""Roman-numeral chord symbols relative to a tonic, borrowed chords included.

Numerals count scale degrees of the *major* scale on the tonic; a flat or sharp
in front moves the root (``bVII`` is a whole tone below the tonic, ``bII`` a
semitone above it). Case gives the triad (upper major, lower minor), ``°`` or
``o`` diminished, ``+`` augmented; ``7`` adds the seventh that fits the triad
(dominant on a major triad, minor seventh on a minor one, half-diminished on a
diminished one) and ``maj7`` a major seventh.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_DEGREES = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
_PATTERN = re.compile(
    r"^(?P<acc>b|#)?(?P<num>VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)(?P<qual>°|o|\+)?(?P<ext>maj7|7)?$"
)
_TRIADS = {"major": (0, 4, 7), "minor": (0, 3, 7), "diminished": (0, 3, 6), "augmented": (0, 4, 8)}
SEVENTH = 10  # dominant, minor and half-diminished sevenths all sit a minor seventh up


@dataclass(frozen=True)
class Chord:
    symbol: str
    root: int  # semitones above the tonic, 0-11
    quality: str  # major | minor | diminished | augmented
    intervals: tuple[int, ...]  # semitones above the root, root first


def parse_roman(symbol: str) -> Chord:
    """Parse one numeral such as ``"bVII"``, ``"iv"``, ``"vii°7"`` or ``"Imaj7"``.

    Raises
    ------
    ValueError : the symbol is not a numeral this parser understands.

    Example
    -------
    >>> parse_roman("bVII").root, parse_roman("bVII").quality
    (10, 'major')
    """
    match = _PATTERN.match(symbol.strip())
    if not match:
        raise ValueError(f"not a roman-numeral chord: {symbol!r}")
    numeral = match["num"]
    root = _DEGREES[numeral.upper()] + {"b": -1, "#": 1, None: 0}[match["acc"]]
    if match["qual"] in ("°", "o"):
        quality = "diminished"
    elif match["qual"] == "+":
        quality = "augmented"
    else:
        quality = "major" if numeral.isupper() else "minor"
    intervals = list(_TRIADS[quality])
    if match["ext"] == "maj7":
        intervals.append(11)
    elif match["ext"] == "7":
        intervals.append(SEVENTH)
    return Chord(symbol, root % 12, quality, tuple(intervals))


def parse_progression(text: str) -> list[Chord]:
    """``"i-bVI-bIII-bVII"`` → four chords."""
    return [parse_roman(part) for part in text.split("-")]
