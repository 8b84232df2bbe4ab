"""The splits step: leak-free, label-stratified, stable train/val/test lists of sample ids."""
from __future__ import annotations

from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.manifest.load import load_manifest
from penta_core.splits.assign import make_splits
from penta_core.splits.lists import write_splits


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    result = make_splits(load_manifest(layout)["samples"], params["split"], params["seed"])
    write_splits(layout, result)
    counts = ", ".join(f"{name} {len(result[name])}" for name in ("train", "val", "test"))
    left_out = ", ".join(f"{k} {v}" for k, v in result["excluded"].items()) or "none"
    return [f"splits: {counts}; left out: {left_out}"]
