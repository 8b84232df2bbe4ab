"""``export/webdataset/<split>-NNNNNN.tar``: WebDataset shards, written and read with the standard library.

A sample is the members sharing its key (the sample id): ``<id>.json`` (the
record), ``<id>.mid`` or ``<id>.flac`` (the bytes) and ``<id>.npy`` (the
feature vector, absent when extraction failed). Shards are plain POSIX tars
with fixed metadata, so the same records give the same bytes.

A split's shard count is the smallest multiple of ``export.workers_multiple``
whose mean shard size is at most ``export.shard_mb``; the split's samples,
in the order of a seeded hash of their ids, are cut into that many runs of
equal counts (differing by one at most). So shards come out shuffled, and
loader workers whose number divides the shard count read equal numbers of
samples, which distributed training needs to keep ranks in step. The price:
adding a sample to a split moves the cuts, so its shards are written again.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from penta_core.core.layout import DatasetLayout
from penta_core.export.records import (
    SUFFIX,
    ExportPlan,
    ExportSample,
    features_npy,
    order_key,
    payload,
    record_json,
)
from penta_core.export.sample_reader import SampleReader
from penta_core.store.tar_shard import build_tar, write_tar

FOLDER = "webdataset"
# Bytes a sample adds beside its own: three tar headers and paddings, the JSON record, the .npy features.
MEMBER_OVERHEAD = 4096


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:06d}.tar"


def shard_count(n_samples: int, n_bytes: int, shard_mb: float, multiple: int) -> int:
    """Shards for a split: none when it is empty, else the fewest (a multiple of ``multiple``) of mean size
    at most ``shard_mb``.

    Example
    -------
    >>> shard_count(100, 700 << 20, 256.0, 8)
    8
    >>> shard_count(100, 3000 << 20, 256.0, 8)
    16
    """
    if n_samples == 0:
        return 0
    needed = max(1, math.ceil(n_bytes / (shard_mb * (1 << 20))))
    return multiple * math.ceil(needed / multiple)


def assign_shards(ids: Sequence[str], seed: int, count: int) -> list[list[int]]:
    """Indices of ``ids`` in seeded-hash order (:func:`order_key`, then id), cut into ``count`` runs whose
    lengths differ by one at most."""
    ordered = sorted(range(len(ids)), key=lambda i: (order_key(seed, ids[i]), ids[i]))
    base, extra = divmod(len(ordered), count) if count else (0, 0)
    shards, start = [], 0
    for index in range(count):
        size = base + (index < extra)
        shards.append(ordered[start:start + size])
        start += size
    return shards


def shard_members(reader: SampleReader, samples: Iterable[ExportSample]) -> Iterator[tuple[str, bytes]]:
    """The members of a shard holding ``samples`` in the given order: per sample its ``.json``, bytes (read
    by ``reader``, the plan's), ``.npy``."""
    for sample in samples:
        # The record first, so a reader can judge a sample before reading (or skipping) its bytes.
        yield f"{sample.id}.json", record_json(sample)
        yield f"{sample.id}.{SUFFIX[sample.kind]}", payload(reader, sample)
        if sample.features is not None:
            yield f"{sample.id}.npy", features_npy(sample.features)


def shard_bytes(reader: SampleReader, samples: Iterable[ExportSample]) -> bytes:
    """The tar holding ``samples`` in the given order (:func:`shard_members`)."""
    return build_tar(shard_members(reader, samples))[0]


def write_shard(layout: DatasetLayout, plan: ExportPlan, split: str, indices: Sequence[int], path: Path) -> None:
    """Write the shard of the split's samples at ``indices`` to the new file ``path``, a batch of records
    at a time: the same bytes as :func:`shard_bytes`."""
    with open(path, "xb") as handle:
        write_tar(handle, shard_members(plan.reader, plan.iter_records(split, indices)))
        handle.flush()
        os.fsync(handle.fileno())


def plan_split(plan: ExportPlan, split: str, *, seed: int, shard_mb: float, multiple: int) -> list[list[int]]:
    """The shards of a split, each the indices of its samples (into the split's list) in order."""
    total = plan.approx_bytes(split, MEMBER_OVERHEAD)
    return assign_shards(plan.ids[split], seed, shard_count(plan.count(split), total, shard_mb, multiple))


def iter_members(path: str | Path, want: Callable[[str], bool] | None = None) -> Iterator[tuple[str, bytes]]:
    """``(name, data)`` of each regular file in the tar at ``path``, in order (those ``want(name)`` accepts).

    A small reader of the POSIX tar format (ustar headers, PAX ``path``
    records, GNU long names, base-256 sizes), about ten times faster than
    :mod:`tarfile` on small members: it reads each member with one call and
    builds no ``TarInfo``. Header checksums are verified.

    Raises
    ------
    ValueError : the file is not a tar, or is cut short.
    """
    long_name: str | None = None
    with open(path, "rb") as handle:
        while True:
            header = handle.read(BLOCK)
            if len(header) < BLOCK or header == _EMPTY_BLOCK:
                return
            if _checksum(header) != _number(header[148:156]):
                raise ValueError(f"{Path(path).name}: bad tar header checksum at offset {handle.tell() - BLOCK}")
            size = _number(header[124:136])
            kind = header[156:157]
            if kind in (b"0", b"\0", b"7") and want is not None and long_name is None and header[345] == 0 and \
                    not want(header[0:100].split(b"\0", 1)[0].decode("utf-8")):
                handle.seek(size + -size % BLOCK, 1)  # not wanted: never read
                continue
            data = handle.read(size)
            if len(data) < size:
                raise ValueError(f"{Path(path).name} is cut short inside a member")
            handle.seek(-size % BLOCK, 1)
            if kind == b"x":  # PAX extended header: the next member's path, if it names one
                long_name = _pax_path(data) or long_name
            elif kind == b"L":  # GNU long name
                long_name = data.rstrip(b"\0").decode("utf-8")
            elif kind in (b"0", b"\0", b"7"):
                if long_name is None:
                    name = header[0:100].split(b"\0", 1)[0].decode("utf-8")
                    if header[257:262] == b"ustar" and header[345] != 0:
                        name = header[345:500].split(b"\0", 1)[0].decode("utf-8") + "/" + name
                else:
                    name = long_name
                long_name = None
                yield name, data
            elif kind != b"g":
                long_name = None  # folders, links and the like carry no sample data


BLOCK = 512
_EMPTY_BLOCK = bytes(BLOCK)


def _number(field: bytes) -> int:
    """A tar numeric field: octal text, or base-256 when its top bit is set."""
    if field[0] & 0x80:
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _checksum(header: bytes) -> int:
    return sum(header[:148]) + 8 * 32 + sum(header[156:])


def _pax_path(data: bytes) -> str | None:
    position = 0
    while position < len(data):
        space = data.index(b" ", position)
        length = int(data[position:space])
        key, _, value = data[space + 1:position + length - 1].partition(b"=")
        if key == b"path":
            return value.decode("utf-8")
        position += length
    return None


def _key_of(name: str) -> tuple[str, str]:
    folder, _, base = name.rpartition("/")
    stem, _, field = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), field


def iter_shard(path: str | Path, keep: Callable[[bytes], bool] | None = None) -> Iterator[dict[str, bytes | str]]:
    """The samples of one shard, in order: ``{"__key__": id, "json": ..., "mid"/"flac": ..., "npy": ...}``.

    Members sharing the part of their name before the first dot (in the
    file name) form one sample, as the ``webdataset`` library groups them.
    With ``keep``, a sample whose ``.json`` (read first) it refuses is left
    out, and its other members are skipped unread.
    """
    state = {"key": None, "keep": True}

    def want(name: str) -> bool:
        key = _key_of(name)[0]
        if key != state["key"]:
            state["key"], state["keep"] = key, True
        return state["keep"]

    current: dict[str, bytes | str] | None = None
    for name, data in iter_members(path, want if keep is not None else None):
        key, field = _key_of(name)
        if field == "json" and keep is not None and not keep(data):
            state["keep"] = False
            if current is not None and current["__key__"] == key:
                current = None
            continue
        if current is None or current["__key__"] != key:
            if current is not None:
                yield current
            current = {"__key__": key}
        current[field] = data
    if current is not None:
        yield current
