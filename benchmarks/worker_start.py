"""What a pool of augment workers costs to start: spawned (fresh interpreters) vs forked, side by side.

The augment stage's MIDI workers are forked from the stage process
(``supervised_map(..., start_method="fork")``), which has already imported
numpy, mido and the package; spawned workers (the default, and still the
audio workers') start an interpreter and import all of it again. Here, in
one process that imported ``penta_core.augment.variants`` as the stage does,
a pool of N workers runs one tiny augment-module call each (so a spawned
worker imports what a real one imports), for each start method in turn,
several rounds interleaved. Wall time and CPU time (this process and the
workers it waited for) per pool; medians and ranges over the rounds.

Usage::

    python benchmarks/worker_start.py [--workers 2] [--rounds 5]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

from penta_core.augment.variants import code_fingerprint
from penta_core.engine.parallel import supervised_map


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def pool_once(method: str, workers: int) -> tuple[float, float]:
    """Wall and CPU seconds to start ``workers`` workers, run one call in each and stop them."""
    start, cpu = time.perf_counter(), _cpu()
    results = list(supervised_map(code_fingerprint, ["midi"] * workers, n_jobs=workers, chunk_size=1,
                                  start_method=method))
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    if not all(outcome.ok for _, outcome in results):
        sys.exit(f"a {method} worker failed: {[o.reason for _, o in results if not o.ok]}")
    return seconds, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    methods = ("spawn", "fork")
    seen: dict[str, list[tuple[float, float]]] = {m: [] for m in methods}
    for _ in range(args.rounds):
        for method in methods:
            seen[method].append(pool_once(method, args.workers))
    print(f"a pool of {args.workers} augment workers, one call each; {args.rounds} rounds; "
          f"{os.cpu_count()} cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'':<10}{'wall s, median (range)':>28}{'CPU s, median (range)':>28}")
    for method in methods:
        walls, cpus = [w for w, _ in seen[method]], [c for _, c in seen[method]]
        print(f"{method:<10}{statistics.median(walls):>12.3f} ({min(walls):.3f}-{max(walls):.3f})"
              f"{statistics.median(cpus):>12.3f} ({min(cpus):.3f}-{max(cpus):.3f})")
    spawn_cpu = statistics.median(c for _, c in seen["spawn"])
    fork_cpu = statistics.median(c for _, c in seen["fork"])
    print(f"\nforked workers save {spawn_cpu - fork_cpu:.3f} s of CPU a pool "
          f"({(spawn_cpu - fork_cpu) / args.workers:.3f} s a worker)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
