"""The fetch step: download, verify and extract the sources ``dataset.source(s)`` names."""
from __future__ import annotations

from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.fetch.sources import fetch_sources


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    report = fetch_sources(params, layout)
    if not report.sources and report.labels is None:
        return [(f"no dataset.source(s) named: the import reads {params['dataset']['source_dir']} "
                 f"({layout.rel(layout.sources_dir)} left empty)")]
    lines = []
    for s in report.sources:
        how = "downloaded" if s["url"] in report.downloaded else "verified"
        what = (f"{s['files']} files extracted ({s['bytes'] / 2**20:.1f} MB, x{s['ratio']:g} its size"
                + (f", {s['links_skipped']} links skipped" if s.get("links_skipped") else "")
                + (f", {s['special_skipped']} special files skipped" if s.get("special_skipped") else "") + ")"
                if s["kind"] == "archive" else f"{s['files']} files copied" if s["kind"] == "folder"
                else "1 file kept")
        lines.append(f"fetched {s['name']} ({s['kind']}, {how}, sha256 {s['sha256'][:12]}): {what}")
    if report.labels is not None:
        lines.append(f"fetched labels {report.labels['url']} into {report.labels['path']}")
    return lines
