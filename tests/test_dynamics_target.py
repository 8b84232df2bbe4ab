"""The dynamics engine's target on files with known answers: slopes, sustain, performed or step-entered, controllers."""
from __future__ import annotations

import json

import numpy as np
import symusic
from helpers import REPO, make_score

from penta_core.core.params import resolve
from penta_core.dynamics.analysis import analyse_dynamics
from penta_core.dynamics.roles import ROLES
from penta_core.midi.controls import read_controls
from penta_core.midi.notes import read_notes
from penta_core.targets.command import main as targets_main
from penta_core.targets.dynamics import MODEL

SLAKH = REPO / "tests" / "fixtures" / "slakh_track" / "Track00001" / "all_src.mid"
TPQ = 480


def _dynamics(score: symusic.Score):
    data = score.dumps_midi()
    return analyse_dynamics(read_notes(data), read_controls(data))


def _line(velocities, beats_each=1.0, pitch=72, start=0.0):
    return [(start + i * beats_each, beats_each * 0.9, pitch + (i % 3), v) for i, v in enumerate(velocities)]


def test_a_crescendo_gives_its_slope_and_a_rising_curve():
    velocities = [int(40 + 3.75 * i) for i in range(16)]  # 40 to 96 over 15 beats
    (phrase,) = _dynamics(make_score([(0, False, _line(velocities))])).phrases  # four bars: one phrase
    assert abs(phrase.slope - 3.75) < 0.1
    assert phrase.curve[0] == 0.0 and phrase.curve[-1] == 1.0 and np.all(np.diff(phrase.curve) >= 0)
    falling = _dynamics(make_score([(0, False, _line(velocities[::-1]))]))
    assert abs(falling.phrases[0].slope + 3.75) < 0.1


def test_a_rest_ends_a_phrase_and_so_does_a_fifth_bar():
    notes = _line([60] * 4) + _line([80] * 20, start=6.0)  # a two-beat rest, then beats 6-25
    d = _dynamics(make_score([(0, False, notes)]))
    assert [p.index.size for p in d.phrases] == [4, 14, 6]  # beats 0-3; 6-19 (bars 1-4); 20-25 (bar 5 on)
    assert d.phrase_position[:4].tolist() == [0.0, 1 / 3, 2 / 3, 1.0]


def test_the_sustain_pedal_holds_the_notes_under_it_and_no_others():
    score = make_score([(0, False, [(b, 0.25, 60 + b, 80) for b in range(8)])])
    track = score.tracks[0]
    track.controls.append(symusic.ControlChange(2 * TPQ, 64, 127))  # down on beat 2
    track.controls.append(symusic.ControlChange(4 * TPQ + TPQ // 2, 64, 0))  # up half a beat after beat 4
    d = _dynamics(score)
    assert d.sustained.tolist() == [False, False, True, True, True, False, False, False]
    assert np.allclose(d.release[[2, 3]], 1.0) and np.allclose(d.release[[0, 1, 5, 6]], 0.25)


def test_expression_controllers_scale_expression_and_give_curves():
    score = make_score([(0, False, _line([70, 72, 74, 76]))])
    score.tracks[0].controls.append(symusic.ControlChange(0, 11, 64))
    score.tracks[0].controls.append(symusic.ControlChange(2 * TPQ, 7, 100))
    d = _dynamics(score)
    assert np.allclose(d.expression, [64 / 127, 64 / 127, 64 * 100 / 127 / 127, 64 * 100 / 127 / 127])
    assert d.curves["cc11"][0] == [[0.0, 64 / 127]] and d.curves["cc7"][0] == [[1.0, 100 / 127]]


def test_a_constant_velocity_file_is_step_entered():
    d = _dynamics(make_score([(0, False, _line([100] * 32, beats_each=0.5))]))
    assert not d.expressive and not d.timing_performed
    derived = MODEL.derive(make_score([(0, False, _line([100] * 32))]).dumps_midi(), None, resolve())
    assert derived.piece_label == "step-entered" and not any(e["expressive"] for e in derived.examples)


def test_the_slakh_song_is_expressive_and_its_roles_are_found():
    derived = MODEL.derive(SLAKH.read_bytes(), None, resolve())
    labels = derived.labels
    assert labels["expressive"] and derived.piece_label == "expressive" and labels["velocity_std"] > 10
    assert labels["timing_performed"]
    roles = {ROLES[n[7]] for n in labels["notes"]}
    assert roles == set(ROLES)
    assert {"cc7", "cc11"} <= set(labels["curves"]) and derived.examples
    json.dumps([labels, derived.examples], allow_nan=False)


def test_played_timing_is_recorded_apart_from_velocities():
    rng = np.random.default_rng(5)
    notes = [(i / 2 + float(rng.uniform(-0.05, 0.05)) * (i > 0), 0.4, 72, 90) for i in range(32)]
    d = _dynamics(make_score([(0, False, notes)]))
    assert d.timing_performed and not d.expressive


def test_velocity_scaling_is_label_adjusted_and_the_curve_unchanged():
    velocities = [int(40 + 3 * i) for i in range(16)]
    data = make_score([(0, False, _line(velocities))], time_signatures=((0, 16, 4),)).dumps_midi()
    from penta_core.augment.midi import MIDIAugmenter

    aug = MIDIAugmenter(transpose_semitones=(0, 0), duration_factor=(1.5, 1.5), velocity_scale=(1.2, 1.2),
                        note_dropout=(0, 0), timing_jitter_ms=(0, 0))
    variant, transform = aug.augment_bytes(data, np.random.default_rng(0))
    expected = MODEL.transform_labels(MODEL.derive(data, None, resolve()).labels, transform)
    got = MODEL.derive(variant, None, resolve()).labels
    assert [n[1] for n in got["notes"]] == [n[1] for n in expected["notes"]]
    assert np.allclose([n[0] for n in got["notes"]], [n[0] for n in expected["notes"]], atol=1e-3)
    assert abs(got["phrases"][0][2] - expected["phrases"][0][2]) < 0.1
    assert np.allclose([n[6] for n in got["notes"]], [n[6] for n in expected["notes"]], atol=1.0)


def test_penta_targets_dynamics_prints_expressive_notes_and_phrases(capsys):
    assert targets_main(["dynamics", str(SLAKH)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["expressive"] is True and out["phrases"] and len(out["notes"][0]) == 4
    onset, velocity, level, role = out["notes"][0]
    assert onset >= 0 and 1 <= velocity <= 127 and 0 < level <= 127 and role in ROLES
