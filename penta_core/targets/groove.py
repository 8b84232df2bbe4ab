"""The groove predictor: note position, tempo and style → timing offset in ms and velocity adjustment.

Labels per MIDI file (the targets stage), from every part (drums per voice,
pitched parts per track) through the tempo and metre maps
(:mod:`penta_core.groove.timing`): the grid chosen for the piece (``1/16``,
``1/8T`` or ``1/8S``), its swing ratio, each note's onset, grid position,
offset in ms and beats, velocity and velocity adjustment (minus its voice's
local mean) and voice; push/pull per voice (mean offset in ms) and the accent
pattern per bar position; where the onsets sit a fraction of a beat off the
file's beats (``grid_phase_beats``), the grid moves with them. The style comes from an ``info.csv`` in the
source's folders or from folder names (:mod:`penta_core.groove.styles`) and
is the split label.

Examples, one per bar: ``{"bar", "meter": [num, den], "tempo_bpm", "grid",
"style": index, "pattern": [[slot, voice index], ...], "offsets_ms",
"offsets_beats", "velocity", "velocity_adjust"}``; offsets clipped to ±50
ms and adjustments to ±20, the model's ranges; indices into
``processed/targets/vocabulary-groovepredictor.json``.

Augmentations: a tempo change (duration factor) scales the ms offsets and
times, not the beats; a transposition changes nothing; velocity scaling
scales velocities and their adjustments; timing jitter would corrupt the
offsets and is dropped unless ``targets.groove.timing_jitter`` is true, and
then the jitter is recorded in the labels.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

import numpy as np

from penta_core.core.layout import DatasetLayout
from penta_core.groove.timing import DRUM_VOICES, Groove, analyse_groove
from penta_core.harmony.annotations import Annotations
from penta_core.midi.notes import read_notes
from penta_core.splits.lists import read_splits
from penta_core.targets.analysis import rounded
from penta_core.targets.examples import derived_in, load_targets_index
from penta_core.targets.model import ADJUSTS, DROPS, KEEPS, AugmentationRule, Derived, TargetModel
from penta_core.targets.regression import regression_baseline

STYLES = ("unknown", "straight", "swing", "shuffle", "funk", "rock", "latin", "jazz", "hiphop", "soul", "pop",
          "blues", "reggae", "afrobeat", "country", "punk", "metal", "gospel", "dance", "neworleans",
          "middleeastern")
VOICES = (*sorted(set(DRUM_VOICES.values())), "perc", "pitched")
GRIDS = ("1/16", "1/8T", "1/8S")
MAX_OFFSET_MS, MAX_ADJUST = 50.0, 20.0


def example_voice(voice: str) -> int:
    """A label voice's index in :data:`VOICES` (every pitched track is ``pitched``, unnamed drums ``perc``)."""
    if voice.startswith("track"):
        return VOICES.index("pitched")
    return VOICES.index(voice) if voice in VOICES else VOICES.index("perc")


def bar_examples(groove: Groove, tempo_bpm: np.ndarray, style: str) -> list[dict[str, Any]]:
    """One example per bar holding notes: its quantized pattern → offsets and velocity adjustments."""
    out = []
    style_index = STYLES.index(style) if style in STYLES else 0
    order = np.lexsort((groove.velocity, groove.slot, groove.bar))
    bars = groove.bar[order]
    for b in np.unique(bars).tolist():
        idx = order[bars == b]
        out.append({
            "bar": int(b), "meter": list(groove.signatures[int(idx[0])]), "tempo_bpm": rounded(tempo_bpm[idx[0]]),
            "grid": GRIDS.index(groove.grid), "style": style_index,
            "pattern": [[int(groove.slot[i]), example_voice(groove.voice[i])] for i in idx.tolist()],
            "offsets_ms": [rounded(np.clip(groove.offset_ms[i], -MAX_OFFSET_MS, MAX_OFFSET_MS)) for i in idx],
            "offsets_beats": [rounded(groove.offset_beats[i]) for i in idx],
            "velocity": [int(groove.velocity[i]) for i in idx],
            "velocity_adjust": [rounded(np.clip(groove.velocity_adjust[i], -MAX_ADJUST, MAX_ADJUST)) for i in idx],
        })
    return out


