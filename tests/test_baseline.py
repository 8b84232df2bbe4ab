"""Baseline model: trains on train rows only and scores val/test with accuracy and macro-F1."""
from __future__ import annotations

import numpy as np

from penta_core.baseline.model import train_and_score


def _table(n_per_class=40, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    ids, rows, labels = [], [], {}
    for c, label in enumerate(("a", "b", "c")):
        for k in range(n_per_class):
            sid = f"{label}{k:03d}"
            ids.append(sid)
            rows.append(np.r_[np.eye(3)[c] + rng.normal(0, noise, 3), rng.normal(0, 1, 2)])
            labels[sid] = label
    return ids, [f"f{i}" for i in range(5)], np.array(rows), labels


def _splits(ids):
    return {"train": [i for i in ids if int(i[1:]) < 28], "val": [i for i in ids if 28 <= int(i[1:]) < 34],
            "test": [i for i in ids if int(i[1:]) >= 34]}


def test_separable_labels_score_far_above_chance():
    ids, columns, X, labels = _table()
    metrics, pairs = train_and_score(ids, columns, X, _splits(ids), labels, seed=0)
    assert metrics["n_train"] == 84 and metrics["val"]["n"] == 18 and metrics["test"]["n"] == 18
    assert metrics["test"]["accuracy"] >= 0.9 and metrics["test"]["macro_f1"] >= 0.9
    assert metrics["chance_accuracy"] == round(1 / 3, 6)
    assert len(pairs) == 18 and sum(metrics["test"]["confusion"][a][a] for a in "abc") == sum(a == p for a, p in pairs)


def test_shuffled_labels_score_near_chance():
    ids, columns, X, labels = _table()
    shuffled = dict(zip(labels, np.random.default_rng(1).permutation(list(labels.values()))))
    metrics, _ = train_and_score(ids, columns, X, _splits(ids), shuffled, seed=0)
    assert metrics["test"]["accuracy"] < 0.7


def test_only_train_rows_are_fitted():
    ids, columns, X, labels = _table()
    splits = _splits(ids)
    poisoned = X.copy()
    test_rows = [ids.index(i) for i in splits["test"]]
    poisoned[test_rows] = 0.0
    clean, _ = train_and_score(ids, columns, X, splits, labels, seed=0)
    other, _ = train_and_score(ids, columns, poisoned, splits, labels, seed=0)
    assert clean["val"] == other["val"]  # changing test rows cannot change the model


def test_same_seed_same_scores():
    ids, columns, X, labels = _table(noise=0.8)
    first = train_and_score(ids, columns, X, _splits(ids), labels, 3)
    assert first == train_and_score(ids, columns, X, _splits(ids), labels, 3)


def test_one_label_in_train_is_reported_not_trained():
    ids, columns, X, labels = _table()
    metrics, pairs = train_and_score(ids, columns, X, {"train": ids[:10], "val": [], "test": []}, labels, 0)
    assert metrics["trained"] is False and pairs == [] and metrics["test"]["n"] == 0
