"""The symbolic chord recogniser: known answers, tempo map, invariance, and mir_eval on POP909's annotations."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import make_score
from target_helpers import SONGS, chord_score, song_midi

from penta_core.harmony.annotations import read_lab
from penta_core.harmony.recognizer import beat_phase, recognize_chords, template_chords
from penta_core.midi.notes import read_notes
from penta_core.targets.analysis import analyse

# Two beats each: C, Am7, Fmaj7, G7, Bdim, Esus4 -> E; the bass plays the root an octave down.
PROGRESSION = [((48, 60, 64, 67), "C:maj"), ((45, 57, 60, 64, 67), "A:min7"), ((41, 57, 60, 64, 65), "F:maj7"),
               ((43, 55, 59, 62, 65), "G:7"), ((47, 59, 62, 65), "B:dim"), ((40, 57, 59, 64), "E:sus4"),
               ((40, 56, 59, 64), "E:maj")]


def progression_notes(offset_beats: float = 0.0, shift: int = 0, beats_each: float = 2.0):
    return [(offset_beats + k * beats_each, beats_each * 0.95, p + shift, 80)
            for k, (pitches, _) in enumerate(PROGRESSION) for p in pitches]


def labels_of(score) -> list[str]:
    return [label for *_, label in recognize_chords(read_notes(score.dumps_midi())).segments() if label != "N"]


def test_recognises_triads_sevenths_diminished_and_suspended_chords():
    assert labels_of(make_score([(0, False, progression_notes())])) == [label for _, label in PROGRESSION]


def test_a_performance_off_the_tick_grid_is_read_on_its_own_beat():
    # Every note a quarter beat late: a tick-grid matcher blurs each chord into the next.
    score = make_score([(0, False, progression_notes(offset_beats=1.25))])
    notes = read_notes(score.dumps_midi())
    assert beat_phase(notes.start, notes.tpq) == pytest.approx(0.25, abs=1 / 24)
    assert labels_of(score) == [label for _, label in PROGRESSION]


def test_transposed_music_gets_transposed_chords():
    from penta_core.harmony.harte import transpose

    assert labels_of(make_score([(0, False, progression_notes(shift=3))])) == \
        [transpose(label, 3) for _, label in PROGRESSION]


def test_drums_are_not_heard_as_harmony():
    drums = [(k * 0.5, 0.25, 38 + (k % 3), 100) for k in range(28)]
    score = make_score([(0, False, progression_notes()), (0, True, drums)])
    assert labels_of(score) == [label for _, label in PROGRESSION]


def test_segments_are_in_seconds_through_the_tempo_map():
    # 120 BPM for the first 4 beats, then 60 BPM: the third chord starts at 2 s, the fourth at 4 s.
    score = make_score([(0, False, progression_notes())], tempos=((0, 120.0), (4, 60.0)))
    segments = [s for s in recognize_chords(read_notes(score.dumps_midi())).segments() if s[2] != "N"]
    assert [round(s[0], 3) for s in segments[:4]] == [0.0, 1.0, 2.0, 4.0]


def test_silence_is_no_chord():
    notes = [(0, 2, 60, 80), (0, 2, 64, 80), (0, 2, 67, 80), (6, 2, 62, 80), (6, 2, 65, 80), (6, 2, 69, 80)]
    segments = recognize_chords(read_notes(make_score([(0, False, notes)]).dumps_midi())).segments()
    assert [label for *_, label in segments] == ["C:maj", "N", "D:min"]


@pytest.fixture(scope="module")
def pop909_scores() -> dict[str, dict[str, tuple[float, float]]]:
    """Per method, per comparison: summed (matching, evaluated) seconds over the POP909 fixture songs."""
    totals: dict[str, dict[str, tuple[float, float]]] = {"recogniser": {}, "template": {}}
    for song in SONGS:
        reference = read_lab((song / "chord_midi.txt").read_text())
        notes = read_notes(song_midi(song))
        estimates = {"recogniser": [(c.start_s, c.end_s, c.label) for c in analyse(notes).chords],
                     "template": template_chords(notes).segments()}
        for method, estimate in estimates.items():
            for comparison in ("majmin", "sevenths"):
                hit, total = chord_score(reference, estimate, comparison)
                h, t = totals[method].get(comparison, (0.0, 0.0))
                totals[method][comparison] = (h + hit, t + total)
    return totals


def test_pop909_majmin_accuracy_reaches_the_target_and_beats_template_matching(pop909_scores):
    ours = np.divide(*pop909_scores["recogniser"]["majmin"])
    assert ours >= 0.88 and ours > np.divide(*pop909_scores["template"]["majmin"]) + 0.05


def test_pop909_sevenths_accuracy_reaches_the_target_and_beats_template_matching(pop909_scores):
    ours = np.divide(*pop909_scores["recogniser"]["sevenths"])
    assert ours >= 0.85 and ours > np.divide(*pop909_scores["template"]["sevenths"]) + 0.05
