"""Audio augmentation: pitch, duration, noise level and gain measured on the output."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from penta_core.augment.audio import (
    PEAK_LIMIT,
    AddNoise,
    AudioAugmenter,
    Gain,
    PitchShift,
    TimeStretch,
    encode_audio,
    load_audio,
)

SR = 22050
# Noise at 120 dB SNR lies far below 24-bit resolution.
IDENTITY = {"pitch_shift_semitones": (0, 0), "speed_factor": (1, 1), "noise_snr_db": (120, 120), "gain_db": (0, 0)}


def sine(freq=440.0, seconds=2.0, sr=SR, amplitude=0.5, channels=1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    tone = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([tone * (1 - 0.3 * c) for c in range(channels)])


def augment(samples, seed=0, sr=SR, **ranges):
    return AudioAugmenter(**{**IDENTITY, **ranges}).augment(samples, sr, np.random.default_rng(seed))


def peak_frequency(x: np.ndarray, sr: int = SR) -> float:
    """Frequency of the strongest partial: windowed, zero-padded FFT with parabolic refinement."""
    x = x[len(x) // 4: 3 * len(x) // 4]  # away from the edges
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8 * len(x)))
    k = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[k - 1: k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / (8 * len(x))


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    return 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean((noisy - clean).astype(np.float64) ** 2))


@pytest.mark.parametrize("seed", range(4))
def test_a_sine_comes_back_shifted_by_the_recorded_semitones(seed):
    out, record = augment(sine(440.0), seed, pitch_shift_semitones=(-4, 4))
    steps = record["pitch_shift_semitones"]
    assert -4 <= steps <= 4 and abs(steps) > 1e-3
    measured = 12 * np.log2(peak_frequency(out[0]) / 440.0)
    assert measured == pytest.approx(steps, abs=0.05)
    assert out.shape == (1, int(2.0 * SR))


@pytest.mark.parametrize("seed", range(4))
def test_speed_factor_divides_the_duration_and_keeps_the_pitch(seed):
    x = sine(330.0, seconds=2.0)
    out, record = augment(x, seed, speed_factor=(0.6, 1.6))
    rate = record["speed_factor"]
    assert out.shape[1] == pytest.approx(x.shape[1] / rate, abs=1)
    assert peak_frequency(out[0]) == pytest.approx(330.0, rel=0.003)


@pytest.mark.parametrize("seed", range(5))
def test_noise_meets_its_snr_within_half_a_db_after_writing(seed):
    x = sine(440.0, amplitude=0.3, channels=2) + sine(1234.0, amplitude=0.1, channels=2)
    out, record = augment(x, seed, noise_snr_db=(5, 60))
    back, _ = load_audio(encode_audio(out, SR))
    assert snr_db(x, back) == pytest.approx(record["noise_snr_db"], abs=0.5)


def test_noise_is_white_and_differs_per_channel():
    x = sine(440.0, channels=2)
    out, _ = augment(x, 3, noise_snr_db=(10, 10))
    noise = out - x
    assert abs(np.corrcoef(noise[0], noise[1])[0, 1]) < 0.05
    half = np.abs(np.fft.rfft(noise[0])) ** 2
    low, high = half[len(half) // 10: len(half) // 2].mean(), half[len(half) // 2:].mean()
    assert low == pytest.approx(high, rel=0.1)


def test_gain_scales_by_the_recorded_decibels():
    x = sine(440.0, amplitude=0.2)
    out, record = augment(x, 1, gain_db=(-12, 6))
    assert record["gain_db"] == pytest.approx(20 * np.log10(np.abs(out).max() / np.abs(x).max()), abs=1e-3)


def test_gain_is_lowered_instead_of_clipping_and_records_what_it_applied():
    x = sine(440.0, amplitude=0.9)
    out, record = augment(x, 1, gain_db=(12, 12))
    assert np.abs(out).max() <= PEAK_LIMIT + 1e-6
    assert record["gain_db"] == pytest.approx(20 * np.log10(PEAK_LIMIT / np.abs(x).max()), abs=1e-4)
    # The wave keeps its shape: no flattened peaks.
    assert np.allclose(out, x * 10 ** (record["gain_db"] / 20), atol=1e-5)


def test_a_signal_louder_than_full_scale_after_processing_is_brought_down():
    x = sine(440.0, amplitude=0.99)
    out, record = augment(x, 2, gain_db=(0, 0), noise_snr_db=(3, 3))
    assert np.abs(out).max() <= PEAK_LIMIT + 1e-6 and record["gain_db"] < 0


@pytest.mark.parametrize("channels, sr", [(1, 16000), (2, 44100), (3, 22050)])
def test_sample_rate_and_channel_layout_are_preserved_in_the_written_file(channels, sr):
    x = sine(440.0, seconds=1.0, sr=sr, channels=channels)
    data, record = AudioAugmenter().augment(x, sr, np.random.default_rng(0))
    info = sf.info(io.BytesIO(encode_audio(data, sr)))
    assert (info.samplerate, info.channels, info.format) == (sr, channels, "FLAC")
    assert set(record) == {"pitch_shift_semitones", "speed_factor", "noise_snr_db", "gain_db"}


def test_augment_file_reads_any_supported_container(tmp_path):
    x = sine(440.0, seconds=0.5, channels=2)
    for name, fmt in (("a.wav", "WAV"), ("a.flac", "FLAC"), ("a.ogg", "OGG")):
        sf.write(tmp_path / name, x.T, SR, format=fmt)
        data, _record = AudioAugmenter().augment_file(tmp_path / name, np.random.default_rng(1))
        assert sf.info(io.BytesIO(data)).channels == 2


def test_same_generator_gives_identical_bytes_and_others_differ():
    x = sine(440.0, channels=2)
    aug = AudioAugmenter()
    a = encode_audio(aug.augment(x, SR, np.random.default_rng([42, 5, 1]))[0], SR)
    b = encode_audio(aug.augment(x, SR, np.random.default_rng([42, 5, 1]))[0], SR)
    c = encode_audio(aug.augment(x, SR, np.random.default_rng([42, 5, 2]))[0], SR)
    assert a == b and a != c


def test_randomize_parameters_is_separate_from_apply():
    x = sine(440.0)
    gain = Gain(-6, -6)
    gain.randomize_parameters(x, SR, np.random.default_rng(0))
    assert gain.parameters["gain_db"] == -6
    assert np.allclose(gain.apply(x, SR), x * 10 ** (-6 / 20), atol=1e-6)


@pytest.mark.parametrize("name", list(IDENTITY))
def test_a_range_with_min_above_max_is_refused_naming_the_parameter(name):
    with pytest.raises(ValueError, match=name):
        AudioAugmenter(**{name: (3, 1)})


@pytest.mark.parametrize("make, name", [
    (lambda: TimeStretch(0, 2), "speed_factor"),
    (lambda: PitchShift(-100, 0), "pitch_shift_semitones"),
    (lambda: AddNoise(float("inf"), 10), "noise_snr_db"),
    (lambda: Gain("loud", 3), "gain_db"),
])
def test_out_of_domain_ranges_are_refused_naming_the_parameter(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_bad_input_is_refused_at_the_door():
    with pytest.raises(ValueError, match="sample_rate"):
        AudioAugmenter().augment(sine(), 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="NaN"):
        AudioAugmenter().augment(np.full((1, 1000), np.nan, np.float32), SR, np.random.default_rng(0))
