"""Audio normalisation at import: edge silence trimmed, channels mixed to mono, sample rate converted.

``import.edge_silence: trim`` cuts digital silence (:data:`~penta_core.sources.checks.DIGITAL_SILENCE`)
at the start and the end down to :data:`TRIM_MARGIN_S`; ``import.channels: mono`` takes the
channels' mean; ``import.sample_rate`` resamples with soxr (``HQ``). The result is a WAV with
the source's sample format where WAV holds it (PCM 16/24/32 bit, float, double; anything else
becomes PCM 16-bit). A file that needs none of it keeps its bytes. Nothing depends on the
clock or the machine's load: the same source and params give byte-identical files (libsndfile's
float WAVs carry a ``PEAK`` chunk with a time stamp, written as 0 here).
"""
from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Any

from penta_core.core.io import atomic_write_bytes, dumps_json, sha256_bytes
from penta_core.engine.fingerprint import library_versions, source_digest
from penta_core.sources.checks import DIGITAL_SILENCE

# Silence kept before the first and after the last sound when trimming: a cut right at the first
# sample would clip a soft attack that starts below the silence threshold.
TRIM_MARGIN_S = 0.01
_LIBRARIES = ("soundfile", "numpy", "soxr")
_WAV_SUBTYPES = ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")


@dataclass(frozen=True)
class Normalisation:
    """What the ``import`` params ask of each audio file (see the module docstring)."""

    trim: bool = False
    mono: bool = False
    sample_rate: int | None = None

    @classmethod
    def from_params(cls, opts: dict[str, Any]) -> Normalisation | None:
        """From the ``import`` params; ``None`` when they ask for nothing (the source's bytes are copied)."""
        norm = cls(opts["edge_silence"] == "trim", opts["channels"] == "mono", opts["sample_rate"])
        return norm if (norm.trim or norm.mono or norm.sample_rate) else None

    def fingerprint(self) -> str:
        """Hash of everything besides the source's bytes that decides the output: params, this code, libraries."""
        return _fingerprint(self.trim, self.mono, self.sample_rate)


@functools.lru_cache(maxsize=8)
def _fingerprint(trim: bool, mono: bool, sample_rate: int | None) -> str:
    # Once per process: hashing this module's source and reading library versions is a few milliseconds.
    return sha256_bytes(dumps_json({
        "trim": trim, "mono": mono, "sample_rate": sample_rate, "margin_s": TRIM_MARGIN_S,
        "code": source_digest(["penta_core.sources.normalise"]), "libraries": library_versions(_LIBRARIES),
    }).encode("utf-8"))[:16]


def normalise_array(y: Any, rate: int, norm: Normalisation) -> tuple[Any, int, dict[str, Any]]:
    """Apply ``norm`` to ``y`` (frames × channels, float); return the array, its rate and what was done.

    Parameters
    ----------
    y : decoded samples, shape ``(frames, channels)``.
    rate : their sample rate in Hz.
    norm : what to do.

    Returns
    -------
    y, rate, done : ``done`` holds ``trimmed_s`` ([start, end] seconds cut), ``channels``
        ([before, after]) and ``sample_rate`` ([before, after]) for the steps that changed something.

    Example
    -------
    >>> import numpy as np
    >>> y = np.zeros((1000, 2)); y[300:400] = 0.5
    >>> out, sr, done = normalise_array(y, 1000, Normalisation(trim=True, mono=True))
    >>> out.shape, sr, done
    ((120, 1), 1000, {'trimmed_s': [0.29, 0.59], 'channels': [2, 1]})
    """
    import numpy as np

    done: dict[str, Any] = {}
    if norm.trim and len(y):
        sounding = np.flatnonzero(np.abs(y).max(axis=1) > DIGITAL_SILENCE)
        if len(sounding):
            margin = round(TRIM_MARGIN_S * rate)
            start = max(0, int(sounding[0]) - margin)
            stop = min(len(y), int(sounding[-1]) + 1 + margin)
            if start > 0 or stop < len(y):
                done["trimmed_s"] = [round(start / rate, 6), round((len(y) - stop) / rate, 6)]
                y = y[start:stop]
    if norm.mono and y.shape[1] > 1:
        done["channels"] = [int(y.shape[1]), 1]
        y = y.mean(axis=1, keepdims=True)
    if norm.sample_rate and norm.sample_rate != rate:
        import soxr

        done["sample_rate"] = [int(rate), int(norm.sample_rate)]
        y = soxr.resample(np.ascontiguousarray(y), rate, norm.sample_rate, quality="HQ")
        y = y.reshape(len(y), -1)
        rate = norm.sample_rate
    return y, rate, done


