"""The training table: ``processed/features.npz`` (ids, columns, X), written deterministically."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from penta_core.core.errors import MissingInput
from penta_core.core.io import atomic_write_bytes
from penta_core.core.layout import DatasetLayout

TABLE_NAME = "features.npz"


def table_path(layout: DatasetLayout) -> Path:
    """``processed/features.npz`` of ``layout``."""
    return layout.features_dir.parent / TABLE_NAME


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """``numpy.savez`` with fixed zip timestamps, so equal arrays give equal bytes; atomic."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(array), allow_pickle=False)
    return atomic_write_bytes(path, buffer.getvalue())


def load_feature_table(layout: DatasetLayout) -> tuple[list[str], list[str], np.ndarray]:
    """The consolidated table written by :func:`extract_features`.

    Parameters
    ----------
    layout : the dataset.

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
    path = table_path(layout)
    if not path.exists():
        raise MissingInput(f"{path} does not exist; run the features stage first")
    with np.load(path, allow_pickle=False) as data:
        return [str(i) for i in data["ids"]], [str(c) for c in data["columns"]], np.array(data["X"], dtype=np.float64)
