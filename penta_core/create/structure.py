"""Create a dataset's folder structure and its ``config.json``."""
from __future__ import annotations

from typing import Any

from penta_core import __version__
from penta_core.core.io import write_json
from penta_core.core.layout import STRUCTURE_DIRS, DatasetLayout
from penta_core.core.params import RUNTIME_GROUPS


def write_config(layout: DatasetLayout, params: dict[str, Any]) -> dict[str, Any]:
    """Record the parameters that build this dataset version in ``config.json``.

    Groups that only decide where the work runs (``engine``) are left out: a
    build on a cluster writes the same config.json as one on a laptop.
    """
    params = {group: value for group, value in params.items() if group not in RUNTIME_GROUPS}
    config = {
        "dataset": params["dataset"]["name"],
        "target_model": params["dataset"]["target_model"],
        "penta_core_version": __version__,
        "params": params,
    }
    write_json(layout.config, config)
    return config


def create_structure(layout: DatasetLayout) -> list[str]:
    """Make the dataset layout's folders; return the ones that were missing."""
    missing = layout.missing_dirs()
    for rel in STRUCTURE_DIRS:
        layout.abs(rel).mkdir(parents=True, exist_ok=True)
    return missing
