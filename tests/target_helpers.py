"""Shared by the harmony, melody and target tests: the POP909 fixtures and mir_eval scores."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from helpers import REPO

from penta_core.midi.notes import Notes

POP909 = REPO / "tests" / "fixtures" / "pop909"
SONGS = sorted(p for p in POP909.iterdir() if (p / "chord_midi.txt").is_file())
ARRANGEMENTS = sorted(POP909.glob("*/*.mid")) + sorted(POP909.glob("*/versions/*.mid"))


def chord_score(reference: list[tuple[float, float, str]], estimate: list[tuple[float, float, str]],
                comparison: str) -> tuple[float, float]:
    """``(matching seconds, evaluated seconds)`` of ``estimate`` against ``reference`` with mir_eval."""
    import mir_eval

    ref_iv = np.array([(a, b) for a, b, _ in reference])
    est_iv, est_lab = mir_eval.util.adjust_intervals(
        np.array([(a, b) for a, b, _ in estimate]), [label for *_, label in estimate],
        ref_iv.min(), ref_iv.max(), "N", "N")
    intervals, ref, est = mir_eval.util.merge_labeled_intervals(ref_iv, [label for *_, label in reference],
                                                                 est_iv, est_lab)
    durations = mir_eval.util.intervals_to_durations(intervals)
    scores = getattr(mir_eval.chord, comparison)(ref, est)
    evaluated = scores >= 0
    return float((durations * np.maximum(scores, 0))[evaluated].sum()), float(durations[evaluated].sum())


def note_f1(notes: Notes, estimate: np.ndarray, reference: np.ndarray) -> float:
    """mir_eval's note F1 (onset within 50 ms, same pitch) of two sets of positions into ``notes``."""
    import mir_eval

    def columns(index: np.ndarray):
        onset = notes.seconds(notes.start[index])
        return np.stack((onset, onset + 0.1), axis=1), mir_eval.util.midi_to_hz(notes.pitch[index].astype(float))

    if estimate.size == 0 or reference.size == 0:
        return 0.0
    return float(mir_eval.transcription.precision_recall_f1_overlap(
        *columns(reference), *columns(estimate), onset_tolerance=0.05, offset_ratio=None)[2])


def song_midi(song: Path) -> Path:
    return song / f"{song.name}.mid"


def without_annotations(folder: Path, dest: Path) -> Path:
    """A copy of a POP909 song folder's MIDI alone (so annotations cannot win)."""
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"{folder.name}.mid"
    target.write_bytes(song_midi(folder).read_bytes())
    return target
