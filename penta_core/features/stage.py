"""The features step: MIDI and audio features of every indexed sample, and the training table."""
from __future__ import annotations

from typing import Any

from penta_core.core.layout import DatasetLayout
from penta_core.features.extract import extract_features


def summary_lines(report: dict[str, Any], limit: int = 10) -> list[str]:
    """One screen of text about a :func:`extract_features` report."""
    lines = [
        (f"features: {report['ok']} of {report['total']} samples ({report['ok_midi']} MIDI, "
        f"{report['ok_audio']} audio), {report['failed']} failed; "
        f"{report['extracted']} extracted, {report['reused']} reused"),
        (f"table {report['table']}: {report['ok']} rows x {report['columns']} columns in {report['parts']} parts, "
         f"{report['parts_written']} written and {report['removed']} stale files removed this run"),
    ]
    if report["flags"]:
        lines.append("flags: " + ", ".join(f"{k} {v}" for k, v in report["flags"].items()))
    if report["repeated_ids"]:
        shown = ", ".join(report["repeated_ids"][:5])
        lines.append(f"ignored {len(report['repeated_ids'])} repeated sample ids: {shown}")
    lines += [f"  failed {i}: {reason}" for i, reason in report["failures"][:limit]]
    if len(report["failures"]) > limit:
        lines.append(f"  ... and {len(report['failures']) - limit} more in index/features.json")
    return lines


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    return summary_lines(extract_features(layout, params))
