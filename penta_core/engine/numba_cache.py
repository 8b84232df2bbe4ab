"""librosa's numba kernels, compiled once into the project's cache before workers start.

librosa compiles its beat tracker, peak picker, zero-crossing counter, tuning
estimate and STFT overlap-add with numba and caches the machine code on disk.
Worker processes compiling into one cache at the same time can corrupt it
(numba issue 10128) and make later calls crash. :func:`prepare_numba` points
numba at a folder of the project's own and, before several workers start,
compiles every kernel the features, augment and families stages reach, once
per cache folder and library versions.
"""
from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import numpy as np

NUMBA_CACHE = ".numba_cache"  # relative to the working directory: the project's folder under DVC and make
WARM_UP_RATE = 22050


def prepare_numba(cache_dir: str | os.PathLike = NUMBA_CACHE, *, warm_up: bool = True,
                  timeout_s: float = 900.0) -> Path:
    """Give numba a cache folder and, when ``warm_up``, fill it once before workers start.

    Spawned workers inherit ``NUMBA_CACHE_DIR`` and then only read the
    finished cache. The warm-up runs in one spawned process, not in the
    caller: if the caller had already imported librosa, its functions would
    stay bound to numba's previous cache folder. A stamp file in the folder,
    named after the librosa and numba versions, skips later warm-ups.

    Parameters
    ----------
    cache_dir : folder for numba's cache (created). An already set
        ``NUMBA_CACHE_DIR`` is kept.
    warm_up : compile librosa's kernels now (worth it when more than one
        worker will run librosa; a single worker compiles for itself).
    timeout_s : limit for the warm-up (a first compilation takes about a minute).

    Returns
    -------
    Path : the cache folder numba uses.
    """
    from penta_core.engine.parallel import supervised_map

    folder = Path(os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(cache_dir).resolve())))
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / ("penta-warm-" + "-".join(importlib.metadata.version(p) for p in ("librosa", "numba")))
    if not warm_up or stamp.exists():
        return folder
    # A failed warm-up only costs speed: the workers then compile for themselves.
    for _, outcome in supervised_map(warm_up_librosa, [WARM_UP_RATE], n_jobs=1, timeout_s=timeout_s):
        if outcome.ok:
            stamp.touch()
    return folder


def warm_up_librosa(sample_rate: int = WARM_UP_RATE) -> None:
    """Call every numba-compiled librosa kernel the stages reach, on the dtypes and shapes they use.

    The features read mono float32 (beat tracking, onset peaks, constant-Q
    chroma with its tuning estimate, zero-crossing rate); the augmenter
    edits ``(channels, frames)`` float32 (time stretch and pitch shift:
    phase vocoder and inverse STFT); the families fingerprints only load and
    resample, which compiles a subset of these.
    """
    import librosa

    clicks = np.zeros(sample_rate * 3, dtype=np.float32)
    clicks[:: sample_rate // 2] = 1.0
    power = np.abs(librosa.stft(clicks)) ** 2
    onsets = librosa.onset.onset_strength(S=librosa.power_to_db(librosa.feature.melspectrogram(S=power)))
    librosa.beat.beat_track(onset_envelope=onsets, sr=sample_rate)
    librosa.onset.onset_detect(onset_envelope=onsets, sr=sample_rate)
    librosa.feature.chroma_cqt(y=clicks, sr=sample_rate)
    librosa.feature.zero_crossing_rate(clicks)

    # Long enough that the inverse STFT works in several blocks: with more than
    # one channel a block is a strided view, compiled apart from a whole array.
    tone = np.sin(np.linspace(0, 12_000, sample_rate * 3, dtype=np.float32))
    for channels in (1, 2):
        signal = np.repeat(tone[np.newaxis, :], channels, axis=0)
        librosa.effects.time_stretch(signal, rate=1.1)
        librosa.effects.pitch_shift(signal, sr=sample_rate, n_steps=1, res_type="soxr_hq")
