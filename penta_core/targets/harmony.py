"""The harmony predictor: melody context, key and the previous chords → the next chord.

Labels per MIDI file (the targets stage): the key (tonic and mode), the
chord of every beat and the chord segments in Harte notation with their
roman numerals, all in seconds through the tempo map; from annotation files
where the dataset ships them (``chords_source: annotated``), else from the
symbolic recogniser (``estimated``). The split label is the key's mode.

Examples, one per chord change: ``{"time_s", "key": [tonic, mode (0 major,
1 minor)], "previous": [4 chord indices, -1 before the first chord],
"melody": [[pitch, onset in beats from the context's start, duration in
beats, velocity], ...] (the melody notes of the ``context_bars`` bars before
the change), "next": chord index}``; indices point into the vocabulary
written once as ``processed/targets/vocabulary-harmonypredictor.json``
(``N`` then 12 roots × 11 qualities, :func:`~penta_core.harmony.harte.vocabulary`).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, ClassVar

import numpy as np

from penta_core.core.layout import DatasetLayout
from penta_core.harmony.annotations import Annotations
from penta_core.harmony.harte import NO_CHORD, QUALITIES, parse, transpose, vocabulary
from penta_core.splits.lists import read_splits
from penta_core.targets.analysis import PieceAnalysis, analyse_bytes, reduced_sequence, rounded
from penta_core.targets.examples import derived_in, load_targets_index
from penta_core.targets.model import ADJUSTS, KEEPS, AugmentationRule, Derived, TargetModel, baseline_line

VOCABULARY = vocabulary()
INDEX = {label: i for i, label in enumerate(VOCABULARY)}
PAD = -1  # "no chord yet" before the first chord of a piece
MODES = ("major", "minor")


def harmony_examples(analysis: PieceAnalysis, context_bars: int, previous_chords: int) -> list[dict[str, Any]]:
    """One example per chord change of ``analysis`` (see the module docstring)."""
    if analysis.key is None:
        return []
    sequence = reduced_sequence(analysis)
    notes, melody = analysis.notes, analysis.melody
    tpq = notes.tpq
    context = context_bars * analysis.bar_beats() * tpq
    onsets = notes.start[melody.index].astype(np.float64)
    key = [analysis.key.tonic, MODES.index(analysis.key.mode)]
    out = []
    for i in range(1, len(sequence)):
        change = sequence[i][0]
        lo, hi = np.searchsorted(onsets, [change - context, change], side="left").tolist()
        window = [[int(notes.pitch[j]), rounded((notes.start[j] - (change - context)) / tpq),
                   rounded((melody.end[k] - notes.start[j]) / tpq), int(notes.velocity[j])]
                  for k, j in zip(range(lo, hi), melody.index[lo:hi].tolist())]
        previous = [INDEX[label] for _, _, label in sequence[max(0, i - previous_chords):i]]
        out.append({
            "time_s": rounded(notes.seconds(change)),
            "key": key,
            "previous": [PAD] * (previous_chords - len(previous)) + previous,
            "melody": window,
            "next": INDEX[sequence[i][2]],
        })
    return out


def _relative(index: int, tonic: int) -> int:
    """A vocabulary index moved to the key of C (so one table serves every key); padding and N stay."""
    if index <= 0:
        return index
    quality, root = divmod(index - 1, 12)
    return 1 + quality * 12 + (root - tonic) % 12


class HarmonyPredictor(TargetModel):
    name = "harmonypredictor"
    augmentations: ClassVar[dict[str, AugmentationRule]] = {
        "midi.transpose_semitones": AugmentationRule(ADJUSTS, "chord roots and the key move by the same semitones"),
        "midi.duration_factor": AugmentationRule(ADJUSTS, "every chord and beat time is scaled by the factor"),
        "midi.velocity_scale": AugmentationRule(KEEPS, "chords do not depend on loudness"),
        "midi.note_dropout": AugmentationRule(KEEPS, "annotated chords stand; estimated ones are derived again"),
        "midi.timing_jitter_ms": AugmentationRule(KEEPS, "a few ms move no chord off its beat"),
        "audio.pitch_shift_semitones": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.speed_factor": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.noise_snr_db": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.gain_db": AugmentationRule(KEEPS, "audio is not read by this model"),
    }
    piece_labels = MODES
    example_format = ("per chord change: key, the previous chords, the melody notes of the bars before "
                      "-> the next chord (indices into vocabulary-harmonypredictor.json)")

    def derive(self, data: bytes, annotations: Annotations | None, params: dict[str, Any]) -> Derived:
        analysis = analyse_bytes(data, annotations)
        if analysis.key is None or not analysis.chords:
            raise ValueError("no pitched notes: nothing to take chords from")
        opts = params["targets"]["harmony"]
        examples = harmony_examples(analysis, opts["context_bars"], opts["previous_chords"])
        segments = [[rounded(c.start_s), rounded(c.end_s), c.label, analysis.roman(c.label)] for c in analysis.chords]
        labels = {
            "key": analysis.key.as_record(), "key_source": analysis.key_source,
            "chords_source": analysis.chords_source, "annotation_files": analysis.annotation_files,
            "beat_phase": rounded(analysis.grid.phase),
            "beats": [[rounded(t), label] for t, label in zip(analysis.grid.beat_times[:-1].tolist(),
                                                              analysis.grid.beat_labels)],
            "segments": segments,
        }
        no_chord = sum(b - a for a, b, label, _ in segments if parse(label).root is None)
        used = sorted({INDEX[label] for _, _, label in reduced_sequence(analysis) if label != NO_CHORD})
        stats = {"chords_source": analysis.chords_source, "key_source": analysis.key_source,
                 "seconds": rounded(sum(b - a for a, b, _, _ in segments)), "no_chord_seconds": rounded(no_chord),
                 "chords_used": used, "examples": len(examples)}
        return Derived(labels, examples, analysis.key.mode, stats)

    def transform_labels(self, labels: dict[str, Any], transform: dict[str, Any]) -> dict[str, Any]:
        shift = int(transform.get("transpose_semitones", 0) or 0)
        factor = float(transform.get("duration_factor", 1.0) or 1.0)
        key = dict(labels["key"])
        key["tonic"] = (key["tonic"] + shift) % 12
        key["name"] = transpose(key["name"], shift)
        return {
            **labels, "key": key,
            "beats": [[rounded(t * factor), transpose(label, shift)] for t, label in labels["beats"]],
            "segments": [[rounded(a * factor), rounded(b * factor), transpose(label, shift), roman]
                         for a, b, label, roman in labels["segments"]],
        }

    def vocabulary(self) -> dict[str, Any]:
        return {"labels": VOCABULARY, "padding": PAD, "qualities": list(QUALITIES), "key_modes": list(MODES)}

    def validation(self, records: dict[str, dict[str, Any]], samples: list[dict[str, Any]],
                   thresholds: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        ok = [r for r in records.values() if r.get("status") == "ok"]
        seconds = sum(r["stats"]["seconds"] for r in ok)
        no_chord = sum(r["stats"]["no_chord_seconds"] for r in ok)
        used = {i for r in ok for i in r["stats"]["chords_used"]}
        qualities = {(i - 1) // 12 for i in used}
        metrics = {
            "samples": len(ok),
            "failed": sum(1 for r in records.values() if r.get("status") != "ok"),
            "chords_annotated": sum(1 for r in ok if r["stats"]["chords_source"] == "annotated"),
            "chords_estimated": sum(1 for r in ok if r["stats"]["chords_source"] == "estimated"),
            "no_chord_share": round(no_chord / seconds, 6) if seconds else 0.0,
            "chord_vocabulary_coverage": round(len(used) / (len(VOCABULARY) - 1), 6),
            "chord_qualities_seen": len(qualities),
            "examples": sum(r["stats"]["examples"] for r in ok),
        }
        failing = []
        if metrics["no_chord_share"] > thresholds["max_no_chord_share"]:
            failing.append(f"no-chord share {metrics['no_chord_share']:.2f} > {thresholds['max_no_chord_share']}")
        if not metrics["examples"]:
            failing.append("harmony: no chord change to learn from")
        return metrics, failing

    def baseline(self, params: dict[str, Any], layout: DatasetLayout) -> list[str]:
        """A key-relative bigram (the most frequent next chord after the previous one) and majority chance."""
        index = load_targets_index(layout)
        splits = read_splits(layout)
        pairs: dict[str, list[tuple[int, int, int]]] = {}
        for name, ids in splits.items():
            pairs[name] = [(e["previous"][-1], e["next"], e["key"][0])
                           for _, member in derived_in(layout, index, ids) for e in member["examples"]]
        table: dict[int, Counter] = defaultdict(Counter)
        overall: Counter = Counter()
        for prev, nxt, tonic in pairs["train"]:
            table[_relative(prev, tonic)][_relative(nxt, tonic)] += 1
            overall[_relative(nxt, tonic)] += 1
        majority = min(overall.items(), key=lambda kv: (-kv[1], kv[0]))[0] if overall else 0
        best = {prev: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for prev, c in table.items()}
        metrics: dict[str, Any] = {
            "target_model": self.name, "task": "next chord", "n_train": len(pairs["train"]),
            "model": "key-relative bigram: the train split's most frequent next chord after the previous one",
            "chance": "the train split's most frequent next chord (key-relative)",
            "vocabulary": len(VOCABULARY), "trained": bool(overall),
        }
        confusion = []
        for name in ("val", "test"):
            n = len(pairs[name])
            hits = sum(best.get(_relative(p, t), majority) == _relative(x, t) for p, x, t in pairs[name])
            chance = sum(majority == _relative(x, t) for _, x, t in pairs[name])
            metrics[name] = {"n": n, "accuracy": round(hits / n, 6) if n else 0.0,
                             "chance_accuracy": round(chance / n, 6) if n else 0.0}
            if name == "test":
                confusion = [(VOCABULARY[x], VOCABULARY[_absolute(best.get(_relative(p, t), majority), t)])
                             for p, x, t in pairs[name]]
        write_baseline_files(layout, metrics, confusion)
        return [baseline_line(metrics)]


def _absolute(relative: int, tonic: int) -> int:
    return _relative(relative, -tonic) if relative > 0 else max(relative, 0)


def write_baseline_files(layout: DatasetLayout, metrics: dict[str, Any], pairs: list[tuple[str, str]]) -> None:
    """``metrics/baseline.json``, the test confusion pairs, and an empty predictions table (no per-sample label)."""
    from penta_core.baseline.model import write_baseline
    from penta_core.baseline.predictions import write_predictions

    write_baseline(layout, metrics, pairs)
    write_predictions(layout, [])


MODEL = HarmonyPredictor()
