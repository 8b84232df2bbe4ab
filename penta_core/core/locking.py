"""One writer per dataset folder: a lock file held for the length of a run."""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from penta_core.core.errors import DatasetBusy
from penta_core.core.io import output_error


@contextmanager
def dataset_lock(dataset_dir: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<dataset_dir>/.penta.lock`` or refuse at once.

    The operating system drops the lock when the holder exits, even when it is
    killed, so a stale lock cannot block later runs. The folder is created when
    missing: callers check a run's inputs first (:mod:`penta_core.core.steps`),
    so only a run that will write there gets this far.

    Raises
    ------
    DatasetBusy : another process holds the lock.
    OutputError : the folder cannot be created or written.
    """
    folder = Path(dataset_dir)
    path = folder / ".penta.lock"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 -- held open for the life of the lock, closed in finally
    except OSError as err:
        if (wrapped := output_error(err, path)) is not None:
            raise wrapped from err
        raise
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
