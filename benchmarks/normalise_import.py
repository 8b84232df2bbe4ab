"""The import's audio normalisation: a plain copy vs trim + mono + 22,050 Hz, and a re-import with nothing new.

Writes ``--files`` stereo 44.1 kHz 16-bit WAVs of ``--seconds`` each (a tone
between 0.5 s of digital silence at either end), then times, in the same
run and on the same sources:

* a clean import with the defaults (each file checked and copied as it is);
* a clean import with ``import.edge_silence: trim``, ``import.channels: mono``,
  ``import.sample_rate: 22050`` (checked, then decoded, trimmed, mixed,
  resampled with soxr and written as WAV in the workers);
* a re-import of each with nothing new (the import record: nothing read).

Usage::

    python benchmarks/normalise_import.py [--files 40] [--seconds 10] [--jobs 2]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.sources.importer import import_sources

RATE = 44100


def _write_sources(folder: Path, files: int, seconds: float) -> int:
    rng = np.random.default_rng(0)
    total = 0
    for i in range(files):
        t = np.arange(int(seconds * RATE)) / RATE
        tone = 0.3 * np.sin(2 * np.pi * (220 + 10 * i) * t) + 0.01 * rng.standard_normal(len(t))
        y = np.concatenate([np.zeros(RATE // 2), tone, np.zeros(RATE // 2)])
        path = folder / ("happy" if i % 2 else "sad") / f"take_{i:03d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.stack([y, 0.8 * y], axis=1), RATE, subtype="PCM_16")
        total += path.stat().st_size
    return total


def _timed(source: Path, root: Path, name: str, jobs: int, **imp) -> tuple[float, float, int]:
    params = resolve({"dataset": {"name": name, "root": str(root), "source_dir": str(source)},
                      "import": {"n_jobs": jobs, **imp}})
    layout = DatasetLayout.from_params(params)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        report = import_sources(source, layout, params)
        times.append(time.perf_counter() - start)
    size = sum(p.stat().st_size for p in layout.raw_dir("audio").rglob("*") if p.is_file())
    assert report.copied == 0 and report.checked == 0, "the re-import did work"
    return times[0], times[1], size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="penta-normalise-") as tmp:
        source, root = Path(tmp) / "src", Path(tmp) / "datasets"
        size = _write_sources(source, args.files, args.seconds)
        # Sources changed within the import record's racy window (2 s) are hashed again at the next import:
        # let them settle, so both re-imports show the steady state.
        time.sleep(2.5)
        plain = _timed(source, root, "plain", args.jobs)
        normal = _timed(source, root, "normalised", args.jobs, edge_silence="trim", channels="mono",
                        sample_rate=22050)
    print(f"{args.files} stereo 44.1 kHz WAVs of {args.seconds + 1:g} s ({size / 1e6:.1f} MB), "
          f"{args.jobs} workers")
    print(f"{'':34}{'clean import':>14}{'re-import':>12}{'raw/audio':>12}")
    for label, (clean, again, out) in (("plain copy", plain),
                                       ("trim + mono + 22,050 Hz", normal)):
        print(f"{label:34}{clean:>12.2f} s{again:>10.3f} s{out / 1e6:>9.1f} MB")
    print(f"normalisation costs {normal[0] - plain[0]:.2f} s more, "
          f"{(normal[0] - plain[0]) / args.files * 1000:.0f} ms a file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
