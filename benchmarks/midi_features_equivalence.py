"""Do the MIDI feature extractor and MidiPiece give what an earlier revision gave, file by file?

Runs the code of two git revisions (``--ref``, by default the commit before
the extractor and MidiPiece were made fast, against the working tree) on the
same corpus, each in its own process, and compares:

* every MIDI feature before the final rounding (the raw value handed to
  ``finish_features``) and after it, the flags and the details;
* MidiPiece's parse (every note array, every kept event) and its writes
  (``to_bytes`` of the piece as read and after an edit of every note).

The corpus: the shared fixtures (POP909, Groove MIDI, Slakh), the repository's
own MIDI (tests/fixtures, the embedded examples), music21's MIDI, 25-second
clips cut from POP909 (the size the issue measures), the throughput
benchmark's generated songs, and generated edge cases (many tempo and meter
changes, same-tick tempo conflicts, drums only, zero-length notes, odd
resolutions, a very long sparse file, running status, unpaired notes, SysEx)
and random raw event streams (overlapping and unpaired notes of one pitch,
program changes, controllers).

With ``--audio`` the audio features are compared too (every value before
rounding, the record after), on the embedded examples' audio and generated
signals: a 30-second chord-and-noise mix, detuned chords, a clip shorter
than one FFT frame, stereo noise.

Usage::

    python benchmarks/midi_features_equivalence.py [--ref c5e6022] [--fuzz 300] [--audio]

Exit status 1 when any value differs beyond ``--rtol`` (default 1e-9
relative), or a flag, a detail, a rounded value or a MidiPiece byte differs.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import pickle
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = [REPO.parent / "shared" / "fixtures", REPO.parent.parent / "shared" / "fixtures"]
REF = "c5e60226230dc440e3a66c8d180e95e36fd7edc1"  # before the speed work on the extractor and MidiPiece


# -- the corpus ----------------------------------------------------------------------
def real_files() -> list[Path]:
    import music21

    roots = [*SHARED_FIXTURES, REPO / "tests" / "fixtures", REPO / "datasets" / "examples"]
    found = {p.resolve() for root in roots if root.is_dir() for p in root.rglob("*.mid")}
    found |= set(Path(music21.__file__).parent.rglob("*.mid"))
    return sorted(found)


def pop909_clips(folder: Path, seconds: float = 25.0) -> list[Path]:
    """Consecutive clips of about ``seconds`` cut from each POP909 file (at its first tempo)."""
    import symusic

    paths = []
    sources = [p for p in real_files() if "pop909" in str(p) and "/tests/" not in str(p)]
    for source in sources:
        score = symusic.Score(str(source))
        mspq = score.tempos.numpy()["mspq"][0] if len(score.tempos) else 500_000
        width = int(seconds * score.ticks_per_quarter * 1e6 / mspq)
        for start in range(0, score.end() - width + 1, width):
            path = folder / f"clip_{source.stem}_{start}.mid"
            score.clip(start, start + width, clip_end=True).shift_time(-start).dump_midi(str(path))
            paths.append(path)
    return paths


def fuzz_scores(folder: Path, count: int, seed: int) -> list[Path]:
    """Random multi-track scores through symusic: tempo and meter maps, drums, odd durations."""
    import symusic

    paths = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        tpq = int(rng.choice([24, 96, 100, 120, 192, 220, 384, 480, 960, 1000, 1920]))
        score = symusic.Score(tpq)
        span = int(rng.integers(1, 200)) * tpq
        for k in range(int(rng.integers(0, 12))):
            tick = 0 if k == 0 else int(rng.integers(0, span))
            score.tempos.append(symusic.Tempo(tick, float(rng.choice([rng.uniform(30, 240), rng.uniform(2, 1200)]))))
        for k in range(int(rng.integers(0, 5))):
            tick = 0 if k == 0 else int(rng.integers(0, span // tpq)) * tpq
            num, den = [(4, 4), (3, 4), (6, 8), (7, 8), (5, 4), (2, 2), (12, 16)][int(rng.integers(0, 7))]
            score.time_signatures.append(symusic.TimeSignature(tick, num, den))
        for t in range(int(rng.integers(0, 7))):
            drum = bool(rng.random() < 0.25)
            track = symusic.Track(f"t{t}", int(rng.integers(0, 128)), drum)
            n = int(rng.integers(0, 300))
            grid = rng.random() < 0.6
            step = tpq // int(rng.choice([1, 2, 3, 4])) or 1
            times = (rng.integers(0, max(span // step, 1), n) * step if grid else rng.integers(0, span + 1, n))
            times = times + (rng.integers(-5, 6, n) if rng.random() < 0.3 else 0)
            durations = rng.choice([0, 1, step // 2, step, 4 * step, int(rng.integers(0, 8 * tpq))], n)
            pitches = rng.integers(35, 82, n) if drum else rng.integers(0, 128, n)
            for time, duration, pitch in zip(np.maximum(times, 0), durations, pitches, strict=True):
                track.notes.append(symusic.Note(int(time), int(duration), int(pitch), int(rng.integers(1, 128))))
            score.tracks.append(track)
        path = folder / f"fuzz_{i:04d}.mid"
        score.dump_midi(str(path))
        paths.append(path)
    return paths


def edge_files(folder: Path) -> list[Path]:
    """Hand-built files through mido: same-tick tempo conflicts, running status, unpaired notes."""
    import mido

    def save(name: str, tracks: list[list], tpq: int = 480, file_type: int = 1) -> Path:
        mid = mido.MidiFile(type=file_type, ticks_per_beat=tpq)
        for events in tracks:
            track = mido.MidiTrack()
            track.extend(events)
            mid.tracks.append(track)
        path = folder / name
        mid.save(str(path))
        return path

    def note(ch, pitch, on_at, length, vel=80, zero_off=False):
        off = mido.Message("note_on", channel=ch, note=pitch, velocity=0, time=length) if zero_off else \
            mido.Message("note_off", channel=ch, note=pitch, velocity=40, time=length)
        return [mido.Message("note_on", channel=ch, note=pitch, velocity=vel, time=on_at), off]

    melody = [m for k in range(16) for m in note(0, 60 + (k * 5) % 12, 0, 240, zero_off=k % 2 == 0)]
    paths = [
        save("tempo_conflict.mid", [[mido.MetaMessage("set_tempo", tempo=400_000, time=0),
                                     mido.MetaMessage("set_tempo", tempo=900_000, time=0),
                                     mido.MetaMessage("set_tempo", tempo=500_000, time=960),
                                     mido.MetaMessage("set_tempo", tempo=300_000, time=0)], melody]),
        save("tempo_in_later_track.mid", [melody, [mido.MetaMessage("set_tempo", tempo=750_000, time=480)]]),
        save("unpaired.mid", [[*note(0, 60, 0, 100), mido.Message("note_off", channel=0, note=62, time=10),
                               mido.Message("note_on", channel=1, note=64, velocity=90, time=5),
                               mido.Message("note_on", channel=0, note=60, velocity=90, time=5),
                               mido.Message("note_on", channel=0, note=60, velocity=70, time=0),
                               mido.Message("note_off", channel=0, note=60, time=100),
                               mido.Message("note_off", channel=0, note=60, time=0)]]),
        save("controllers_sysex.mid", [[mido.Message("program_change", channel=0, program=5, time=0),
                                        mido.Message("control_change", channel=0, control=64, value=127, time=0),
                                        mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01], time=0),
                                        mido.Message("pitchwheel", channel=0, pitch=-300, time=0),
                                        mido.MetaMessage("text", text="hello", time=0),
                                        *melody,
                                        mido.Message("aftertouch", channel=0, value=3, time=7),
                                        mido.Message("program_change", channel=0, program=40, time=0),
                                        *note(0, 72, 0, 480),
                                        mido.MetaMessage("end_of_track", time=2000)]]),
        save("drums_only.mid", [[m for k in range(32) for m in note(9, [36, 38, 42, 46][k % 4], 0, 120)]]),
        save("zero_length.mid", [[m for k in range(8) for m in note(0, 60 + k, 0, 0)] + note(0, 72, 480, 0)]),
        save("one_note.mid", [note(0, 60, 0, 480)]),
        save("no_notes.mid", [[mido.MetaMessage("set_tempo", tempo=500_000, time=0)]]),
        save("type0.mid", [[mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0),
                            *[m for k in range(24) for m in note(k % 3, 48 + k, 0, 160)]]], file_type=0),
        save("long_sparse.mid", [note(0, 60, 0, 480) + note(0, 64, 480 * 150_000, 480)]),
        save("tpq_odd.mid", [melody], tpq=7),
    ]
    return paths


def fuzz_events(folder: Path, count: int, seed: int) -> list[Path]:
    """Random raw event streams through mido: overlapping and unpaired notes, program changes, controllers."""
    import mido

    paths = []
    for i in range(count):
        rng = np.random.default_rng([seed, 1, i])
        mid = mido.MidiFile(type=1, ticks_per_beat=int(rng.choice([96, 480, 960])))
        for _ in range(int(rng.integers(1, 5))):
            track = mido.MidiTrack()
            for _ in range(int(rng.integers(0, 400))):
                delta = int(rng.choice([0, 0, 1, 30, 120, 480, int(rng.integers(0, 20_000))]))
                channel = int(rng.choice([0, 1, 4, 9]))
                note = int(rng.integers(58, 64))
                kind = rng.random()
                if kind < 0.45:
                    msg = mido.Message("note_on", channel=channel, note=note, velocity=int(rng.integers(1, 128)))
                elif kind < 0.7:
                    msg = mido.Message("note_off", channel=channel, note=note, velocity=int(rng.integers(0, 128)))
                elif kind < 0.85:
                    msg = mido.Message("note_on", channel=channel, note=note, velocity=0)
                elif kind < 0.9:
                    msg = mido.Message("program_change", channel=channel, program=int(rng.integers(0, 128)))
                elif kind < 0.95:
                    msg = mido.Message("control_change", channel=channel, control=int(rng.integers(0, 128)),
                                       value=int(rng.integers(0, 128)))
                elif kind < 0.97:
                    msg = mido.Message("pitchwheel", channel=channel, pitch=int(rng.integers(-8192, 8192)))
                elif kind < 0.98:
                    msg = mido.MetaMessage("set_tempo", tempo=int(rng.integers(200_000, 1_000_000)))
                elif kind < 0.99:
                    msg = mido.Message("sysex", data=[int(b) for b in rng.integers(0, 128, 3)])
                else:
                    msg = mido.Message("polytouch", channel=channel, note=note, value=int(rng.integers(0, 128)))
                track.append(msg.copy(time=delta))
            mid.tracks.append(track)
        path = folder / f"events_{i:04d}.mid"
        mid.save(str(path))
        paths.append(path)
    return paths


def benchmark_songs(folder: Path, count: int) -> list[Path]:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from midi_features_throughput import make_song

    paths = []
    for i in range(count):
        path = folder / f"song_{i:03d}.mid"
        path.write_bytes(make_song(np.random.default_rng([7, i])).dumps_midi())
        paths.append(path)
    return paths


def audio_files(folder: Path) -> list[Path]:
    import soundfile as sf

    sr = 22050
    rng = np.random.default_rng(0)
    t = np.arange(sr * 30) / sr
    mix = np.zeros_like(t)
    for k in range(60):  # a chord every half second, and a noise hit on each
        seg = slice(int(k * 0.5 * sr), int((k + 1) * 0.5 * sr))
        env = np.exp(-3 * (t[seg] - t[seg][0]))
        for interval in (0, 4, 7, 12):
            mix[seg] += 0.08 * env * np.sin(2 * np.pi * 440 * 2 ** (([57, 53, 48, 55][k // 8 % 4] + interval - 69) / 12)
                                              * t[seg])
        mix[seg][:2000] += 0.2 * rng.standard_normal(2000) * np.exp(-np.arange(2000) / 300)
    signals = {"mix.wav": (mix / np.abs(mix).max() * 0.8, sr), "short.wav": (0.3 * np.sin(np.arange(1000) / 20), 44100),
               "noise.wav": (0.1 * rng.standard_normal((sr * 5, 2)), sr)}
    for cents in (30, -45):
        f0 = 440 * 2 ** (cents / 1200)
        chord = sum(0.2 * np.sin(2 * np.pi * f0 * r * t[:sr * 8]) for r in (1, 1.25, 1.5))
        signals[f"detuned_{cents}.wav"] = (chord, sr)
    paths = []
    for name, (y, rate) in signals.items():
        sf.write(folder / name, np.asarray(y, dtype=np.float32), rate)
        paths.append(folder / name)
    examples = REPO / "datasets" / "examples"
    return paths + sorted(p for p in examples.rglob("*") if p.suffix in (".wav", ".flac", ".ogg", ".mp3"))


AUDIO_RUNNER = r'''
import pickle, sys
import penta_core.features.audio as audio
raw = {}
finish = audio.finish_features
def spy(values, columns, flags, details):
    raw["values"] = {c: float(values.get(c, 0.0)) for c in columns}
    return finish(values, columns, flags, details)
audio.finish_features = spy
results = {}
for path in sys.argv[2:]:
    out = audio.extract_audio_features(path)
    results[path] = {"features": out, "raw": dict(raw["values"])}
pickle.dump(results, open(sys.argv[1], "wb"))
'''


# -- one revision's results ----------------------------------------------------------------
RUNNER = r'''
import hashlib, pickle, sys
import numpy as np
import penta_core.features.midi as midi
from penta_core.midi.piece import MidiPiece

raw = {}
finish = midi.finish_features
def spy(values, columns, flags, details):
    raw["values"] = {c: float(values.get(c, 0.0)) for c in columns}
    return finish(values, columns, flags, details)
midi.finish_features = spy

def edited(piece):
    n = piece.notes
    n["pitch"] = np.clip(n["pitch"] + 3, 0, 127)
    n["start"] = n["start"] * 3 // 2
    n["end"] = n["end"] * 3 // 2 + 1
    n["velocity"] = np.clip(n["velocity"] - 7, 1, 127)
    return piece

results = {}
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    entry = {}
    raw.clear()
    try:
        entry["features"] = midi.extract_midi_features(data)
        entry["raw"] = dict(raw.get("values", {}))
    except Exception as err:
        entry["features_error"] = f"{type(err).__name__}: {err}"
    try:
        piece = MidiPiece.from_bytes(data)
        entry["notes"] = {k: (str(v.dtype), v.tolist()) for k, v in piece.notes.items()}
        entry["events"] = [[(e.tick, e.seq, repr(e.msg)) for e in kept] for kept in piece.events]
        entry["bytes"] = hashlib.sha256(piece.to_bytes()).hexdigest()
        entry["edited_bytes"] = hashlib.sha256(edited(piece.copy()).to_bytes()).hexdigest()
    except Exception as err:
        entry["piece_error"] = f"{type(err).__name__}: {err}"
    results[path] = entry
pickle.dump(results, open(sys.argv[1], "wb"))
'''


def run_revision(code_root: Path, files: list[Path], out: Path, runner: str = RUNNER) -> dict:
    import os

    env = {**os.environ, "PYTHONPATH": str(code_root)}
    subprocess.run([sys.executable, "-c", runner, str(out), *map(str, files)], check=True, env=env, cwd=code_root,
                   stderr=subprocess.DEVNULL if runner is AUDIO_RUNNER else None)  # librosa's warnings
    with open(out, "rb") as handle:
        return pickle.load(handle)


def export_revision(rev: str, dest: Path) -> Path:
    archive = subprocess.run(["git", "archive", rev, "penta_core"], cwd=REPO, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


# -- comparison ----------------------------------------------------------------------------
def rel_diff(a: float, b: float) -> float:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def compare(old: dict, new: dict, rtol: float) -> tuple[list[str], dict[str, float], int]:
    problems: list[str] = []
    worst: dict[str, float] = {}
    exact = 0
    for path in old:
        a, b = old[path], new[path]
        name = Path(path).name
        problems.extend(f"{name}: {key} {a.get(key)!r} -> {b.get(key)!r}"
                        for key in ("features_error", "piece_error") if a.get(key) != b.get(key))
        if "features" in a and "features" in b:
            fa, fb = a["features"], b["features"]
            problems.extend(f"{name}: {part} {fa[part]} -> {fb[part]}"
                            for part in ("flags", "details") if fa[part] != fb[part])
            for column, value in fa["features"].items():
                if value != fb["features"].get(column):
                    problems.append(f"{name}: rounded {column} {value!r} -> {fb['features'].get(column)!r}")
            for column, value in a["raw"].items():
                d = rel_diff(value, b["raw"][column])
                exact += d == 0.0
                if d > worst.get(column, 0.0):
                    worst[column] = d
                if d > rtol:
                    problems.append(f"{name}: raw {column} {value!r} -> {b['raw'][column]!r} (rel {d:.2e})")
        problems.extend(f"{name}: MidiPiece {key} differs"
                        for key in ("notes", "events", "bytes", "edited_bytes") if a.get(key) != b.get(key))
    return problems, worst, exact


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default=REF, help="git revision to compare with (default: before the speed work)")
    parser.add_argument("--new", default=None, help="git revision to check (default: the working tree)")
    parser.add_argument("--fuzz", type=int, default=300, help="generated random scores (default 300)")
    parser.add_argument("--songs", type=int, default=10, help="throughput-benchmark songs (default 10)")
    parser.add_argument("--rtol", type=float, default=1e-9, help="largest relative change allowed before rounding")
    parser.add_argument("--audio", action="store_true", help="compare the audio features too")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="penta-equiv-") as tmp:
        tmp_path = Path(tmp)
        corpus = tmp_path / "corpus"
        corpus.mkdir()
        files = (real_files() + pop909_clips(corpus) + benchmark_songs(corpus, args.songs)
                 + edge_files(corpus) + fuzz_scores(corpus, args.fuzz, seed=0)
                 + fuzz_events(corpus, args.fuzz // 2, seed=0))
        old_root = export_revision(args.ref, tmp_path / "ref")
        new_root = export_revision(args.new, tmp_path / "new") if args.new else REPO
        old = run_revision(old_root, files, tmp_path / "old.pkl")
        new = run_revision(new_root, files, tmp_path / "new.pkl")
        if args.audio:
            sounds = audio_files(corpus)
            old_audio = run_revision(old_root, sounds, tmp_path / "old_audio.pkl", AUDIO_RUNNER)
            new_audio = run_revision(new_root, sounds, tmp_path / "new_audio.pkl", AUDIO_RUNNER)
    problems, worst, exact = compare(old, new, args.rtol)
    if args.audio:
        audio_problems, audio_worst, audio_exact = compare(old_audio, new_audio, args.rtol)
        n_audio = sum(len(entry["raw"]) for entry in old_audio.values())
        print(f"audio: {len(sounds)} files, {n_audio} raw values: {audio_exact} bit-identical")
        problems += audio_problems
        worst.update({f"audio {c}": d for c, d in audio_worst.items()})
    n_values = sum(len(entry.get("raw", {})) for entry in old.values())
    print(f"{len(files)} files, {n_values} raw feature values compared ({args.ref[:10]} vs "
          f"{args.new or 'working tree'}): {exact} bit-identical")
    changed = {c: d for c, d in sorted(worst.items(), key=lambda kv: -kv[1]) if d > 0}
    print("largest relative change per column (before rounding):",
          json.dumps({c: f"{d:.1e}" for c, d in changed.items()}) if changed else "none")
    for line in problems[:50]:
        print("  " + line)
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more")
    print("OK" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
