"""MIDI feature throughput: penta_core's extractor vs a straightforward pretty_midi loop.

Generates (deterministically, in a temporary folder) real-sized multi-track
MIDI files: several pitched instruments plus drums, a few thousand notes and
tempo changes each. Then, on the same files in the same run, measures files
per second of

* ``extract_midi_features`` on one core (symusic parsing + numpy),
* a per-file pretty_midi loop computing a comparable feature set
  (duration, tempo, pitch/velocity statistics, pitch-class histogram, key,
  density, inter-onset intervals, chords per beat, swing, drum voices),
* ``extract_midi_features`` over all cores through ``supervised_map``.

Usage::

    python benchmarks/midi_features_throughput.py [--files 1000] [--seed 0]
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import symusic

from penta_core.core.io import sha256_file
from penta_core.engine.parallel import supervised_map
from penta_core.features.extract import _extract_one
from penta_core.features.key import estimate_key
from penta_core.features.midi import extract_midi_features

TPQ = 480
SCALE = np.array([0, 2, 4, 5, 7, 9, 11])


def _notes(time, duration, pitch, velocity):
    return symusic.Note.from_numpy(
        time.astype(np.int32), np.maximum(duration, 1).astype(np.int32),
        np.clip(pitch, 0, 127).astype(np.int8), np.clip(velocity, 1, 127).astype(np.int8), "tick",
    )


def make_song(rng: np.random.Generator) -> symusic.Score:
    """About 4,000 notes: chords, bass, melody, pad and drums over 64-112 bars with tempo changes."""
    bars = int(rng.integers(64, 113))
    beats = bars * 4
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    for k, beat in enumerate(np.sort(rng.choice(np.arange(0, beats, 16), size=int(rng.integers(2, 6)), replace=False))):
        score.tempos.append(symusic.Tempo(int(beat * TPQ) if k else 0, float(rng.uniform(70, 160))))
    tonic = int(rng.integers(0, 12))
    roots = tonic + 48 + SCALE[rng.integers(0, 7, size=bars)]
    swing = 0.5 + 0.17 * (rng.random() < 0.4)

    def track(name, program, is_drum, t, d, p, v):
        tr = symusic.Track(name, program, is_drum)
        tr.notes.extend(_notes(t, d, p, v))
        score.tracks.append(tr)

    # Block chords on every beat.
    beat_idx = np.arange(beats)
    chord_root = np.repeat(roots, 4)
    t = np.repeat(beat_idx * TPQ, 3)
    p = (chord_root[:, None] + 12 + np.array([0, 4, 7])).ravel()
    track("piano", 0, False, t, np.full(t.size, TPQ * 0.9), p, rng.integers(60, 100, t.size))
    # Bass on eighths, swung when the song swings.
    e = np.arange(beats * 2)
    t = (e // 2) * TPQ + (e % 2) * swing * TPQ
    track("bass", 33, False, t, np.full(t.size, TPQ * 0.45), np.repeat(roots, 8) - 12, rng.integers(70, 110, t.size))
    # Melody: sixteenths with rests, scale tones around the tonic.
    s = np.arange(beats * 4)
    keep = rng.random(s.size) < 0.6
    s = s[keep]
    steps = np.cumsum(rng.integers(-2, 3, s.size))
    pitch = tonic + 72 + SCALE[np.mod(steps, 7)] + 12 * np.clip(steps // 7, -1, 1)
    jitter = rng.normal(0, 8, s.size)
    track("lead", 73, False, np.maximum(s * TPQ / 4 + jitter, 0), np.full(s.size, TPQ / 4), pitch,
          rng.integers(50, 120, s.size))
    # Pad: whole-bar fifths.
    t = np.repeat(np.arange(bars) * 4 * TPQ, 2)
    track("pad", 48, False, t, np.full(t.size, 4 * TPQ), (roots[:, None] + np.array([0, 7])).ravel(),
          np.full(t.size, 60))
    # Drums: kick, snare, hats.
    kick = np.arange(0, beats, 2) * TPQ
    snare = np.arange(1, beats, 2) * TPQ
    hats = (np.arange(beats * 2) // 2) * TPQ + (np.arange(beats * 2) % 2) * swing * TPQ
    t = np.concatenate([kick, snare, hats])
    p = np.concatenate([np.full(kick.size, 36), np.full(snare.size, 38), np.full(hats.size, 42)])
    track("drums", 0, True, t, np.full(t.size, TPQ / 8), p, rng.integers(60, 120, t.size))
    return score


def generate(folder: Path, count: int, seed: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"song_{i:05d}.mid"
        path.write_bytes(make_song(np.random.default_rng([seed, i])).dumps_midi())
        paths.append(path)
    return paths


def pretty_midi_features(path: str) -> dict:
    """The straightforward way: pretty_midi objects and loops over notes."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(path)
    end = pm.get_end_time()
    _tempo_times, tempi = pm.get_tempo_changes()
    beats = pm.get_beats()
    pitches, velocities, onsets, durations = [], [], [], []
    pc_hist = [0.0] * 12
    drums: dict[int, int] = {}
    for inst in pm.instruments:
        for note in inst.notes:
            velocities.append(note.velocity)
            onsets.append(note.start)
            if inst.is_drum:
                drums[note.pitch] = drums.get(note.pitch, 0) + 1
                continue
            pitches.append(note.pitch)
            durations.append(note.end - note.start)
            pc_hist[note.pitch % 12] += note.end - note.start
    onsets_sorted = sorted(set(onsets))
    iois = [b - a for a, b in itertools.pairwise(onsets_sorted)]
    key = estimate_key(np.array(pc_hist))
    # Chords per beat: each note adds its overlap to the beats it spans, then
    # the best triad template per beat.
    n_beats = max(len(beats) - 1, 0)
    chroma = [[0.0] * 12 for _ in range(n_beats)]
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        for note in inst.notes:
            k = max(int(np.searchsorted(beats, note.start, side="right")) - 1, 0)
            while k < n_beats and beats[k] < note.end:
                overlap = min(note.end, beats[k + 1]) - max(note.start, beats[k])
                if overlap > 0:
                    chroma[k][note.pitch % 12] += overlap
                k += 1
    chords = []
    for frame in chroma:
        best, best_score = None, 0.0
        for root in range(12):
            for quality, ivs in (("maj", (0, 4, 7)), ("min", (0, 3, 7))):
                score = sum(frame[(root + i) % 12] for i in ivs)
                if score > best_score:
                    best, best_score = (root, quality), score
        chords.append(best)
    # Swing from onset phases within beats.
    phases = []
    for t in onsets_sorted:
        k = int(np.searchsorted(beats, t, side="right")) - 1
        if 0 <= k < len(beats) - 1:
            phase = (t - beats[k]) / (beats[k + 1] - beats[k])
            if 0.42 <= phase <= 0.73:
                phases.append(phase)
    swing = float(np.median(phases) / (1 - np.median(phases))) if phases else 1.0
    return {
        "duration_s": end, "tempo_initial_bpm": float(tempi[0]) if len(tempi) else 120.0,
        "tempo_bpm": 60 * (len(beats) - 1) / (beats[-1] - beats[0]) if len(beats) > 1 else 120.0,
        "pitch_mean": float(np.mean(pitches)) if pitches else 0.0,
        "pitch_std": float(np.std(pitches)) if pitches else 0.0,
        "velocity_mean": float(np.mean(velocities)), "note_density": len(onsets) / end if end else 0.0,
        "ioi_mean_s": float(np.mean(iois)) if iois else 0.0, "key": key.name, "swing_ratio": swing,
        "chord_changes": sum(1 for a, b in itertools.pairwise(chords) if a != b), "drums": drums,
    }


