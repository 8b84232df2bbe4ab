"""The training table: every extracted sample's feature row, read from the Parquet parts."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from penta_core.core.errors import MissingInput
from penta_core.core.layout import DatasetLayout
from penta_core.features.parts import part_files, read_columns, read_parts


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
        from penta_core.core.io import read_json

        names = list(columns) if columns is not None else read_json(layout.index("features"))["columns"]
        return [], list(names), np.zeros((0, len(names)))
    if columns is not None:
        ids, X = read_columns(layout.features_dir, list(columns))
        return ids, list(columns), X
    rows = read_parts(layout.features_dir)
    return rows.ids, list(rows.columns), rows.X
