"""Training read speed: samples/s from each export format next to reading the same samples file by file.

Builds a dataset from ``--files`` MIDI clips of the benchmark corpus
(``_corpus.py``) and ``--audio`` 10-second WAV clips (augmentation,
synthesis and family detection off), exports it in every format
(Parquet, WebDataset, LMDB), writes the train split's samples as plain
files (``materialize``), and then, in one process, alternately, reads the
train split:

* file by file, as a trainer without this tool would: ``pretty_midi.PrettyMIDI(path)``
  (the baseline the issue names), the same plus ``get_piano_roll(fs=100)``, and
  symusic's ``Score(path)``; audio with ``soundfile.read(path)``;
* through :class:`penta_core.training.SplitStream` from each format, with the
  loader's shuffle on, decoding to the same kinds of object: raw bytes (I/O only),
  pretty_midi objects (same decoder as the baseline: the format's share), symusic
  scores, piano rolls (100 frames/s), audio arrays at the file's own rate.

Each figure is the best of ``--repeats`` passes (wall time; pages cached, since
both sides just wrote or read the files), as samples per second, with its
ratio to the per-file pretty_midi read. The load average is printed too.

Usage::

    python benchmarks/export_read_speed.py [--files 300] [--audio 16] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout: measure its penta_core
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import write_corpus  # noqa: E402

from penta_core import cli  # noqa: E402
from penta_core.core.io import read_json  # noqa: E402
from penta_core.core.layout import DatasetLayout  # noqa: E402
from penta_core.store.materialize import materialize  # noqa: E402
from penta_core.training import SplitStream  # noqa: E402

LABELS = ("happy", "sad", "angry", "calm")


def write_audio(folder: Path, n: int, seconds: float = 10.0, rate: int = 22050) -> None:
    """``n`` stereo 16-bit WAV clips of chords with noise, in label folders (distinct bytes each)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    for i in range(n):
        freqs = 110.0 * 2 ** (rng.integers(0, 24, size=3) / 12)
        tone = sum(np.sin(2 * np.pi * f * t) for f in freqs) / 3
        signal = 0.3 * tone[:, None] + 0.02 * rng.standard_normal((len(t), 2))
        path = folder / LABELS[i % len(LABELS)] / f"clip_{i:03d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, signal, rate, subtype="PCM_16")


def build(work: Path, files: int, audio: int) -> Path:
    clips = write_corpus(work / "corpus", files, seed=0)
    write_audio(clips, audio)
    params = {"import": {"n_jobs": 0}, "features": {"n_jobs": 0}, "families": {"detect": False},
              "export": {"formats": ["parquet", "webdataset", "lmdb"]}}
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    cwd = os.getcwd()
    os.chdir(work)
    try:
        code = cli.main(["--all", "--import-dir", str(clips), "--dataset", "bench", "--multiplier", "0",
                         "--count", "0"])
    finally:
        os.chdir(cwd)
    if code != 0:
        raise SystemExit("building the benchmark dataset failed")
    return work / "datasets" / "bench"


