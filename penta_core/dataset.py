"""Load a built dataset version for training: features, labels and splits in one call."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from penta_core.core.errors import ParamError
from penta_core.core.layout import DatasetLayout
from penta_core.features.table import load_feature_table
from penta_core.manifest.load import load_manifest
from penta_core.splits.lists import SPLITS, read_splits


@dataclass(frozen=True)
class SplitData:
    """One split: ``X[i]`` is the feature row of sample ``ids[i]`` with label ``y[i]``."""

    ids: list[str]
    X: np.ndarray
    y: np.ndarray
    columns: list[str]


def load_split(dataset_dir: str | Path, split: str = "train") -> SplitData:
    """Feature rows and labels of one split of a built dataset.

    Parameters
    ----------
    dataset_dir : the dataset folder, e.g. ``datasets/emotion_dataset_v1``.
    split : ``train``, ``val`` or ``test``.

    Returns
    -------
    SplitData : ids in split order (sorted), a float64 matrix, labels as strings,
        and the column names. Samples without features (extraction failed) are left out.

    Example
    -------
    >>> train = load_split("datasets/emotion_dataset_v1", "train")  # doctest: +SKIP
    >>> model.fit(train.X, train.y)  # doctest: +SKIP
    """
    if split not in SPLITS:
        raise ParamError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    layout = DatasetLayout(Path(dataset_dir))
    ids, columns, X = load_feature_table(layout)
    row = {sid: i for i, sid in enumerate(ids)}
    labels = {s["id"]: s["label"] for s in load_manifest(layout)["samples"]}
    chosen = [sid for sid in read_splits(layout)[split] if sid in row]
    return SplitData(
        ids=chosen,
        X=X[[row[sid] for sid in chosen]] if chosen else np.zeros((0, len(columns))),
        y=np.array([labels[sid] for sid in chosen], dtype=str),
        columns=columns,
    )


def load_examples(dataset_dir: str | Path, split: str = "train") -> list[tuple[str, dict]]:
    """The target model's labels and examples for one split: ``(sample id, {"labels", "examples"})`` each.

    For a model whose examples the targets stage writes (the harmony
    predictor, the melody transformer, the groove predictor, the dynamics
    engine); indices (chords, styles, voices) point into
    ``processed/targets/vocabulary-<model>.json``. Samples whose labels could
    not be derived are left out.

    Example
    -------
    >>> for sample_id, member in load_examples("datasets/pop_chords", "train"):  # doctest: +SKIP
    ...     for example in member["examples"]:
    ...         inputs, target = (example["key"], example["previous"], example["melody"]), example["next"]
    """
    from penta_core.targets.examples import derived_in, load_targets_index

    if split not in SPLITS:
        raise ParamError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    layout = DatasetLayout(Path(dataset_dir))
    return list(derived_in(layout, load_targets_index(layout), read_splits(layout)[split]))
