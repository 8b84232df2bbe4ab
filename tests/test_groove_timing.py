"""Groove against performances with known answers: grid choice, offsets, swing, accents, tempo and metre."""
from __future__ import annotations

import numpy as np
from groove_helpers import performance

from penta_core.groove.meter import meter_map
from penta_core.groove.timing import STRAIGHT, SWUNG, TRIPLET, analyse_groove

KICK, SNARE, HAT, RIDE = 36, 38, 42, 51
ACCENTS = [20, -6, 8, -6] * 4  # per 16th of a 4/4 bar, added to a base velocity of 80


def _match(groove, beats_ms: list[float]) -> np.ndarray:
    order = np.argsort(groove.onset_s, kind="stable")
    return groove.offset_ms[order], np.asarray(beats_ms)


def straight_sixteenths(bars=4, seed=0):
    rng = np.random.default_rng(seed)
    notes = []
    for bar in range(bars):
        for k in range(16):
            beat = bar * 4 + k / 4
            notes.append((beat, float(rng.uniform(0 if beat == 0 else -20, 20)), HAT, 80 + ACCENTS[k]))
    return notes


def test_straight_sixteenths_give_back_their_offsets_within_2_ms():
    notes = straight_sixteenths()
    groove = analyse_groove(performance(notes))
    assert groove.grid == STRAIGHT
    got = groove.offset_ms[np.argsort(groove.onset_s, kind="stable")]
    want = np.array([ms for _, ms, _, _ in sorted(notes, key=lambda n: n[0] * 1000 + n[1])])
    assert np.abs(got - want).max() < 2.0
    assert np.allclose(groove.position, [(b % 4) for b, *_ in notes], atol=1e-9)


def test_onsets_gathered_off_the_files_beats_move_the_grid_and_keep_their_offsets():
    notes = straight_sixteenths()
    shifted = [(b + 0.1, ms, p, v) for b, ms, p, v in notes]  # the music's beats 0.1 beat after the file's
    groove = analyse_groove(performance(shifted))
    assert groove.grid == STRAIGHT and abs(groove.phase_beats - 0.1) < 0.01
    got = groove.offset_ms[np.argsort(groove.onset_s, kind="stable")]
    want = np.array([ms for _, ms, _, _ in sorted(notes, key=lambda n: n[0] * 1000 + n[1])])
    assert np.abs(got - want).max() < 2.0
    swung = analyse_groove(performance([(b + 0.08, ms, p, v) for b, ms, p, v in swung_eighths(0.62)]))
    assert swung.grid == SWUNG and abs(swung.swing_ratio - 0.62) <= 0.02 and np.abs(swung.offset_ms).max() < 1.0


def test_a_swung_off_beat_is_not_taken_for_a_shifted_grid():
    rng = np.random.default_rng(3)  # a ride alone: as many off-beats as beats, spread by the player
    notes = [(b + r, float(rng.normal(0, 15)) if b + r else 0.0, RIDE, 80) for b in range(32) for r in (0, 0.62)]
    groove = analyse_groove(performance(notes))
    assert groove.phase_beats == 0.0 and groove.grid == SWUNG and abs(groove.swing_ratio - 0.62) <= 0.02


def test_a_player_pushing_ahead_of_the_beat_is_not_a_shifted_grid():
    notes = [(b / 2, -25.0 if b else 0.0, HAT, 80) for b in range(32)]  # 25 ms ahead at 120 BPM: 0.05 beat
    groove = analyse_groove(performance(notes))
    assert groove.phase_beats == 0.0 and abs(np.median(groove.offset_ms) + 25.0) < 1.0


def test_straight_sixteenths_give_back_their_accents_within_2_velocity_steps():
    groove = analyse_groove(performance(straight_sixteenths()), window_bars=8)
    accents = groove.accents()
    expected = np.array(ACCENTS) - np.mean(ACCENTS)  # relative to the voice's mean
    got = np.array([accents[f"{k / 4:g}"] for k in range(16)])
    assert np.abs(got - expected).max() <= 2.0


def test_a_kick_that_lays_back_and_a_snare_that_pushes_show_in_push_pull():
    notes = [(b, 12.0, KICK, 90) for b in range(0, 16, 2)] + [(b, -8.0, SNARE, 90) for b in range(1, 16, 2)]
    notes += [(b / 2, 0.0, HAT, 70) for b in range(32)]
    push = analyse_groove(performance(notes)).push_pull()
    assert abs(push["kick"] - 12.0) < 1.0 and abs(push["snare"] + 8.0) < 1.0 and abs(push["hihat_closed"]) < 1.0


