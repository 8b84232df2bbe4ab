"""The training table: every extracted sample's feature row, read from the Parquet parts.

:func:`load_feature_table` returns it in memory (170 float64 values, 1.4 KB a
sample); :class:`FeatureRowsFile` keeps the rows in an unnamed temporary file
and reads each back on demand, for the stages whose memory must not grow with
the samples (export, baseline).
"""
from __future__ import annotations

import bisect
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from penta_core.core.errors import MissingInput
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.features.parts import iter_part_rows, part_files, read_columns, read_parts


def has_feature_table(layout: DatasetLayout) -> bool:
    """Whether the features stage has written the table of ``layout``."""
    return layout.index("features").exists()


def load_feature_table(layout: DatasetLayout, columns: Sequence[str] | None = None
                       ) -> tuple[list[str], list[str], np.ndarray]:
    """The table written by :func:`~penta_core.features.extract.extract_features`.

    Parameters
    ----------
    layout : the dataset.
    columns : read only these feature columns (all when ``None``); a name the table lacks is a ``KeyError``.

    Returns
    -------
    ids : sample ids, sorted, one per row (samples whose extraction failed are absent).
    columns : column names (docs/features.md), one per column.
    X : float64 array of shape ``(len(ids), len(columns))``, finite everywhere.

    Raises
    ------
    MissingInput : the table has not been written yet.

    Example
    -------
    >>> ids, columns, X = load_feature_table(layout)  # doctest: +SKIP
    >>> X[:, columns.index("tempo_bpm")]  # doctest: +SKIP
    """
    if not has_feature_table(layout):
        raise MissingInput(f"{layout.index('features')} does not exist; run the features stage first")
    if not part_files(layout.features_dir):
        names = list(columns) if columns is not None else read_json(layout.index("features"))["columns"]
        return [], list(names), np.zeros((0, len(names)))
    if columns is not None:
        ids, X = read_columns(layout.features_dir, list(columns))
        return ids, list(columns), X
    rows = read_parts(layout.features_dir)
    return rows.ids, list(rows.columns), rows.X


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
        for part_ids, X, part_names in iter_part_rows(layout.features_dir):
            names = part_names
            stored.extend(part_ids)
            self._file.write(np.ascontiguousarray(X, dtype="<f8").tobytes())
            del X
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

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ids), len(self.columns)

    def __getitem__(self, rows: Sequence[int]) -> np.ndarray:
        """Rows ``rows`` as one float64 array: ``rows_file[[3, 1]]`` as ``X[[3, 1]]`` of the table in memory."""
        out = np.empty((len(rows), len(self.columns)), dtype=np.float64)
        for k, i in enumerate(rows):
            out[k] = self.row(i)
        return out

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FeatureRowsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