def _zero_peak_timestamp(data: bytes) -> bytes:
    """A float WAV's ``PEAK`` chunk holds the time it was written: set it to 0 so the bytes repeat."""
    at = data.find(b"PEAK", 12, 4096)
    if at < 0:
        return data
    return data[:at + 12] + b"\0\0\0\0" + data[at + 16:]


def encode_wav(y: Any, rate: int, subtype: str) -> bytes:
    """``y`` as WAV bytes of ``subtype`` (kept if WAV holds it, else PCM 16-bit), the same bytes every time."""
    import numpy as np
    import soundfile as sf

    subtype = subtype if subtype in _WAV_SUBTYPES else "PCM_16"
    if subtype.startswith("PCM"):
        y = np.clip(y, -1.0, 1.0)  # resampling can overshoot full scale; integers would wrap
    buffer = io.BytesIO()
    sf.write(buffer, y, rate, format="WAV", subtype=subtype)
    return _zero_peak_timestamp(buffer.getvalue())


def normalise_file(task: tuple[str, str, str, str, tuple[bool, bool, int | None]]) -> dict[str, Any]:
    """Worker entry point: normalise one source into the raw folder; return what was written.

    ``task`` is ``(source path, its sha256, destination if unchanged, destination as WAV, (trim,
    mono, sample_rate))``. The source must still hold the bytes its check hashed; a file that
    needs nothing is written as it is, to the first destination.

    Returns
    -------
    dict : ``{"wav": bool, "sha256", "size", "info": {sample_rate, channels, duration_s, peak_dbfs,
        size}, "normalised": {...}}`` or ``{"reason": ...}`` when the source changed or went away.
    """
    import math

    import numpy as np
    import soundfile as sf

    path, sha, same_dest, wav_dest, (trim, mono, sample_rate) = task
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        return {"reason": f"file went away while it was being imported: {err.strerror or err}"}
    if sha256_bytes(data) != sha:
        return {"reason": "file changed while it was being imported"}
    with sf.SoundFile(io.BytesIO(data)) as handle:
        rate, subtype = handle.samplerate, handle.subtype
        # float32 holds 16- and 24-bit samples exactly at half the memory of float64 (a worker holds the
        # whole decoded file: 4 bytes a sample and channel, 420 MB for an hour of 44.1 kHz stereo).
        y = handle.read(dtype="float64" if subtype in ("PCM_32", "DOUBLE") else "float32", always_2d=True)
    y, rate, done = normalise_array(y, rate, Normalisation(trim, mono, sample_rate))
    wav = bool(done)
    out = encode_wav(y, rate, subtype) if wav else data
    atomic_write_bytes(wav_dest if wav else same_dest, out)
    peak = float(np.abs(y).max()) if y.size else 0.0
    info = {"sample_rate": int(rate), "channels": int(y.shape[1]), "duration_s": round(len(y) / rate, 6),
            "peak_dbfs": round(20 * math.log10(peak), 3) if peak > 0 else None, "size": len(out)}
    return {"wav": wav, "sha256": sha256_bytes(out), "size": len(out), "info": info, "normalised": done}


def wav_name(rel: str) -> str:
    """Where a normalised copy of ``rel`` goes: the same path, ending in ``.wav``."""
    stem, dot, ext = rel.rpartition(".")
    return rel if ext.lower() == "wav" and dot else (f"{stem}.wav" if dot and "/" not in ext else f"{rel}.wav")


def wav_names(rels: list[str]) -> dict[str, str]:
    """:func:`wav_name` of each of ``rels``, or ``<rel>.wav`` where two would meet (``a.flac``, ``a.wav``)."""
    wanted = {rel: wav_name(rel) for rel in rels}
    taken: dict[str, int] = {}
    for name in wanted.values():
        taken[name] = taken.get(name, 0) + 1
    for rel in rels:
        if rel != wanted[rel] and (taken[wanted[rel]] > 1 or wanted[rel] in wanted):
            wanted[rel] = f"{rel}.wav"
    return wanted

