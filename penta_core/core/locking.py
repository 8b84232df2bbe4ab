"""One writer per dataset folder: a lock file held for the length of a run."""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class DatasetBusy(RuntimeError):
    """Another process is writing the same dataset."""


@contextmanager
def dataset_lock(dataset_dir: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<dataset_dir>/.penta.lock`` or refuse at once.

    The operating system drops the lock when the holder exits, even when it is
    killed, so a stale lock cannot block later runs.
    """
    folder = Path(dataset_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".penta.lock"
    handle = open(path, "a+")  # noqa: SIM115 -- held open for the life of the lock, closed in finally
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise DatasetBusy(
                f"dataset '{folder}' is in use by another penta-dataset run (pid {holder}); "
                "wait for it to finish and run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()
