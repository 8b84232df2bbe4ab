"""Deterministic tar shards: many small samples in one file, each member readable by offset.

A shard is a plain POSIX tar (``tar -xf`` unpacks it into browsable files),
written with fixed metadata (mtime 0, mode 0644, no owner names) so the same
members in the same order always give the same bytes. Each member's data
offset and size are returned by :func:`build_tar`, so a reader seeks straight
to one sample without scanning the archive.
"""
from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Placed:
    """Where a member's bytes sit inside a shard."""

    name: str
    offset: int
    size: int


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def build_tar(members: Iterable[tuple[str, bytes]]) -> tuple[bytes, list[Placed]]:
    """The bytes of a tar holding ``members`` in the given order, and where each one's data sits.

    Parameters
    ----------
    members : ``(name, data)`` pairs; names are relative POSIX paths, unique.

    Returns
    -------
    bytes, list of Placed : the archive, and per member its name, data offset and size.

    Example
    -------
    >>> data, placed = build_tar([("a.mid", b"MThd")])
    >>> data[placed[0].offset:placed[0].offset + placed[0].size]
    b'MThd'
    """
    buffer = io.BytesIO()
    placed: list[Placed] = []
    seen: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as archive:
        for name, data in members:
            if name in seen:
                raise ValueError(f"shard member {name!r} appears twice")
            seen.add(name)
            info = _info(name, len(data))
            header = info.tobuf(archive.format, archive.encoding, archive.errors)
            placed.append(Placed(name, archive.offset + len(header), len(data)))
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), placed


def read_member(path: str | os.PathLike, offset: int, size: int) -> bytes:
    """The ``size`` bytes at ``offset`` of the shard at ``path``."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(size)
    if len(data) != size:
        raise ValueError(f"shard {os.fspath(path)} is shorter than its catalogue says (member at {offset})")
    return data
