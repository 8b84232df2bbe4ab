"""What the harmony and melody targets read from one MIDI file: notes, melody, chords and key.

One analysis serves both models and ``penta-targets``: the melody is
extracted first (:mod:`penta_core.melody.extraction`) so that the chord
recogniser hears the accompaniment without the tune's passing tones; chords
and key come from annotation files when there are any
(:mod:`penta_core.harmony.annotations`), and are estimated otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from penta_core.harmony.annotations import Annotations
from penta_core.harmony.harte import NO_CHORD, reduce
from penta_core.harmony.keys import Key, estimate_piece_key, roman_numeral
from penta_core.harmony.recognizer import ChordAnalysis, recognize_chords
from penta_core.melody.extraction import Melody, extract_melody
from penta_core.midi.notes import Notes, read_notes

ANNOTATED = "annotated"
ESTIMATED = "estimated"
# Digits kept of times in seconds and beats in the written labels: a microsecond, a millionth of a beat.
DIGITS = 6


@dataclass(frozen=True)
class ChordSegment:
    """One chord: where it starts and ends (ticks and seconds) and its Harte label."""

    start_tick: float
    end_tick: float
    start_s: float
    end_s: float
    label: str


@dataclass(frozen=True)
class PieceAnalysis:
    """Everything the targets derive from one file.

    Attributes
    ----------
    notes : the file's notes.
    melody : the melody notes (positions into ``notes``).
    grid : the recogniser's beat grid and beat labels (estimated chords) or the annotated chord of each beat.
    chords : chord segments in time order (annotated as written, or estimated).
    chords_source, key_source : ``annotated`` or ``estimated``.
    key : the piece's key (``None`` when nothing pitched sounds).
    annotation_files : names of the annotation files read.
    """

    notes: Notes
    melody: Melody
    grid: ChordAnalysis
    chords: list[ChordSegment]
    chords_source: str
    key: Key | None
    key_source: str
    annotation_files: list[str]

    def chord_at(self, ticks: np.ndarray) -> list[str]:
        """The chord label sounding at each tick (``N`` outside every segment)."""
        if not self.chords:
            return [NO_CHORD] * len(ticks)
        starts = np.array([c.start_tick for c in self.chords])
        ends = np.array([c.end_tick for c in self.chords])
        at = np.searchsorted(starts, np.asarray(ticks, dtype=np.float64), side="right") - 1
        return [self.chords[i].label if i >= 0 and t < ends[i] else NO_CHORD
                for i, t in zip(at.tolist(), np.asarray(ticks).tolist())]

    def bar_beats(self) -> float:
        """Quarter notes per bar of the first time signature (4 when the file states none)."""
        if not self.notes.time_signatures:
            return 4.0
        _, numerator, denominator = self.notes.time_signatures[0]
        return numerator * 4.0 / denominator if numerator > 0 and denominator > 0 else 4.0

    def roman(self, label: str) -> str:
        return roman_numeral(label, self.key) if self.key is not None else "N"


def _beat_labels(grid: ChordAnalysis, segments: list[ChordSegment]) -> list[str]:
    """The annotated chord at the middle of each beat of the recogniser's grid."""
    middles = (grid.beat_times[:-1] + grid.beat_times[1:]) / 2
    starts = np.array([s.start_s for s in segments])
    ends = np.array([s.end_s for s in segments])
    at = np.searchsorted(starts, middles, side="right") - 1
    return [segments[i].label if i >= 0 and m < ends[i] else NO_CHORD for i, m in zip(at.tolist(), middles.tolist())]


def analyse(notes: Notes, annotations: Annotations | None = None) -> PieceAnalysis:
    """Melody, chords and key of ``notes``; annotated chords and keys win over the estimates.

    Parameters
    ----------
    notes : from :func:`~penta_core.midi.notes.read_notes`.
    annotations : what the files beside the MIDI file say (``None``: estimate everything).
    """
    annotations = annotations or Annotations()
    melody = extract_melody(notes)
    exclude = np.zeros(notes.size, dtype=bool)
    exclude[melody.index] = True
    grid = recognize_chords(notes, exclude=exclude)
    if annotations.chords is not None:
        chords = [ChordSegment(float(notes.tempo.ticks(a)), float(notes.tempo.ticks(b)), a, b, label)
                  for a, b, label in annotations.chords if b > a]
        grid = ChordAnalysis(grid.beat_ticks, grid.beat_times, _beat_labels(grid, chords), grid.phase)
        chords_source = ANNOTATED
    else:
        chords = [ChordSegment(float(grid.beat_ticks[a]), float(grid.beat_ticks[b]), float(grid.beat_times[a]),
                               float(grid.beat_times[b]), label) for a, b, label in grid.segment_beats()]
        chords_source = ESTIMATED
    key, key_source = annotations.main_key(), ANNOTATED
    if key is None:
        key, key_source = estimate_piece_key(notes), ESTIMATED
    return PieceAnalysis(notes, melody, grid, chords, chords_source, key, key_source, list(annotations.files))


def analyse_bytes(data: bytes, annotations: Annotations | None = None) -> PieceAnalysis:
    """:func:`analyse` of Standard MIDI File bytes (``ValueError`` when they do not parse)."""
    return analyse(read_notes(data), annotations)


def reduced_sequence(analysis: PieceAnalysis) -> list[tuple[float, float, str]]:
    """Chord segments on the vocabulary (:func:`~penta_core.harmony.harte.reduce`), equal neighbours merged.

    ``(start_tick, end_tick, label)``; an annotation's ``F:maj/3`` then ``F:maj`` is one ``F:maj``.
    """
    out: list[tuple[float, float, str]] = []
    for c in analysis.chords:
        label = reduce(c.label)
        if out and out[-1][2] == label and abs(out[-1][1] - c.start_tick) < 1e-6 * max(1.0, c.start_tick):
            out[-1] = (out[-1][0], c.end_tick, label)
        else:
            out.append((c.start_tick, c.end_tick, label))
    return out


def rounded(value: float) -> float:
    return round(float(value), DIGITS)
