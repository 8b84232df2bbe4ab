"""The import step: copy valid MIDI/audio from the source folder, dedupe by content, quarantine the rest."""
from __future__ import annotations

from typing import Any

from penta_core.core.io import write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.steps import import_folder
from penta_core.sources.importer import import_sources
from penta_core.sources.sanitize import report_lines, sanitize_report


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    folder = import_folder(params, layout)
    report = import_sources(folder, layout, params)
    sanitized = sanitize_report(report.samples, report.quarantined, report.conditions, params["import"],
                                by_folder=folder == layout.sources_dir, whole=folder.name)
    write_json(layout.metrics_dir / "sanitize.json", sanitized)
    s = report.summary()
    lines = [
        (f"imported {s['imported']} samples ({s['imported_midi']} MIDI, {s['imported_audio']} audio) "
        f"from {s['files_scanned']} files; {s['duplicate_files']} duplicates collapsed, "
        f"{s['quarantined']} quarantined"),
        # How this run got there; printed only, so the outputs stay those of a clean build.
        (f"  checked {report.checked} new or changed files, reused {report.reused} earlier checks "
         f"({layout.rel(layout.import_record)}); "
         + (f"packed {report.copied} originals into shards, kept {report.kept}" if params["import"]["pack"]
            else f"wrote {report.copied} raw copies, kept {report.kept}")),
    ]
    if report.annotation_files:
        lines.append(f"  {report.annotation_files} annotation files (.lab, .jams, POP909's) left for the targets stage")
    if report.label_tables:
        lines.append(f"  {report.label_tables} tables (.csv, .tsv, .json) left for the annotate stage")
    lines += report_lines(sanitized)
    lines += [f"  quarantined {q['path']}: {q['reason']}" for q in report.quarantined[:20]]
    if len(report.quarantined) > 20:
        lines.append(f"  ... and {len(report.quarantined) - 20} more in {layout.quarantine}")
    return lines
