"""Incremental outputs: keep what an earlier run made, redo the rest, delete what no longer belongs.

The augment, features and synthesize stages keep their outputs between runs
(DVC ``persist: true``). :class:`OutputStore` records, per output id, the
``key`` it was made under (a hash of everything that decides its bytes: the
input's sha256, the parameters, the code and library fingerprints, see
:func:`cache_key`) and the ``sha256`` of the bytes written. An output is
reused only when the key computed now equals the recorded one and its bytes
still hash to the recorded sha256; anything else is made again.

The records live in one JSON file beside the outputs (:data:`STORE_NAME`),
saved every few seconds while a run adds records and when the work is left
by an exception (Ctrl-C included), so an interrupted run keeps its work, and
at the end holding exactly the current records, so an incremental
run ends with the same bytes as a clean one. :func:`sweep` deletes every file
no current output owns, leftover temp files of killed writes included.
"""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from penta_core.core.io import dumps_json, read_json, sha256_bytes, sha256_file, write_json

STORE_NAME = "_cache.json"  # no output takes this name: sample ids and variant folders start alphanumeric
FLUSH_INTERVAL_S = 5.0
# A save may take at most this share of a run: a large store is saved less often.
MAX_SAVE_SHARE = 0.1


def cache_key(parts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``parts``: everything that decides one output's bytes.

    Example
    -------
    >>> cache_key({"seed": 42, "sha256": "ab"}) == cache_key({"sha256": "ab", "seed": 42})
    True
    """
    return sha256_bytes(dumps_json(parts).encode("utf-8"))


class OutputStore:
    """The records of the outputs in one folder: id → ``{"key", "sha256", ...}``.

    Parameters
    ----------
    folder : the outputs' folder; the records are kept in ``folder/_cache.json``.
    about : one line saved with the records, for a reader of the file.
    flush_interval_s : least time between two saves during a run.

    Used as a context manager around the work: leaving the block by an
    exception (a Ctrl-C included) saves the records made so far.

    Example
    -------
    >>> store = OutputStore(folder, about="variants")  # doctest: +SKIP
    >>> with store:  # doctest: +SKIP
    ...     if store.reusable(vid, key, folder / name) is None:
    ...         store.put(vid, key, sha256_bytes(data))  # before the write: a record never outlives a lost file
    ...         atomic_write_bytes(folder / name, data)
    >>> store.finish(current_ids)  # doctest: +SKIP
    """

    def __init__(self, folder: str | os.PathLike, *, about: str, flush_interval_s: float = FLUSH_INTERVAL_S):
        self.folder = Path(folder)
        self.path = self.folder / STORE_NAME
        self.about = about
        self.flush_interval_s = flush_interval_s
        self.records = self._load()
        self._next_save = time.monotonic() + flush_interval_s

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            records = read_json(self.path)["records"]
            return {k: v for k, v in records.items() if isinstance(v, dict)}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}  # no store or an unreadable one: every output is made again

    def __enter__(self) -> OutputStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: Any) -> None:
        if kind is not None:
            with contextlib.suppress(OSError):  # the original error matters more than a failed save
                self.save()

    def reusable(self, record_id: str, key: str, path: str | os.PathLike) -> dict[str, Any] | None:
        """The record of ``record_id`` if it was made under ``key`` and ``path`` still holds its bytes.

        A symbolic link is never reused: the output must be the file the stage wrote.
        """
        record = self.records.get(record_id)
        if record is None or record.get("key") != key:
            return None
        path = Path(path)
        if not path.is_file() or path.is_symlink() or sha256_file(path) != record.get("sha256"):
            return None
        return record

    def put(self, record_id: str, key: str, sha256: str, **fields: Any) -> dict[str, Any]:
        """Record a finished output; saves the store when the last save is old enough."""
        record = {**fields, "key": key, "sha256": sha256}
        self.records[record_id] = record
        if time.monotonic() >= self._next_save:
            self.save()
        return record

    def save(self) -> None:
        """Write every record now (also those the run has not confirmed yet)."""
        started = time.monotonic()
        write_json(self.path, {"about": self.about, "records": dict(sorted(self.records.items()))})
        took = time.monotonic() - started
        self._next_save = time.monotonic() + max(self.flush_interval_s, took / MAX_SAVE_SHARE)

    def finish(self, keep: Iterable[str]) -> None:
        """Forget every record but those of ``keep`` (the current outputs) and save."""
        keep = set(keep)
        self.records = {k: v for k, v in self.records.items() if k in keep}
        self.save()

    def sweep(self, keep: Iterable[str]) -> int:
        """:func:`sweep` of the store's folder; the store file itself is kept."""
        return sweep(self.folder, {*keep, STORE_NAME})


def sweep(folder: str | os.PathLike, keep: Iterable[str]) -> int:
    """Delete every file below ``folder`` that ``keep`` does not name; remove emptied folders.

    Parameters
    ----------
    folder : the outputs' folder (nothing happens when it does not exist).
    keep : paths relative to ``folder``, with forward slashes. Leftover
        ``.penta-tmp-*`` files of killed writes are never in it, so they go too.

    Returns
    -------
    int : the number of files (and links) deleted.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    keep = set(keep)
    removed = 0
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() or path.is_symlink():
            if path.relative_to(folder).as_posix() not in keep:  # no resolve(): links stay links
                path.unlink()
                removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed
