"""The baseline step: the target model's baseline, scored on val and test (metrics/baseline.json).

The emotion recognizer's is a random forest on the feature table; the
harmony predictor's and the melody transformer's are next-chord and
next-pitch predictors on their examples (:mod:`penta_core.targets`).
"""
from __future__ import annotations

from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.targets.model import load_model


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    return load_model(params["dataset"]["target_model"]).baseline(params, layout)
