"""Baseline model: the dataset's health check.

A random forest trained on the train split's feature rows, scored on val and
test with accuracy and macro-F1. A version whose augmentation or synthesis
helps should score better here than the version before it.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from penta_core.baseline.predictions import Prediction, predict_rows
from penta_core.core.io import atomic_write_text, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs

N_TREES = 200


def capped_rows(train_ids: list[str], max_rows: int | None, seed: int) -> list[str]:
    """At most ``max_rows`` of ``train_ids`` (in their order): those whose seeded hash is smallest.

    The choice depends only on each id and the seed, so adding rows to a version
    changes the kept set only where a new row hashes below the cut.
    """
    if max_rows is None or len(train_ids) <= max_rows:
        return train_ids
    rank = sorted(train_ids, key=lambda sid: hashlib.sha256(f"{seed}\0{sid}".encode()).digest())
    keep = set(rank[:max_rows])
    return [sid for sid in train_ids if sid in keep]


def _rows(ids: list[str], X: np.ndarray, wanted: list[str], labels: dict[str, str]) -> tuple[np.ndarray, list[str]]:
    position = {sid: i for i, sid in enumerate(ids)}
    keep = [sid for sid in wanted if sid in position and labels.get(sid)]
    return X[[position[sid] for sid in keep]], [labels[sid] for sid in keep]


def train_and_score(ids: list[str], columns: list[str], X: np.ndarray, splits: dict[str, list[str]],
                    labels: dict[str, str], seed: int, max_train_rows: int | None = None
                    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Fit on ``splits["train"]``; return metrics and ``(actual, predicted)`` pairs of the test split.

    Parameters
    ----------
    ids, columns, X : the feature table (rows in ``ids`` order); ``X`` an array or a
        :class:`~penta_core.features.table.FeatureRowsFile` (rows read on demand).
    splits : split name → sample ids.
    labels : sample id → label (unlabelled samples are skipped).
    seed : the forest's ``random_state``.
    max_train_rows : fit on at most this many labelled train rows (:func:`capped_rows`); ``None``: all.
        Full-depth trees grow with their rows, so the cap bounds the stage's memory and time.
    """
    metrics, pairs, _ = train_score_predict(ids, columns, X, splits, labels, seed, max_train_rows)
    return metrics, pairs


def train_score_predict(ids: list[str], columns: list[str], X: np.ndarray, splits: dict[str, list[str]],
                        labels: dict[str, str], seed: int, max_train_rows: int | None = None
                        ) -> tuple[dict[str, Any], list[tuple[str, str]], list[Prediction]]:
    """:func:`train_and_score`, plus the model's prediction for every row of the table.

    Train rows the forest was fitted on get their out-of-bag prediction (from the
    trees that never saw them), the others the whole forest's; see
    :mod:`penta_core.baseline.predictions`.
    """
    known = set(ids)
    available = [sid for sid in splits["train"] if sid in known and labels.get(sid)]
    train_ids = capped_rows(available, max_train_rows, seed)  # the rows of X_train, in order
    X_train, y_train = _rows(ids, X, train_ids, labels)
    metrics: dict[str, Any] = {"n_train": len(y_train), "n_train_available": len(available),
                               "n_features": len(columns), "classes": len(set(y_train)),
                               "trained": len(set(y_train)) >= 2}
    pairs: list[tuple[str, str]] = []
    if not metrics["trained"]:
        for name in ("val", "test"):
            metrics[name] = {"n": 0, "accuracy": 0.0, "macro_f1": 0.0}
        return metrics, pairs, []
    # scikit-learn (and scipy behind it) costs about a second to import: only training pays it.
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    # oob_score only adds the out-of-bag pass after fitting: the trees, and so the scores, are unchanged.
    # Every core: each tree's seed is drawn from random_state before any is built, so the
    # forest is the same whatever the number of jobs.
    model = RandomForestClassifier(n_estimators=N_TREES, random_state=seed, n_jobs=n_jobs(0),
                                   class_weight="balanced", oob_score=True)
    model.fit(X_train, y_train)
    for name in ("val", "test"):
        X_eval, y_eval = _rows(ids, X, splits[name], labels)
        if not y_eval:
            metrics[name] = {"n": 0, "accuracy": 0.0, "macro_f1": 0.0}
            continue
        predicted = model.predict(X_eval)
        metrics[name] = {
            "n": len(y_eval),
            "accuracy": round(float(accuracy_score(y_eval, predicted)), 6),
            "macro_f1": round(float(f1_score(y_eval, predicted, average="macro", zero_division=0)), 6),
        }
        if name == "test":
            pairs = list(zip(y_eval, (str(p) for p in predicted)))
            classes = sorted(set(y_train) | set(y_eval))
            metrics["test"]["confusion"] = {
                actual: dict(zip(classes, (int(v) for v in row)))
                for actual, row in zip(classes, confusion_matrix(y_eval, predicted, labels=classes))
            }
    counts = {c: y_train.count(c) for c in set(y_train)}
    metrics["chance_accuracy"] = round(max(counts.values()) / len(y_train), 6)
    return metrics, pairs, predict_rows(model, ids, X, train_ids, splits, labels)


def write_baseline(layout: DatasetLayout, metrics: dict[str, Any], pairs: list[tuple[str, str]]) -> None:
    write_json(layout.metrics_dir / "baseline.json", metrics)
    atomic_write_text(layout.metrics_dir / "plots" / "confusion.csv",
                      "actual,predicted\n" + "".join(f"{a},{p}\n" for a, p in pairs))


def summary_line(metrics: dict[str, Any]) -> str:
    """The baseline's scores in one line."""
    if not metrics["trained"]:
        return f"baseline: not trained, the train split holds {metrics['classes']} label(s)"
    rows = (f"{metrics['n_train']} train rows" if metrics["n_train"] == metrics["n_train_available"]
            else f"{metrics['n_train']} of {metrics['n_train_available']} train rows, baseline.max_train_rows")
    return (f"baseline ({rows}, chance {metrics['chance_accuracy']:.2f}): "
            + "; ".join(f"{name} accuracy {metrics[name]['accuracy']:.3f}, macro-F1 {metrics[name]['macro_f1']:.3f} "
                        f"(n={metrics[name]['n']})" for name in ("val", "test")))
