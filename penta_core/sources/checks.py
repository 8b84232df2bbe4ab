"""Checks every source file passes on its way into a dataset.

A MIDI file must parse and hold at least one note; an audio file must decode,
hold finite samples and not be silent. Anything else is rejected with a
one-line reason that ends up in ``quarantine.json``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

MIDI_EXTENSIONS = frozenset({".mid", ".midi"})
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".mp3"})

_CONTENT_NAMES = {"midi": "MIDI", "wav": "WAV audio", "flac": "FLAC audio", "ogg": "Ogg audio", "mp3": "MP3 audio"}


class Rejected(Exception):
    """The file cannot enter the dataset; ``str(err)`` is the one-line reason."""


def kind_for(path: str | Path) -> str | None:
    """``'midi'``, ``'audio'`` or ``None`` from the file's extension."""
    # PurePath.suffix without building a path: an import calls this once per source file.
    name = os.fspath(path).rstrip("/").rpartition("/")[2]
    dot = name.rfind(".")
    ext = name[dot:].lower() if 0 < dot < len(name) - 1 else ""
    if ext in MIDI_EXTENSIONS:
        return "midi"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    return None


def sniff(head: bytes) -> str | None:
    """Name the container from its first bytes, or ``None`` when unknown."""
    if head.startswith(b"MThd"):
        return "midi"
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def _check_container(head: bytes, kind: str, ext: str) -> None:
    found = sniff(head)
    if found is None:
        if kind == "midi":
            raise Rejected("not a MIDI file (no MThd header)")
        return  # let the audio decoder have the last word
    if (found == "midi") != (kind == "midi"):
        raise Rejected(f"wrong extension: content is {_CONTENT_NAMES[found]} but the name ends in {ext}")


def check_chunk_lengths(data: bytes) -> None:
    """Reject a chunk that declares more bytes than the file holds.

    symusic 0.5 trusts a track's declared length and reads past the end of its buffer:
    the worker segfaults, or parses whatever heap bytes follow, so the same file would
    get a different fate from run to run. Checked here, before the parser sees it.
    """
    pos, number = 0, 0
    while pos + 8 <= len(data):
        declared = int.from_bytes(data[pos + 4:pos + 8], "big")
        remaining = len(data) - pos - 8
        if declared > remaining:
            raise Rejected(f"MIDI does not parse: truncated or corrupt, chunk {number} at byte {pos} "
                           f"declares {declared} bytes but only {remaining} follow")
        pos += 8 + declared
        number += 1


def check_midi(data: bytes) -> dict[str, Any]:
    """Parse MIDI bytes; return note count, track count and duration in seconds."""
    import symusic

    check_chunk_lengths(data)
    try:
        score = symusic.Score.from_midi(data)
    except Exception as err:
        raise Rejected(f"MIDI does not parse: {' '.join(str(err).split())[:160]}") from None
    n_notes = sum(len(track.notes) for track in score.tracks)
    if n_notes == 0:
        raise Rejected("MIDI holds no notes")
    seconds = score.to("second")
    # Judge the duration as it will be recorded: a zero tempo gives the notes a length of a
    # few float32 ulps, which would pass a `> 0` test and be recorded as 0.0 s.
    duration = round(float(seconds.end()), 6)
    if not math.isfinite(duration) or duration <= 0:
        raise Rejected(f"MIDI has an unusable duration ({duration} s)")
    return {"n_notes": int(n_notes), "n_tracks": len(score.tracks), "duration_s": duration}


def _decoder_message(err: Exception, path: str | Path) -> str:
    """The decoder's message on one line, naming the file without its folder.

    libsndfile quotes the absolute path it was given; a reason that holds it would make
    ``quarantine.json`` differ between two checkouts of the same data.
    """
    return " ".join(str(err).replace(str(path), Path(path).name).split())[:160]


# A sample at or above this magnitude is at full scale (clipped); at or below, digital silence
# (under half of a 16-bit step).
FULL_SCALE = 1.0 - 1.0 / 32768
DIGITAL_SILENCE = 0.5 / 32768
# The key of a checked audio file's condition: clipping, DC offset, silence at either end.
CONDITION = "condition"


