"""Melody extraction on POP909 with track names removed, beside the simple heuristics.

For each POP909 file of the fixtures (10 songs and 12 other arrangements of
the first five), every track name is blanked and the melody is extracted by
the notes (:func:`penta_core.melody.extraction.extract_melody`); its notes
are scored against the MELODY track's with mir_eval's note F1 (onset within
50 ms, same pitch, offsets ignored). Printed beside it, in the same run:
the tracks two simple heuristics pick (the highest mean pitch; mean pitch
minus k semitones per extra sounding voice, at the k that does best) and
their F1. Then melody and accompaniment merged into one track (MELODY and
PIANO; then all three tracks): the plain skyline beside the skyline with
continuity that the extractor uses on a shared track. Target: F1 >= 0.95
with names removed.

Usage::

    python benchmarks/melody_extraction.py [--fixtures tests/fixtures/pop909]
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import mir_eval
import numpy as np

from penta_core.melody.extraction import continuous_skyline, extract_melody, skyline, track_stats
from penta_core.midi.notes import Notes, read_notes

REPO = Path(__file__).resolve().parents[1]


def note_f1(notes: Notes, estimate: np.ndarray, reference: np.ndarray) -> float:
    """mir_eval's note F1 of ``estimate`` against ``reference`` (positions in ``notes``), onsets within 50 ms."""
    if estimate.size == 0 or reference.size == 0:
        return 0.0

    def columns(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        onset = notes.seconds(notes.start[index])
        return np.stack((onset, onset + 0.1), axis=1), mir_eval.util.midi_to_hz(notes.pitch[index].astype(float))

    ref_iv, ref_hz = columns(reference)
    est_iv, est_hz = columns(estimate)
    return float(mir_eval.transcription.precision_recall_f1_overlap(
        ref_iv, ref_hz, est_iv, est_hz, onset_tolerance=0.05, offset_ratio=None)[2])


def nameless(notes: Notes) -> Notes:
    return dataclasses.replace(notes, track_names=("",) * len(notes.track_names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=REPO / "tests" / "fixtures" / "pop909")
    args = parser.parse_args()
    files = sorted(args.fixtures.glob("*/*.mid")) + sorted(args.fixtures.glob("*/versions/*.mid"))
    ours, by_mean, merged = [], [], {"MELODY+PIANO": ([], []), "all tracks": ([], [])}
    by_k: dict[int, list[tuple[bool, float]]] = {k: [] for k in (0, 3, 6, 12, 24, 48)}
    elapsed = 0.0
    for path in files:
        named = read_notes(path)
        melody_track = next(i for i, name in enumerate(named.track_names) if name.upper().startswith("MEL"))
        reference = np.flatnonzero((named.track == melody_track) & ~named.drum)
        notes = nameless(named)
        start = time.perf_counter()
        melody = extract_melody(notes)
        elapsed += time.perf_counter() - start
        ours.append((melody.track == melody_track, note_f1(notes, melody.index, reference)))
        stats = track_stats(notes)

        def f1_of(track: int, notes: Notes = notes, reference: np.ndarray = reference) -> float:
            return note_f1(notes, np.flatnonzero((notes.track == track) & ~notes.drum), reference)

        top = max(stats, key=lambda s: s.mean_pitch).track
        by_mean.append((top == melody_track, f1_of(top)))
        for k in by_k:
            pick = max(stats, key=lambda s: s.mean_pitch - k * (s.polyphony - 1)).track
            by_k[k].append((pick == melody_track, f1_of(pick)))
        piano = next(i for i, name in enumerate(named.track_names) if name.upper().startswith(("PIA", "GRA")))
        for name, mask in (("MELODY+PIANO", np.isin(notes.track, [melody_track, piano])),
                           ("all tracks", ~notes.drum)):
            merged[name][0].append(note_f1(notes, skyline(notes, mask), reference))
            merged[name][1].append(note_f1(notes, continuous_skyline(notes, mask), reference))
    n = len(files)

    def report(name: str, rows: list[tuple[bool, float]]) -> str:
        return (f"{name:44} right track {sum(r for r, _ in rows):2d}/{n}, "
                f"note F1 mean {np.mean([f for _, f in rows]):.3f}, min {min(f for _, f in rows):.3f}")

    print(f"{n} POP909 files, track names removed")
    print(report("extract_melody (by the notes)", ours))
    print(report("highest mean pitch", by_mean))
    best_k = max(by_k, key=lambda k: (sum(r for r, _ in by_k[k]), -k))
    print(report(f"mean pitch - {best_k} x (polyphony - 1), best k", by_k[best_k]))
    print("  pitch-minus-polyphony right tracks for k in " +
          ", ".join(f"{k}: {sum(r for r, _ in rows)}" for k, rows in by_k.items()))
    print(f"extraction time per file: {1000 * elapsed / n:.1f} ms")
    for name, (plain, continuous) in merged.items():
        print(f"one shared track ({name}): plain skyline F1 {np.mean(plain):.3f}, "
              f"skyline with continuity {np.mean(continuous):.3f}")
    print("target: note F1 >= 0.95 with names removed")


if __name__ == "__main__":
    main()
