"""The feature table on disk: Parquet parts of about a thousand samples, one row per sample.

``processed/features/features-<digest>.parquet`` holds, per sample, its id,
group, kind, sha256 and feature key (what the row was computed from), its
flags, mode and details, then one float64 column per feature in a fixed
order. Which samples share a part is decided by content-defined chunks over
their groups (:mod:`penta_core.store.chunks`), and a part is named by the
digest of its own bytes, so a part whose rows did not change keeps its name
and bytes: DVC stores and uploads only the parts that changed. pyarrow writes
the same bytes for the same rows, so clean and incremental builds agree.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from penta_core.core.io import TMP_PREFIX, atomic_write_bytes
from penta_core.store.chunks import chunk

PREFIX = "features"
META_COLUMNS = ("id", "group", "kind", "sha256", "feature_key", "flags", "mode", "details")
GROUPS_PER_PART = 400.0
MAX_ROWS = 4000


@dataclass
class FeatureRows:
    """Rows of the feature table, sorted by id; ``X[i]`` belongs to ``ids[i]``."""

    ids: list[str]
    groups: list[str]
    kinds: list[str]
    sha256: list[str]
    feature_keys: list[str]
    flags: list[list[str]]
    modes: list[str]
    details: list[str]  # canonical JSON text, one per row
    columns: tuple[str, ...]
    X: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows: Sequence[int]) -> FeatureRows:
        picked = list(rows)
        return FeatureRows(
            [self.ids[i] for i in picked], [self.groups[i] for i in picked], [self.kinds[i] for i in picked],
            [self.sha256[i] for i in picked], [self.feature_keys[i] for i in picked],
            [self.flags[i] for i in picked], [self.modes[i] for i in picked], [self.details[i] for i in picked],
            self.columns, self.X[picked] if picked else np.zeros((0, len(self.columns))),
        )

    @staticmethod
    def empty(columns: Sequence[str]) -> FeatureRows:
        return FeatureRows([], [], [], [], [], [], [], [], tuple(columns), np.zeros((0, len(columns))))


def canonical_details(details: dict) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _part_bytes(rows: FeatureRows) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {
        "id": pa.array(rows.ids, pa.string()), "group": pa.array(rows.groups, pa.string()),
        "kind": pa.array(rows.kinds, pa.string()), "sha256": pa.array(rows.sha256, pa.string()),
        "feature_key": pa.array(rows.feature_keys, pa.string()),
        "flags": pa.array(rows.flags, pa.list_(pa.string())), "mode": pa.array(rows.modes, pa.string()),
        "details": pa.array(rows.details, pa.string()),
    }
    for j, name in enumerate(rows.columns):
        arrays[name] = pa.array(np.ascontiguousarray(rows.X[:, j]), pa.float64())
    buffer = io.BytesIO()
    pq.write_table(pa.table(arrays), buffer, compression="zstd", row_group_size=MAX_ROWS)
    return buffer.getvalue()


def write_parts(folder: Path, rows: FeatureRows) -> tuple[int, int]:
    """Write ``rows`` (sorted by id) as parts in ``folder``; delete parts no longer wanted.

    Returns
    -------
    (written, removed) : parts written this time, and stale parts deleted.
    """
    folder.mkdir(parents=True, exist_ok=True)
    order = sorted(range(len(rows)), key=lambda i: (rows.groups[i], rows.ids[i]))
    keep: set[str] = set()
    written = 0
    for positions in chunk(order, lambda i: rows.groups[i], groups_per_chunk=GROUPS_PER_PART, max_items=MAX_ROWS):
        part = rows.take(sorted(positions, key=lambda i: rows.ids[i]))
        data = _part_bytes(part)
        name = f"{PREFIX}-{hashlib.sha256(data).hexdigest()[:16]}.parquet"
        keep.add(name)
        if not (folder / name).is_file() or (folder / name).stat().st_size != len(data):
            atomic_write_bytes(folder / name, data)
            written += 1
    removed = 0
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name not in keep and (path.name.startswith((PREFIX + "-", TMP_PREFIX))
                                                         or path.suffix == ".json"):
            path.unlink()
            removed += 1
    return written, removed


def part_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{PREFIX}-*.parquet")) if folder.is_dir() else []


def read_parts(folder: Path, columns: Sequence[str] | None = None) -> FeatureRows:
    """Every row of every readable part in ``folder``, sorted by id.

    A part that cannot be read, or whose feature columns differ from
    ``columns`` (when given), is skipped: its samples count as not extracted.
    """
    import pyarrow.parquet as pq

    tables = []
    names: tuple[str, ...] | None = tuple(columns) if columns is not None else None
    for path in part_files(folder):
        try:
            table = pq.read_table(path)
        except (OSError, ValueError):
            continue
        feature_names = tuple(n for n in table.column_names if n not in META_COLUMNS)
        if tuple(table.column_names[: len(META_COLUMNS)]) != META_COLUMNS:
            continue
        if names is None:
            names = feature_names
        if feature_names != names:
            continue
        tables.append(table)
    if not tables:
        return FeatureRows.empty(names or ())
    ids = [i for t in tables for i in t.column("id").to_pylist()]
    text = {c: [v for t in tables for v in t.column(c).to_pylist()] for c in META_COLUMNS if c != "id"}
    X = np.vstack([np.column_stack([t.column(c).to_numpy() for c in names]) if names else
                   np.zeros((t.num_rows, 0)) for t in tables])
    rows = FeatureRows(ids, text["group"], text["kind"], text["sha256"], text["feature_key"], text["flags"],
                       text["mode"], text["details"], names, np.asarray(X, dtype=np.float64))
    order = sorted(range(len(ids)), key=ids.__getitem__)
    # A run killed between writing new parts and deleting old ones leaves a row twice: keep one.
    unique = [i for n, i in enumerate(order) if n == 0 or ids[i] != ids[order[n - 1]]]
    return rows.take(unique)
