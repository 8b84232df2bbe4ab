"""The baseline's prediction and confidence for every sample, for the annotation queue.

``metrics/predictions.csv`` has one row per row of the feature table, sorted
by id: the sample's split, its label, the predicted label and the predicted
probability of that label (``confidence``). A train row's prediction comes
from the trees whose bootstrap sample left it out (out-of-bag), so a label the
rest of the data contradicts shows up as a disagreement rather than being
memorised; every other row is predicted by the whole forest.
"""
from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from penta_core.core.io import atomic_write_text
from penta_core.core.layout import DatasetLayout

COLUMNS = ("id", "split", "label", "predicted", "confidence", "source")
# Rows predicted at once: each row's probabilities do not depend on the others in its batch.
PREDICT_BATCH = 4096


@dataclass(frozen=True)
class Prediction:
    id: str
    split: str
    label: str
    predicted: str
    confidence: float
    source: str  # "oob" (train rows) or "forest"


def predict_rows(model, ids: list[str], X: np.ndarray, train_ids: list[str], splits: dict[str, list[str]],
                 labels: dict[str, str | None]) -> list[Prediction]:
    """A :class:`Prediction` per row of ``X``, sorted by id.

    Parameters
    ----------
    model : a fitted ``RandomForestClassifier`` built with ``oob_score=True`` on the rows of ``train_ids``.
    ids, X : the feature table (an array, or anything whose ``X[rows]`` gives those rows as one,
        such as :class:`~penta_core.features.table.FeatureRowsFile`).
    train_ids : the ids of the rows the model was fitted on, in fitting order.
    splits : split name → sample ids (a sample in none has split ``""``).
    labels : sample id → label or ``None``.
    """
    classes = [str(c) for c in model.classes_]
    proba = np.zeros((len(ids), len(classes)))
    for start in range(0, len(ids), PREDICT_BATCH):  # a batch of rows in memory at a time (X may be on disk)
        stop = min(start + PREDICT_BATCH, len(ids))
        proba[start:stop] = model.predict_proba(X[range(start, stop)])
    position = {sid: i for i, sid in enumerate(ids)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows in every bootstrap sample have no OOB vote: NaN, handled below
        oob = np.asarray(model.oob_decision_function_, dtype=float)
    source = ["forest"] * len(ids)
    for row, sid in enumerate(train_ids):
        if np.isfinite(oob[row]).all() and oob[row].sum() > 0:
            proba[position[sid]] = oob[row]
            source[position[sid]] = "oob"
    split_of = {sid: name for name, members in splits.items() for sid in members}
    out = []
    for sid in sorted(ids):
        row = proba[position[sid]]
        best = int(np.argmax(row))
        out.append(Prediction(sid, split_of.get(sid, ""), labels.get(sid) or "", classes[best],
                              round(float(row[best]), 6), source[position[sid]]))
    return out


def write_predictions(layout: DatasetLayout, predictions: list[Prediction]) -> Path:
    """``metrics/predictions.csv`` (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in predictions:
        writer.writerow((p.id, p.split, p.label, p.predicted, f"{p.confidence:.6f}", p.source))
    return atomic_write_text(layout.metrics_dir / "predictions.csv", buffer.getvalue())


def read_predictions(layout: DatasetLayout) -> dict[str, Prediction]:
    """Sample id → :class:`Prediction` from ``metrics/predictions.csv`` (empty when the file is absent)."""
    path = layout.metrics_dir / "predictions.csv"
    if not path.exists():
        return {}
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["id"]: Prediction(row["id"], row["split"], row["label"], row["predicted"],
                                      float(row["confidence"]), row["source"])
                for row in csv.DictReader(handle)}
