"""Turn a sample's bytes into what a model reads: MIDI objects or piano rolls, audio arrays at a chosen rate.

Plain functions over bytes with keyword arguments; the heavy libraries
(symusic, pretty_midi, soundfile, soxr) load on first use.
"""
from __future__ import annotations

import io
from typing import Any

import numpy as np

MIDI_DECODERS = ("score", "pretty_midi", "pianoroll", "bytes")
AUDIO_DECODERS = ("array", "bytes")


def decode_midi(data: bytes, *, as_: str = "score", fs: float = 100.0, drums: bool = False) -> Any:
    """MIDI bytes as a symusic ``Score``, a ``pretty_midi.PrettyMIDI``, a piano roll, or the bytes.

    Parameters
    ----------
    data : the bytes of a Standard MIDI File.
    as_ : ``score`` (symusic, ticks; fastest), ``pretty_midi``, ``pianoroll`` (see :func:`piano_roll`)
        or ``bytes``.
    fs, drums : for ``pianoroll``: frames per second, and whether drum tracks count.

    Example
    -------
    >>> roll = decode_midi(midi_bytes, as_="pianoroll", fs=50)  # doctest: +SKIP
    >>> roll.shape  # doctest: +SKIP
    (128, 791)
    """
    if as_ == "bytes":
        return data
    if as_ == "pretty_midi":
        import pretty_midi

        return pretty_midi.PrettyMIDI(io.BytesIO(data))
    import symusic

    score = symusic.Score.from_midi(data)
    if as_ == "score":
        return score
    if as_ == "pianoroll":
        return piano_roll(score, fs=fs, drums=drums)
    raise ValueError(f"as_ must be one of {', '.join(MIDI_DECODERS)}, got {as_!r}")


def piano_roll(score: Any, *, fs: float = 100.0, drums: bool = False) -> np.ndarray:
    """A ``(128, frames)`` uint8 piano roll in real time: each cell the loudest velocity sounding in it.

    A note covers frames ``floor(start * fs)`` up to, not including,
    ``ceil(end * fs)`` (at least one frame), times through the tempo map.
    Drum tracks are left out unless ``drums``. ``frames`` is the frame
    after the last note's end (0 for a score without notes).

    Parameters
    ----------
    score : a symusic ``Score`` (any time unit).
    fs : frames per second, > 0.
    """
    if not fs > 0:
        raise ValueError(f"fs must be > 0 frames per second, got {fs!r}")
    seconds = score.to("second")
    parts = [track.notes.numpy() for track in seconds.tracks if (drums or not track.is_drum) and len(track.notes)]
    if not parts:
        return np.zeros((128, 0), dtype=np.uint8)
    onset = np.concatenate([p["time"] for p in parts])
    duration = np.concatenate([p["duration"] for p in parts])
    pitch = np.concatenate([p["pitch"] for p in parts]).astype(np.int64)
    velocity = np.concatenate([p["velocity"] for p in parts]).astype(np.uint8)
    # Quietest first: where notes overlap, assignment keeps the last value written, the loudest.
    order = np.argsort(velocity, kind="stable")
    onset, duration, pitch, velocity = onset[order], duration[order], pitch[order], velocity[order]
    start = np.maximum(np.floor(onset * fs).astype(np.int64), 0)
    end = np.maximum(np.ceil((onset + duration) * fs).astype(np.int64), start + 1)
    lengths = end - start
    frames = int(end.max())
    roll = np.zeros((128, frames), dtype=np.uint8)
    note = np.repeat(np.arange(len(start)), lengths)  # one entry per cell a note covers
    frame = np.arange(len(note)) - np.repeat(np.cumsum(lengths) - lengths - start, lengths)
    roll.reshape(-1)[pitch[note] * frames + frame] = velocity[note]
    return roll


def decode_audio(data: bytes, *, as_: str = "array", sample_rate: int | None = None,
                 mono: bool = True) -> Any:
    """Audio bytes (FLAC, WAV, ...) as float32 samples at ``sample_rate``, or the bytes.

    Parameters
    ----------
    data : the file's bytes.
    as_ : ``array`` or ``bytes``.
    sample_rate : resample to this rate (soxr, high quality); ``None`` keeps the file's.
    mono : average the channels to shape ``(frames,)``; else ``(channels, frames)``.

    Returns
    -------
    ndarray : float32 samples at ``sample_rate`` (or, when it is ``None``, at the file's own
        rate: :func:`audio_rate`), or the bytes.
    """
    if as_ == "bytes":
        return data
    if as_ != "array":
        raise ValueError(f"as_ must be one of {', '.join(AUDIO_DECODERS)}, got {as_!r}")
    samples, rate = read_audio(data)
    if sample_rate is not None and sample_rate != rate:
        if not (isinstance(sample_rate, int) and sample_rate > 0):
            raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        import soxr

        samples = np.ascontiguousarray(soxr.resample(samples.T, rate, sample_rate).T, dtype=np.float32)
    return samples.mean(axis=0, dtype=np.float32) if mono else samples


def read_audio(data: bytes) -> tuple[np.ndarray, int]:
    """Float32 ``(channels, frames)`` samples and the rate of audio bytes."""
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return np.ascontiguousarray(samples.T), int(rate)


def audio_rate(data: bytes) -> int:
    """The sample rate stored in audio bytes."""
    import soundfile as sf

    return int(sf.info(io.BytesIO(data)).samplerate)
