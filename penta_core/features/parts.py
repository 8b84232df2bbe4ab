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

import contextlib
import hashlib
import io
import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from penta_core.core.io import TMP_PREFIX, atomic_write_bytes
from penta_core.store.chunks import chunk

PREFIX = "features"
# How often rows of parts not yet complete are saved to the journal part: the most work a
# killed features run can lose. PENTA_SAVE_INTERVAL_S overrides it (the Ctrl-C tests use 0.05).
SAVE_INTERVAL_S = float(os.environ.get("PENTA_SAVE_INTERVAL_S", "5"))
META_COLUMNS = ("id", "group", "kind", "sha256", "feature_key", "flags", "mode", "details")
# About 1,000 groups (a source and its variants: 4,000 rows at multiplier 3, 3 MB of Parquet) a part:
# one DVC object per 4,000 rows, and a small change rewrites a few MB.
GROUPS_PER_PART = 1000.0
MAX_ROWS = 8000


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
    """Write ``rows`` as parts in ``folder``; delete parts no longer wanted.

    Returns
    -------
    (written, removed) : parts written this time, and stale files deleted.
    """
    sync = PartSync(folder, rows.columns, zip(rows.ids, rows.groups, strict=True))
    for i in range(len(rows)):
        sync.put(Row(rows.ids[i], rows.groups[i], rows.kinds[i], rows.sha256[i], rows.feature_keys[i],
                     rows.flags[i], rows.modes[i], rows.details[i], rows.X[i]))
    return sync.finish()


def part_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{PREFIX}-*.parquet")) if folder.is_dir() else []


@dataclass
class Row:
    """One sample's row, as :class:`PartSync` collects them."""

    id: str
    group: str
    kind: str
    sha256: str
    feature_key: str
    flags: list[str]
    mode: str
    details: str
    x: np.ndarray


def _rows(columns: Sequence[str], rows: Sequence[Row]) -> FeatureRows:
    ordered = sorted(rows, key=lambda r: r.id)
    X = np.vstack([r.x for r in ordered]) if ordered else np.zeros((0, len(columns)))
    return FeatureRows([r.id for r in ordered], [r.group for r in ordered], [r.kind for r in ordered],
                       [r.sha256 for r in ordered], [r.feature_key for r in ordered], [r.flags for r in ordered],
                       [r.mode for r in ordered], [r.details for r in ordered], tuple(columns),
                       np.asarray(X, dtype=np.float64))


def _write_part(folder: Path, rows: FeatureRows) -> tuple[str, bool]:
    """Name of the part holding ``rows``, and whether it had to be written (its bytes were not there)."""
    data = _part_bytes(rows)
    name = f"{PREFIX}-{hashlib.sha256(data).hexdigest()[:16]}.parquet"
    if (folder / name).is_file() and (folder / name).stat().st_size == len(data):
        return name, False
    atomic_write_bytes(folder / name, data)
    return name, True


@dataclass
class _Part:
    ids: list[str]
    pending: set[str]
    rows: list[Row] = field(default_factory=list)


