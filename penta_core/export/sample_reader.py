"""Read the samples' bytes of one export: each shard's catalogue read once, each shard file opened once.

An export reads every sample of a split two or three times (one per format,
once more to size the splits), tens of thousands of times in all, and most
samples are members of a few shards (``processed/augmented/*.tar``).
:func:`~penta_core.store.access.sample_bytes` pays, per read, a path join, a
stat of the shard's catalogue and an open of the shard; :class:`SampleReader`
pays them once per shard, and reads a member with one ``pread``.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.store.access import SampleLocator

# Shard files held open at once; past this the least recently read is closed (a dataset may pack its
# originals into many shards).
OPEN_SHARDS = 64


class SampleReader:
    """The bytes and sizes of samples (manifest entries) of the dataset at ``layout``; close it when done.

    Reads what :func:`~penta_core.store.access.sample_bytes` reads and raises
    what it raises (:class:`OSError` when a file, a shard, its catalogue or a
    member is missing; :class:`ValueError` when a shard is shorter than its
    catalogue says). A shard's catalogue is read once, when a member of it is
    first asked for: the export runs under the dataset lock, so shards do not
    change under it.

    Example
    -------
    >>> with SampleReader(layout) as reader:  # doctest: +SKIP
    ...     data = reader.read(manifest["samples"][0])
    """

    def __init__(self, layout: DatasetLayout) -> None:
        self.root = os.fspath(layout.root)
        self._locate = SampleLocator(layout)  # each shard's catalogue read once
        self._open: OrderedDict[str, int] = OrderedDict()

    def _path(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def _where(self, entry: dict[str, Any]) -> tuple[int, int]:
        return self._locate.member_location(entry["shard"], entry["member"])

    def size(self, entry: dict[str, Any]) -> int:
        """The size in bytes of the sample ``entry`` as stored."""
        if "shard" in entry:
            return self._where(entry)[1]
        return os.stat(self._path(entry["path"])).st_size

    def read(self, entry: dict[str, Any]) -> bytes:
        """The bytes of the sample ``entry`` (unchecked: the caller compares them with its sha256)."""
        if "shard" not in entry:
            with open(self._path(entry["path"]), "rb") as handle:
                return handle.read()
        offset, size = self._where(entry)
        data = os.pread(self._fd(entry["shard"]), size, offset)
        if len(data) != size:
            raise ValueError(f"shard {self._path(entry['shard'])} is shorter than its catalogue says "
                             f"(member at {offset})")
        return data

    def _fd(self, shard: str) -> int:
        fd = self._open.get(shard)
        if fd is not None:
            self._open.move_to_end(shard)
            return fd
        if len(self._open) >= OPEN_SHARDS:
            os.close(self._open.popitem(last=False)[1])
        fd = self._open[shard] = os.open(self._path(shard), os.O_RDONLY)
        return fd

    def close(self) -> None:
        while self._open:
            os.close(self._open.popitem()[1])

    def __enter__(self) -> SampleReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
