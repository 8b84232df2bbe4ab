"""The export step: each split as Parquet, WebDataset shards and (optionally) LMDB, and the dataset card."""
from __future__ import annotations

from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.export.build import export_dataset


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    report = export_dataset(layout, params)
    counts = ", ".join(f"{split} {n}" for split, n in report["counts"].items())
    rebuilt = ", ".join(f"{fmt} {split}" for fmt, split in report["rebuilt"]) or "nothing"
    lines = [
        f"exported {counts} samples as {', '.join(params['export']['formats'])} to {layout.rel(report['folder'])}",
        (f"  rewritten: {rebuilt} ({report['files_written']} files written); "
        f"{len(report['kept'])} unchanged exports kept"),
    ]
    if report["removed"]:
        lines.append(f"  removed {report['removed']} stale files")
    return lines