class PartSync:
    """Write the feature table's parts while the rows arrive, as a clean build would cut them.

    The parts are cut over ``wanted`` (ids and groups of every sample that
    may get a row) exactly as :func:`write_parts` cuts a finished table, and a
    part is written as soon as each of its samples has a row or has failed,
    so a long run leaves its finished parts on disk as it goes. Rows that
    arrived for parts not yet complete are saved in a journal part every
    ``flush_interval_s`` and when the run is left by an exception (Ctrl-C
    included): it is an ordinary part holding a subset of rows, which the next
    run reuses and :meth:`finish` deletes.

    Example
    -------
    >>> sync = PartSync(folder, columns, wanted)  # doctest: +SKIP
    >>> with sync:  # doctest: +SKIP
    ...     for row in rows: sync.put(row)
    >>> written, removed = sync.finish()  # doctest: +SKIP
    """

    def __init__(self, folder: Path, columns: Sequence[str], wanted: Iterable[tuple[str, str]], *,
                 flush_interval_s: float = SAVE_INTERVAL_S) -> None:
        self.folder = folder
        self.columns = tuple(columns)
        order = sorted(wanted, key=lambda w: (w[1], w[0]))
        self._parts = [_Part([i for i, _ in c], {i for i, _ in c})
                       for c in chunk(order, lambda w: w[1], groups_per_chunk=GROUPS_PER_PART, max_items=MAX_ROWS)]
        self._part_of = {i: part for part in self._parts for i in part.ids}
        self.keep: set[str] = set()
        self.written = 0
        self._journal: str | None = None
        self._unwritten: dict[str, Row] = {}
        self.flush_interval_s = flush_interval_s
        self._next_flush = time.monotonic() + flush_interval_s

    def __enter__(self) -> PartSync:
        return self

    def __exit__(self, kind, err, tb) -> None:
        if kind is not None:
            with contextlib.suppress(OSError):  # the original error matters more than a failed save
                self.flush()

    def put(self, row: Row) -> None:
        """Hand over a sample's row; writes its part when that completes it."""
        self._unwritten[row.id] = row
        part = self._part_of[row.id]
        part.rows.append(row)
        self._resolve(part, row.id)
        if self._unwritten and time.monotonic() >= self._next_flush:
            self.flush()

    def drop(self, sample_id: str) -> None:
        """The sample failed: its part is written without it."""
        self._resolve(self._part_of[sample_id], sample_id)

    def _resolve(self, part: _Part, sample_id: str) -> None:
        part.pending.discard(sample_id)
        if part.pending:
            return
        if part.rows:
            name, wrote = _write_part(self.folder, _rows(self.columns, part.rows))
            self.keep.add(name)
            self.written += wrote
        for row in part.rows:
            self._unwritten.pop(row.id, None)
        part.rows = []

    def flush(self) -> None:
        """Save the rows of parts not yet complete as one journal part (replacing the last one)."""
        old = self._journal
        self._journal = (_write_part(self.folder, _rows(self.columns, list(self._unwritten.values())))[0]
                         if self._unwritten else None)
        if old and old != self._journal and old not in self.keep:
            (self.folder / old).unlink(missing_ok=True)
        self._next_flush = time.monotonic() + self.flush_interval_s

    def finish(self) -> tuple[int, int]:
        """Check every part was written; delete journal and stale parts. ``(written, removed)``."""
        left = [i for part in self._parts for i in part.pending]
        if left:
            raise RuntimeError(f"feature parts: {len(left)} samples never resolved, e.g. {left[0]}")
        self.folder.mkdir(parents=True, exist_ok=True)
        removed = 0
        for path in sorted(self.folder.iterdir()):
            if path.is_file() and path.name not in self.keep and (
                    path.name.startswith((PREFIX + "-", TMP_PREFIX)) or path.suffix == ".json"):
                path.unlink()
                removed += 1
        return self.written, removed


