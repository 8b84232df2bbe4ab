"""Timing shared by the benchmarks."""
from __future__ import annotations

import time
from collections.abc import Callable


def best_cpu(fn: Callable[[], object], repeat: int, clock: Callable[[], float] = time.process_time) -> float:
    """Fewest CPU seconds of ``repeat`` calls of ``fn``: the run least disturbed by other work on the machine.

    ``clock`` is the process's CPU time by default; ``time.thread_time`` counts the calling thread only.
    """
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best