def swung_eighths(ratio, bars=4):
    notes = []
    for beat in range(bars * 4):
        notes += [(beat, 0.0, RIDE, 90), (beat + ratio, 0.0, RIDE, 70)]
        notes.append((beat, 0.0, KICK if beat % 2 == 0 else SNARE, 100))
    return notes


def test_swung_eighths_at_062_give_the_ratio_within_002_and_no_offsets():
    groove = analyse_groove(performance(swung_eighths(0.62), tempos=((0, 140.0),)))
    assert groove.grid == SWUNG
    assert abs(groove.swing_ratio - 0.62) <= 0.02
    assert np.abs(groove.offset_ms).max() < 1.0


def test_humanized_swing_keeps_its_ratio_and_its_swung_grid():
    rng = np.random.default_rng(3)
    notes = [(b, float(rng.normal(0, 15)) if b else 0.0, p, v) for b, _, p, v in swung_eighths(0.62, bars=8)]
    groove = analyse_groove(performance(notes))
    assert groove.grid == SWUNG and abs(groove.swing_ratio - 0.62) <= 0.02


def test_triplet_eighths_are_on_a_triplet_grid():
    notes = [(beat + k / 3, 0.0, RIDE, 80) for beat in range(8) for k in range(3)]
    groove = analyse_groove(performance(notes))
    assert groove.grid == TRIPLET and np.abs(groove.offset_ms).max() < 1.0
    assert abs(groove.swing_ratio - 2 / 3) < 0.01


def test_straight_eighths_are_straight_with_ratio_one_half():
    groove = analyse_groove(performance([(b / 2, 0.0, HAT, 80) for b in range(32)]))
    assert groove.grid == STRAIGHT and groove.swing_ratio == 0.5


def test_offsets_stay_exact_in_ms_across_tempo_changes():
    rng = np.random.default_rng(1)
    notes = [(b / 4, float(rng.uniform(0 if b == 0 else -15, 15)), HAT, 80) for b in range(64)]
    tempos = ((0, 120.0), (4, 90.0), (8, 150.0), (12, 72.0))
    groove = analyse_groove(performance(notes, tempos=tempos))
    order = np.argsort(groove.onset_s, kind="stable")
    want = np.array([ms for _, ms, _, _ in sorted(notes, key=lambda n: n[0])])
    assert groove.grid == STRAIGHT and np.abs(groove.offset_ms[order] - want).max() < 2.0
    # in beats, an offset counts at the tempo where the note sounds (the first at beat 12 is early: still 150 BPM)
    beats = groove.offset_beats[order]
    assert np.allclose(beats[49:], want[49:] / 1000 * 72 / 60, atol=0.001)


def test_bars_and_positions_follow_3_4_6_8_and_7_8():
    sigs = ((0, 3, 4), (6, 6, 8), (12, 7, 8))  # two bars each: 3, 3 and 3.5 quarter notes long
    rng = np.random.default_rng(2)
    notes = [(b / 4, float(rng.uniform(0 if b == 0 else -15, 15)), HAT, 80) for b in range(76)]  # two 7/8 bars
    groove = analyse_groove(performance(notes, time_signatures=sigs))
    order = np.argsort(groove.onset_s, kind="stable")
    want = np.array([ms for _, ms, _, _ in notes])
    assert np.abs(groove.offset_ms[order] - want).max() < 2.0
    starts = [0, 3, 6, 9, 12, 15.5, 19]
    beats = np.array([b for b, *_ in notes])
    bar = np.searchsorted(starts, beats, side="right") - 1
    assert groove.bar[order].tolist() == bar.tolist()
    assert np.allclose(groove.position[order], beats - np.array(starts)[bar])
    assert [groove.signatures[i] for i in order[[0, 30, 60]]] == [(3, 4), (6, 8), (7, 8)]


def test_a_note_just_before_the_bar_line_belongs_to_the_next_bar():
    groove = analyse_groove(performance([(0, 0.0, KICK, 90), (3.5, -10.0, KICK, 90)],
                                        time_signatures=((0, 7, 8),)))
    assert groove.bar.tolist() == [0, 1] and groove.position.tolist() == [0.0, 0.0]


def test_meter_map_without_signatures_is_4_4():
    bar, _, length = meter_map((), 480).locate(np.array([1920.0, 4000.0]))
    assert bar.tolist() == [1, 2] and length.tolist() == [1920.0, 1920.0]
