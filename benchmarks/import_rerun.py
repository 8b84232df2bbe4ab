"""Import re-run: the cost of importing a source folder again when little or nothing changed.

Writes N distinct generated MIDI files (four label folders), imports them once,
then imports again in the same dataset, in the same run:

* **re-run, nothing new** (median of three): the import record says every
  file is unchanged, so nothing is read, checked or copied;
* **re-run, ``import.verify: hash``**: every source re-hashed, verdicts reused;
* **re-run without the record**: ``.cache/`` deleted, ``raw/`` kept: every file
  checked again, no copy rewritten (each found holding its bytes);
* **old behaviour**: ``.cache/`` and ``raw/`` deleted, which is what every
  re-run did before the record and ``persist: true`` on ``raw/``: DVC deleted
  the copies, the import checked every file in a worker and wrote every copy;
* **10 files added**: what an update costs;
* **the stage script** (``python stages/import_sources.py``, a new process)
  with nothing new: the same figure with the interpreter and imports on top.

Each figure is also given per 10,000 sources (the target for an unchanged
re-run: at most 1 s). The generated files are left unchanged for the racy
window first (see ``penta_core/sources/record.py``), as files one imports are.

Usage::

    python benchmarks/import_rerun.py [--files 2000] [--jobs 0]
    python benchmarks/import_rerun.py --files 10000
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.midi.smf_write import vlq
from penta_core.sources.importer import import_sources
from penta_core.sources.record import RACY_WINDOW_NS

REPO = Path(__file__).resolve().parents[1]
LABELS = ("happy", "sad", "angry", "calm")


def midi_piece(index: int, notes: int = 120) -> bytes:
    """A one-track Standard MIDI File of ``notes`` random notes, distinct for each ``index``."""
    rng = random.Random(index)
    name = f"piece {index}".encode()
    body = bytearray(b"\x00\xff\x03" + vlq(len(name)) + name)
    body += b"\x00\xff\x51\x03" + (500_000 + rng.randrange(-100_000, 100_000)).to_bytes(3, "big")
    for _ in range(notes):
        pitch, velocity, length = 36 + rng.randrange(48), 40 + rng.randrange(80), 60 + rng.randrange(420)
        body += vlq(rng.choice((0, 120, 240))) + bytes((0x90, pitch, velocity))
        body += vlq(length) + bytes((0x80, pitch, 0))
    body += b"\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + bytes((0, 0, 0, 1)) + (480).to_bytes(2, "big")  # format 0, 1 track
    return header + b"MTrk" + len(body).to_bytes(4, "big") + bytes(body)


def write_corpus(src: Path, count: int, start: int = 0) -> None:
    for index in range(start, start + count):
        path = src / LABELS[index % len(LABELS)] / f"piece_{index:05d}.mid"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(midi_piece(index))


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the import's workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed_import(src: Path, params: dict) -> tuple[float, float, object]:
    """``(wall seconds, CPU seconds, report)`` of one import."""
    started, cpu = time.perf_counter(), _cpu()
    report = import_sources(src, DatasetLayout.from_params(params), params)
    return time.perf_counter() - started, _cpu() - cpu, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="generated MIDI files (10000 for the target's scale)")
    parser.add_argument("--jobs", type=int, default=0, help="import.n_jobs (0 = every core)")
    args = parser.parse_args(argv)
    n = args.files
    with tempfile.TemporaryDirectory(prefix="penta-import-") as tmp:
        work = Path(tmp)
        src = work / "src"
        started = time.perf_counter()
        write_corpus(src, n)
        print(f"wrote {n} MIDI files in {time.perf_counter() - started:.1f} s")
        time.sleep(RACY_WINDOW_NS / 1e9)  # past the racy window: files as one imports them
        tree = {"dataset": {"name": "bench", "root": str(work / "datasets"), "source_dir": str(src)},
                "import": {"n_jobs": args.jobs}}
        params = resolve(tree)
        layout = DatasetLayout.from_params(params)

        rows = []

        def row(label: str, seconds: float, cpu: float, report, per: int = n) -> None:
            rows.append((label, seconds, seconds / per * 10_000, cpu / per * 10_000, report))

        row("first import (clean)", *timed_import(src, params))
        reruns = sorted((timed_import(src, params) for _ in range(3)), key=lambda run: run[0])
        row("re-run, nothing new (median of 3)", *reruns[1])
        hashed = resolve({**tree, "import": {**tree["import"], "verify": "hash"}})
        row("re-run, import.verify: hash", *timed_import(src, hashed))
        shutil.rmtree(layout.cache_dir)
        row("re-run without the record (raw/ kept)", *timed_import(src, params))
        shutil.rmtree(layout.cache_dir)
        shutil.rmtree(layout.raw_midi)
        row("old behaviour (no record, raw/ deleted)", *timed_import(src, params))
        write_corpus(src, 10, start=n)
        row("re-run, 10 files added", *timed_import(src, params), per=n + 10)

        (work / "params.yaml").write_text(yaml.safe_dump(tree), encoding="utf-8")
        began = time.perf_counter()
        result = subprocess.run([sys.executable, str(REPO / "stages" / "import_sources.py")], cwd=work,
                                capture_output=True, text=True)
        stage_s = time.perf_counter() - began
        if result.returncode != 0:
            sys.exit(f"stage failed:\n{result.stderr}")

        print(f"\n{'import of ' + str(n) + ' MIDI files':<42} {'wall s':>8} {'wall s/10k':>11} {'CPU s/10k':>10} "
              f"{'checked':>8} {'reused':>7} {'copied':>7} {'kept':>6}")
        for label, seconds, per_10k, cpu_10k, report in rows:
            print(f"{label:<42} {seconds:>8.3f} {per_10k:>11.3f} {cpu_10k:>10.3f} {report.checked:>8} "
                  f"{report.reused:>7} {report.copied:>7} {report.kept:>6}")
        print(f"{'stage script, nothing new (new process)':<42} {stage_s:>8.3f} {stage_s / (n + 10) * 10_000:>11.3f}"
              f"   ({result.stdout.splitlines()[1].strip()})")
        rerun, old = rows[1], rows[4]
        verdict = "ok" if rerun[2] <= 1 else "MISSED"
        print(f"\nunchanged re-run: {rerun[2]:.3f} s per 10,000 sources (target <= 1 s: {verdict}; "
              f"CPU {rerun[3]:.3f} s); old behaviour {old[2]:.2f} s per 10,000 (CPU {old[3]:.2f} s, workers "
              f"included), {old[1] / rerun[1]:.0f}x the re-run. Load average now: "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
