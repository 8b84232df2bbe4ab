"""``export/webdataset/<split>-NNNNNN.tar``: WebDataset shards, written and read with the standard library.

A sample is the members sharing its key (the sample id): ``<id>.json`` (the
record), ``<id>.mid`` or ``<id>.flac`` (the bytes) and ``<id>.npy`` (the
feature vector, absent when extraction failed). Shards are plain POSIX tars
with fixed metadata, so the same records give the same bytes.

A split's shard count is the smallest multiple of ``export.workers_multiple``
that keeps shards under ``export.shard_mb``; samples go to shards by a
seeded hash of their id (range-partitioned), in hash order inside a shard.
So shards come out shuffled, loader workers get equal numbers of shards, and
adding a sample changes only the shard it falls in while the count holds
(at the price of shard sizes varying by a few percent on large splits).
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


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:06d}.tar"


def shard_count(n_samples: int, n_bytes: int, shard_mb: float, multiple: int) -> int:
    """Shards for a split: none when it is empty, else the fewest (a multiple of ``multiple``) under the size.

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
    """Samples per shard: shard ``i`` takes the ids whose seeded hash falls in the i-th of ``count`` ranges."""
    shards: list[list[ExportSample]] = [[] for _ in range(count)]
    for sample in sorted(samples, key=lambda s: (order_key(seed, s.id), s.id)):
        shards[(order_key(seed, sample.id) * count) >> 64].append(sample)
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
    total = sum(approx_size(layout, s) for s in samples)
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
