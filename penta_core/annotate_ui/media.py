"""What the page plays and draws: MIDI rendered to WAV (cached), piano-roll notes, audio types.

MIDI is rendered with the pipeline's own synthesizer
(:mod:`penta_core.synth.rendering`): ``sine`` by default, FluidSynth when
``synthesize.renderer`` asks for it and it is installed. Renders are cached on
disk by the MIDI content's sha256 and the render settings, so a sample is
rendered once per machine, whoever asks for it.
"""
from __future__ import annotations

import hashlib
import io
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from penta_core.core.io import atomic_write_bytes

AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
# Bumped when the render of the same bytes would change, so old cache files are not served.
RENDER_VERSION = 1


def audio_type(path: str) -> str:
    """The MIME type of an audio file by its extension (``application/octet-stream`` if unknown)."""
    return AUDIO_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")


def render_wav(midi_data: bytes, renderer: str = "sine", sample_rate: int = 22050, max_seconds: float = 300.0) -> bytes:
    """MIDI bytes rendered to a 16-bit mono WAV, cut at ``max_seconds``.

    Parameters
    ----------
    renderer : ``sine`` (pretty_midi's additive synthesis) or ``fluidsynth``; FluidSynth falls
        back to ``sine`` when it is not installed.
    """
    import pretty_midi
    import soundfile as sf

    from penta_core.synth.rendering import find_fluidsynth, render_fluidsynth, render_sine

    midi = pretty_midi.PrettyMIDI(io.BytesIO(midi_data))
    for instrument in midi.instruments:
        instrument.notes = [n for n in instrument.notes if n.start < max_seconds]
        for note in instrument.notes:
            note.end = min(note.end, max_seconds)
    if renderer == "fluidsynth" and find_fluidsynth() is not None:
        buffer = io.BytesIO()
        midi.write(buffer)
        audio = render_fluidsynth(buffer.getvalue(), sample_rate)
    else:
        audio = render_sine(midi, sample_rate)
    audio = audio[: int(max_seconds * sample_rate)]
    out = io.BytesIO()
    sf.write(out, audio, sample_rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


@dataclass
class RenderCache:
    """MIDI → WAV renders, on disk under ``folder`` and the most recent ones in memory.

    ``stats`` counts memory hits, disk hits and renders with the seconds they took.
    """

    folder: Path
    renderer: str = "sine"
    sample_rate: int = 22050
    max_seconds: float = 300.0
    memory_items: int = 32
    stats: dict[str, float] = field(default_factory=lambda: {"memory_hits": 0, "disk_hits": 0, "renders": 0,
                                                             "render_s": 0.0})

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def key(self, midi_data: bytes) -> str:
        settings = f"{RENDER_VERSION}-{self.renderer}-{self.sample_rate}-{self.max_seconds:g}"
        return hashlib.sha256(midi_data).hexdigest()[:32] + "-" + settings

    def wav(self, midi_data: bytes) -> bytes:
        """The render of ``midi_data``; concurrent requests for one MIDI render it once."""
        key = self.key(midi_data)
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                self.stats["memory_hits"] += 1
                return self._memory[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            path = self.folder / f"{key}.wav"
            if path.exists():
                data = path.read_bytes()
                self.stats["disk_hits"] += 1
            else:
                start = time.perf_counter()
                data = render_wav(midi_data, self.renderer, self.sample_rate, self.max_seconds)
                self.stats["render_s"] += time.perf_counter() - start
                self.stats["renders"] += 1
                atomic_write_bytes(path, data)
        with self._lock:
            self._memory[key] = data
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)
            self._key_locks.pop(key, None)
        return data


def piano_roll(midi_data: bytes, max_notes: int = 20000) -> dict[str, Any]:
    """Notes of a MIDI file for drawing: ``{"notes": [[start_s, end_s, pitch, velocity, is_drum], ...], ...}``."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(io.BytesIO(midi_data))
    notes = sorted(
        (round(n.start, 4), round(n.end, 4), n.pitch, n.velocity, int(inst.is_drum))
        for inst in midi.instruments for n in inst.notes
    )
    return {"notes": [list(n) for n in notes[:max_notes]], "truncated": len(notes) > max_notes,
            "duration_s": round(midi.get_end_time(), 3)}