def best_rate(read, n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        count = read()
        best = min(best, time.perf_counter() - start)
        if count != n:
            raise SystemExit(f"read {count} samples, expected {n}")
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300, help="MIDI clips in the corpus")
    parser.add_argument("--audio", type=int, default=16, help="10-second stereo WAV clips in the corpus")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="build in DIR and keep it (default: a temporary folder); "
                                                      "a DIR built before is read again without rebuilding")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="penta-export-bench-"))
    try:
        started = time.perf_counter()
        root = work / "datasets" / "bench"
        if not (root / "export" / "export.json").is_file():
            root = build(work, args.files, args.audio)
            print(f"built and exported {root} in {time.perf_counter() - started:.1f} s")
        layout = DatasetLayout(root)
        samples = {s["id"]: s for s in read_json(layout.manifest)["samples"]}
        train = (root / "splits" / "train.txt").read_text().split()
        plain = dict(zip(train, materialize(layout, [samples[i] for i in train], work / "plain"), strict=True))
        midi_ids = [i for i in train if samples[i]["kind"] == "midi"]
        audio_ids = [i for i in train if samples[i]["kind"] == "audio"]
        print(f"train split: {len(midi_ids)} MIDI, {len(audio_ids)} audio samples; load average "
              f"{os.getloadavg()[0]:.1f}")

        import pretty_midi
        import symusic

        def per_file(paths, read):
            def run():
                for path in paths:
                    read(path)
                return len(paths)
            return run

        def streamed(fmt, kind, **decode):
            def run():
                stream = SplitStream(root, "train", format=fmt, kinds=(kind,), seed=0, **decode)
                return sum(1 for _ in stream)
            return run

        midi_paths = [plain[i] for i in midi_ids]
        rows = [("MIDI", "per file: pretty_midi.PrettyMIDI(path)",
                 per_file(midi_paths, lambda p: pretty_midi.PrettyMIDI(str(p)))),
                ("MIDI", "per file: pretty_midi + get_piano_roll(fs=100)",
                 per_file(midi_paths, lambda p: pretty_midi.PrettyMIDI(str(p)).get_piano_roll(fs=100))),
                ("MIDI", "per file: symusic.Score(path)", per_file(midi_paths, lambda p: symusic.Score(str(p))))]
        for fmt in ("webdataset", "parquet", "lmdb"):
            rows += [("MIDI", f"{fmt}: bytes (I/O only)", streamed(fmt, "midi", midi="bytes")),
                     ("MIDI", f"{fmt}: pretty_midi objects", streamed(fmt, "midi", midi="pretty_midi")),
                     ("MIDI", f"{fmt}: symusic scores", streamed(fmt, "midi", midi="score")),
                     ("MIDI", f"{fmt}: piano rolls (fs=100)", streamed(fmt, "midi", midi="pianoroll", fs=100))]
        if audio_ids:
            audio_paths = [plain[i] for i in audio_ids]
            rows.append(("audio", "per file: soundfile.read(path) (WAV)",
                         per_file(audio_paths, lambda p: sf.read(str(p), dtype="float32"))))
            for fmt in ("webdataset", "parquet", "lmdb"):
                rows += [("audio", f"{fmt}: bytes (I/O only)", streamed(fmt, "audio", audio="bytes")),
                         ("audio", f"{fmt}: arrays, own rate (FLAC decode)",
                          streamed(fmt, "audio", audio="array", sample_rate=None, mono=False))]

        # Passes alternate over the rows, so every row sees the machine's load alike.
        rates: dict[tuple[str, str], float] = {}
        for _ in range(args.repeats):
            for kind, name, read in rows:
                n = len(midi_ids) if kind == "MIDI" else len(audio_ids)
                rates[(kind, name)] = max(rates.get((kind, name), 0.0), best_rate(read, n, 1))
        base = {"MIDI": rates[("MIDI", "per file: pretty_midi.PrettyMIDI(path)")]}
        if audio_ids:
            base["audio"] = rates[("audio", "per file: soundfile.read(path) (WAV)")]
        print(f"\n{'kind':<6} {'read':<52} {'samples/s':>10} {'vs per-file':>12}")
        for kind, name, _ in rows:
            rate = rates[(kind, name)]
            print(f"{kind:<6} {name:<52} {rate:>10.0f} {rate / base[kind]:>11.1f}x")
        sizes = {fmt: sum(p.stat().st_size for p in (root / "export").rglob(pattern) if p.is_file())
                 for fmt, pattern in (("parquet", "*.parquet"), ("webdataset", "webdataset/*.tar"),
                                      ("lmdb", "*.lmdb"))}
        source = sum(s["info"]["size"] for s in samples.values() if s["id"] in set().union(
            *((root / "splits" / f"{n}.txt").read_text().split() for n in ("train", "val", "test"))))
        print("\nexport sizes (all splits): " + ", ".join(f"{k} {v / 2**20:.1f} MB" for k, v in sizes.items())
              + f"; the same samples as imported files {source / 2**20:.1f} MB")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
