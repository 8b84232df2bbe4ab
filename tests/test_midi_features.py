"""MIDI features against ground truth built in the tests (tempo map, key, chords, groove, drums)."""
from __future__ import annotations

import math
from pathlib import Path

import mido
import pytest
import symusic
from helpers import MAJOR_TRIADS, drum_groove, make_score, progression
from hypothesis import given, settings
from hypothesis import strategies as st

from penta_core.features.midi import MIDI_COLUMNS, extract_midi_features


def features(score):
    return extract_midi_features(score.dumps_midi())["features"]


def quarter_notes(start: float, count: int, pitch: int = 60, length: float = 1.0):
    return [(start + i, length, pitch, 90) for i in range(count)]


def music21_midi_files() -> list[Path]:
    import music21

    folder = Path(music21.__file__).parent / "midi" / "testPrimitive"
    return sorted(folder.glob("*.mid"))


# --- timing through the tempo map -------------------------------------------------

def tempo_change_score(tpq=480):
    """Eight quarter notes at 120 BPM, then eight at 60 BPM: 4 s + 8 s."""
    return make_score([(0, False, quarter_notes(0, 16))], tpq=tpq, tempos=((0, 120), (8, 60)))


def test_duration_follows_the_tempo_map_not_ticks():
    f = features(tempo_change_score())
    assert f["duration_s"] == pytest.approx(12.0, abs=1e-6)
    assert f["duration_beats"] == pytest.approx(16.0)


def test_tempo_reports_initial_mean_and_range():
    f = features(tempo_change_score())
    assert f["tempo_initial_bpm"] == pytest.approx(120.0)
    assert f["tempo_bpm"] == pytest.approx(80.0, rel=1e-6)  # 16 beats in 12 s
    assert (f["tempo_min_bpm"], f["tempo_max_bpm"]) == pytest.approx((60.0, 120.0))
    assert f["n_tempo_changes"] == 1


def test_density_and_ioi_are_in_seconds_and_beats():
    f = features(tempo_change_score())
    assert f["note_density"] == pytest.approx(16 / 12.0)
    assert f["notes_per_beat"] == pytest.approx(1.0)
    # Seven gaps of 0.5 s then one of 0.5 s (beat 7 -> 8 still at 120) and seven of 1 s.
    assert f["ioi_mean_s"] == pytest.approx((8 * 0.5 + 7 * 1.0) / 15)
    assert f["ioi_mean_beats"] == pytest.approx(1.0)
    assert f["note_duration_mean_s"] == pytest.approx(12.0 / 16)


def test_features_do_not_depend_on_tick_resolution():
    coarse = features(tempo_change_score(tpq=96))
    fine = features(tempo_change_score(tpq=960))
    assert coarse == pytest.approx(fine)


def test_time_signature_is_reported():
    score = make_score([(0, False, quarter_notes(0, 12))], time_signatures=((0, 3, 4),))
    f = features(score)
    assert (f["ts_numerator"], f["ts_denominator"]) == (3, 4)
    assert f["n_time_signature_changes"] == 0


# --- pitch, key and chords ------------------------------------------------------------

C_MAJOR_CADENCE = [(60, 64, 67), (65, 69, 72), (67, 71, 74, 77), (60, 64, 67)]
A_MINOR_CADENCE = [(57, 60, 64), (62, 65, 69), (64, 68, 71), (57, 60, 64)]


@pytest.mark.parametrize("shift", [0, 2, 7, 10])
def test_key_of_a_major_cadence_follows_transposition(shift):
    chords = [tuple(p + shift for p in c) for c in C_MAJOR_CADENCE]
    f = features(make_score([(0, False, progression(chords))]))
    assert (f["key_tonic"], f["mode"], f["mode_minor"]) == (shift % 12, "major", 0.0)
    assert f["key_confidence"] > 0.6


def test_key_of_a_harmonic_minor_cadence_is_minor():
    f = features(make_score([(0, False, progression(A_MINOR_CADENCE))]))
    assert (f["key_tonic"], f["mode"]) == (9, "minor")


def test_chords_per_beat_match_templates():
    chords = [
        (60, 64, 67),      # C:maj
        (57, 60, 64),      # A:min
        (59, 62, 65),      # B:dim
        (60, 64, 68),      # C:aug
        (67, 71, 74, 77),  # G:dom7
        (65, 69, 72, 76),  # F:maj7
        (62, 65, 69, 72),  # D:min7
    ]
    out = extract_midi_features(make_score([(0, False, progression(chords))]).dumps_midi())
    assert out["details"]["chords"] == [
        [0, "C:maj"], [4, "A:min"], [8, "B:dim"], [12, "C:aug"], [16, "G:dom7"], [20, "F:maj7"], [24, "D:min7"],
    ]
    f = out["features"]
    assert f["chord_change_rate"] == pytest.approx(6 / 27)
    assert f["chord_none_ratio"] == 0.0
    assert f["chord_clarity"] == pytest.approx(1.0)
    assert f["chord_maj_ratio"] == pytest.approx(4 / 28)


