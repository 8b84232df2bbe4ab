"""Baseline model: trains on train rows only and scores val/test with accuracy and macro-F1."""
from __future__ import annotations

import numpy as np

from penta_core.baseline.model import capped_rows, train_and_score, train_score_predict
from penta_core.baseline.predictions import read_predictions, write_predictions


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


def test_every_row_gets_a_prediction_train_rows_out_of_bag():
    ids, columns, X, labels = _table()
    splits = _splits(ids)
    _, _, predictions = train_score_predict(ids, columns, X, splits, labels, seed=0)
    assert [p.id for p in predictions] == sorted(ids)
    source = {p.id: p.source for p in predictions}
    assert {source[i] for i in splits["train"]} == {"oob"} and {source[i] for i in splits["test"]} == {"forest"}
    assert all(0 < p.confidence <= 1 for p in predictions)


def test_out_of_bag_prediction_flags_a_mislabelled_train_row():
    ids, columns, X, labels = _table(noise=0.1)
    labels = dict(labels, a000="c")  # a clear "a" row labelled "c"
    _, _, predictions = train_score_predict(ids, columns, X, _splits(ids), labels, seed=0)
    flagged = next(p for p in predictions if p.id == "a000")
    assert flagged.label == "c" and flagged.predicted == "a"


def test_predictions_leave_the_scores_unchanged():
    ids, columns, X, labels = _table(noise=0.8)
    metrics, pairs, _ = train_score_predict(ids, columns, X, _splits(ids), labels, seed=3)
    assert (metrics, pairs) == train_and_score(ids, columns, X, _splits(ids), labels, 3)


def test_predictions_file_round_trips_byte_for_byte(layout):
    ids, columns, X, labels = _table()
    _, _, predictions = train_score_predict(ids, columns, X, _splits(ids), labels, seed=0)
    path = write_predictions(layout, predictions)
    first = path.read_bytes()
    assert list(read_predictions(layout).values()) == [
        type(p)(p.id, p.split, p.label, p.predicted, round(p.confidence, 6), p.source) for p in predictions]
    write_predictions(layout, train_score_predict(ids, columns, X, _splits(ids), labels, seed=0)[2])
    assert path.read_bytes() == first


def test_max_train_rows_fits_on_a_seeded_subset_and_says_so():
    ids, columns, X, labels = _table()
    splits = _splits(ids)
    capped, _, predictions = train_score_predict(ids, columns, X, splits, labels, seed=0, max_train_rows=10)
    full, _ = train_and_score(ids, columns, X, splits, labels, seed=0)
    assert (capped["n_train"], capped["n_train_available"]) == (10, full["n_train"])
    assert full["n_train"] == full["n_train_available"] > 10
    kept = capped_rows(splits["train"], 10, seed=0)
    assert kept == capped_rows(splits["train"], 10, seed=0) != capped_rows(splits["train"], 10, seed=1)
    assert set(capped_rows(splits["train"] + ["zz_new"], 10, seed=0)) - {"zz_new"} <= set(kept)
    # rows left out of the fit are unseen: the whole forest predicts them, never out-of-bag
    by_id = {p.id: p for p in predictions}
    assert all(by_id[sid].source == "forest" for sid in set(splits["train"]) - set(kept))
    assert {by_id[sid].source for sid in kept} == {"oob"}
