"""Audio features with librosa: tempo, key, timbre, loudness and texture.

One STFT per file feeds every spectral feature (MFCC, centroid,
contrast, RMS, onsets), so a file is transformed once. At most
``max_audio_s`` seconds are analysed; ``duration_s`` is still the whole
file's length. librosa's numba kernels are compiled before workers start by
:func:`penta_core.engine.numba_cache.prepare_numba`.
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from penta_core.features.key import estimate_key
from penta_core.features.vector import finish_features

# Bump when a change alters any audio feature value (keys the feature cache).
FEATURE_VERSION = "audio-2"

N_FFT = 2048
HOP_LENGTH = 512
N_MFCC = 13
N_CONTRAST_BANDS = 7  # librosa's default six bands plus the residual
CQT_BINS_PER_OCTAVE = 36  # chroma_cqt's default, stated because the tuning estimate must use the same
SILENCE_DBFS = -60.0  # frames quieter than this count as silence
DB_FLOOR = -120.0

AUDIO_COLUMNS: tuple[str, ...] = (
    "duration_s", "analysed_s", "tempo_bpm", "beat_strength", "onset_rate",
    "key_tonic", "mode_minor", "key_confidence", "key_margin",
    *(f"chroma_{i}" for i in range(12)),
    *(f"mfcc_mean_{i}" for i in range(N_MFCC)),
    *(f"mfcc_std_{i}" for i in range(N_MFCC)),
    "spectral_centroid_mean", "spectral_centroid_std",
    "spectral_bandwidth_mean", "spectral_bandwidth_std",
    "spectral_rolloff_mean", "spectral_rolloff_std",
    *(f"spectral_contrast_{i}" for i in range(N_CONTRAST_BANDS)),
    "rms_mean", "loudness_db", "dynamic_range_db", "zcr_mean", "zcr_std", "silence_ratio",
)


def _stat(values: np.ndarray) -> tuple[float, float]:
    return (float(values.mean()), float(values.std())) if values.size else (0.0, 0.0)


def extract_audio_features_from_array(y: np.ndarray, sr: int, *, duration_s: float | None = None) -> dict[str, Any]:
    """Audio features of a mono signal.

    Parameters
    ----------
    y : mono samples (float).
    sr : sample rate in Hz.
    duration_s : length of the whole file when ``y`` is only its analysed part.

    Returns
    -------
    dict with ``features`` (every name in :data:`AUDIO_COLUMNS` plus ``mode``),
    ``flags`` and ``details`` (``key``), as :func:`extract_audio_features`.
    """
    import librosa

    y = np.nan_to_num(np.asarray(y, dtype=np.float32))
    if y.ndim != 1:
        raise ValueError(f"y must be mono (one dimension), got shape {y.shape}")
    if sr <= 0:
        raise ValueError(f"sr must be positive, got {sr}")
    flags: list[str] = []
    analysed = y.size / sr
    f: dict[str, Any] = {"duration_s": duration_s if duration_s is not None else analysed, "analysed_s": analysed}
    details: dict[str, Any] = {"key": "undefined"}
    if y.size == 0 or float(np.abs(y).max()) == 0.0:
        flags.append("silent")
        f["silence_ratio"] = 1.0
        return _finish(f, flags, details)
    if y.size < N_FFT:
        flags.append("too_short")
        y = np.pad(y, (0, N_FFT - y.size))

    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH))
    power = S**2
    # librosa's own defaults (ref 1.0, 80 dB range): a wider range lets the
    # near-silent tail after each note-off read as spurious onsets.
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr))

    onset_env = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=HOP_LENGTH)
    tempo, beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr, hop_length=HOP_LENGTH)
    f["tempo_bpm"] = float(np.atleast_1d(tempo)[0])
    if beats.size == 0:
        flags.append("no_beats")
    mean_env = float(onset_env.mean())
    f["beat_strength"] = float(onset_env[beats].mean()) / mean_env if beats.size and mean_env > 0 else 0.0
    onsets = librosa.onset.onset_detect(onset_envelope=onset_env, sr=sr, hop_length=HOP_LENGTH)
    f["onset_rate"] = onsets.size / analysed if analysed > 0 else 0.0

    # Constant-Q chroma, not the STFT's: an STFT bin spans several semitones
    # below ~200 Hz, so bass notes smear and upper harmonics of real instruments
    # dominate. Unnormalised frames, so loud chords count more than quiet tails.
    # On 30 FluidSynth and sine renders of pieces of known key this found key and
    # mode for 26, STFT chroma for 20; it costs ~0.2 s more per 30 s of audio.
    # The tuning estimate chroma_cqt would make runs piptrack on an STFT of y
    # with these very settings: hand it the one already computed.
    tuning = librosa.estimate_tuning(S=S, sr=sr, bins_per_octave=CQT_BINS_PER_OCTAVE)
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=HOP_LENGTH, norm=None, tuning=tuning,
                                        bins_per_octave=CQT_BINS_PER_OCTAVE).mean(axis=1)
    chroma = chroma / chroma.sum() if chroma.sum() > 0 else chroma
    for i in range(12):
        f[f"chroma_{i}"] = float(chroma[i])
    key = estimate_key(chroma)
    if not key.defined:
        flags.append("key_undefined")
    f.update(key_tonic=float(key.tonic), mode_minor=1.0 if key.mode == "minor" else 0.0,
             key_confidence=key.confidence, key_margin=key.margin, mode=key.mode)
    details["key"] = key.name

    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)
    for i in range(N_MFCC):
        f[f"mfcc_mean_{i}"], f[f"mfcc_std_{i}"] = _stat(mfcc[i])
    centroid = librosa.feature.spectral_centroid(S=S, sr=sr)
    f["spectral_centroid_mean"], f["spectral_centroid_std"] = _stat(centroid[0])
    bandwidth = librosa.feature.spectral_bandwidth(S=S, sr=sr, centroid=centroid)  # else it computes the centroid again
    f["spectral_bandwidth_mean"], f["spectral_bandwidth_std"] = _stat(bandwidth[0])
    f["spectral_rolloff_mean"], f["spectral_rolloff_std"] = _stat(librosa.feature.spectral_rolloff(S=S, sr=sr)[0])
    contrast = librosa.feature.spectral_contrast(S=S, sr=sr).mean(axis=1)
    for i in range(N_CONTRAST_BANDS):
        f[f"spectral_contrast_{i}"] = float(contrast[i])

    rms = librosa.feature.rms(S=S, frame_length=N_FFT)[0]
    rms_db = np.maximum(20 * np.log10(np.maximum(rms, 1e-12)), DB_FLOOR)
    f["rms_mean"] = float(rms.mean())
    # Level of the mean power, so a gain of g dB moves it by exactly g dB.
    f["loudness_db"] = max(10 * math.log10(max(float((rms**2).mean()), 1e-24)), DB_FLOOR)
    sounding = rms_db[rms_db >= SILENCE_DBFS]
    f["dynamic_range_db"] = float(np.percentile(sounding, 95) - np.percentile(sounding, 5)) if sounding.size else 0.0
    f["silence_ratio"] = float((rms_db < SILENCE_DBFS).mean())
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP_LENGTH)[0]
    f["zcr_mean"], f["zcr_std"] = _stat(zcr)
    return _finish(f, flags, details)


def _finish(f: dict, flags: list, details: dict) -> dict[str, Any]:
    return finish_features(f, AUDIO_COLUMNS, flags, details)


def extract_audio_features(path: str | os.PathLike, *, sample_rate: int = 22050,
                           max_audio_s: float = 600.0) -> dict[str, Any]:
    """Extract every audio feature of one file.

    Parameters
    ----------
    path : an audio file soundfile or librosa can decode.
    sample_rate : analysis rate in Hz (the file is resampled, mixed to mono).
    max_audio_s : analyse at most this many seconds from the start.

    Returns
    -------
    dict with
        ``features`` : ``{column: float}`` for every name in :data:`AUDIO_COLUMNS`
        plus ``mode`` (``"major"`` or ``"minor"``);
        ``flags`` : degenerate-input markers (``"silent"``, ``"too_short"``,
        ``"truncated"``, ``"no_beats"``, ...);
        ``details`` : ``{"key": "A minor"}``.

    Example
    -------
    >>> out = extract_audio_features("take.wav", sample_rate=22050)  # doctest: +SKIP
    >>> out["features"]["tempo_bpm"]  # doctest: +SKIP
    120.18
    """
    import librosa
    import soundfile as sf

    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not max_audio_s > 0:
        raise ValueError(f"max_audio_s must be positive, got {max_audio_s}")
    try:
        info = sf.info(str(path))
        duration = info.frames / info.samplerate
    except Exception:  # formats soundfile cannot read are left to librosa's fallback
        duration = float(librosa.get_duration(path=str(path)))
    y, sr = librosa.load(str(path), sr=sample_rate, mono=True, duration=max_audio_s)
    out = extract_audio_features_from_array(y, sr, duration_s=duration)
    if duration > max_audio_s + 1e-6:
        out["flags"] = sorted(set(out["flags"]) | {"truncated"})
    return out
