"""Read a built ``manifest.json``."""
from __future__ import annotations

from typing import Any

from penta_core.core.errors import MissingInput
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout


def load_manifest(layout: DatasetLayout) -> dict[str, Any]:
    """The manifest of ``layout``; :class:`MissingInput` naming the steps to run when there is none."""
    if not layout.manifest.exists():
        raise MissingInput(f"{layout.manifest} does not exist; run the import and manifest steps first")
    return read_json(layout.manifest)
