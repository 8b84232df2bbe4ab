"""Augmentation throughput: penta_core's augment worker vs naive read-modify-write loops.

Generates (deterministically, in a temporary folder) multi-track MIDI files
with drums and tempo changes, and stereo music-like audio clips. Then, on the
same files in the same run, measures

* MIDI variants per second of wall time: the augment stage's worker
  (``augment_parent``: read, check sha256, parse once, ``multiplier``
  variants, atomic writes) on one core and over all cores through
  ``supervised_map``, beside a naive pretty_midi loop that reads the file
  again for every variant, edits its note objects and writes it;
* audio seconds augmented per second of wall time: the same worker on one
  core and on all cores, beside a naive loop that loads the file again for
  every variant (``librosa.load`` at its own rate and channels, so both do
  the same signal work), applies the same librosa effects and writes a WAV.

Usage::

    python benchmarks/augmentation_throughput.py [--midi-files 200] [--audio-files 8] [--multiplier 3]
"""
from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
import warnings
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from penta_core.augment.variants import augment_parent, variant_rng
from penta_core.core.io import sha256_file
from penta_core.core.params import DEFAULTS
from penta_core.engine.numba_cache import prepare_numba
from penta_core.engine.parallel import supervised_map

TPQ = 480
SCALE = np.array([0, 2, 4, 5, 7, 9, 11])
AUDIO_RATE = 22050
AUDIO_SECONDS = 10.0


def make_song(rng: np.random.Generator) -> bytes:
    """About 2,500 notes: chords, bass, melody and drums over 48-80 bars with 2-4 tempos."""
    bars = int(rng.integers(48, 81))
    beats = bars * 4
    tonic = int(rng.integers(0, 12))
    roots = tonic + 48 + SCALE[rng.integers(0, 7, size=bars)]
    parts = []  # (channel, program, starts, durations, pitches, velocities)
    t = np.repeat(np.arange(beats) * TPQ, 3)
    parts.append((0, 0, t, np.full(t.size, 430), (np.repeat(roots, 4)[:, None] + 12 + [0, 4, 7]).ravel(),
                  rng.integers(60, 100, t.size)))
    t = np.arange(beats * 2) * TPQ // 2
    parts.append((1, 33, t, np.full(t.size, 200), np.repeat(roots, 8) - 12, rng.integers(70, 110, t.size)))
    s = np.flatnonzero(rng.random(beats * 4) < 0.6)
    steps = np.cumsum(rng.integers(-2, 3, s.size))
    parts.append((2, 73, s * TPQ // 4, np.full(s.size, 110), tonic + 72 + SCALE[np.mod(steps, 7)],
                  rng.integers(50, 120, s.size)))
    t = np.arange(beats * 2) * TPQ // 2
    parts.append((9, 0, t, np.full(t.size, 60), np.where(np.arange(t.size) % 4 == 0, 36, 42),
                  rng.integers(60, 120, t.size)))
    mid = mido.MidiFile(ticks_per_beat=TPQ)
    changes = np.sort(rng.choice(np.arange(16, beats, 16), size=int(rng.integers(1, 4)), replace=False))
    tempo_events = [(0, mido.MetaMessage("set_tempo", tempo=int(60e6 / rng.uniform(70, 160))))]
    tempo_events += [(int(b) * TPQ, mido.MetaMessage("set_tempo", tempo=int(60e6 / rng.uniform(70, 160))))
                     for b in changes]
    mid.tracks.append(_track(tempo_events))
    for channel, program, starts, durations, pitches, velocities in parts:
        events = [(0, mido.Message("program_change", channel=channel, program=program))]
        for start, dur, pitch, vel in zip(starts.tolist(), durations.tolist(), pitches.tolist(), velocities.tolist()):
            events.append((start, mido.Message("note_on", channel=channel, note=pitch, velocity=vel)))
            events.append((start + dur, mido.Message("note_off", channel=channel, note=pitch)))
        mid.tracks.append(_track(events))
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def _track(events) -> mido.MidiTrack:
    track, previous = mido.MidiTrack(), 0
    for tick, msg in sorted(events, key=lambda e: (e[0], e[1].type != "note_off")):
        track.append(msg.copy(time=tick - previous))
        previous = tick
    return track


def make_clip(rng: np.random.Generator) -> np.ndarray:
    """Stereo chords with decaying notes and a little noise, ``(frames, 2)``."""
    t = np.arange(int(AUDIO_SECONDS * AUDIO_RATE)) / AUDIO_RATE
    out = np.zeros_like(t)
    for onset in np.arange(0, AUDIO_SECONDS, 0.5):
        f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
        env = np.where(t >= onset, np.exp(-(t - onset) * 3), 0)
        out += env * sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
    out = 0.3 * out / np.abs(out).max() + 0.003 * rng.standard_normal(t.size)
    return np.stack([out, 0.8 * out + 0.2 * np.roll(out, 300)], axis=1).astype(np.float32)


