"""An audio fingerprint that survives re-encoding, resampling, gain changes and trimming.

After Haitsma and Kalker (2002): the signal is resampled to 8 kHz mono and
cut into 256 ms frames every 16 ms; each frame's energy in 33 log-spaced
bands between 300 and 2,000 Hz gives a 32-bit sub-fingerprint whose bits
are the signs of energy differences across neighbouring bands and frames.
Signs ignore gain, the band range ignores the sample rate and most coding
loss, and the heavy frame overlap lets a trimmed copy line up with its
original at some offset. Two recordings are compared by the share of bits
that differ (bit error rate) at their best offset.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_RATE = 8000
FRAME = 2048
HOP = 128
BANDS = 33
BAND_HZ = (300.0, 2000.0)
MAX_SECONDS = 300.0
# Frames quieter than this below the loudest one carry no reliable bits.
SILENCE_DB = 50.0
FRAMES_PER_SECOND = SAMPLE_RATE / HOP
# Offsets searched around each voted one, in frames, and the overlap a match needs.
MIN_OVERLAP_FRAMES = int(3 * FRAMES_PER_SECOND)


def _load(path: Path) -> np.ndarray:
    # Heavy: imported by the workers that decode audio only.
    import librosa
    import soundfile as sf

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True, frames=int(MAX_SECONDS * 192000))
        mono = data[: int(MAX_SECONDS * sr)].mean(axis=1)
    except (sf.LibsndfileError, RuntimeError):
        mono, sr = librosa.load(str(path), sr=None, mono=True, duration=MAX_SECONDS)
    return librosa.resample(mono, orig_sr=sr, target_sr=SAMPLE_RATE, res_type="soxr_hq")


def sub_fingerprints(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """32-bit sub-fingerprints (uint32) of an 8 kHz mono signal, and which frames are loud enough.

    Example
    -------
    >>> t = np.arange(8000 * 2) / 8000
    >>> prints, loud = sub_fingerprints(np.sin(2 * np.pi * 440 * t) * np.sin(2 * np.pi * 3 * t))
    >>> prints.dtype, len(prints) == len(loud)
    (dtype('uint32'), True)
    """
    if len(signal) < FRAME + HOP:
        signal = np.pad(signal, (0, FRAME + HOP - len(signal)))
    frames = np.lib.stride_tricks.sliding_window_view(signal, FRAME)[::HOP]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(FRAME), axis=1)) ** 2
    freqs = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
    edges = np.geomspace(*BAND_HZ, BANDS + 1)
    band = np.searchsorted(edges, freqs, side="right") - 1
    keep = (band >= 0) & (band < BANDS)
    energy = np.zeros((len(frames), BANDS))
    np.add.at(energy.T, band[keep], spectrum[:, keep].T)
    across = energy[:, :-1] - energy[:, 1:]
    bits = (across[1:] - across[:-1]) > 0
    prints = np.packbits(bits, axis=1, bitorder="little").view("<u4")[:, 0].astype(np.uint32)
    total = energy.sum(axis=1)[1:]
    loud = total > total.max(initial=0.0) * 10 ** (-SILENCE_DB / 10) if total.max(initial=0.0) > 0 else \
        np.zeros(len(total), bool)
    return prints, loud


def audio_print(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Decode an audio file and return its sub-fingerprints and loud-frame mask."""
    return sub_fingerprints(_load(Path(path)))


def bit_error_rate(a: np.ndarray, b: np.ndarray, offset: int, loud_a: np.ndarray, loud_b: np.ndarray) -> float:
    """Share of differing bits where ``b[i + offset]`` meets ``a[i]``, over loud frames of both (1.0 if too short)."""
    start_a, start_b = max(0, -offset), max(0, offset)
    n = min(len(a) - start_a, len(b) - start_b)
    if n <= 0:
        return 1.0
    x, y = a[start_a:start_a + n], b[start_b:start_b + n]
    both = loud_a[start_a:start_a + n] & loud_b[start_b:start_b + n]
    if both.sum() < min(MIN_OVERLAP_FRAMES, 0.5 * min(len(a), len(b))):
        return 1.0
    diff = np.bitwise_xor(x[both], y[both]).view(np.uint8)
    return float(np.unpackbits(diff).mean())
