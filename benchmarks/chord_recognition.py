"""Chord recognition against POP909's annotations, scored with mir_eval, beside a plain template matcher.

For each POP909 song in the fixtures (``chord_midi.txt`` beside ``NNN.mid``),
the chords the harmony target estimates (annotations ignored: the melody is
extracted by the notes, the recogniser hears the rest) are scored against the
annotation with ``mir_eval``'s ``majmin`` and ``sevenths`` comparisons,
weighted by duration over all songs (MIREX's weighted chord symbol recall).
Printed beside it, in the same run: the plain baseline, a beat-level
major/minor template matcher on the tick grid (cosine on duration-weighted
chroma, no smoothing, no bass, melody heard). The recogniser's constants
were chosen on these ten songs, from a plateau where songs 001-005 and
006-010 score alike; the two halves are printed apart to show it.
Targets: majmin >= 0.88, sevenths >= 0.85.

Usage::

    python benchmarks/chord_recognition.py [--fixtures tests/fixtures/pop909]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import mir_eval
import numpy as np

from penta_core.harmony.annotations import read_lab
from penta_core.harmony.recognizer import template_chords
from penta_core.midi.notes import read_notes
from penta_core.targets.analysis import analyse

REPO = Path(__file__).resolve().parents[1]
COMPARISONS = ("majmin", "sevenths", "root")


def scores(reference: list[tuple[float, float, str]], estimate: list[tuple[float, float, str]]) -> dict:
    """Per comparison, ``(matching seconds, evaluated seconds)`` of ``estimate`` against ``reference``."""
    ref_iv = np.array([(a, b) for a, b, _ in reference])
    ref_lab = [label for *_, label in reference]
    est_iv, est_lab = mir_eval.util.adjust_intervals(
        np.array([(a, b) for a, b, _ in estimate]), [label for *_, label in estimate],
        ref_iv.min(), ref_iv.max(), mir_eval.chord.NO_CHORD, mir_eval.chord.NO_CHORD)
    intervals, ref, est = mir_eval.util.merge_labeled_intervals(ref_iv, ref_lab, est_iv, est_lab)
    durations = mir_eval.util.intervals_to_durations(intervals)
    out = {}
    for name in COMPARISONS:
        comparison = getattr(mir_eval.chord, name)(ref, est)
        evaluated = comparison >= 0
        out[name] = (float((durations * np.maximum(comparison, 0))[evaluated].sum()), float(durations[evaluated].sum()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=REPO / "tests" / "fixtures" / "pop909")
    args = parser.parse_args()
    songs = sorted(p for p in args.fixtures.iterdir() if (p / "chord_midi.txt").is_file())
    totals = {method: {"all": {}, "001-005": {}, "006-010": {}} for method in ("recogniser", "template")}
    seconds = {"recogniser": 0.0, "template": 0.0}
    print(f"{'song':6} {'recogniser majmin / sevenths':>30} {'template majmin / sevenths':>28}")
    for song in songs:
        reference = read_lab((song / "chord_midi.txt").read_text(), "chord_midi.txt")
        notes = read_notes(song / f"{song.name}.mid")
        row = [f"{song.name:6}"]
        for method in ("recogniser", "template"):
            start = time.perf_counter()
            if method == "recogniser":
                estimate = [(c.start_s, c.end_s, c.label) for c in analyse(notes).chords]
            else:
                estimate = template_chords(notes).segments()
            seconds[method] += time.perf_counter() - start
            got = scores(reference, estimate)
            part = "001-005" if int(song.name) <= 5 else "006-010"
            for group in ("all", part):
                for name, (hit, total) in got.items():
                    h, t = totals[method][group].get(name, (0.0, 0.0))
                    totals[method][group][name] = (h + hit, t + total)
            row.append(f"{got['majmin'][0] / got['majmin'][1]:>14.3f} / {got['sevenths'][0] / got['sevenths'][1]:.3f}")
        print(" ".join(row))
    print()
    for group in ("all", "001-005", "006-010"):
        line = [f"{group:9}"]
        for method in ("recogniser", "template"):
            t = totals[method][group]
            line.append(f"{method} " + ", ".join(f"{n} {t[n][0] / t[n][1]:.3f}" for n in COMPARISONS if t.get(n)))
        print(" | ".join(line))
    print(f"time per song: recogniser (with melody extraction) {1000 * seconds['recogniser'] / len(songs):.0f} ms, "
          f"template {1000 * seconds['template'] / len(songs):.0f} ms")
    print("targets: majmin >= 0.88, sevenths >= 0.85 (weighted over all songs)")


if __name__ == "__main__":
    main()