def check_audio(path: str | Path, silence_dbfs: float = -80.0, block: int = 1 << 16) -> dict[str, Any]:
    """Decode an audio file block by block; return rate, channels, duration, peak level and condition.

    The condition (``CONDITION``) holds the share of samples at full scale, the largest
    channel mean (DC offset) and the seconds of digital silence before the first and after
    the last sound; the import reports it per source and leaves it out of the sample's info.
    """
    import numpy as np  # here, not at the top: an import that checks nothing new should not load it
    import soundfile as sf

    try:
        handle = sf.SoundFile(str(path))
    except Exception as err:
        raise Rejected(f"audio does not decode: {_decoder_message(err, path)}") from None
    peak = 0.0
    frames = clipped = 0
    sums = None
    first_sound = last_sound = -1  # frames holding more than digital silence
    with handle:
        rate, channels = handle.samplerate, handle.channels
        try:
            for chunk in handle.blocks(blocksize=block, dtype="float32", always_2d=True):
                if not np.isfinite(chunk).all():
                    raise Rejected("audio holds NaN or infinite samples")
                if len(chunk):
                    level = np.abs(chunk)
                    peak = max(peak, float(level.max()))
                    clipped += int((level >= FULL_SCALE).sum())
                    sums = chunk.sum(axis=0, dtype=np.float64) + (0 if sums is None else sums)
                    sounding = np.flatnonzero(level.max(axis=1) > DIGITAL_SILENCE)
                    if len(sounding):
                        if first_sound < 0:
                            first_sound = frames + int(sounding[0])
                        last_sound = frames + int(sounding[-1])
                frames += len(chunk)
        except Rejected:
            raise
        except Exception as err:
            raise Rejected(f"audio is truncated or corrupt: {_decoder_message(err, path)}") from None
    if frames == 0 or rate <= 0:
        raise Rejected("audio holds no samples")
    if first_sound < 0:  # nothing above digital silence (passes only with a very low import.silence_dbfs)
        first_sound, last_sound = frames, -1
    peak_db = 20 * math.log10(peak) if peak > 0 else -math.inf
    if peak_db < silence_dbfs:
        level = "-inf" if peak == 0 else f"{peak_db:.1f}"
        raise Rejected(f"audio is silent (peak {level} dBFS, threshold {silence_dbfs:g} dBFS)")
    return {
        "sample_rate": int(rate),
        "channels": int(channels),
        "duration_s": round(frames / rate, 6),
        "peak_dbfs": round(peak_db, 3),
        # Reported per source by the import (metrics/sanitize.json), not part of the sample's record.
        CONDITION: {
            "clipped_share": round(clipped / (frames * channels), 6),
            "dc_offset": round(float(np.abs(sums / frames).max()), 6),
            "lead_silence_s": round(first_sound / rate, 6),
            "tail_silence_s": round((frames - 1 - last_sound) / rate, 6),
        },
    }


def check_source(task: tuple[str, str, float]) -> dict[str, Any]:
    """Worker entry point of the import: ``(path, kind, silence_dbfs)`` → the file's verdict.

    Returns ``{"sha256", "info"}`` for a file that passes (``info`` holds ``size``
    and what :func:`check_midi` or :func:`check_audio` found) and ``{"sha256",
    "reason"}`` for one that is rejected, so a rejection can be recorded against
    the content it judged. Anything other than a rejection (the file cannot be
    read, a crash, a time-out) is left to the caller's supervisor.
    """
    import hashlib

    path, kind, silence_dbfs = task
    data = Path(path).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    try:
        if not data:
            raise Rejected("empty file")
        _check_container(data[:16], kind, Path(path).suffix.lower())
        info = check_midi(data) if kind == "midi" else check_audio(path, silence_dbfs)
    except Rejected as err:
        # One line, at most the length a supervised failure is cut to, as the reason always was.
        return {"sha256": sha, "reason": " ".join(str(err).split())[:290] or "no message"}
    info["size"] = len(data)
    condition = info.pop(CONDITION, None)
    return {"sha256": sha, "info": info, **({CONDITION: condition} if condition is not None else {})}
