"""Write the embedded example dataset (``datasets/examples/``) reproducibly.

Four emotion folders, each with MIDI pieces from the synthetic generator and
two short audio renders (one WAV, one FLAC), small enough to ship in git and
rich enough that every pipeline stage does real work on it::

    python -m penta_core.examples datasets/examples
"""
from __future__ import annotations

import argparse
import io
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

from penta_core.core.io import atomic_write_bytes
from penta_core.synth.generator import SyntheticGenerator, midi_bytes, render_audio

EMOTIONS = ("happy", "sad", "angry", "calm")
MIDI_PER_EMOTION = 8
AUDIO_SECONDS = 5.0
AUDIO_RATE = 16000
EXAMPLES_SEED = 20261125


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([EXAMPLES_SEED, zlib.crc32(name.encode())])


def _audio_bytes(audio: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, AUDIO_RATE, format=fmt, subtype="PCM_16")
    return buffer.getvalue()


def write_examples(folder: str | Path) -> list[Path]:
    """Write every example file below ``folder``; return their paths (sorted)."""
    folder = Path(folder)
    generator = SyntheticGenerator(bars=8)
    written = []
    for emotion in EMOTIONS:
        for k in range(1, MIDI_PER_EMOTION + 1):
            name = f"{emotion}_{k:02d}"
            midi, _ = generator.generate(emotion, _rng(name))
            written.append(atomic_write_bytes(folder / emotion / f"{name}.mid", midi_bytes(midi)))
        for fmt, ext in (("WAV", "wav"), ("FLAC", "flac")):
            name = f"{emotion}_audio_{ext}"
            midi, _ = generator.generate(emotion, _rng(name))
            audio = render_audio(midi, AUDIO_RATE)[: int(AUDIO_SECONDS * AUDIO_RATE)]
            written.append(atomic_write_bytes(folder / emotion / f"{name}.{ext}", _audio_bytes(audio, fmt)))
    return sorted(written)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="datasets/examples")
    args = parser.parse_args(argv)
    paths = write_examples(args.folder)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} example files ({total / 1024:.0f} KiB) to {args.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
