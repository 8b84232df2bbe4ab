"""Audio features of signals rendered from MIDI with a known tempo and key."""
from __future__ import annotations

import io
import math

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
from helpers import make_score

from penta_core.features.audio import (
    AUDIO_COLUMNS,
    extract_audio_features,
    extract_audio_features_from_array,
)

SR = 22050
A_MINOR = [(57, 60, 64), (62, 65, 69), (64, 68, 71), (57, 60, 64)]  # i iv V i with G#


def render(chords, bpm: float, bars: int = 8, transpose: int = 0) -> np.ndarray:
    """A chord struck on every beat (accented downbeat) over a bass note, synthesised with sines."""
    notes = []
    for bar in range(bars):
        chord = [p + transpose for p in chords[bar % len(chords)]]
        for beat in range(4):
            start = bar * 4 + beat
            velocity = 110 if beat == 0 else 80
            notes += [(start, 0.4, p, velocity) for p in chord]
            notes.append((start, 0.25, chord[0] - 12, 90))
    midi = make_score([(0, False, notes)], tempos=((0, bpm),)).dumps_midi()
    return pretty_midi.PrettyMIDI(io.BytesIO(midi)).synthesize(fs=SR).astype(np.float32)


def assert_complete_and_finite(out):
    """Every column present and finite as computed: the NaN/inf safety net replaced nothing."""
    assert set(AUDIO_COLUMNS) <= set(out["features"])
    assert "non_finite_replaced" not in out["flags"]
    assert all(math.isfinite(out["features"][c]) for c in AUDIO_COLUMNS)


@pytest.mark.parametrize("bpm, transpose, tonic", [(120, 0, 9), (96, 5, 2)])
def test_tempo_and_key_of_rendered_midi(bpm, transpose, tonic):
    out = extract_audio_features_from_array(render(A_MINOR, bpm, transpose=transpose), SR)
    f = out["features"]
    assert f["tempo_bpm"] == pytest.approx(bpm, rel=0.05)
    assert (f["key_tonic"], f["mode"]) == (tonic, "minor")
    assert_complete_and_finite(out)


def test_onset_rate_counts_struck_beats():
    y = render(A_MINOR, 120)  # two chords per second
    f = extract_audio_features_from_array(y, SR)["features"]
    assert f["onset_rate"] == pytest.approx(2.0, rel=0.1)
    assert f["beat_strength"] > 1.0


def test_loudness_follows_gain_and_silence_ratio_follows_gaps():
    y = render(A_MINOR, 120, bars=4)
    loud = extract_audio_features_from_array(y, SR)["features"]
    quiet = extract_audio_features_from_array(y * 0.1, SR)["features"]
    assert loud["loudness_db"] - quiet["loudness_db"] == pytest.approx(20.0, abs=1.0)
    half_silent = extract_audio_features_from_array(np.concatenate([y, np.zeros_like(y)]), SR)["features"]
    # The rendered chords leave gaps of their own; appending as much silence halves what sounds.
    assert 0.2 < loud["silence_ratio"] < 0.8
    assert half_silent["silence_ratio"] == pytest.approx((loud["silence_ratio"] + 1) / 2, abs=0.02)


def test_silence_gives_defined_values_and_a_flag():
    out = extract_audio_features_from_array(np.zeros(SR), SR)
    assert_complete_and_finite(out)
    assert out["flags"] == ["silent"]
    assert out["features"]["silence_ratio"] == 1.0


def test_very_short_audio_is_padded_and_flagged():
    out = extract_audio_features_from_array(np.sin(np.arange(300) * 0.3), SR)
    assert_complete_and_finite(out)
    assert "too_short" in out["flags"]


def test_long_file_is_truncated_but_reports_its_full_duration(tmp_path):
    path = tmp_path / "long.wav"
    y = render(A_MINOR, 120, bars=4)
    sf.write(path, y, SR)
    out = extract_audio_features(path, sample_rate=SR, max_audio_s=3.0)
    assert out["features"]["duration_s"] == pytest.approx(len(y) / SR, abs=1e-3)
    assert out["features"]["analysed_s"] == pytest.approx(3.0, abs=0.01)
    assert "truncated" in out["flags"]


def test_file_is_resampled_and_mixed_to_mono(tmp_path):
    y = render(A_MINOR, 120, bars=4)
    stereo = np.stack([y, y], axis=1)
    path = tmp_path / "stereo.flac"
    sf.write(path, stereo, SR)
    out = extract_audio_features(path, sample_rate=16000)
    assert_complete_and_finite(out)
    assert out["features"]["analysed_s"] == pytest.approx(len(y) / SR, abs=1e-3)
    assert (out["features"]["key_tonic"], out["features"]["mode"]) == (9, "minor")


def test_invalid_arguments_are_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="mono"):
        extract_audio_features_from_array(np.zeros((2, 100)), SR)
    with pytest.raises(ValueError, match="sample_rate"):
        extract_audio_features("x.wav", sample_rate=0)