def timed_interleaved(funcs, items) -> list[float]:
    """Total seconds per function, running them file by file in turn.

    Interleaving exposes both methods to the same machine load, so the ratio
    stays fair on a shared machine.
    """
    totals = [0.0] * len(funcs)
    for item in items:
        for k, func in enumerate(funcs):
            start = time.perf_counter()
            func(item)
            totals[k] += time.perf_counter() - start
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="number of generated files (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")  # pretty_midi warns about tempo events in later tracks
    with tempfile.TemporaryDirectory(prefix="penta-bench-") as tmp:
        t0 = time.perf_counter()
        paths = generate(Path(tmp), args.files, args.seed)
        n_notes = [sum(len(t.notes) for t in symusic.Score(str(p)).tracks) for p in paths[:50]]
        print(f"generated {len(paths)} files in {time.perf_counter() - t0:.1f} s "
              f"(~{int(np.mean(n_notes))} notes, 6 tracks incl. drums, 2-5 tempos each)")
        names = [str(p) for p in paths]
        extract_midi_features(names[0])  # imports, outside the clock
        pretty_midi_features(names[0])
        ours, base = timed_interleaved([extract_midi_features, pretty_midi_features], names)
        cores = os.cpu_count() or 1
        tasks = [(str(p), "midi", sha256_file(p), 22050, 600.0) for p in paths]
        start = time.perf_counter()
        failed = sum(1 for _, outcome in supervised_map(_extract_one, tasks, n_jobs=cores) if not outcome.ok)
        parallel = time.perf_counter() - start
    n = len(paths)
    print(f"{'method':<44}{'seconds':>10}{'files/s':>10}")
    print(f"{'penta_core extract_midi_features, 1 core':<44}{ours:>10.2f}{n / ours:>10.1f}")
    print(f"{'pretty_midi per-file loop, 1 core':<44}{base:>10.2f}{n / base:>10.1f}")
    print(f"{f'penta_core, supervised_map, {cores} cores':<44}{parallel:>10.2f}{n / parallel:>10.1f}")
    print(f"speed-up on one core: {base / ours:.1f}x (target >= 10x); parallel failures: {failed}")
    print(f"(parallel time includes starting {cores} spawned workers; load average now "
          f"{os.getloadavg()[0]:.1f} on {cores} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