def _readable_parts(folder: Path, columns: Sequence[str] | None) -> Iterator[tuple[Any, tuple[str, ...]]]:
    """The readable parts of ``folder`` (``pyarrow.parquet.ParquetFile``), one at a time, with their
    feature columns.

    A part that cannot be read, whose bytes no longer hash to its name, or
    whose feature columns differ from ``columns`` (when given; else from the
    first readable part's) is left out. Each part's bytes are read when the
    caller asks for the part and let go when it asks for the next, so at most
    one part (a few MB) is held whatever the table's size.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    names: tuple[str, ...] | None = tuple(columns) if columns is not None else None
    for path in part_files(folder):
        try:
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest()[:16] != path.stem.removeprefix(PREFIX + "-"):
                continue  # edited or torn since it was written: its rows count as not extracted
            # ParquetFile, not read_table: read_table imports pyarrow.dataset and pandas (0.6 s a process)
            part = pq.ParquetFile(pa.BufferReader(data))
            all_names = tuple(part.schema_arrow.names)
        except (OSError, ValueError):
            continue
        if all_names[: len(META_COLUMNS)] != META_COLUMNS:
            continue
        feature_names = all_names[len(META_COLUMNS):]
        if names is None:
            names = feature_names
        if feature_names == names:
            yield part, names
        del data, part


def table_columns(folder: Path) -> tuple[str, ...] | None:
    """The feature columns of the table in ``folder`` (its first readable part's); ``None`` when it has none."""
    for _, names in _readable_parts(folder, None):
        return names
    return None


# Feature columns decoded at once by iter_part_rows: pyarrow's buffers for a whole 170-column part
# cost about 25 MB more at the peak than for 32 columns at a time.
COLUMNS_PER_READ = 32


def _read_matrix(part: Any, names: Sequence[str], n_rows: int) -> np.ndarray:
    """The float64 feature matrix of a part, decoded ``COLUMNS_PER_READ`` columns at a time."""
    X = np.empty((n_rows, len(names)), dtype=np.float64)
    for start in range(0, len(names), COLUMNS_PER_READ):
        batch = list(names[start:start + COLUMNS_PER_READ])
        table = part.read(columns=batch, use_threads=False)
        for j, name in enumerate(batch):
            X[:, start + j] = table.column(name).to_numpy()
        del table
    return X


def iter_part_rows(folder: Path) -> Iterator[tuple[list[str], np.ndarray, tuple[str, ...]]]:
    """Each readable part's ids, its float64 feature matrix and the column names, a part at a time.

    The parts of :func:`read_parts`, in the same order, for readers that need
    every row but not all at once (the export); a part that cannot be read is
    skipped as there.
    """
    for part, names in _readable_parts(folder, None):
        try:
            ids = part.read(columns=["id"], use_threads=False).column("id").to_pylist()
            X = _read_matrix(part, names, len(ids))
        except (OSError, ValueError):
            continue
        yield ids, X, names


def iter_parts(folder: Path, columns: Sequence[str] | None = None) -> Iterator[FeatureRows]:
    """The rows of each readable part of ``folder``, a part at a time, in the part's own order.

    The rows :func:`read_parts` would return (with ``unique=False``), part by
    part: a reader that looks at each row once (the features stage reusing
    its previous rows) holds one part, a few MB, instead of the table.
    """
    for part, names in _readable_parts(folder, columns):
        try:
            table = part.read(columns=list(META_COLUMNS), use_threads=False)
            text = {c: table.column(c).to_pylist() for c in META_COLUMNS}
            del table
            X = _read_matrix(part, names, len(text["id"]))
        except (OSError, ValueError):
            continue
        yield FeatureRows(text["id"], text["group"], text["kind"], text["sha256"], text["feature_key"],
                          text["flags"], text["mode"], text["details"], names, np.asarray(X, dtype=np.float64))


def read_parts(folder: Path, columns: Sequence[str] | None = None, *, unique: bool = True) -> FeatureRows:
    """Every row of every readable part in ``folder``, sorted by id (once per id unless ``unique`` is false).

    A part that cannot be read, whose bytes no longer hash to its name, or
    whose feature columns differ from ``columns`` (when given), is skipped:
    its samples count as not extracted.
    """
    names: tuple[str, ...] | None = tuple(columns) if columns is not None else None
    tables = []
    for part, part_names in _readable_parts(folder, columns):
        names = part_names
        try:
            tables.append(part.read())
        except (OSError, ValueError):
            continue
    if not tables:
        return FeatureRows.empty(names or ())
    ids = [i for t in tables for i in t.column("id").to_pylist()]
    text = {c: [v for t in tables for v in t.column(c).to_pylist()] for c in META_COLUMNS if c != "id"}
    X = np.vstack([np.column_stack([t.column(c).to_numpy() for c in names]) if names else
                   np.zeros((t.num_rows, 0)) for t in tables])
    rows = FeatureRows(ids, text["group"], text["kind"], text["sha256"], text["feature_key"], text["flags"],
                       text["mode"], text["details"], names, np.asarray(X, dtype=np.float64))
    order = sorted(range(len(ids)), key=ids.__getitem__)
    if not unique:
        return rows.take(order)
    # A run killed between writing new parts and deleting old ones leaves a row twice: keep one.
    return rows.take([i for n, i in enumerate(order) if n == 0 or ids[i] != ids[order[n - 1]]])


def read_columns(folder: Path, select: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Sample ids (sorted, once each) and only the ``select`` feature columns of the parts' rows.

    The same parts as :func:`read_parts`, read column by column: the
    validate stage needs three of 170 columns, and at 40,000 samples this
    is 1 MB instead of 54.
    """
    ids: list[str] = []
    blocks = []
    for part, names in _readable_parts(folder, None):
        missing = [c for c in select if c not in names]
        if missing:
            raise KeyError(f"feature table has no column {missing[0]!r}")
        try:
            table = part.read(columns=["id", *select])
        except (OSError, ValueError):
            continue
        ids.extend(table.column("id").to_pylist())
        blocks.append(np.column_stack([table.column(c).to_numpy() for c in select]) if select else
                      np.zeros((table.num_rows, 0)))
    X = np.vstack(blocks) if blocks else np.zeros((0, len(select)))
    order = sorted(range(len(ids)), key=ids.__getitem__)
    keep = [i for n, i in enumerate(order) if n == 0 or ids[i] != ids[order[n - 1]]]
    return [ids[i] for i in keep], np.asarray(X[keep], dtype=np.float64)
