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
import tarfile
from collections.abc import Iterator
from pathlib import Path

from penta_core.core.layout import DatasetLayout
from penta_core.export.records import (
    SUFFIX,
    ExportSample,
    approx_size,
    features_npy,
    order_key,
    payload,
    record_json,
)
from penta_core.store.tar_shard import build_tar

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


def assign_shards(samples: list[ExportSample], seed: int, count: int) -> list[list[ExportSample]]:
    """``samples`` in seeded-hash order, cut into ``count`` runs whose lengths differ by one at most."""
    ordered = sorted(samples, key=lambda s: (order_key(seed, s.id), s.id))
    base, extra = divmod(len(ordered), count) if count else (0, 0)
    shards, start = [], 0
    for index in range(count):
        size = base + (index < extra)
        shards.append(ordered[start:start + size])
        start += size
    return shards


def shard_bytes(layout: DatasetLayout, samples: list[ExportSample]) -> bytes:
    """The tar holding ``samples`` in the given order, members of a sample adjacent and sorted by name."""
    members: list[tuple[str, bytes]] = []
    for sample in samples:
        parts = [(f"{sample.id}.json", record_json(sample)),
                 (f"{sample.id}.{SUFFIX[sample.kind]}", payload(layout, sample))]
        if sample.features is not None:
            parts.append((f"{sample.id}.npy", features_npy(sample.features)))
        members += sorted(parts)
    return build_tar(members)[0]


def plan_split(layout: DatasetLayout, samples: list[ExportSample], *, seed: int, shard_mb: float,
               multiple: int) -> list[list[ExportSample]]:
    """The shards of a split, each a list of its samples in order."""
    total = sum(approx_size(layout, s) + MEMBER_OVERHEAD for s in samples)
    return assign_shards(samples, seed, shard_count(len(samples), total, shard_mb, multiple))


def iter_shard(path: str | Path) -> Iterator[dict[str, bytes | str]]:
    """The samples of one shard, in order: ``{"__key__": id, "json": ..., "mid"/"flac": ..., "npy": ...}``.

    Members sharing the part of their name before the first dot form one
    sample, as the ``webdataset`` library groups them.
    """
    current: dict[str, bytes | str] | None = None
    with tarfile.open(path, mode="r|") as archive:
        for info in archive:
            if not info.isfile():
                continue
            base = info.name.rsplit("/", 1)[-1]
            key, _, field = base.partition(".")
            prefix = info.name[: len(info.name) - len(base)]
            key = prefix + key
            if current is None or current["__key__"] != key:
                if current is not None:
                    yield current
                current = {"__key__": key}
            handle = archive.extractfile(info)
            current[field] = handle.read() if handle is not None else b""
    if current is not None:
        yield current
