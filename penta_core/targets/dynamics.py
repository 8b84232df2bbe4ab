"""The dynamics engine: note velocity, position and context → velocity curve, attack, release, expression (0–1).

Labels per MIDI file (the targets stage; :mod:`penta_core.dynamics.analysis`):
whether the file is performed (expressive velocities) or step-entered, and
whether its timing is a player's (``timing_performed``); per
note its onset, velocity, bar, beat in the bar, phrase and place in it
(0–1), local dynamic level, role (melody, accompaniment, bass, drums),
expression (CC11 × CC7), attack and release proxies and whether the sustain
pedal holds it; per phrase its span and slope (velocity steps per beat);
the CC7, CC11, CC64 and CC1 curves per track (seconds, value 0–1). The split
label is ``expressive`` or ``step-entered``.

Examples, one per phrase: ``{"expressive", "slope", "notes": [[velocity,
beat in bar, bar in phrase, phrase position, role], ...], "curve",
"attack", "release", "expression"}`` (the last four 0–1 per note); a
step-entered file's examples say so, and the baseline leaves them out.

Augmentations: velocity scaling is label-adjusted (velocities, levels,
attacks and slopes scale; the normalised curves do not); a tempo change
scales times, not beats; transposition, note dropout and timing jitter keep
the labels (measured again on the variant).
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from penta_core.core.layout import DatasetLayout
from penta_core.dynamics.analysis import Dynamics, analyse_dynamics
from penta_core.dynamics.roles import ROLES
from penta_core.harmony.annotations import Annotations
from penta_core.midi.controls import read_controls
from penta_core.midi.notes import read_notes
from penta_core.splits.lists import read_splits
from penta_core.targets.analysis import rounded
from penta_core.targets.examples import derived_in, load_targets_index
from penta_core.targets.model import ADJUSTS, KEEPS, AugmentationRule, Derived, TargetModel
from penta_core.targets.regression import regression_baseline

EXPRESSIVE, STEP = "expressive", "step-entered"
NOTE_FIELDS = ("onset_s", "velocity", "bar", "beat", "phrase", "phrase_position", "level", "role", "expression",
               "attack", "release", "sustained")


def dynamics_of(data: bytes, opts: dict[str, Any]) -> Dynamics:
    """:func:`~penta_core.dynamics.analysis.analyse_dynamics` of MIDI bytes with the ``targets.dynamics`` params."""
    return analyse_dynamics(read_notes(data), read_controls(data), sigma_beats=opts["sigma_beats"],
                            gap_beats=opts["gap_beats"], max_bars=opts["max_bars"],
                            min_velocity_std=opts["min_velocity_std"])


def phrase_examples(d: Dynamics) -> list[dict[str, Any]]:
    """One example per phrase (see the module docstring)."""
    out = []
    for p in d.phrases:
        idx = p.index
        first_bar = int(d.bar[idx[0]])
        out.append({
            "expressive": d.expressive, "slope": rounded(p.slope),
            "notes": [[int(d.velocity[i]), rounded(d.beat[i]), int(d.bar[i]) - first_bar,
                       rounded(d.phrase_position[i]), int(d.role[i])] for i in idx.tolist()],
            "curve": [rounded(x) for x in p.curve.tolist()],
            "attack": [rounded(d.attack[i]) for i in idx.tolist()],
            "release": [rounded(d.release[i]) for i in idx.tolist()],
            "expression": [rounded(d.expression[i]) for i in idx.tolist()],
        })
    return out


class DynamicsEngine(TargetModel):
    name = "dynamicsengine"
    augmentations: ClassVar[dict[str, AugmentationRule]] = {
        "midi.transpose_semitones": AugmentationRule(KEEPS, "loudness does not move with pitch; roles found again"),
        "midi.duration_factor": AugmentationRule(ADJUSTS, "times scale by the factor; beats and slopes do not"),
        "midi.velocity_scale": AugmentationRule(
            ADJUSTS, "velocities, levels, attacks and slopes scale; normalised phrase curves do not"),
        "midi.note_dropout": AugmentationRule(KEEPS, "the dynamics are measured again on the notes left"),
        "midi.timing_jitter_ms": AugmentationRule(KEEPS, "a few ms move no loudness; measured again"),
        "audio.pitch_shift_semitones": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.speed_factor": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.noise_snr_db": AugmentationRule(KEEPS, "audio is not read by this model"),
        "audio.gain_db": AugmentationRule(KEEPS, "audio is not read by this model"),
    }
    piece_labels = (EXPRESSIVE, STEP)
    example_format = ("per phrase: each note's velocity, beat, bar and place in the phrase, role -> its "
                      "normalised velocity curve, attack, release and expression (0-1) and the phrase's slope")

    def derive(self, data: bytes, annotations: Annotations | None, params: dict[str, Any]) -> Derived:
        d = dynamics_of(data, params["targets"]["dynamics"])
        examples = phrase_examples(d)
        labels = {
            "expressive": d.expressive, "timing_performed": d.timing_performed,
            "velocity_std": rounded(d.velocity_std), "roles": list(ROLES),
            "note_fields": list(NOTE_FIELDS),
            "notes": [[rounded(a), int(v), int(b), rounded(beat), int(ph), rounded(pos), rounded(lv), int(r),
                       rounded(e), rounded(at), rounded(rl), bool(s)] for a, v, b, beat, ph, pos, lv, r, e, at, rl, s
                      in zip(d.onset_s.tolist(), d.velocity.tolist(), d.bar.tolist(), d.beat.tolist(),
                             d.phrase.tolist(), d.phrase_position.tolist(), d.level.tolist(), d.role.tolist(),
                             d.expression.tolist(), d.attack.tolist(), d.release.tolist(), d.sustained.tolist())],
            "phrases": [[rounded(p.start_s), rounded(p.end_s), rounded(p.slope)] for p in d.phrases],
            "curves": {cc: {str(t): [[rounded(s), rounded(v)] for s, v in points] for t, points in tracks.items()}
                       for cc, tracks in d.curves.items()},
        }
        stats = {"expressive": d.expressive, "timing_performed": d.timing_performed, "notes": d.size,
                 "phrases": len(d.phrases), "examples": len(examples),
                 "sustained_notes": int(d.sustained.sum()), "controllers": sorted(d.curves)}
        return Derived(labels, examples, EXPRESSIVE if d.expressive else STEP, stats)

    def transform_labels(self, labels: dict[str, Any], transform: dict[str, Any]) -> dict[str, Any]:
        factor = float(transform.get("duration_factor", 1.0) or 1.0)
        scale = float(transform.get("velocity_scale", 1.0) or 1.0)
        notes = []
        for a, v, b, beat, ph, pos, lv, r, e, _, rl, s in labels["notes"]:
            v2 = int(np.clip(np.rint(v * scale), 1, 127))
            notes.append([rounded(a * factor), v2, b, beat, ph, pos, rounded(lv * scale), r, e, rounded(v2 / 127),
                          rl, s])
        return {**labels, "notes": notes,
                "phrases": [[rounded(a * factor), rounded(b * factor), rounded(sl * scale)]
                            for a, b, sl in labels["phrases"]],
                "curves": {cc: {t: [[rounded(s * factor), v] for s, v in points] for t, points in tracks.items()}
                           for cc, tracks in labels["curves"].items()}}

    def vocabulary(self) -> dict[str, Any]:
        return {"roles": list(ROLES), "labels": list(self.piece_labels), "note_fields": list(NOTE_FIELDS),
                "example_note_fields": ["velocity", "beat_in_bar", "bar_in_phrase", "phrase_position", "role"]}

    def validation(self, records: dict[str, dict[str, Any]], samples: list[dict[str, Any]],
                   thresholds: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        read = list(records.values())
        ok = [r["stats"] for r in read if r.get("status") == "ok"]
        metrics = {
            "samples": len(ok), "failed": len(read) - len(ok),
            "examples": sum(s["examples"] for s in ok),
            "expressive_share": round(sum(s["expressive"] for s in ok) / len(ok), 6) if ok else 0.0,
            "timing_performed_share": round(sum(s["timing_performed"] for s in ok) / len(ok), 6) if ok else 0.0,
            "with_expression_controllers": sum(1 for s in ok if set(s["controllers"]) & {"cc7", "cc11", "cc1"}),
            "with_sustain_pedal": sum(1 for s in ok if s["sustained_notes"]),
        }
        failing = [] if metrics["examples"] else ["dynamics: no phrase to learn from"]
        return metrics, failing

    def baseline(self, params: dict[str, Any], layout: DatasetLayout) -> list[str]:
        """Velocity from the train mean per (role, 16th in the bar) against the per-role mean; expressive files only."""
        index = load_targets_index(layout)
        rows: dict[str, list[tuple[int, int, float | None, float]]] = {}
        for split, ids in read_splits(layout).items():
            rows[split] = [(round(beat * 4), role, None, float(v)) for _, member in derived_in(layout, index, ids)
                           for e in member["examples"] if e["expressive"]
                           for v, beat, _, _, role in e["notes"]]
        return regression_baseline(self.name, rows, layout, "dynamics")


MODEL = DynamicsEngine()