def groove_labels(groove: Groove) -> dict[str, Any]:
    """The per-piece and per-note groove labels (see the module docstring)."""
    voices = sorted(set(groove.voice))
    at = {v: i for i, v in enumerate(voices)}
    return {
        "grid": groove.grid, "grid_phase_beats": rounded(groove.phase_beats),
        "swing_ratio": rounded(groove.swing_ratio), "tempo_bpm": rounded(groove.tempo_bpm),
        "voices": voices,
        "push_pull_ms": {v: rounded(x) for v, x in groove.push_pull().items()},
        "accents": {p: rounded(x) for p, x in groove.accents().items()},
        "note_fields": ["onset_s", "grid_s", "offset_ms", "offset_beats", "velocity", "velocity_adjust", "voice",
                        "bar", "position"],
        "notes": [[rounded(a), rounded(g), rounded(ms), rounded(b), int(v), rounded(adj), at[voice], int(bar),
                   rounded(pos)] for a, g, ms, b, v, adj, voice, bar, pos in zip(
            groove.onset_s.tolist(), groove.grid_s.tolist(), groove.offset_ms.tolist(),
            groove.offset_beats.tolist(), groove.velocity.tolist(), groove.velocity_adjust.tolist(),
            groove.voice, groove.bar.tolist(), groove.position.tolist())],
    }


