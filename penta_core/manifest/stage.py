"""The manifest step: merge every stage's record under index/ into manifest.json."""
from __future__ import annotations

from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.manifest.build import build_manifest


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    m = build_manifest(layout, params)
    origins = ", ".join(f"{k} {v}" for k, v in m["summary"]["per_origin"].items()) or "empty"
    return [f"manifest.json: {m['summary']['total']} samples ({origins})"]