# -- baselines: the straightforward way ---------------------------------------------------
def naive_midi(path: str, multiplier: int, seed: int) -> None:
    """Read with pretty_midi for every variant, edit note objects, write."""
    import pretty_midi

    ranges = DEFAULTS["augment"]["midi"]
    for k in range(1, multiplier + 1):
        rng = np.random.default_rng([seed, k])
        pm = pretty_midi.PrettyMIDI(path)
        shift = int(rng.integers(ranges["transpose_semitones"][0], ranges["transpose_semitones"][1] + 1))
        stretch = rng.uniform(*ranges["duration_factor"])
        scale = rng.uniform(*ranges["velocity_scale"])
        jitter = rng.uniform(*ranges["timing_jitter_ms"]) / 1000
        dropout = rng.uniform(*ranges["note_dropout"])
        for inst in pm.instruments:
            kept = []
            for note in inst.notes:
                if rng.random() < dropout:
                    continue
                if not inst.is_drum:
                    note.pitch = min(127, max(0, note.pitch + shift))
                note.velocity = min(127, max(1, round(note.velocity * scale)))
                offset = rng.uniform(-jitter, jitter)
                note.start, note.end = note.start * stretch + offset, note.end * stretch + offset
                kept.append(note)
            inst.notes = kept
        pm.write(io.BytesIO())


def naive_audio(path: str, multiplier: int, seed: int) -> None:
    """librosa.load for every variant, the same effects, a WAV write."""
    import librosa

    ranges = DEFAULTS["augment"]["audio"]
    for k in range(1, multiplier + 1):
        rng = np.random.default_rng([seed, k])
        y, sr = librosa.load(path, sr=None, mono=False)
        y = librosa.effects.pitch_shift(y, sr=sr, n_steps=rng.uniform(*ranges["pitch_shift_semitones"]))
        y = librosa.effects.time_stretch(y, rate=rng.uniform(*ranges["speed_factor"]))
        snr = rng.uniform(*ranges["noise_snr_db"])
        y = y + rng.standard_normal(y.shape) * np.sqrt(np.mean(y ** 2) / 10 ** (snr / 10))
        y = y * 10 ** (rng.uniform(*ranges["gain_db"]) / 20)
        sf.write(io.BytesIO(), np.clip(y, -1, 1).T, sr, format="WAV")


# -- harness -----------------------------------------------------------------------
def tasks_for(root: Path, paths: list[Path], kind: str, multiplier: int, seed: int) -> list[dict]:
    return [{
        "seed": seed, "ranges": DEFAULTS["augment"][kind],
        "parent": {"id": p.stem, "kind": kind, "sha256": sha256_file(p), "where": (str(p),),
                   "location": p.relative_to(root).as_posix()},
        "variants": list(range(1, multiplier + 1)),
    } for p in paths]


def serial(tasks) -> float:
    start = time.perf_counter()
    for task in tasks:
        augment_parent(task)
    return time.perf_counter() - start


def parallel(tasks, cores: int) -> float:
    start = time.perf_counter()
    failed = [o.reason for _, o in supervised_map(augment_parent, tasks, n_jobs=cores) if not o.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} tasks failed, first: {failed[0]}")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--midi-files", type=int, default=200)
    parser.add_argument("--audio-files", type=int, default=8)
    parser.add_argument("--multiplier", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    cores = os.cpu_count() or 1
    m = args.multiplier
    rows = []
    with tempfile.TemporaryDirectory(prefix="penta-bench-") as tmp:
        root = Path(tmp)
        midi_paths, audio_paths = [], []
        for i in range(args.midi_files):
            path = root / "midi" / f"song_{i:04d}.mid"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(make_song(variant_rng(args.seed, "song", i)))
            midi_paths.append(path)
        for i in range(args.audio_files):
            path = root / "audio" / f"clip_{i:03d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, make_clip(variant_rng(args.seed, "clip", i)), AUDIO_RATE, subtype="PCM_16")
            audio_paths.append(path)
        n_notes = np.mean([sum(1 for t in mido.MidiFile(p).tracks for e in t if e.type == "note_on")
                           for p in midi_paths[:20]])
        print(f"{len(midi_paths)} MIDI files (~{n_notes:.0f} notes, 4 parts incl. drums, 2-4 tempos), "
              f"{len(audio_paths)} stereo clips of {AUDIO_SECONDS:g} s at {AUDIO_RATE} Hz; "
              f"multiplier {m}; {cores} cores")

        midi_tasks = tasks_for(root, midi_paths, "midi", m, args.seed)
        n_variants = len(midi_paths) * m
        start = time.perf_counter()
        for p in midi_paths:
            naive_midi(str(p), m, args.seed)
        rows.append(("MIDI", "naive pretty_midi read-modify-write, 1 core", time.perf_counter() - start,
                     n_variants, "variants/s"))
        rows.append(("MIDI", "penta_core augment worker, 1 core", serial(midi_tasks), n_variants, "variants/s"))
        rows.append(("MIDI", f"penta_core augment worker, {cores} cores", parallel(midi_tasks, cores),
                     n_variants, "variants/s"))

        audio_tasks = tasks_for(root, audio_paths, "audio", m, args.seed)
        audio_s = len(audio_paths) * m * AUDIO_SECONDS
        naive_audio(str(audio_paths[0]), 1, args.seed)  # librosa's first call loads and compiles
        serial(audio_tasks[:1])
        prepare_numba()
        start = time.perf_counter()
        for p in audio_paths:
            naive_audio(str(p), m, args.seed)
        rows.append(("audio", "naive reload + librosa effects + WAV, 1 core", time.perf_counter() - start,
                     audio_s, "audio s/s"))
        rows.append(("audio", "penta_core augment worker, 1 core", serial(audio_tasks), audio_s, "audio s/s"))
        rows.append(("audio", f"penta_core augment worker, {cores} cores", parallel(audio_tasks, cores),
                     audio_s, "audio s/s"))

    print(f"{'':<6}{'method':<46}{'wall s':>9}{'throughput':>13}")
    for kind, method, seconds, amount, unit in rows:
        print(f"{kind:<6}{method:<46}{seconds:>9.2f}{amount / seconds:>10.1f} {unit}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
