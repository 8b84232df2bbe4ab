"""The synthesize step: rule-based emotion-labelled pieces."""
from __future__ import annotations

from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.synth.pieces import synthesize


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    s = synthesize(layout, params)
    if not s["planned"]:
        return ["synthesis off (synthesize.count: 0): no synthetic samples"]
    per_label = ", ".join(f"{k} {v}" for k, v in s["per_label"].items())
    return [(f"synthesized {s['planned'] - s['failed']} pieces ({per_label}); "
            f"{s['generated']} generated, {s['reused']} kept from the last run, {s['failed']} failed")]
