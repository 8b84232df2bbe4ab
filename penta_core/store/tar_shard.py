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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO


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

    The bytes are those of :mod:`tarfile` in PAX format with the fixed
    metadata of :func:`_info`; a member whose header is a plain ustar block
    (an ASCII name of at most 100 characters, the usual case) gets it from
    :func:`_ustar_header`, without tarfile's per-member cost, and any other
    from tarfile itself.

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
    placed: list[Placed] = []
    return b"".join(_pieces(members, placed)), placed


def write_tar(handle: BinaryIO, members: Iterable[tuple[str, bytes]]) -> None:
    """Write the bytes :func:`build_tar` returns for ``members`` to ``handle``, a member at a time.

    Only one member's data is held at once, however large the archive.
    """
    for piece in _pieces(members, None):
        handle.write(piece)


def _pieces(members: Iterable[tuple[str, bytes]], placed: list[Placed] | None) -> Iterator[bytes]:
    """The archive's bytes in pieces (a member's header, data and padding, then the end); fills ``placed``
    unless it is None."""
    seen: set[str] = set()
    offset = 0
    for name, data in members:
        if name in seen:
            raise ValueError(f"shard member {name!r} appears twice")
        seen.add(name)
        header = _ustar_header(name, len(data))
        if header is None:
            header = _info(name, len(data)).tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        offset += len(header)
        if placed is not None:
            placed.append(Placed(name, offset, len(data)))
        pad = -len(data) % tarfile.BLOCKSIZE
        yield b"".join((header, data, _ZEROS[:pad]))  # one write per member: small members are the usual case
        offset += len(data) + pad
    # Two zero blocks end the archive, and tarfile pads it to a whole record.
    end = offset + 2 * tarfile.BLOCKSIZE
    end += -end % tarfile.RECORDSIZE
    yield bytes(end - offset)


_ZEROS = bytes(tarfile.BLOCKSIZE)
# The fields of _info's header after the name: mode 0644, uid 0, gid 0 (then size), mtime 0.
_MODE_IDS = b"0000644\x000000000\x000000000\x00"
_MTIME = b"00000000000\x00"
# Type, link name, magic and version, owner names, device numbers, prefix: fixed for _info's members.
_TAIL = tarfile.REGTYPE + bytes(100) + tarfile.POSIX_MAGIC + bytes(32 + 32 + 8 + 8 + 155)


# What follows the checksum field: a space, then the fixed tail and the zeros filling the block.
_AFTER_CHECKSUM = b" " + _TAIL + bytes(tarfile.BLOCKSIZE - 148 - 8 - len(_TAIL))
# tarfile's unsigned checksum is the sum of the block's bytes with the checksum field as eight spaces:
# all but the name and the size digits are the same in every header.
_FIXED_SUM = sum(_MODE_IDS) + sum(_MTIME) + 8 * ord(" ") + sum(_TAIL)


def _ustar_header(name: str, size: int) -> bytes | None:
    """tarfile's PAX-format header block of an :func:`_info` member, or None when it needs PAX records."""
    try:
        encoded = name.encode("ascii")
    except UnicodeEncodeError:
        return None
    if len(encoded) > 100 or not 0 <= size < 8 ** 11 or b"\x00" in encoded:
        return None
    size_field = b"%011o\x00" % size
    checksum = _FIXED_SUM + sum(encoded) + sum(size_field)
    return b"".join((encoded, bytes(100 - len(encoded)), _MODE_IDS, size_field, _MTIME,
                     b"%06o\x00" % checksum, _AFTER_CHECKSUM))


def _build_tar_reference(members: Iterable[tuple[str, bytes]]) -> tuple[bytes, list[Placed]]:
    """:func:`build_tar` through :mod:`tarfile` alone (the reference the fast headers are tested against)."""
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


def _read_buffered(path: str | os.PathLike, offset: int, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def _read_at(path: str | os.PathLike, offset: int, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, size, offset)
        while 0 < len(data) < size and (more := os.pread(fd, size - len(data), offset + len(data))):
            data += more
        return data
    finally:
        os.close(fd)


def read_member(path: str | os.PathLike, offset: int, size: int) -> bytes:
    """The ``size`` bytes at ``offset`` of the shard at ``path``."""
    try:
        # os.pread: a third of the CPU of a buffered file object for the few KB of a typical member.
        data = _read_at(path, offset, size) if hasattr(os, "pread") else _read_buffered(path, offset, size)
    except OSError:  # the file object's own error (a folder is refused at open, not at the read)
        data = _read_buffered(path, offset, size)
    if len(data) != size:
        raise ValueError(f"shard {os.fspath(path)} is shorter than its catalogue says (member at {offset})")
    return data
