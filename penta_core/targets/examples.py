"""Reading what the targets stage packed: its index, and the labels and examples of one sample.

The stage writes one JSON member per sample into tar shards under
``processed/targets/`` (``<model>-<digest>.tar`` with a ``.json`` catalogue
beside each) and ``index/targets.json``, which names each sample's shard and
member. A member holds ``{"id", "labels", "examples"}``.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from penta_core.core.errors import MissingInput
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.store.access import sample_bytes

TARGETS_DIR = "processed/targets"


def vocabulary_path(layout: DatasetLayout, model: str):
    """Where the examples' vocabulary of ``model`` is written (once per dataset, beside the shards)."""
    return layout.abs(TARGETS_DIR) / f"vocabulary-{model}.json"


def load_targets_index(layout: DatasetLayout) -> dict[str, Any]:
    """``index/targets.json``; :class:`MissingInput` naming the stage to run when it is absent."""
    path = layout.index("targets")
    if not path.exists():
        raise MissingInput(f"{path} does not exist; run the targets stage first")
    return read_json(path)


def read_derived(layout: DatasetLayout, record: dict[str, Any]) -> dict[str, Any]:
    """The member of one sample (``{"id", "labels", "examples"}``) from its ``index/targets.json`` record."""
    return json.loads(sample_bytes(layout, record))


def derived_in(layout: DatasetLayout, index: dict[str, Any], ids: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(id, member)`` for each of ``ids`` whose labels were derived, in the order given."""
    samples = index.get("samples", {})
    for sample_id in ids:
        record = samples.get(sample_id)
        if record and record.get("status") == "ok":
            yield sample_id, read_derived(layout, record)
