"""Item functions for the Dask executor tests: importable by name in every worker process."""
from __future__ import annotations

import os
import signal
import time


def square(n: int) -> int:
    return n * n


def square_or_fail(n: int) -> int:
    """Raises on 3, segfaults on 5, hangs on 7; squares the rest."""
    if n == 3:
        raise ValueError("three is refused")
    if n == 5:
        os.kill(os.getpid(), signal.SIGSEGV)
    if n == 7:
        time.sleep(3600)
    return n * n


def slow_square(n: int) -> int:
    time.sleep(0.2)
    return n * n


def nothing(n: int) -> None:
    return None


def square_or_refuse(n: int) -> int:
    """Raises on 3; squares the rest."""
    if n == 3:
        raise ValueError("three is refused")
    return n * n