def test_a_lone_melody_note_is_no_chord():
    f = features(make_score([(0, False, quarter_notes(0, 8))]))
    assert f["chord_none_ratio"] == 1.0


def test_pitch_statistics_and_pitch_class_histogram():
    notes = [(0, 1, 60, 90), (1, 1, 64, 90), (2, 2, 67, 90)]
    f = features(make_score([(0, False, notes)]))
    assert f["pitch_mean"] == pytest.approx((60 + 64 + 67) / 3)
    assert (f["pitch_min"], f["pitch_max"], f["pitch_range"]) == (60, 67, 7)
    # Duration-weighted: G sounds twice as long as C or E.
    assert (f["pc_hist_0"], f["pc_hist_4"], f["pc_hist_7"]) == pytest.approx((0.25, 0.25, 0.5))


def test_melodic_intervals_and_contour_use_the_top_voice():
    melody = [(i, 1, p, 90) for i, p in enumerate([60, 62, 64, 62, 60])]
    low_chord = [(i, 1, 48, 70) for i in range(5)]  # same track, under the melody
    f = features(make_score([(0, False, melody + low_chord)]))
    assert f["interval_hist_2"] == 1.0
    assert (f["contour_up"], f["contour_down"]) == (0.5, 0.5)
    assert f["contour_reversal_rate"] == pytest.approx(1 / 3)


def test_articulation_separates_staccato_from_legato():
    staccato = features(make_score([(0, False, quarter_notes(0, 8, length=0.25))]))
    legato = features(make_score([(0, False, quarter_notes(0, 8, length=1.0))]))
    assert staccato["articulation_mean"] == pytest.approx(0.25)
    assert staccato["staccato_ratio"] == 1.0
    assert legato["articulation_mean"] == pytest.approx(1.0)
    assert legato["legato_ratio"] == 1.0


def test_velocity_and_dynamics_curve_follow_a_crescendo():
    notes = [(i, 1, 60, 20 + 6 * i) for i in range(16)]
    f = features(make_score([(0, False, notes)]))
    curve = [f[f"dynamics_{i}"] for i in range(8)]
    assert curve == sorted(curve) and curve[0] < curve[-1]
    assert (f["velocity_min"], f["velocity_max"]) == (20, 110)


# --- groove -----------------------------------------------------------------------------

def eighths(bars: int, offbeat: float):
    notes = []
    for beat in range(bars * 4):
        notes += [(beat, offbeat, 60, 90), (beat + offbeat, 1 - offbeat, 62, 70)]
    return notes


def test_straight_eighths_have_swing_ratio_one():
    assert features(make_score([(0, False, eighths(2, 0.5))]))["swing_ratio"] == pytest.approx(1.0)


def test_triplet_swing_has_ratio_two_even_across_a_tempo_change():
    score = make_score([(0, False, eighths(4, 2 / 3))], tpq=480, tempos=((0, 90), (8, 150)))
    assert features(score)["swing_ratio"] == pytest.approx(2.0, abs=0.01)


def test_syncopation_is_zero_on_the_beat_and_positive_off_it():
    on_beat = features(make_score([(0, False, quarter_notes(0, 16))]))
    off_beat = features(make_score([(0, False, quarter_notes(0.5, 16, length=0.5))]))
    assert on_beat["syncopation"] == 0.0
    # Per bar: three off-beat eighths before a silent beat (+1 each) and one before
    # a silent downbeat (+2); the very last onset has no successor: 18 over 16 onsets.
    assert off_beat["syncopation"] == pytest.approx(18 / 16)


def test_microtiming_is_measured_in_milliseconds_through_the_tempo_map():
    late = [(beat + 0.02, 0.5, 60, 90) for beat in range(8)]  # 10 ms late at 120 BPM
    f120 = features(make_score([(0, False, late)], tpq=500, tempos=((0, 120),)))
    f60 = features(make_score([(0, False, late)], tpq=500, tempos=((0, 60),)))
    assert f120["microtiming_mean_ms"] == pytest.approx(10.0, abs=0.01)
    assert f60["microtiming_mean_ms"] == pytest.approx(20.0, abs=0.01)
    assert f120["microtiming_mean_beats"] == pytest.approx(0.02)


def test_drum_voices_are_counted_per_beat():
    f = features(make_score([(0, True, drum_groove(4))]))
    assert f["drum_kick_per_beat"] == pytest.approx(0.5, rel=0.02)
    assert f["drum_snare_per_beat"] == pytest.approx(0.5, rel=0.02)
    assert f["drum_hihat_closed_per_beat"] == pytest.approx(2.0, rel=0.02)
    assert f["has_drums"] == 1.0


