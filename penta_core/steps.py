"""The pipeline's steps, shared by the DVC stage scripts and the CLI.

Each step takes the validated params and the dataset layout, does its work
through the library and returns the lines to print. Expected failures raise
``ValueError`` / ``OSError`` (or subclasses) with a one-line message, which
the stage runner and the CLI print as ``error: ...``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .annotate import annotate
from .augment import augment_step
from .baseline import summary_line, train_and_score, write_baseline
from .create import create_structure, write_config
from .features import features_step, load_feature_table
from .importer import import_sources
from .io import read_json
from .layout import DatasetLayout
from .manifest import build_manifest, load_manifest
from .splits import make_splits, read_splits, write_splits
from .synthesize import synthesize
from .validation import report_lines, validate_dataset, write_validation
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


def splits_(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    result = make_splits(load_manifest(layout)["samples"], params["split"], params["seed"])
    write_splits(layout, result)
    counts = ", ".join(f"{name} {len(result[name])}" for name in ("train", "val", "test"))
    left_out = ", ".join(f"{k} {v}" for k, v in result["excluded"].items()) or "none"
    return [f"splits: {counts}; left out: {left_out}"]


def validate_(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    samples = load_manifest(layout)["samples"]
    feature_rows, feature_status = {}, {}
    if layout.index("features").exists():
        feature_status = {k: v["status"] for k, v in read_json(layout.index("features"))["samples"].items()}
        ids, columns, X = load_feature_table(layout)
        wanted = [columns.index(c) for c in ("key_tonic", "mode_minor", "tempo_bpm")]
        feature_rows = {i: dict(zip(("key_tonic", "mode_minor", "tempo_bpm"), row[wanted])) for i, row in zip(ids, X)}
    metrics, details = validate_dataset(layout, samples, read_splits(layout), feature_rows, feature_status,
                                        params["validate"])
    write_validation(layout, metrics, details)
    lines = report_lines(metrics, details)
    if params["validate"]["strict"] and not metrics["valid"]:
        print("\n".join(lines))
        raise ValueError(f"validation failed (validate.strict: true): {'; '.join(details['failing'])}")
    return lines


def baseline_(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    ids, columns, X = load_feature_table(layout)
    labels = {s["id"]: s["label"] for s in load_manifest(layout)["samples"]}
    metrics, pairs = train_and_score(ids, columns, X, read_splits(layout), labels, params["seed"])
    write_baseline(layout, metrics, pairs)
    return [summary_line(metrics)]


STEPS: dict[str, Step] = {
    "create": create,
    "import": import_,
    "annotate": annotate_,
    "augment": augment_step,
    "synthesize": synthesize_,
    "features": features_step,
    "manifest": manifest,
    "splits": splits_,
    "validate": validate_,
    "baseline": baseline_,
}
