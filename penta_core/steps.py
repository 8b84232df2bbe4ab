"""The pipeline's steps, shared by the DVC stage scripts and the CLI.

Each step takes the validated params and the dataset layout, does its work
through the library and returns the lines to print. Expected failures raise
:class:`StepError` (or one of the library's own errors) with a one-line message.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .annotate import annotate
from .create import create_structure, write_config
from .importer import import_sources
from .layout import DatasetLayout
from .manifest import build_manifest
from .synthesize import synthesize
from .vocabulary import Vocabulary

Step = Callable[[dict[str, Any], DatasetLayout], list[str]]


def create(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    missing = create_structure(layout)
    write_config(layout, params)
    made = f"created {len(missing)} folders" if missing else "structure already complete"
    return [f"dataset {layout.root}: {made}, config.json written"]


def import_(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    report = import_sources(Path(params["dataset"]["source_dir"]), layout, params)
    s = report.summary()
    lines = [
        f"imported {s['imported']} samples ({s['imported_midi']} MIDI, {s['imported_audio']} audio) "
        f"from {s['files_scanned']} files; {s['duplicate_files']} duplicates collapsed, "
        f"{s['quarantined']} quarantined"
    ]
    lines += [f"  quarantined {q['path']}: {q['reason']}" for q in report.quarantined[:20]]
    if len(report.quarantined) > 20:
        lines.append(f"  ... and {len(report.quarantined) - 20} more in {layout.quarantine}")
    return lines


def annotate_(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    vocab = Vocabulary.load(params["dataset"]["target_model"], params["annotate"]["vocabulary"])
    s = annotate(layout, vocab)
    per_label = ", ".join(f"{k} {v}" for k, v in s["per_label"].items()) or "none"
    lines = [f"annotated {s['labelled']} samples ({per_label}); {s['unlabelled']} without a label, "
             f"{s['conflicts']} label conflicts"]
    lines += [f"  no label from folder '{f}' ({n} samples)" for f, n in s["unknown_folders"].items()]
    return lines


def synthesize_(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    s = synthesize(layout, params)
    if not s["planned"]:
        return ["synthesis off (synthesize.count: 0): no synthetic samples"]
    per_label = ", ".join(f"{k} {v}" for k, v in s["per_label"].items())
    return [f"synthesized {s['planned'] - s['failed']} pieces ({per_label}); "
            f"{s['generated']} generated, {s['reused']} kept from the last run, {s['failed']} failed"]


def manifest(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    m = build_manifest(layout, params)
    origins = ", ".join(f"{k} {v}" for k, v in m["summary"]["per_origin"].items()) or "empty"
    return [f"manifest.json: {m['summary']['total']} samples ({origins})"]


STEPS: dict[str, Step] = {
    "create": create,
    "import": import_,
    "annotate": annotate_,
    "synthesize": synthesize_,
    "manifest": manifest,
}
