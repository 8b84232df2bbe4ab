"""Audio renders of MIDI: pretty_midi's additive synthesis, or FluidSynth with a SoundFont.

``sine`` needs nothing beyond numpy and gives the same samples on every
machine. ``fluidsynth`` sounds like real instruments; it needs the
``fluidsynth`` program and a General MIDI SoundFont (Debian:
``apt-get install fluidsynth fluid-soundfont-gm``; or set
``PENTA_SOUNDFONT`` to an .sf2 file). Its output is deterministic for a given
FluidSynth version and SoundFont.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from penta_core.core.errors import MissingTool

RENDERERS = ("sine", "fluidsynth")
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)


def find_fluidsynth() -> tuple[str, str] | None:
    """``(program, soundfont)`` when FluidSynth can render here, else ``None``."""
    program = shutil.which("fluidsynth")
    candidates = [os.environ.get("PENTA_SOUNDFONT", ""), *SOUNDFONT_CANDIDATES]
    soundfont = next((c for c in candidates if c and Path(c).is_file()), None)
    return (program, soundfont) if program and soundfont else None


def render_fluidsynth(midi_data: bytes, sample_rate: int = 22050, timeout_s: float = 300.0) -> np.ndarray:
    """Render MIDI bytes with FluidSynth; mono float32 peak-normalised to -1 dBFS.

    Raises
    ------
    MissingTool : FluidSynth or a SoundFont is not installed.
    RuntimeError : rendering failed.
    """
    import soundfile as sf

    found = find_fluidsynth()
    if found is None:
        raise MissingTool("FluidSynth with a SoundFont is not installed "
                           "(apt-get install fluidsynth fluid-soundfont-gm, or set PENTA_SOUNDFONT)")
    program, soundfont = found
    with tempfile.TemporaryDirectory(prefix="penta-render-") as tmp:
        midi_path, wav_path = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        midi_path.write_bytes(midi_data)
        cmd = [program, "-ni", "-q", "-F", str(wav_path), "-r", str(sample_rate), "-g", "0.6",
               soundfont, str(midi_path)]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        if result.returncode != 0 or not wav_path.exists():
            raise RuntimeError(f"fluidsynth failed: {' '.join((result.stderr or result.stdout).split())[:200]}")
        audio, _ = sf.read(str(wav_path), dtype="float32", always_2d=True)
    return _normalise(audio.mean(axis=1))


def render_sine(midi, sample_rate: int = 22050) -> np.ndarray:
    """pretty_midi's additive synthesis of a ``PrettyMIDI``; mono float32 at -1 dBFS peak."""
    return _normalise(midi.synthesize(fs=sample_rate))


def _normalise(audio: np.ndarray) -> np.ndarray:
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio * (10 ** (-1 / 20) / peak)
    return np.asarray(audio, dtype=np.float32)
