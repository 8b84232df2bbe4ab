"""MIDI feature and MidiPiece throughput, next to a straightforward pretty_midi loop, on the same files.

In one run, on the same files (held in memory, so disk speed does not
count), and file by file in turn (so every method sees the same machine
load), this measures milliseconds per file of

* ``extract_midi_features`` (symusic parse plus every MIDI feature),
* symusic's parse alone, for scale,
* ``MidiPiece.from_bytes`` and ``MidiPiece.to_bytes`` (the augmenter's reader and writer),
* a straightforward pretty_midi loop computing pitch and velocity
  statistics, note density, the key and the tempo (the yardstick of issue 10),
* with ``--before REV``, the extractor and MidiPiece of that git revision
  next to this checkout's, each measured the same way in a child process on
  the same files, alternately twice (A B A B, the faster of each pair kept),
  so neither side pays for the other's cache misses.

Each figure is the sum over files of the fastest of ``--repeats`` runs of that
file, divided by the number of files, in CPU time of the measuring thread
(``--clock wall`` for elapsed time): on a shared machine the fastest run is
the one least disturbed by other work, and CPU time leaves out the time the
process waited for a core. The load average is printed too.

Corpora: ``clips`` (default) cuts the repository's POP909 fixtures into
25-second clips, the size of EMOPIA's; ``pop909`` takes those files whole
(songs of 3-5 minutes, three piano tracks, pedal controllers); ``songs``
generates multi-track songs of about 4,000 notes (chords, bass, melody, pad,
drums, tempo changes).

Usage::

    python benchmarks/midi_features_throughput.py [--corpus clips|pop909|songs] [--files N] [--repeats 5]
        [--before c5e6022]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import symusic

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout: measure its penta_core
    sys.path.insert(0, str(REPO))

from penta_core.features.key import estimate_key  # noqa: E402

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


def pop909_clips(folder: Path, sources: list[Path], seconds: float = 25.0) -> list[Path]:
    """Consecutive clips of about ``seconds`` cut from each file (at its first tempo)."""
    paths = []
    for source in sources:
        score = symusic.Score(str(source))
        mspq = score.tempos.numpy()["mspq"][0] if len(score.tempos) else 500_000
        width = int(seconds * score.ticks_per_quarter * 1e6 / mspq)
        for start in range(0, score.end() - width + 1, width):
            path = folder / f"clip_{source.stem}_{start}.mid"
            score.clip(start, start + width, clip_end=True).shift_time(-start).dump_midi(str(path))
            paths.append(path)
    return paths


def pretty_midi_basic(data: bytes) -> dict:
    """The straightforward way: pretty_midi objects, loops over notes; pitch, velocity, density, key, tempo."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    end = pm.get_end_time()
    tempo_times, tempi = pm.get_tempo_changes()
    pitches, velocities, pc_hist = [], [], [0.0] * 12
    for inst in pm.instruments:
        for note in inst.notes:
            velocities.append(note.velocity)
            if not inst.is_drum:
                pitches.append(note.pitch)
                pc_hist[note.pitch % 12] += note.end - note.start
    spans = np.diff(np.append(tempo_times, max(end, tempo_times[-1]))) if len(tempi) else np.zeros(0)
    return {
        "pitch_mean": float(np.mean(pitches)) if pitches else 0.0,
        "pitch_std": float(np.std(pitches)) if pitches else 0.0,
        "velocity_mean": float(np.mean(velocities)) if velocities else 0.0,
        "velocity_std": float(np.std(velocities)) if velocities else 0.0,
        "note_density": len(velocities) / end if end else 0.0,
        "key": estimate_key(np.array(pc_hist)).name,
        "tempo_initial_bpm": float(tempi[0]) if len(tempi) else 120.0,
        "tempo_mean_bpm": float(np.average(tempi, weights=spans)) if spans.sum() > 0 else 120.0,
    }


def fastest_per_file(methods: dict, items: list, repeats: int, clock_name: str = "cpu") -> dict[str, float]:
    """Milliseconds per file of each method: the fastest of ``repeats`` runs of each file, summed.

    Methods run file by file in turn, so each sees the same machine load.
    """
    best = {name: [float("inf")] * len(items) for name in methods}
    clock = time.thread_time if clock_name == "cpu" else time.perf_counter
    for _ in range(repeats):
        for i, item in enumerate(items):
            for name, func in methods.items():
                start = clock()
                func(item)
                elapsed = clock() - start
                if elapsed < best[name][i]:
                    best[name][i] = elapsed
    return {name: sum(times) / len(items) * 1e3 for name, times in best.items()}


