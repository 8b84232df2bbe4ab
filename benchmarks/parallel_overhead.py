"""Worker-pool overhead: what ``supervised_map`` adds to each item, sent one by one or in chunks.

Maps a trivial function and a ~0.5 ms CPU-bound function over 20,000 items
with 1 and 2 workers, once with ``chunk_size=1`` (one pipe round trip per
item, as the pool worked before chunks) and once with the default adaptive
chunks, and prints wall time per item beside the overhead per item:

    overhead = (wall - start-up) / items - (work per item in process) / workers

where start-up is a map of one item per worker (spawning the interpreters),
timed separately. ``--rev`` adds the ``supervised_map`` of a git revision of
this repository (e.g. ``--rev main``), run the same way, for a before/after.

Usage::

    python benchmarks/parallel_overhead.py [--items 20000] [--repeat 3] [--rev REV]
"""
from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from penta_core.engine import parallel  # noqa: E402

WORK_S = 0.0005


def trivial(x):
    return x


def spin(n):
    """About 0.5 ms of pure-Python work for the calibrated ``n``."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def calibrate(seconds: float) -> int:
    n = 1000
    while True:
        start = time.perf_counter()
        for _ in range(20):
            spin(n)
        took = (time.perf_counter() - start) / 20
        if took >= seconds / 4:
            return max(1, round(n * seconds / took))
        n *= 2


def in_process_s(func, item, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        func(item)
    return (time.perf_counter() - start) / count


def timed_map(module, func, item, items: int, n_jobs: int, chunk_size: int | None) -> float:
    kwargs = {} if chunk_size is None else {"chunk_size": chunk_size}
    start = time.perf_counter()
    failed = sum(1 for _, outcome in module.supervised_map(func, (item for _ in range(items)), n_jobs=n_jobs,
                                                           timeout_s=60, **kwargs) if not outcome.ok)
    took = time.perf_counter() - start
    if failed:
        raise RuntimeError(f"{failed} items failed")
    return took


def load_revision(rev: str, folder: Path):
    """``penta_core/engine/parallel.py`` at ``rev`` as an importable module (spawned workers import it by name)."""
    text = subprocess.run(["git", "show", f"{rev}:penta_core/engine/parallel.py"], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout
    name = "parallel_at_" + "".join(c if c.isalnum() else "_" for c in rev)
    (folder / f"{name}.py").write_text(text)
    sys.path.insert(0, str(folder))
    return importlib.import_module(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median reported)")
    parser.add_argument("--rev", help="also time the supervised_map of this git revision")
    args = parser.parse_args(argv)
    n = calibrate(WORK_S)
    functions = [("trivial", trivial, 1), ("~0.5 ms", spin, n)]
    with tempfile.TemporaryDirectory(prefix="penta-overhead-") as tmp:
        ways = []
        if args.rev:
            ways.append((f"{args.rev}, one per trip", load_revision(args.rev, Path(tmp)), None))
        ways += [("chunk_size=1", parallel, 1), ("adaptive chunks", parallel, None)]
        print(f"{args.items} items, median of {args.repeat} runs; overhead = (wall - start-up) / items"
              " - work / workers")
        print(f"{'function':<10}{'workers':>8}  {'pool':<24}{'wall µs/item':>13}{'overhead µs/item':>18}")
        for label, func, item in functions:
            work = in_process_s(func, item, 2000 if func is spin else 200_000)
            for n_jobs in (1, 2):
                startup = statistics.median(timed_map(parallel, trivial, 0, n_jobs, n_jobs, 1)
                                            for _ in range(args.repeat))
                for way, module, chunk_size in ways:
                    wall = statistics.median(timed_map(module, func, item, args.items, n_jobs, chunk_size)
                                             for _ in range(args.repeat))
                    per_item = wall / args.items
                    overhead = (wall - startup) / args.items - work / n_jobs
                    print(f"{label:<10}{n_jobs:>8}  {way:<24}{per_item * 1e6:>13.1f}{overhead * 1e6:>18.1f}")
            print(f"{'':<10}(work in process: {work * 1e6:.1f} µs/item; start-up with 2 workers: {startup:.2f} s)")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
