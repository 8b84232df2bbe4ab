"""Atomic writes of many small files made durable together: one sync per batch instead of one per file.

:func:`~penta_core.core.io.atomic_write_bytes` fsyncs each file before its
rename; on ext4 every fsync commits the journal, about 2 ms of waiting per
raw copy of a small MIDI file. :class:`DurableBatch` keeps the same order
of events for a whole batch: every file of the batch is written to a
temporary file in its destination folder, then all of them are made durable
at once (``syncfs`` on Linux; elsewhere, an fsync of each), and only then
renamed into place. So, as before, a name never points at bytes that a
crash could lose, and a killed import leaves complete files or temporary
files (``.penta-tmp-*``, deleted by the import's prune on the next run),
never a torn copy.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import tempfile
from collections.abc import Callable
from typing import Any

from penta_core.core.io import TMP_PREFIX, output_error

# A batch this large is synced and renamed before more is written: bounds the temporary
# files a killed run leaves, and the data one sync waits for.
BATCH_FILES = 512
BATCH_BYTES = 64 * 2**20
_FILE_MODE = 0o644  # what atomic_write_bytes gives; the import record checks it


@functools.cache
def libc_syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs(fd)``, or ``None`` where there is none (not Linux).

    Looked up in the symbols the interpreter already has, on first use: no library search
    (``ctypes.util.find_library`` runs a subprocess) at import time.
    """
    try:
        func = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError, TypeError):
        return None
    func.argtypes, func.restype = [ctypes.c_int], ctypes.c_int
    return func


class DurableBatch:
    """Write files atomically, batched: ``add`` many, each lands (durably) at the next ``flush``.

    ``on_done(key)`` is called for each file once it is in place, ``on_failed(key, reason)``
    for one whose path is too long for the file system (the only failure that is the file's own;
    any other ``OSError`` stops the batch, wrapped as :class:`~penta_core.core.errors.OutputError`
    when the user can fix it). Leaving the ``with`` block flushes; leaving it on an exception
    deletes the temporary files not yet renamed.

    Example
    -------
    >>> with DurableBatch(done.append, failed.append) as batch:  # doctest: +SKIP
    ...     batch.add("raw/midi/a.mid", data, key="a")
    """

    def __init__(self, on_done: Callable[[Any], None], on_failed: Callable[[Any, str], None],
                 max_files: int = BATCH_FILES, max_bytes: int = BATCH_BYTES,
                 syncfs: Callable[[int], int] | None = ...) -> None:
        self.on_done, self.on_failed = on_done, on_failed
        self.max_files, self.max_bytes = max_files, max_bytes
        self.syncfs = libc_syncfs() if syncfs is ... else syncfs  # None: an fsync of each file
        self.pending: list[tuple[str, str, Any]] = []  # (temporary path, final path, key)
        self.bytes = 0
        self.folders: dict[str, int] = {}  # folder → its file system (st_dev): one sync per file system
        self.syncs = 0  # how many times a batch was made durable (for tests and benchmarks)

    def __enter__(self) -> DurableBatch:
        return self

    def __exit__(self, kind, err, tb) -> None:
        if kind is None:
            self.flush()
        else:
            self.discard()

    def add(self, path: str, data: bytes, key: Any) -> None:
        """Write ``data`` to a temporary file beside ``path``; it is renamed to ``path`` at the next flush."""
        folder = os.path.dirname(path)
        try:
            if folder not in self.folders:
                os.makedirs(folder, exist_ok=True)
                self.folders[folder] = os.stat(folder).st_dev
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=folder)
        except OSError as err:
            self._fail(err, path, key)
            return
        self.pending.append((tmp, path, key))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                os.fchmod(handle.fileno(), _FILE_MODE)
        except OSError as err:
            self.discard()
            wrapped = output_error(err, path)
            if wrapped is not None:
                raise wrapped from err
            raise
        self.bytes += len(data)
        if len(self.pending) >= self.max_files or self.bytes >= self.max_bytes:
            self.flush()

    def flush(self) -> None:
        """Make every pending file durable, then rename each into place."""
        if not self.pending:
            return
        try:
            self._sync()
        except OSError as err:
            first = self.pending[0][1]
            self.discard()
            wrapped = output_error(err, first)
            if wrapped is not None:
                raise wrapped from err
            raise
        pending, self.pending, self.bytes = self.pending, [], 0
        for position, (tmp, path, key) in enumerate(pending):
            try:
                os.replace(tmp, path)
            except OSError as err:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                if err.errno == errno.ENAMETOOLONG:
                    self.on_failed(key, "path too long to copy into the dataset folder")
                    continue
                self.pending = pending[position + 1:]
                self.discard()
                wrapped = output_error(err, path)
                if wrapped is not None:
                    raise wrapped from err
                raise
            self.on_done(key)

    def discard(self) -> None:
        """Delete the temporary files not yet renamed."""
        for tmp, _, _ in self.pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.pending, self.bytes = [], 0

    def _sync(self) -> None:
        self.syncs += 1
        if self.syncfs is not None:
            systems = {self.folders[os.path.dirname(path)]: os.path.dirname(path) for _, path, _ in self.pending}
            synced = True
            for folder in systems.values():
                fd = os.open(folder, os.O_RDONLY)
                try:
                    synced = self.syncfs(fd) == 0 and synced
                finally:
                    os.close(fd)
            if synced:
                return
        for tmp, _, _ in self.pending:  # no syncfs, or it failed: each file on its own
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _fail(self, err: OSError, path: str, key: Any) -> None:
        if err.errno == errno.ENAMETOOLONG:
            self.on_failed(key, "path too long to copy into the dataset folder")
            return
        self.discard()
        wrapped = output_error(err, path)
        if wrapped is not None:
            raise wrapped from err
        raise err
