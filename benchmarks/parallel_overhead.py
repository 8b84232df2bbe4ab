"""Worker-pool overhead: what ``supervised_map`` adds to each item, sent one by one or in chunks.

Maps a trivial function and a ~0.5 ms CPU-bound function over 20,000 items
with 1 and 2 workers, once with ``chunk_size=1`` (one pipe round trip per
item, as the pool worked before chunks) and once with the default adaptive
chunks, and prints wall time per item beside the overhead per item:

    overhead = (wall - start-up) / items - (work per item) / workers

The ~0.5 ms function times itself in the worker, so the work is what it took
in that run (other load on the machine slows it and the pool alike); the
trivial function's work counts as zero. Start-up is a map of one item per
worker (spawning the interpreters), timed in the same rounds. The ways are
run in turn in each round and the median of the rounds is reported. ``--rev``
adds the ``supervised_map`` of a git revision of this repository (e.g.
``--rev main``), run the same way, for a before/after.

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
    return 0.0


def spin(n):
    """About 0.5 ms of pure-Python work for the calibrated ``n``; returns the seconds it took."""
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - start


def calibrate(seconds: float) -> int:
    n = 1000
    while True:
        took = statistics.median(spin(n) for _ in range(20))
        if took >= seconds / 4:
            return max(1, round(n * seconds / took))
        n *= 2


def timed_map(module, func, item, items: int, n_jobs: int, chunk_size: int | None) -> tuple[float, float]:
    """Wall seconds of the whole map and the mean seconds each item reported for itself."""
    kwargs = {} if chunk_size is None else {"chunk_size": chunk_size}
    work = 0.0
    start = time.perf_counter()
    for _, outcome in module.supervised_map(func, (item for _ in range(items)), n_jobs=n_jobs, timeout_s=60,
                                            **kwargs):
        if not outcome.ok:
            raise RuntimeError(outcome.reason)
        work += outcome.value
    return time.perf_counter() - start, work / items


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
    parser.add_argument("--repeat", type=int, default=3, help="rounds (median reported)")
    parser.add_argument("--rev", help="also time the supervised_map of this git revision")
    args = parser.parse_args(argv)
    functions = [("trivial", trivial, 0), ("~0.5 ms", spin, calibrate(WORK_S))]
    with tempfile.TemporaryDirectory(prefix="penta-overhead-") as tmp:
        ways = []
        if args.rev:
            ways.append((f"{args.rev}, one per trip", load_revision(args.rev, Path(tmp)), None))
        ways += [("chunk_size=1", parallel, 1), ("adaptive chunks", parallel, None)]
        print(f"{args.items} items, median of {args.repeat} rounds; "
              "overhead = (wall - start-up) / items - work / workers")
        print(f"{'function':<10}{'workers':>8}  {'pool':<24}{'wall µs/item':>13}{'work µs/item':>13}"
              f"{'overhead µs/item':>18}")
        for label, func, item in functions:
            for n_jobs in (1, 2):
                rounds = []
                for _ in range(args.repeat):
                    startup = timed_map(parallel, trivial, 0, n_jobs, n_jobs, 1)[0]
                    rounds.append([(startup, *timed_map(module, func, item, args.items, n_jobs, chunk_size))
                                   for _, module, chunk_size in ways])
                for position, (way, _, _) in enumerate(ways):
                    wall = statistics.median(r[position][1] for r in rounds) / args.items
                    work = statistics.median(r[position][2] for r in rounds)
                    overhead = statistics.median((r[position][1] - r[position][0]) / args.items
                                                 - r[position][2] / n_jobs for r in rounds)
                    print(f"{label:<10}{n_jobs:>8}  {way:<24}{wall * 1e6:>13.1f}{work * 1e6:>13.1f}"
                          f"{overhead * 1e6:>18.1f}")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
