"""The baseline step: a random forest on the train split's features, scored on val and test."""
from __future__ import annotations

from typing import Any

from penta_core.baseline.model import summary_line, train_score_predict, write_baseline
from penta_core.baseline.predictions import write_predictions
from penta_core.core.layout import DatasetLayout
from penta_core.features.table import load_feature_table
from penta_core.manifest.load import load_manifest
from penta_core.splits.lists import read_splits


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    ids, columns, X = load_feature_table(layout)
    labels = {s["id"]: s["label"] for s in load_manifest(layout)["samples"]}
    metrics, pairs, predictions = train_score_predict(ids, columns, X, read_splits(layout), labels, params["seed"])
    write_baseline(layout, metrics, pairs)
    write_predictions(layout, predictions)
    return [summary_line(metrics)]
