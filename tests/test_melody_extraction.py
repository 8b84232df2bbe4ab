"""Melody extraction judged by the notes: the melody track of POP909 without names, a shared track, a bass line."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import make_score
from target_helpers import ARRANGEMENTS, note_f1

from penta_core.melody.extraction import continuous_skyline, extract_melody, skyline
from penta_core.midi.notes import read_notes

TUNE = [72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 74, 76, 74, 72, 69]


def notes_of(score):
    return read_notes(score.dumps_midi())


def tune(start: float = 0.0, shift: int = 0) -> list:
    return [(start + k, 1.0, p + shift, 96) for k, p in enumerate(TUNE)]


def chords(length: int = 16, top: int = 67) -> list:
    return [(k, 1.0, p, 70) for k in range(length) for p in (top - 19, top - 12, top - 8, top - 5)]


def test_pop909_melody_track_is_found_without_track_names():
    scores = []
    for path in ARRANGEMENTS:
        notes = read_notes(path)
        truth = next(i for i, n in enumerate(notes.track_names) if n.upper().startswith("MEL"))
        nameless = dataclasses.replace(notes, track_names=("",) * len(notes.track_names))
        melody = extract_melody(nameless)
        scores.append(note_f1(notes, melody.index, np.flatnonzero(notes.track == truth)))
    assert len(scores) == 22 and min(scores) >= 0.95


def test_a_bass_line_is_not_taken_for_the_melody():
    bass = [(k, 1.0, 36 + (k % 4) * 2, 100) for k in range(16)]
    melody = extract_melody(notes_of(make_score([(33, False, bass), (0, False, tune())])))
    assert melody.track == 1 and melody.method == "track"


def test_a_busier_higher_accompaniment_track_loses_to_the_monophonic_tune():
    high_chords = [(k / 2, 0.5, p, 60) for k in range(32) for p in (81, 84, 88)]
    melody = extract_melody(notes_of(make_score([(0, False, high_chords), (0, False, tune())])))
    assert melody.track == 1


def test_melody_and_chords_in_one_track_are_separated_by_the_skyline():
    notes = notes_of(make_score([(0, False, tune() + chords())]))
    melody = extract_melody(notes)
    assert melody.method == "skyline"
    assert notes.pitch[melody.index].tolist() == TUNE


def test_the_skyline_with_continuity_drops_accompaniment_tops_while_the_tune_rests():
    # The tune rests in beats 8-11, where a plain skyline takes the accompaniment figure above it.
    rest = [n for n in tune() if not 8 <= n[0] < 12]
    low = [(k, 1.0, p, 70) for k in range(16) for p in (48, 55, 60)]
    fill = [(k, 1.0, 91, 70) for k in range(8, 12)]  # an accompaniment figure far above the tune
    notes = notes_of(make_score([(0, False, rest + low + fill)]))
    plain = notes.pitch[skyline(notes)].tolist()
    line = notes.pitch[continuous_skyline(notes)].tolist()
    assert 91 in plain and 91 not in line and line == [p for _, _, p, _ in rest]


def test_melody_notes_are_one_per_onset_and_never_overlap():
    doubled = tune() + [(k, 1.5, p - 12, 60) for k, p in enumerate(TUNE)]  # the tune in octaves, legato
    notes = notes_of(make_score([(0, False, doubled), (0, False, chords())]))
    melody = extract_melody(notes)
    start = notes.start[melody.index]
    assert np.all(np.diff(start) > 0) and np.all(melody.end[:-1] <= start[1:])


@pytest.mark.parametrize("content", [[], [(0, 1.0, 36, 100)]])
def test_no_melody_when_no_track_has_enough_notes(content):
    drums = [(k, 0.25, 38, 100) for k in range(16)]
    assert extract_melody(notes_of(make_score([(0, True, drums), (0, False, content)]))).method == "none"