class GroovePredictor(TargetModel):
    name = "groovepredictor"
    augmentations: ClassVar[dict[str, AugmentationRule]] = {
        "midi.transpose_semitones": AugmentationRule(KEEPS, "drums are not transposed; pitched parts keep timing"),
        "midi.duration_factor": AugmentationRule(ADJUSTS, "ms offsets and times scale by the factor, beats do not"),
        "midi.velocity_scale": AugmentationRule(ADJUSTS, "velocities and their adjustments scale by the factor"),
        "midi.note_dropout": AugmentationRule(KEEPS, "the groove is measured again on the notes left"),
        "midi.timing_jitter_ms": AugmentationRule(
            DROPS, "jitter corrupts the offsets: off unless targets.groove.timing_jitter, then recorded"),
        "audio.pitch_shift_semitones": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.speed_factor": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.noise_snr_db": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.gain_db": AugmentationRule(KEEPS, "audio is not read by this model"),
    }
    piece_labels = STYLES
    example_format = ("per bar: the quantized pattern (grid slots, voices), metre, tempo, style -> offsets in ms "
                      "and beats and velocity adjustments")

    def uses_variant(self, transform: dict[str, Any], params: dict[str, Any] | None = None) -> bool:
        """Jittered variants are dropped unless ``targets.groove.timing_jitter``; a zero jitter moved nothing."""
        enabled = bool(params and params["targets"]["groove"]["timing_jitter"])
        if not transform.get("timing_jitter_ms") or enabled:
            return super().uses_variant({k: v for k, v in transform.items() if k != "timing_jitter_ms"})
        return False

    def source_context(self, source: str | None, source_dir, params: dict[str, Any]) -> dict[str, Any]:
        from penta_core.annotate.vocabulary import Vocabulary
        from penta_core.groove.styles import UNKNOWN, style_of

        if not source:
            return {"style": UNKNOWN, "style_source": "none", "info": {}}
        return style_of(source, source_dir, Vocabulary.load(self.name, params["annotate"]["vocabulary"]))

    def derive(self, data: bytes, annotations: Annotations | None, params: dict[str, Any]) -> Derived:
        notes = read_notes(data)
        opts = params["targets"]["groove"]
        groove = analyse_groove(notes, window_bars=opts["window_bars"])
        context = params.get("source") or {"style": "unknown", "style_source": "none", "info": {}}
        tempo = 6e7 / notes.tempo.mspq[np.maximum(np.searchsorted(notes.tempo.times, notes.start, "right") - 1, 0)]
        examples = bar_examples(groove, tempo, context["style"])
        labels = {**groove_labels(groove), "style": context["style"], "style_source": context["style_source"],
                  "info": context["info"]}
        jitter = (context.get("transform") or {}).get("timing_jitter_ms")
        if jitter:
            labels["timing_jitter_ms"] = jitter
        stats = {"grid": groove.grid, "grid_phase_beats": rounded(groove.phase_beats),
                 "swing_ratio": rounded(groove.swing_ratio), "style": context["style"],
                 "style_source": context["style_source"], "notes": groove.size, "examples": len(examples),
                 "mean_abs_offset_ms": rounded(np.abs(groove.offset_ms).mean()),
                 "offsets_beyond_range": int((np.abs(groove.offset_ms) > MAX_OFFSET_MS).sum())}
        return Derived(labels, examples, context["style"], stats)

    def transform_labels(self, labels: dict[str, Any], transform: dict[str, Any]) -> dict[str, Any]:
        factor = float(transform.get("duration_factor", 1.0) or 1.0)
        scale = float(transform.get("velocity_scale", 1.0) or 1.0)
        notes = [[rounded(a * factor), rounded(g * factor), rounded(ms * factor), b,
                  int(np.clip(np.rint(v * scale), 1, 127)), rounded(adj * scale), voice, bar, pos]
                 for a, g, ms, b, v, adj, voice, bar, pos in labels["notes"]]
        return {**labels, "tempo_bpm": rounded(labels["tempo_bpm"] / factor), "notes": notes,
                "push_pull_ms": {v: rounded(x * factor) for v, x in labels["push_pull_ms"].items()},
                "accents": {p: rounded(x * scale) for p, x in labels["accents"].items()}}

    def vocabulary(self) -> dict[str, Any]:
        return {"styles": list(STYLES), "voices": list(VOICES), "grids": list(GRIDS),
                "slots": "16ths from the bar line (1/16); two (1/8S) or three (1/8T) a quarter note otherwise",
                "max_offset_ms": MAX_OFFSET_MS, "max_velocity_adjust": MAX_ADJUST}

    def validation(self, records: dict[str, dict[str, Any]], samples: list[dict[str, Any]],
                   thresholds: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        read = list(records.values())
        ok = [r["stats"] for r in read if r.get("status") == "ok"]
        n_notes = sum(s["notes"] for s in ok)
        metrics = {
            "samples": len(ok), "failed": len(read) - len(ok),
            "examples": sum(s["examples"] for s in ok),
            "grids": dict(sorted(Counter(s["grid"] for s in ok).items())),
            "styles": dict(sorted(Counter(s["style"] for s in ok).items())),
            "style_known_share": round(sum(s["style"] != "unknown" for s in ok) / len(ok), 6) if ok else 0.0,
            "mean_abs_offset_ms": round(sum(s["mean_abs_offset_ms"] * s["notes"] for s in ok) / n_notes, 6)
            if n_notes else 0.0,
            "offsets_beyond_range_share": round(sum(s["offsets_beyond_range"] for s in ok) / n_notes, 6)
            if n_notes else 0.0,
        }
        failing = [] if metrics["examples"] else ["groove: no bar to learn from"]
        return metrics, failing

    def baseline(self, params: dict[str, Any], layout: DatasetLayout) -> list[str]:
        """Per (voice, slot) train means of offset and velocity, against predicting zero and the per-voice mean."""
        index = load_targets_index(layout)
        rows: dict[str, list[tuple[int, int, float | None, float]]] = {}
        for split, ids in read_splits(layout).items():
            rows[split] = [(slot, voice, ms, vel) for _, member in derived_in(layout, index, ids)
                           for e in member["examples"]
                           for (slot, voice), ms, vel in zip(e["pattern"], e["offsets_ms"], e["velocity"])]
        return regression_baseline(self.name, rows, layout, "groove")


MODEL = GroovePredictor()
