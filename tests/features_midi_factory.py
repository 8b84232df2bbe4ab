"""Build MIDI files with known ground truth for the feature tests.

Positions and lengths are given in beats (quarter notes) and converted to
ticks here, so a test states the music, not the encoding.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import symusic

NoteSpec = tuple[float, float, int, int]  # (start beat, length in beats, pitch, velocity)

MAJOR_TRIADS = {"C": (60, 64, 67), "F": (65, 69, 72), "G": (67, 71, 74)}


def make_score(
    parts: Sequence[tuple[int, bool, Iterable[NoteSpec]]],
    *,
    tpq: int = 480,
    tempos: Sequence[tuple[float, float]] = ((0, 120.0),),
    time_signatures: Sequence[tuple[float, int, int]] = ((0, 4, 4),),
) -> symusic.Score:
    """A tick-based score; ``parts`` are ``(program, is_drum, notes)``, tempos ``(beat, bpm)``."""
    score = symusic.Score(tpq)
    for beat, bpm in tempos:
        score.tempos.append(symusic.Tempo(round(beat * tpq), float(bpm)))
    for beat, num, den in time_signatures:
        score.time_signatures.append(symusic.TimeSignature(round(beat * tpq), num, den))
    for index, (program, is_drum, notes) in enumerate(parts):
        track = symusic.Track(f"part{index}", program, is_drum)
        for start, length, pitch, velocity in notes:
            track.notes.append(symusic.Note(round(start * tpq), round(length * tpq), pitch, velocity))
        score.tracks.append(track)
    return score


def write(score: symusic.Score, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(score.dumps_midi())
    return path


def chord_notes(start: float, length: float, pitches: Iterable[int], velocity: int = 90) -> list[NoteSpec]:
    return [(start, length, p, velocity) for p in pitches]


def progression(chords: Sequence[Sequence[int]], beats_each: float = 4.0) -> list[NoteSpec]:
    notes: list[NoteSpec] = []
    for i, pitches in enumerate(chords):
        notes += chord_notes(i * beats_each, beats_each, pitches)
    return notes


def drum_groove(bars: int) -> list[NoteSpec]:
    """Rock beat in 4/4: kick on 1 and 3, snare on 2 and 4, closed hi-hat on every eighth."""
    notes: list[NoteSpec] = []
    for bar in range(bars):
        base = bar * 4
        notes += [(base + b, 0.25, 36, 110) for b in (0, 2)]
        notes += [(base + b, 0.25, 38, 100) for b in (1, 3)]
        notes += [(base + e / 2, 0.25, 42, 80) for e in range(8)]
    return notes
