"""The create step: the dataset folder structure and config.json (the params that build it)."""
from __future__ import annotations

from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.create.structure import create_structure, write_config


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    missing = create_structure(layout)
    write_config(layout, params)
    made = f"created {len(missing)} folders" if missing else "structure already complete"
    return [f"dataset {layout.root}: {made}, config.json written"]
