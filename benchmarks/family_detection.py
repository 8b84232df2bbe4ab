"""Family detection on 10,000 generated MIDI files: time, memory, candidate pairs, recall.

Writes N generated pieces (melody, a chord track from a pool of 8 shared
progressions, bass, drums from a pool of 4 shared grooves), a fifth of them
as disguised copies of another piece (transposed, time-scaled, humanized,
a track added or removed), then fingerprints every file and detects
families as the stage does (one process). Printed beside it, in the same
run: the straightforward baseline, exact best-voice similarity over every
pair, timed on a sample of pairs and projected to all N(N-1)/2.

Usage::

    python benchmarks/family_detection.py [--files 10000]
"""
from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import symusic

from penta_core.families.detect import detect_families
from penta_core.families.midi import informative, midi_print, similarity
from penta_core.families.minhash import band_keys

TPQ = 480
PROGRESSIONS = [[(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)][k % 4:] + [(62, 65, 69)] * (k % 3)
                for k in range(8)]


def _track(name: str, program: int, drum: bool, times, durations, pitches, velocity: int = 80):
    track = symusic.Track(name, program, drum)
    order = np.lexsort((pitches, times))
    track.notes = symusic.core.NoteTickList.from_numpy(
        np.asarray(times, np.int32)[order], np.asarray(durations, np.int32)[order],
        np.asarray(pitches, np.int8)[order], np.full(len(order), velocity, np.int8))
    return track


def piece(rng: np.random.Generator) -> symusic.Score:
    score = symusic.Score(TPQ)
    n = 160
    steps = rng.choice([TPQ // 2, TPQ, TPQ // 4], n, p=[0.6, 0.25, 0.15])
    times = np.concatenate([[0], np.cumsum(steps)[:-1]])
    melody = np.empty(n, np.int64)
    melody[0] = rng.integers(57, 72)
    for k in range(1, n):  # a random walk pulled back towards the middle of the range
        melody[k] = melody[k - 1] + rng.integers(-5, 6) - round(0.15 * (melody[k - 1] - 64))
    score.tracks.append(_track("melody", 0, False, times, steps, melody, 90))
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    bars = int(times[-1] // (4 * TPQ)) + 1
    chords = [(b * 4 * TPQ, p) for b in range(bars) for p in prog[b % len(prog)]]
    score.tracks.append(_track("chords", 0, False, [c[0] for c in chords], [4 * TPQ] * len(chords),
                               [c[1] for c in chords], 60))
    score.tracks.append(_track("bass", 33, False, [b * 4 * TPQ for b in range(bars)], [4 * TPQ] * bars,
                               [prog[b % len(prog)][0] - 24 for b in range(bars)]))
    groove = rng.integers(4)
    beats = np.arange(bars * 8) * TPQ // 2
    kit = 36 + (np.arange(len(beats)) + groove) % 3 * 2
    score.tracks.append(_track("drums", 0, True, beats, [TPQ // 4] * len(beats), kit))
    return score


def disguise(score: symusic.Score, rng: np.random.Generator) -> symusic.Score:
    out = score.copy()
    kind = rng.integers(5)
    if kind == 0:
        out.shift_pitch(int(rng.integers(-5, 7)), inplace=True)
    elif kind in (1, 2):
        factor, jitter = (1.5, 0) if kind == 1 else (1.0, TPQ // 24)
        for track in out.tracks:
            nt = track.notes.numpy()
            t = np.maximum(0, np.round(nt["time"] * factor) + rng.integers(-jitter, jitter + 1, len(nt["time"])))
            track.notes = symusic.core.NoteTickList.from_numpy(
                t.astype(np.int32), nt["duration"], nt["pitch"], nt["velocity"])
            track.notes.sort()
    elif kind == 3:
        del out.tracks[2]
    else:
        out.tracks.append(_track("pad", 89, False, [0, 8 * TPQ], [8 * TPQ] * 2, [48, 50]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--baseline-pairs", type=int, default=20000, help="pairs timed for the all-pairs baseline")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n_copies = args.files // 5
    with tempfile.TemporaryDirectory(prefix="penta-families-") as tmp:
        folder = Path(tmp)
        originals = [piece(rng) for _ in range(args.files - n_copies)]
        truth = {}
        paths = {}
        for i, score in enumerate(originals):
            paths[f"p{i:05d}"] = folder / f"p{i:05d}.mid"
            score.dump_midi(str(paths[f"p{i:05d}"]))
        for k in range(n_copies):
            source = int(rng.integers(len(originals)))
            name = f"c{k:05d}"
            paths[name] = folder / f"{name}.mid"
            disguise(originals[source], rng).dump_midi(str(paths[name]))
            truth[name] = f"p{source:05d}"
        del originals
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        prints = {name: midi_print(path) for name, path in paths.items()}
        fingerprinted = time.perf_counter()
        midi = {name: {"normalised": p.normalised,
                       "bands": {v: band_keys(s) for v, s in informative(p.voices).items()}}
                for name, p in prints.items()}
        hashed = time.perf_counter()
        found = detect_families(midi, {}, lambda name: midi_print(paths[name]).voices,
                                midi_threshold=0.5, audio_threshold=0.65)
        done = time.perf_counter()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        fam = found.family
        recall = sum(fam[c] == fam[o] for c, o in truth.items()) / len(truth)
        wrong = {}
        for name in paths:
            if name.startswith("p"):
                wrong.setdefault(fam[name], []).append(name)
        false_joins = sum(len(v) - 1 for v in wrong.values())

        names = sorted(prints)
        pair_rng = random.Random(1)
        sample = [tuple(pair_rng.sample(names, 2)) for _ in range(args.baseline_pairs)]
        t0 = time.perf_counter()
        for a, b in sample:
            similarity(prints[a].voices, prints[b].voices)
        per_pair = (time.perf_counter() - t0) / len(sample)
    n = args.files
    all_pairs = n * (n - 1) // 2
    print(f"{n} MIDI files ({n_copies} disguised copies), one process")
    print(f"  fingerprint (parse, top lines, shingles): {fingerprinted - start:7.1f} s")
    print(f"  MinHash band keys:                        {hashed - fingerprinted:7.1f} s")
    print(f"  LSH + verification:                       {done - hashed:7.1f} s  "
          f"({found.stats['midi_candidate_pairs']} candidate pairs, {found.stats['midi_verified_pairs']} verified)")
    print(f"  total {done - start:.1f} s; peak RSS {peak_mb:.0f} MB (before fingerprinting {rss_before / 1024:.0f} MB)")
    print(f"  copies joined to their original: {recall:.1%}; originals wrongly joined: {false_joins}")
    print(f"baseline: exact similarity over all {all_pairs:,} pairs: {per_pair * 1e6:.0f} µs per pair "
          f"(timed on {len(sample)}) → {per_pair * all_pairs:,.0f} s projected")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
