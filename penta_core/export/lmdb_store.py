"""``export/<split>.lmdb``: one LMDB file per split, key = sample id, value = the sample's record.

The value holds the same parts as the sample's WebDataset members: a first
line of JSON mapping each part (``json``, ``mid`` or ``flac``, ``npy``) to
its ``[offset, length]`` in the bytes after that line, then the parts. A
reader needs nothing but ``lmdb`` and ``json``::

    head, _, body = txn.get(b"<id>").partition(b"\\n")
    parts = {k: body[o:o + n] for k, (o, n) in json.loads(head).items()}

The key ``__export__`` holds the split's classes, feature columns and ids
in order. The file is written in one transaction, keys in order, with
LMDB's zero-filled pages, so the same records give the same bytes. It is
off by default (``export.formats``): any change rewrites the whole file,
and DVC stores and uploads it whole again.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.export.records import SUFFIX, ExportPlan, features_npy, payload, record_json

META_KEY = b"__export__"
# Address space reserved, not disk used (the file grows with its pages); fixed so the bytes do not depend on it.
MAP_SIZE = 1 << 40


def pack_value(parts: list[tuple[str, bytes]]) -> bytes:
    """One LMDB value from ``(field, bytes)`` parts (see the module docstring)."""
    index, offset = {}, 0
    for field, data in parts:
        index[field] = [offset, len(data)]
        offset += len(data)
    head = json.dumps(index, sort_keys=True, separators=(",", ":")).encode("ascii")
    return b"".join([head, b"\n", *(data for _, data in parts)])


def unpack_value(value: bytes | memoryview) -> dict[str, bytes]:
    """The parts of one LMDB value, by field name."""
    value = bytes(value)
    head, _, body = value.partition(b"\n")
    return {field: body[o:o + n] for field, (o, n) in json.loads(head).items()}


def open_env(path: str | Path, *, write: bool = False):
    """An LMDB environment on the single file ``path`` (no lock file, no sub-folder)."""
    try:
        import lmdb
    except ImportError:
        from penta_core.core.errors import MissingTool

        raise MissingTool("export.formats lists lmdb but the lmdb package is not installed: "
                          "pip install lmdb (or the project's lmdb extra), or drop lmdb from export.formats") from None
    return lmdb.open(str(path), subdir=False, map_size=MAP_SIZE, readonly=not write, lock=False,
                     readahead=not write, meminit=True, sync=False, metasync=False, max_dbs=0)


def write_split(layout: DatasetLayout, plan: ExportPlan, split: str, path: Path) -> int:
    """Write ``split`` to the new file ``path`` (the caller renames it); return the samples written."""
    ids = plan.ids[split]
    order = sorted(range(len(ids)), key=lambda i: ids[i].encode("utf-8"))
    env = open_env(path, write=True)
    try:
        with env.begin(write=True) as txn:
            meta = {"classes": plan.classes, "feature_columns": plan.columns, "split": split, "ids": list(ids)}
            txn.put(META_KEY, json.dumps(meta, separators=(",", ":")).encode("utf-8"))
            for sample in plan.iter_records(split, order):
                parts = [("json", record_json(sample)), (SUFFIX[sample.kind], payload(plan.reader, sample))]
                if sample.features is not None:
                    parts.append(("npy", features_npy(sample.features)))
                txn.put(sample.id.encode("utf-8"), pack_value(parts))
        env.sync(True)
    finally:
        env.close()
    return len(ids)


def read_meta(path: str | Path) -> dict[str, Any]:
    env = open_env(path)
    try:
        with env.begin() as txn:
            return json.loads(bytes(txn.get(META_KEY)))
    finally:
        env.close()


def iter_values(path: str | Path, ids: list[str]) -> Iterator[dict[str, bytes | str]]:
    """The samples ``ids`` of the file at ``path``, in that order, as ``{"__key__": id, field: bytes}``."""
    env = open_env(path)
    try:
        with env.begin(buffers=True) as txn:
            for sid in ids:
                value = txn.get(sid.encode("utf-8"))
                if value is None:
                    raise KeyError(f"{Path(path).name} holds no sample {sid}")
                yield {"__key__": sid, **unpack_value(value)}
    finally:
        env.close()
