"""Write the embedded example dataset (``datasets/examples/``) reproducibly.

Four emotion folders, each with MIDI pieces from the synthetic generator and
two short audio renders (one WAV, one FLAC), small enough to ship in git and
rich enough that every pipeline stage does real work on it. Every piece has
several tracks: block chords, a melody, a bass line and, for some emotions,
drums. The first piece of each folder has its chords written beside it as a
MIREX ``.lab`` file, and the second of ``happy`` as a JAMS file with its key:
the generator's own chords, so the harmony target's annotated path runs on
the example and its recogniser can be checked against the truth. The
import leaves these files to the targets stage, so the emotion recognizer's
dataset is the same with or without them::

    python -m penta_core.examples datasets/examples
"""
from __future__ import annotations

import argparse
import io
import json
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

from penta_core.core.io import atomic_write_bytes, atomic_write_text
from penta_core.features.key import PITCH_CLASS_NAMES
from penta_core.harmony import harte
from penta_core.synth.generator import PiecePlan, SyntheticGenerator, midi_bytes, render_audio
from penta_core.synth.profiles import mode_family

EMOTIONS = ("happy", "sad", "angry", "calm")
MIDI_PER_EMOTION = 8
AUDIO_SECONDS = 5.0
AUDIO_RATE = 16000
EXAMPLES_SEED = 20261125
LAB_PIECE = 1  # the piece of each folder whose chords are written beside it as a .lab file
JAMS_PIECE = ("happy", 2)  # the piece whose chords and key are written as JAMS


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([EXAMPLES_SEED, zlib.crc32(name.encode())])


def _audio_bytes(audio: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, AUDIO_RATE, format=fmt, subtype="PCM_16")
    return buffer.getvalue()


def chord_segments(generator: SyntheticGenerator, plan: PiecePlan) -> list[tuple[float, float, str]]:
    """The chords ``generator`` plays for ``plan``: ``(start_s, end_s, Harte label)``, from its own timeline."""
    beat = 60.0 / plan.tempo_bpm
    # The generator's timeline is what it renders: the truth, not a reading of the notes.
    timeline = generator._chord_timeline(plan, generator.profiles[plan.emotion])
    return [(round(start * beat, 6), round((start + length) * beat, 6),
             harte.name((plan.tonic + chord.root) % 12, harte.quality_of(chord.intervals)))
            for start, length, chord in timeline]


def _jams(segments: list[tuple[float, float, str]], plan: PiecePlan) -> str:
    """A JAMS document with the chord annotation and the key of a piece."""
    key = f"{PITCH_CLASS_NAMES[plan.tonic]}:{mode_family(plan.mode)}"
    end = segments[-1][1]

    def annotation(namespace: str, data: list[dict]) -> dict:
        return {"namespace": namespace, "data": data, "time": 0.0, "duration": end, "sandbox": {},
                "annotation_metadata": {"annotator": {"name": "penta_core.synth.generator"},
                                        "data_source": "the generator's chord timeline"}}

    document = {
        "file_metadata": {"title": "", "duration": end, "jams_version": "0.3.4"},
        "sandbox": {},
        "annotations": [
            annotation("chord", [{"time": a, "duration": round(b - a, 6), "value": label, "confidence": 1.0}
                                 for a, b, label in segments]),
            annotation("key_mode", [{"time": 0.0, "duration": end, "value": key, "confidence": 1.0}]),
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_examples(folder: str | Path) -> list[Path]:
    """Write every example file below ``folder``; return their paths (sorted)."""
    folder = Path(folder)
    generator = SyntheticGenerator(bars=8)
    written = []
    for emotion in EMOTIONS:
        for k in range(1, MIDI_PER_EMOTION + 1):
            name = f"{emotion}_{k:02d}"
            midi, plan = generator.generate(emotion, _rng(name))
            written.append(atomic_write_bytes(folder / emotion / f"{name}.mid", midi_bytes(midi)))
            if k == LAB_PIECE:
                text = "".join(f"{a:.6f}\t{b:.6f}\t{label}\n" for a, b, label in chord_segments(generator, plan))
                written.append(atomic_write_text(folder / emotion / f"{name}.lab", text))
            if (emotion, k) == JAMS_PIECE:
                written.append(atomic_write_text(folder / emotion / f"{name}.jams",
                                                 _jams(chord_segments(generator, plan), plan)))
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
