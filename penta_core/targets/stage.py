"""The targets step: labels and examples of ``dataset.target_model`` (see :mod:`penta_core.targets.build`)."""
from __future__ import annotations

from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.targets.build import build_targets


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    report = build_targets(layout, params)
    s = report["summary"]
    model = params["dataset"]["target_model"]
    if not report["derives"]:
        return [(f"{model}: labels from folder names (annotate stage), examples are the feature table rows; "
                 "nothing to derive")]
    lines = [(f"{model}: labels for {s['derived']} samples ({s['annotated']} from annotation files), "
              f"{s['examples']} examples; {report['generated']} derived, {report['reused']} kept from the last run, "
              f"{s['failed']} failed"),
             f"  {s['shards']} shards in processed/targets"]
    if report["removed"]:
        lines.append(f"  removed {report['removed']} stale files from processed/targets")
    lines += [f"  failed {f['id']}: {f['reason']}" for f in report["failed"][:20]]
    if len(report["failed"]) > 20:
        lines.append(f"  ... and {len(report['failed']) - 20} more in {layout.rel(layout.index('targets'))}")
    return lines
