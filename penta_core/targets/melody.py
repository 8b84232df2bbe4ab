"""The melody transformer: 32 melody notes with harmony and key context → the next note.

Labels per MIDI file (the targets stage): the melody, found by the notes
and not by track names (:mod:`penta_core.melody.extraction`), as
``[onset_s, offset_s, pitch, velocity]`` per note, the track it came from
and how (``track`` or ``skyline``); the key and the chords under it
(annotated where the dataset ships them, else estimated). The split label
is the key's mode.

Examples: windows of ``window`` consecutive melody notes, starting every
``hop`` notes: ``{"key": [tonic, mode], "notes": [[pitch, duration in beats,
velocity, onset in beats from the bar line], ...], "chords": [chord index
sounding at each note's onset, ...], "next": the note after the window}``,
chord indices into ``processed/targets/vocabulary-harmonypredictor.json``'s
labels (written as ``vocabulary-melodytransformer.json``). A melody shorter
than ``window + 1`` notes gives no example.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, ClassVar

import numpy as np

from penta_core.core.layout import DatasetLayout
from penta_core.harmony.annotations import Annotations
from penta_core.harmony.harte import reduce, transpose
from penta_core.splits.lists import read_splits
from penta_core.targets.analysis import PieceAnalysis, analyse_bytes, rounded
from penta_core.targets.examples import derived_in, load_targets_index
from penta_core.targets.harmony import INDEX, MODES, PAD, VOCABULARY, write_baseline_files
from penta_core.targets.model import ADJUSTS, KEEPS, AugmentationRule, Derived, TargetModel, baseline_line


def note_rows(analysis: PieceAnalysis) -> tuple[list[list[float]], list[int]]:
    """Per melody note ``[pitch, duration_beats, velocity, onset_in_bar_beats]``, and its chord index.

    Bar positions count from the recogniser's beat grid (a file whose beats
    sit off its tick grid still gets bar positions on its beats).
    """
    notes, melody = analysis.notes, analysis.melody
    tpq = notes.tpq
    start = notes.start[melody.index]
    bar = analysis.bar_beats()
    origin = analysis.grid.phase * tpq
    position = np.mod((start - origin) / tpq, bar)
    rows = [[int(p), rounded((e - s) / tpq), int(v), rounded(q)] for p, s, e, v, q in zip(
        notes.pitch[melody.index].tolist(), start.tolist(), melody.end.tolist(),
        notes.velocity[melody.index].tolist(), position.tolist())]
    chords = [INDEX[reduce(label)] for label in analysis.chord_at(start)]
    return rows, chords


def melody_examples(analysis: PieceAnalysis, window: int, hop: int) -> list[dict[str, Any]]:
    """Windows of ``window`` melody notes every ``hop`` notes, each with the note that follows."""
    if analysis.key is None:
        return []
    rows, chords = note_rows(analysis)
    key = [analysis.key.tonic, MODES.index(analysis.key.mode)]
    return [{"key": key, "notes": rows[i:i + window], "chords": chords[i:i + window], "next": rows[i + window]}
            for i in range(0, len(rows) - window, hop)]


class MelodyTransformer(TargetModel):
    name = "melodytransformer"
    augmentations: ClassVar[dict[str, AugmentationRule]] = {
        "midi.transpose_semitones": AugmentationRule(ADJUSTS, "melody pitches, chord roots and the key move together"),
        "midi.duration_factor": AugmentationRule(ADJUSTS, "note times scale; durations in beats do not change"),
        "midi.velocity_scale": AugmentationRule(ADJUSTS, "melody velocities scale (rounded, clamped to 1-127)"),
        "midi.note_dropout": AugmentationRule(KEEPS, "the melody is extracted again from the notes left"),
        "midi.timing_jitter_ms": AugmentationRule(KEEPS, "onsets move by a few ms; the melody is extracted again"),
        "audio.pitch_shift_semitones": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.speed_factor": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.noise_snr_db": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.gain_db": AugmentationRule(KEEPS, "audio is not read by this model"),
    }
    piece_labels = MODES
    example_format = ("windows of 32 melody notes (pitch, duration in beats, velocity, onset in the bar) with "
                      "chord and key context -> the next note")

    def derive(self, data: bytes, annotations: Annotations | None, params: dict[str, Any]) -> Derived:
        analysis = analyse_bytes(data, annotations)
        if analysis.melody.size == 0 or analysis.key is None:
            raise ValueError(f"no melody: no non-drum track holds {8} notes or more")
        opts = params["targets"]["melody"]
        examples = melody_examples(analysis, opts["window"], opts["hop"])
        notes, melody = analysis.notes, analysis.melody
        onset = notes.seconds(notes.start[melody.index])
        offset = notes.seconds(melody.end)
        labels = {
            "key": analysis.key.as_record(), "key_source": analysis.key_source,
            "chords_source": analysis.chords_source, "annotation_files": analysis.annotation_files,
            "melody": {
                "track": melody.track, "method": melody.method,
                "notes": [[rounded(a), rounded(b), int(p), int(v)] for a, b, p, v in zip(
                    onset.tolist(), offset.tolist(), notes.pitch[melody.index].tolist(),
                    notes.velocity[melody.index].tolist())],
            },
            "segments": [[rounded(c.start_s), rounded(c.end_s), c.label] for c in analysis.chords],
        }
        pitched = ~notes.drum
        span = float(notes.seconds(notes.end[pitched].max()) - notes.seconds(notes.start[pitched].min()))
        sounding = float((offset - onset).sum())
        stats = {"chords_source": analysis.chords_source, "key_source": analysis.key_source,
                 "melody_notes": melody.size, "method": melody.method, "examples": len(examples),
                 "melody_time_share": rounded(min(sounding / span, 1.0)) if span > 0 else 0.0}
        return Derived(labels, examples, analysis.key.mode, stats)

    def transform_labels(self, labels: dict[str, Any], transform: dict[str, Any]) -> dict[str, Any]:
        shift = int(transform.get("transpose_semitones", 0) or 0)
        factor = float(transform.get("duration_factor", 1.0) or 1.0)
        scale = float(transform.get("velocity_scale", 1.0) or 1.0)
        key = dict(labels["key"])
        key["tonic"] = (key["tonic"] + shift) % 12
        key["name"] = transpose(key["name"], shift)
        notes = [[rounded(a * factor), rounded(b * factor), p + shift, int(np.clip(np.rint(v * scale), 1, 127))]
                 for a, b, p, v in labels["melody"]["notes"]]
        return {**labels, "key": key, "melody": {**labels["melody"], "notes": notes},
                "segments": [[rounded(a * factor), rounded(b * factor), transpose(label, shift)]
                             for a, b, label in labels["segments"]]}

    def vocabulary(self) -> dict[str, Any]:
        return {"chord_labels": VOCABULARY, "padding": PAD, "key_modes": list(MODES),
                "note_fields": ["pitch", "duration_beats", "velocity", "onset_in_bar_beats"]}

    def validation(self, records: dict[str, dict[str, Any]], samples: list[dict[str, Any]],
                   thresholds: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        read = list(records.values())
        ok = [r for r in read if r.get("status") == "ok"]
        with_examples = [r for r in ok if r["stats"]["examples"] > 0]
        metrics = {
            "samples": len(ok),
            "failed": len(read) - len(ok),
            "melody_coverage": round(len(with_examples) / len(read), 6) if read else 0.0,
            "melody_time_share": round(float(np.mean([r["stats"]["melody_time_share"] for r in ok])), 6) if ok else 0.0,
            "melody_from_shared_track": sum(1 for r in ok if r["stats"]["method"] == "skyline"),
            "examples": sum(r["stats"]["examples"] for r in ok),
        }
        failing = []
        if metrics["melody_coverage"] < thresholds["min_melody_coverage"]:
            failing.append(f"melody coverage {metrics['melody_coverage']:.2f} < {thresholds['min_melody_coverage']}")
        return metrics, failing

    def baseline(self, params: dict[str, Any], layout: DatasetLayout) -> list[str]:
        """Next-pitch accuracy: an interval bigram (the most frequent next step after the last one) and chance."""
        index = load_targets_index(layout)
        splits = read_splits(layout)
        cases: dict[str, list[tuple[int, int, int]]] = {}
        for name, ids in splits.items():
            cases[name] = [(e["notes"][-2][0], e["notes"][-1][0], e["next"][0])
                           for _, member in derived_in(layout, index, ids) for e in member["examples"]]
        steps: dict[int, Counter] = defaultdict(Counter)
        pitches: Counter = Counter()
        for before, last, nxt in cases["train"]:
            steps[last - before][nxt - last] += 1
            pitches[nxt] += 1
        majority = min(pitches.items(), key=lambda kv: (-kv[1], kv[0]))[0] if pitches else 60
        best = {step: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for step, c in steps.items()}
        metrics: dict[str, Any] = {
            "target_model": self.name, "task": "next pitch", "n_train": len(cases["train"]),
            "model": "interval bigram: the train split's most frequent step after the last step",
            "chance": "the train split's most frequent next pitch",
            "trained": bool(pitches),
        }
        confusion = []
        for name in ("val", "test"):
            n = len(cases[name])
            guesses = [last + best.get(last - before, 0) for before, last, _ in cases[name]]
            hits = sum(g == nxt for g, (_, _, nxt) in zip(guesses, cases[name]))
            chance = sum(majority == nxt for _, _, nxt in cases[name])
            metrics[name] = {"n": n, "accuracy": round(hits / n, 6) if n else 0.0,
                             "chance_accuracy": round(chance / n, 6) if n else 0.0}
            if name == "test":
                confusion = [(str(nxt), str(g)) for g, (_, _, nxt) in zip(guesses, cases[name])]
        write_baseline_files(layout, metrics, confusion)
        return [baseline_line(metrics)]


MODEL = MelodyTransformer()
