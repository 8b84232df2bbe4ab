"""Audio feature throughput: the full audio feature set vs a straightforward librosa loop, as x real time per core.

Issue 10's audio goal: the full feature set (`features/audio.py`: tempo and
beats, constant-Q chroma and key, 20 MFCCs, spectral centroid, bandwidth,
roll-off and contrast, loudness, dynamic range, zero crossings) at 100x real
time or more on one core. In one run, on the same WAV files, file by file in
turn (so both see the same machine load), this measures seconds of audio
analysed per CPU second of

* ``extract_audio_features`` (decode, resample to 22,050 Hz mono, every feature),
* a straightforward librosa loop a user might write instead: ``librosa.load``
  plus ``beat_track``, ``chroma_stft``, 20 MFCCs and the spectral centroid.

The corpus: the POP909 fixtures' songs rendered with pretty_midi's sine
synthesiser at 44.1 kHz stereo (as a recording would come), cut into clips of
``--seconds``. Workers run their native libraries on one thread (as the
pipeline's do), so this process does too. Each figure is the fastest of
``--repeats`` runs per file, in CPU time.

Usage::

    python benchmarks/audio_features_throughput.py [--files 20] [--seconds 30] [--repeats 3]
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # before numpy loads: one core, as in a pipeline worker

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _timing import best_cpu  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "pop909"
GOAL_X = 100.0


def write_clips(folder: Path, files: int, seconds: float) -> list[tuple[Path, float]]:
    """Up to ``files`` WAV clips of ``seconds`` from the POP909 fixtures, 44.1 kHz stereo 16-bit."""
    import pretty_midi
    import soundfile as sf

    rate = 44100
    clips: list[tuple[Path, float]] = []
    for song in sorted(FIXTURES.glob("*/*.mid")) or sorted(FIXTURES.rglob("*.mid")):
        audio = pretty_midi.PrettyMIDI(str(song)).synthesize(fs=rate)
        audio = 0.5 * audio / max(float(np.abs(audio).max()), 1e-9)
        step = int(seconds * rate)
        for start in range(0, len(audio) - step + 1, step):
            if len(clips) == files:
                return clips
            path = folder / f"{song.stem}_{start // step:02d}.wav"
            stereo = np.stack([audio[start:start + step], 0.8 * audio[start:start + step]], axis=1)
            sf.write(path, stereo, rate, subtype="PCM_16")
            clips.append((path, seconds))
    return clips


def ours(path: Path) -> None:
    from penta_core.features.audio import extract_audio_features

    extract_audio_features(path, sample_rate=22050)


def librosa_loop(path: Path) -> None:
    import librosa

    y, sr = librosa.load(str(path), sr=22050, mono=True)
    librosa.beat.beat_track(y=y, sr=sr)
    librosa.feature.chroma_stft(y=y, sr=sr).mean(axis=1)
    librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20).mean(axis=1)
    librosa.feature.spectral_centroid(y=y, sr=sr).mean()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory(prefix="penta-audio-bench-") as tmp:
        clips = write_clips(Path(tmp), args.files, args.seconds)
        if not clips:
            print(f"no MIDI fixtures under {FIXTURES}", file=sys.stderr)
            return 1
        ours(clips[0][0])  # warm up: imports, numba compilation or its cache
        librosa_loop(clips[0][0])
        cpu = {"ours": 0.0, "loop": 0.0}
        for path, _ in clips:
            cpu["ours"] += best_cpu(lambda p=path: ours(p), args.repeats, time.thread_time)
            cpu["loop"] += best_cpu(lambda p=path: librosa_loop(p), args.repeats, time.thread_time)
    audio_s = sum(seconds for _, seconds in clips)
    x_ours, x_loop = audio_s / cpu["ours"], audio_s / cpu["loop"]
    print(f"{len(clips)} clips of {args.seconds:g} s (POP909 fixtures, sine-rendered, 44.1 kHz stereo WAV), "
          f"1 thread, CPU time, fastest of {args.repeats}; load {os.getloadavg()[0]:.2f}\n")
    print(f"{'':58s}{'ms/clip':>10s}{'x real time':>14s}")
    print(f"{'ours: extract_audio_features (every audio feature)':58s}{1e3 * cpu['ours'] / len(clips):10.1f}"
          f"{x_ours:14.0f}")
    print(f"{'librosa loop: load, beat_track, chroma, MFCC, centroid':58s}{1e3 * cpu['loop'] / len(clips):10.1f}"
          f"{x_loop:14.0f}")
    verdict = "met" if x_ours >= GOAL_X else "MISSED"
    print(f"\nours / loop, time per clip: {cpu['ours'] / cpu['loop']:.2f}; goal >= {GOAL_X:.0f}x real time "
          f"per core: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
