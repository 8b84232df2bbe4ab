"""The manifest: one entry per sample, merged from what each stage recorded.

Stages never rewrite each other's files: import, annotate, augment and
synthesize each write their own record under ``index/``, and the manifest
stage merges them into ``manifest.json``. The schema is documented in
README.md (section *Manifest*).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from penta_core.core.io import read_json, write_json_streamed
from penta_core.core.json_stream import NotSorted
from penta_core.core.layout import DatasetLayout
from penta_core.manifest.merge import SCHEMA_VERSION, write_manifest_streamed
from penta_core.splits.groups import assign_groups, group_stats


def _read_index(layout: DatasetLayout, step: str) -> dict[str, Any] | None:
    path = layout.index(step)
    return read_json(path) if path.exists() else None


def build_manifest(layout: DatasetLayout, params: dict[str, Any]) -> dict[str, Any]:
    """Merge the stage records of ``layout`` into ``manifest.json``; return its head.

    The samples are merged and written one at a time from the index files,
    which the stages write sorted by id (:mod:`penta_core.manifest.merge`); the
    returned head is the manifest without its samples (``"samples"`` is
    empty: read them with :func:`~penta_core.manifest.load.iter_samples`).
    Indexes not sorted that way are merged in memory, with the same result.
    """
    try:
        return write_manifest_streamed(layout, params, target_entry)
    except NotSorted:
        manifest = build_manifest_in_memory(layout, params)
        return {**manifest, "samples": []}


def build_manifest_in_memory(layout: DatasetLayout, params: dict[str, Any]) -> dict[str, Any]:
    """Merge the stage records of ``layout`` into a manifest held whole; write ``manifest.json``."""
    imported = _read_index(layout, "imported") or {"samples": [], "duplicates": []}
    annotated = (_read_index(layout, "annotated") or {}).get("annotations", {})
    samples: list[dict[str, Any]] = []
    for sample in imported["samples"]:
        entry = dict(sample)
        note = annotated.get(sample["id"], {})
        entry["label"] = note.get("label")
        entry["valence"] = note.get("valence")
        entry["arousal"] = note.get("arousal")
        if "conflict" in note:
            entry["label_conflict"] = note["conflict"]
        samples.append(entry)
    labels = {s["id"]: s for s in samples}
    augmented = _read_index(layout, "augmented") or {}
    for variant in augmented.get("samples", []):
        parent = labels.get(variant["parent"], {})
        entry = dict(variant)
        entry["label"] = parent.get("label")
        entry["valence"] = parent.get("valence")
        entry["arousal"] = parent.get("arousal")
        samples.append(entry)
    samples += [dict(s) for s in (_read_index(layout, "synthetic") or {}).get("samples", [])]
    features = (_read_index(layout, "features") or {}).get("samples", {})
    if features:
        for entry in samples:
            status = features.get(entry["id"])
            entry["features"] = status["status"] if status else "missing"
            if status and status.get("reason"):
                entry["features_reason"] = status["reason"]
    families = (_read_index(layout, "families") or {}).get("samples")
    if families is not None:
        for entry in samples:
            if entry["origin"] == "imported":
                member = families.get(entry["id"])
                entry["family"] = member["family"] if member else entry["id"]
                if member:
                    entry["family_link"] = member["joined_by"]
    targets = _read_index(layout, "targets") or {}
    if targets.get("derives"):
        merge_targets(samples, targets["samples"])
    groups = assign_groups(samples, params["split"]["group_by"])
    for entry in samples:
        entry["group"] = groups[entry["id"]]
    samples.sort(key=lambda s: s["id"])
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "dataset": params["dataset"]["name"],
        "target_model": params["dataset"]["target_model"],
        "samples": samples,
        "summary": summarise(samples),
    }
    if "policy" in augmented:
        # What the augment stage applied (offline, per sample, recorded in each variant's `transform`);
        # training-time augmentation is the trainer's and is not recorded here.
        manifest["augmentation"] = {"offline": augmented["policy"]}
    write_json_streamed(layout.manifest, manifest)  # 23 MB of text at 40,000 samples: written in blocks
    return manifest


def merge_targets(samples: list[dict[str, Any]], records: dict[str, dict[str, Any]]) -> None:
    """Give each sample what the targets stage derived for it (``target``), and its split label.

    A model that derives its labels (the harmony predictor, the melody
    transformer) labels a sample by what the stage found (the key's mode);
    a sample it does not read or could not analyse has no label, so the
    splits leave it out. ``target.labels`` says whether the labels were
    ``annotated`` (annotation files) or ``estimated``.
    """
    for entry in samples:
        target_entry(entry, records.get(entry["id"]))


def target_entry(entry: dict[str, Any], record: dict[str, Any] | None) -> None:
    """Give one manifest entry what the targets stage derived for it (``record``, ``None`` if nothing)."""
    entry["label"] = entry["valence"] = entry["arousal"] = None
    if record is None:
        return
    if record["status"] != "ok":
        entry["target"] = {"status": "failed", "reason": record["reason"]}
        return
    entry["label"] = record["label"]
    entry["target"] = {"status": "ok", "shard": record["shard"], "member": record["member"],
                       "labels": record["stats"].get("chords_source", "estimated"),
                       "examples": record["stats"]["examples"]}


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "total": len(samples),
        "per_origin": dict(sorted(Counter(s["origin"] for s in samples).items())),
        "per_kind": dict(sorted(Counter(s["kind"] for s in samples).items())),
        "per_label": dict(sorted(Counter(s["label"] or "null" for s in samples).items())),
        "label_conflicts": sum(1 for s in samples if s.get("label_conflict")),
        "features_failed": sum(1 for s in samples if s.get("features") in ("failed", "missing")),
        "families": len({s["family"] for s in samples if s.get("family")}),
        **group_stats(s["group"] for s in samples),
    }
