"""The feature table's rows for the export, kept on disk and read back a row at a time.

The export writes each split in its own order (by id for Parquet and LMDB,
by a seeded hash for WebDataset), so it needs any row of the table on
demand. Holding the table costs 1.4 KB a sample (170 float64 values); here
the rows are copied once, part by part, into an unnamed temporary file
(deleted by the system when closed, or when the process dies), and each
record reads its 1.4 KB back. What stays in memory is the sorted ids and one
integer a row.
"""
from __future__ import annotations

import bisect
import os
import tempfile
from pathlib import Path

import numpy as np

from penta_core.core.errors import MissingInput
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.features.parts import iter_part_tables, part_files
from penta_core.features.table import has_feature_table


class FeatureRowsFile:
    """The rows :func:`~penta_core.features.table.load_feature_table` would return, on disk.

    ``ids`` are sorted, once each (a row stored twice keeps its first copy, as
    the table reader does); :meth:`row` returns the float64 row of ``ids[i]``.
    Use as a context manager, or call :meth:`close`.

    Raises
    ------
    MissingInput : the features stage has not written the table.
    """

    def __init__(self, layout: DatasetLayout, scratch: Path | None = None) -> None:
        if not has_feature_table(layout):
            raise MissingInput(f"{layout.index('features')} does not exist; run the features stage first")
        folder = scratch or layout.root
        folder.mkdir(parents=True, exist_ok=True)
        self._file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (kept open until close())
        self.columns: list[str] = []
        stored: list[str] = []  # ids in the order their rows were appended to the file
        names: tuple[str, ...] | None = None
        for table, names in iter_part_tables(layout.features_dir):
            stored.extend(table.column("id").to_pylist())
            X = np.column_stack([table.column(c).to_numpy() for c in names]) if names else \
                np.zeros((table.num_rows, 0))
            self._file.write(np.ascontiguousarray(X, dtype="<f8").tobytes())
            del table, X
        self._file.flush()
        if names is None and not part_files(layout.features_dir):
            names = tuple(read_json(layout.index("features"))["columns"])
        self.columns = list(names or ())
        self._width = 8 * len(self.columns)
        order = sorted(range(len(stored)), key=stored.__getitem__)
        keep = [i for n, i in enumerate(order) if n == 0 or stored[i] != stored[order[n - 1]]]
        self.ids: list[str] = [stored[i] for i in keep]
        self._at = np.asarray(keep, dtype=np.int64)

    def position(self, sample_id: str) -> int | None:
        """The row of ``sample_id``, or ``None`` when the table has none (its extraction failed)."""
        i = bisect.bisect_left(self.ids, sample_id)
        return i if i < len(self.ids) and self.ids[i] == sample_id else None

    def row(self, i: int) -> np.ndarray:
        """Row ``i`` (float64, read-only)."""
        data = os.pread(self._file.fileno(), self._width, int(self._at[i]) * self._width)
        return np.frombuffer(data, dtype="<f8")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FeatureRowsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