def test_drums_stay_out_of_pitch_and_harmony():
    pitched = [(0, False, progression([MAJOR_TRIADS["C"], MAJOR_TRIADS["G"]]))]
    alone = features(make_score(pitched))
    with_drums = features(make_score(pitched + [(0, True, drum_groove(2))]))
    unchanged = ("pitch_mean", "pitch_std", "key_tonic", "key_confidence", "chord_maj_ratio",
                 *[f"pc_hist_{i}" for i in range(12)])
    for name in unchanged:
        assert with_drums[name] == alone[name], name
    assert with_drums["n_drum_notes"] == len(drum_groove(2))


# --- degenerate input -------------------------------------------------------------------

def assert_complete_and_finite(out):
    """Every column present and finite as computed: the NaN/inf safety net replaced nothing."""
    f = out["features"]
    assert set(MIDI_COLUMNS) <= set(f)
    assert "non_finite_replaced" not in out["flags"]
    assert all(math.isfinite(f[c]) for c in MIDI_COLUMNS)
    assert f["mode"] in ("major", "minor")


def test_one_note_gives_defined_values_and_a_flag():
    out = extract_midi_features(make_score([(0, False, [(0, 1, 60, 90)])]).dumps_midi())
    assert_complete_and_finite(out)
    assert {"single_note", "single_onset"} <= set(out["flags"])
    assert out["features"]["duration_s"] == pytest.approx(0.5)


def test_drums_only_zero_fills_pitch_and_harmony():
    out = extract_midi_features(make_score([(0, True, drum_groove(2))]).dumps_midi())
    assert_complete_and_finite(out)
    assert "no_pitched_notes" in out["flags"]
    assert out["features"]["pitch_mean"] == 0.0 and out["features"]["key_confidence"] == 0.0


@pytest.mark.parametrize("bpm", [4.0, 1000.0])
def test_extreme_tempo_is_flagged_and_finite(bpm):
    out = extract_midi_features(make_score([(0, False, quarter_notes(0, 4))], tempos=((0, bpm),)).dumps_midi())
    assert_complete_and_finite(out)
    assert "extreme_tempo" in out["flags"]
    assert out["features"]["duration_s"] == pytest.approx(4 * 60 / bpm, rel=1e-5)


def test_very_long_file_is_bounded_and_flagged():
    # Two notes 300,000 beats apart (about 41 hours at 120 BPM).
    out = extract_midi_features(make_score([(0, False, [(0, 1, 60, 90), (300_000, 1, 64, 90)])]).dumps_midi())
    assert_complete_and_finite(out)
    assert "harmony_truncated" in out["flags"]
    assert out["features"]["duration_s"] == pytest.approx(300_001 * 0.5)


def test_file_without_notes_is_flagged_not_failed():
    out = extract_midi_features(make_score([(0, False, [])]).dumps_midi())
    assert_complete_and_finite(out)
    assert out["flags"] == ["no_notes"]


@settings(max_examples=25, deadline=None)
@given(st.lists(
    st.tuples(st.integers(0, 4000), st.integers(0, 2000), st.integers(0, 127), st.integers(1, 127), st.booleans()),
    min_size=1, max_size=60,
), st.integers(1, 4000), st.integers(1, 2**24 - 1))
def test_any_note_list_gives_every_column_finite(notes, tpq, mspq):
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, 6e7 / mspq))
    tracks = {True: symusic.Track("d", 0, True), False: symusic.Track("p", 0, False)}
    for time, dur, pitch, vel, drum in notes:
        tracks[drum].notes.append(symusic.Note(time, dur, pitch, vel))
    score.tracks.extend(list(tracks.values()))
    assert_complete_and_finite(extract_midi_features(score.dumps_midi()))


# --- real files ---------------------------------------------------------------------------

def last_note_off_s(path: Path) -> float:
    """Seconds of the last note-off as mido plays the file (tempo events from every track).

    music21's test04 keeps its tempo map in track 1, which pretty_midi ignores.
    """
    now, last = 0.0, 0.0
    for msg in mido.MidiFile(path):
        now += msg.time
        if msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0):
            last = now
    return last


@pytest.mark.parametrize("path", music21_midi_files(), ids=lambda p: p.name)
def test_real_midi_duration_matches_an_independent_tempo_reader(path):
    out = extract_midi_features(path)
    assert_complete_and_finite(out)
    assert out["features"]["duration_s"] == pytest.approx(last_note_off_s(path), abs=0.01)


def test_the_safety_net_replaces_a_non_finite_value_and_says_so():
    from penta_core.features.vector import finish_features

    out = finish_features({"a": float("nan"), "b": float("inf"), "c": 1.5}, ("a", "b", "c"), [], {})
    assert out["features"]["a"] == 0.0 and out["features"]["b"] == 0.0 and out["features"]["c"] == 1.5
    assert out["flags"] == ["non_finite_replaced"]
