"""Chord labels in Harte notation (``C:maj``, ``A:min7``, ``G:7``, ``F#:dim``, ``N``).

Harte et al. (2005), *Symbolic representation of musical chords*, as MIREX
and ``mir_eval`` read it: ``root:shorthand(degrees)/bass``. :func:`parse`
reads any such label (annotation files use the whole syntax); the
recogniser writes the :data:`QUALITIES` below, and :func:`reduce` maps any
label onto them, which gives the chord vocabulary of the harmony examples.
Roots are spelled with :data:`~penta_core.features.key.PITCH_CLASS_NAMES`,
the project's one spelling per pitch class.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from penta_core.features.key import PITCH_CLASS_NAMES

NO_CHORD = "N"
UNKNOWN = "X"  # Harte's "a chord, but not one the annotator could name"

# The qualities the recogniser names, as semitones above the root, in vocabulary order.
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "hdim7": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
}

# Every shorthand of Harte's grammar and of mir_eval's extensions, for reading annotations.
SHORTHANDS: dict[str, tuple[int, ...]] = {
    **QUALITIES,
    "": (0, 4, 7),
    "minmaj7": (0, 3, 7, 11),
    "maj6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9),
    "9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "min9": (0, 3, 7, 10, 14),
    "11": (0, 4, 7, 10, 14, 17),
    "maj11": (0, 4, 7, 11, 14, 17),
    "min11": (0, 3, 7, 10, 14, 17),
    "13": (0, 4, 7, 10, 14, 21),
    "maj13": (0, 4, 7, 11, 14, 21),
    "min13": (0, 3, 7, 10, 14, 21),
    "sus4(b7)": (0, 5, 7, 10),
    "1": (0,),
    "5": (0, 7),
}

_DEGREE_SEMITONES = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 11, 8: 12, 9: 14, 10: 16, 11: 17, 12: 19, 13: 21}
_NATURALS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ROOT = re.compile(r"([A-G])([b#]*)")
_DEGREE = re.compile(r"(\*?)([b#]*)(\d+)")


@dataclass(frozen=True)
class Chord:
    """A parsed chord label.

    Attributes
    ----------
    root : pitch class of the root (0-11), ``None`` for ``N`` and ``X``.
    intervals : pitch classes above the root that sound (``0`` included), sorted.
    bass : semitones of the bass above the root (0 in root position).
    label : the label as given.
    """

    root: int | None
    intervals: tuple[int, ...]
    bass: int
    label: str

    @property
    def is_chord(self) -> bool:
        return self.root is not None


def _degree(text: str, label: str) -> tuple[int, bool]:
    match = _DEGREE.fullmatch(text.strip())
    if not match or int(match[3]) not in _DEGREE_SEMITONES:
        raise ValueError(f"chord label {label!r}: {text!r} is not a scale degree (such as 3, b7, #11 or *5)")
    shift = match[2].count("#") - match[2].count("b")
    return _DEGREE_SEMITONES[int(match[3])] + shift, bool(match[1])


def pitch_class(name: str) -> int:
    """Pitch class of a note name with any number of sharps or flats (``Bb`` → 10, ``E#`` → 5).

    Raises
    ------
    ValueError : not a note name.
    """
    match = _ROOT.fullmatch(name.strip())
    if not match:
        raise ValueError(f"{name!r} is not a note name (A-G followed by b or # signs)")
    return (_NATURALS[match[1]] + match[2].count("#") - match[2].count("b")) % 12


def parse(label: str) -> Chord:
    """Read one Harte chord label.

    Parameters
    ----------
    label : such as ``"C:maj"``, ``"Bb:min7/b7"``, ``"F#:sus4(b7)"``, ``"G"``, ``"N"`` or ``"X"``.

    Returns
    -------
    Chord

    Raises
    ------
    ValueError : the label does not follow the grammar; the message names it.

    Example
    -------
    >>> parse("F#:maj7/5").root, parse("F#:maj7/5").intervals, parse("F#:maj7/5").bass
    (6, (0, 4, 7, 11), 7)
    """
    text = label.strip()
    if text in (NO_CHORD, UNKNOWN):
        return Chord(None, (), 0, text)
    body, _, bass_text = text.partition("/")
    root_text, colon, rest = body.partition(":")
    try:
        root = pitch_class(root_text)
    except ValueError as err:
        raise ValueError(f"chord label {label!r}: {err}") from None
    if not colon and rest == "" and "(" in root_text:
        raise ValueError(f"chord label {label!r}: degrees need a ':' after the root")
    shorthand, _, degrees = rest.partition("(")
    if shorthand.endswith(")"):
        raise ValueError(f"chord label {label!r} has an unmatched ')'")
    if degrees and not degrees.endswith(")"):
        raise ValueError(f"chord label {label!r} has an unclosed '('")
    if colon and shorthand == "" and not degrees:
        raise ValueError(f"chord label {label!r} has nothing after ':'")
    if shorthand not in SHORTHANDS:
        raise ValueError(f"chord label {label!r}: unknown quality {shorthand!r} "
                         f"(known: {', '.join(s for s in SHORTHANDS if s)})")
    # "C:(1,b3,5)": with no shorthand the degrees are the whole chord; "C" alone is a major triad.
    tones = {i % 12 for i in SHORTHANDS[shorthand]} if shorthand or not degrees else set()
    for item in filter(None, degrees[:-1].split(",")) if degrees else ():
        semitones, omit = _degree(item, label)
        (tones.discard if omit else tones.add)(semitones % 12)
    bass = 0
    if bass_text:
        bass, omit = _degree(bass_text, label)
        if omit:
            raise ValueError(f"chord label {label!r}: the bass cannot be omitted")
        bass %= 12
        tones.add(bass)
    if not tones:
        tones.add(0)
    return Chord(root, tuple(sorted(tones)), bass, text)


def quality_of(intervals: tuple[int, ...] | set[int]) -> str:
    """The :data:`QUALITIES` entry that best names a set of intervals above a root.

    Exact matches win; otherwise the third decides the family (a major third:
    ``maj``, ``7``, ``maj7`` or ``aug``; a minor one: ``min``, ``min7``, or with
    a diminished fifth and no perfect one ``dim``, ``hdim7``, ``dim7``), and a
    chord without a third is ``sus4``, ``sus2`` or, with neither, ``maj``
    (power chords and bare roots).

    Example
    -------
    >>> quality_of({0, 4, 7, 9}), quality_of({0, 4, 7, 10, 2}), quality_of({0, 7})
    ('maj', '7', 'maj')
    """
    tones = {i % 12 for i in intervals}
    for name, template in QUALITIES.items():
        if tones == set(template):
            return name
    if 4 in tones:
        if 8 in tones and 7 not in tones:
            return "aug"
        return "7" if 10 in tones else "maj7" if 11 in tones else "maj"
    if 3 in tones:
        if 6 in tones and 7 not in tones:
            return "dim7" if 9 in tones else "hdim7" if 10 in tones else "dim"
        return "min7" if 10 in tones else "min"
    if 5 in tones:
        return "sus4"
    if 2 in tones:
        return "sus2"
    return "maj"


def name(root: int, quality: str) -> str:
    """The label of ``quality`` on ``root`` (``name(9, "min7") == "A:min7"``)."""
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, got {quality!r}")
    return f"{PITCH_CLASS_NAMES[root % 12]}:{quality}"


def reduce(label: str) -> str:
    """``label`` on the recogniser's vocabulary: root and one of :data:`QUALITIES`, or ``N``.

    Inversions and extensions are dropped (``F#:maj7/5`` → ``F#:maj7``,
    ``C:maj6`` → ``C:maj``); ``X`` becomes ``N``.

    Example
    -------
    >>> reduce("Bb:min/b3"), reduce("Db:9"), reduce("X")
    ('Bb:min', 'C#:7', 'N')
    """
    chord = parse(label)
    if chord.root is None:
        return NO_CHORD
    return name(chord.root, quality_of(chord.intervals))


def transpose(label: str, semitones: int) -> str:
    """``label`` with its root moved by ``semitones``; quality, degrees and bass (relative) unchanged.

    Example
    -------
    >>> transpose("A:min7/b7", 3), transpose("N", 5)
    ('C:min7/b7', 'N')
    """
    chord = parse(label)
    if chord.root is None:
        return chord.label
    rest = chord.label[_ROOT.match(chord.label).end():]
    return PITCH_CLASS_NAMES[(chord.root + semitones) % 12] + rest


def vocabulary() -> list[str]:
    """The chord vocabulary of the harmony examples: ``N``, then every root with every quality.

    Root-major order within each quality (``C:maj``, ``C#:maj``, ..., ``B:dim7``):
    133 labels, index 0 is ``N``.
    """
    return [NO_CHORD] + [name(root, quality) for quality in QUALITIES for root in range(12)]