def our_methods(datas: list[bytes]) -> dict:
    """The methods measured for a revision of penta_core (imported from wherever ``sys.path`` finds it)."""
    from penta_core.features.midi import extract_midi_features
    from penta_core.midi.piece import MidiPiece

    pieces = {id(d): MidiPiece.from_bytes(d) for d in datas}
    extract_midi_features(datas[0])  # imports, outside the clock
    return {
        "extractor": extract_midi_features,
        "piece_read": MidiPiece.from_bytes,
        "piece_write": lambda d: pieces[id(d)].to_bytes(),
    }


RUNNER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import penta_core.features.midi, penta_core.midi.piece  # the revision's, before the benchmark module adds the checkout
sys.path.append(sys.argv[2])
from midi_features_throughput import fastest_per_file, our_methods
datas = [open(p, "rb").read() for p in sys.argv[5:]]
print(json.dumps(fastest_per_file(our_methods(datas), datas, int(sys.argv[3]), sys.argv[4])))
"""


def export_revision(rev: str, tmp: Path) -> Path:
    """The ``penta_core`` of git revision ``rev``, extracted under ``tmp``."""
    archive = subprocess.run(["git", "archive", rev, "penta_core"], cwd=REPO, check=True,
                             capture_output=True).stdout
    code = tmp / f"rev-{rev}"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(code, filter="data")
    return code


def measure_code(code: Path, files: list[Path], repeats: int, clock: str) -> dict[str, float]:
    """``our_methods`` of the ``penta_core`` under ``code``, measured in a child process on ``files``."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run([sys.executable, "-c", RUNNER, str(code), str(REPO / "benchmarks"), str(repeats),
                          clock, *map(str, files)], check=True, capture_output=True, text=True, env=env, cwd=code)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("clips", "pop909", "songs"), default="clips")
    parser.add_argument("--files", type=int, default=0,
                        help="number of files (default: every clip; 200 generated songs)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per file; the fastest counts (default 5)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="thread CPU time (default) or elapsed time")
    parser.add_argument("--before", metavar="REV", help="also measure the extractor and MidiPiece of this revision")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")  # pretty_midi warns about tempo events in later tracks
    with tempfile.TemporaryDirectory(prefix="penta-bench-") as tmp:
        tmp_path = Path(tmp)
        pop909 = sorted((REPO / "tests" / "fixtures" / "pop909").rglob("*.mid"))
        if args.corpus in ("clips", "pop909"):
            paths = pop909_clips(tmp_path, pop909) if args.corpus == "clips" else pop909
            paths = paths[:args.files] if args.files else paths
        else:
            paths = generate(tmp_path, args.files or 200, args.seed)
        datas = [p.read_bytes() for p in paths]
        scores = [symusic.Score.from_midi(d) for d in datas]
        notes = np.mean([sum(len(t.notes) for t in s.tracks) for s in scores])
        seconds = np.mean([s.to("second").end() for s in scores])
        print(f"{len(paths)} {args.corpus}: {notes:.0f} notes and {seconds:.1f} s on average; "
              f"best of {args.repeats} runs per file, {args.clock} time")
        methods = {**our_methods(datas), "symusic_parse": symusic.Score.from_midi, "pretty_midi": pretty_midi_basic}
        pretty_midi_basic(datas[0])
        load_before = os.getloadavg()[0]
        ours = fastest_per_file(methods, datas, args.repeats, args.clock)
        before, now = {}, {}
        if args.before:
            old_code = export_revision(args.before, tmp_path)
            for _ in range(2):
                for code, result in ((old_code, before), (REPO, now)):
                    for key, value in measure_code(code, paths, args.repeats, args.clock).items():
                        result[key] = min(result.get(key, float("inf")), value)
    rows = [
        ("extract_midi_features", "extractor"),
        ("MidiPiece.from_bytes", "piece_read"),
        ("MidiPiece.to_bytes", "piece_write"),
        ("symusic parse alone", "symusic_parse"),
        ("pretty_midi loop: pitch/velocity/density/key/tempo", "pretty_midi"),
    ]
    print(f"{'ms per file, in one process, file by file in turn':<52}{'now':>9}")
    for label, key in rows:
        print(f"{label:<52}{ours[key]:>9.3f}")
    if before:
        print(f"{'ms per file, each revision in its own process':<52}{'now':>9}{args.before[:10]:>12}{'speed-up':>10}")
        for label, key in rows[:3]:
            print(f"{label:<52}{now[key]:>9.3f}{before[key]:>12.3f}{before[key] / now[key]:>9.1f}x")
    print(f"extractor vs the pretty_midi loop: {ours['pretty_midi'] / ours['extractor']:.1f}x faster "
          f"(issue 10's target for the whole pipeline: 5x); extractor target <= 1 ms/file on clips")
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
