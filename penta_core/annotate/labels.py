"""Annotate imported samples from the folder names of their sources."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from penta_core.annotate.vocabulary import Vocabulary
from penta_core.core.io import read_json, write_json
from penta_core.core.layout import DatasetLayout


def annotate_sample(sample: dict[str, Any], vocab: Vocabulary) -> dict[str, Any]:
    """Annotation of one sample from every source path it was imported from.

    Duplicates that sit under folders naming different labels are a conflict:
    the label stays ``null`` and the candidates are recorded.
    """
    found: dict[str, str] = {}
    for source in sample["sources"]:
        label, folder = vocab.label_for_path(source)
        if label is not None:
            found.setdefault(label.name, folder)
    record: dict[str, Any] = {"id": sample["id"], "sources": sample["sources"], "label_source": "folder"}
    if len(found) == 1:
        (name, folder), = found.items()
        entry = vocab.labels[name]
        record.update(label=name, folder=folder, valence=entry.valence, arousal=entry.arousal)
    else:
        record.update(label=None, folder=None, valence=None, arousal=None)
        if found:
            record["conflict"] = sorted(found)
    return record


def annotate(layout: DatasetLayout, vocab: Vocabulary) -> dict[str, Any]:
    """Write ``annotations/<id>.json`` and ``index/annotated.json``; return the summary."""
    imported = read_json(layout.index("imported"))["samples"]
    records = {s["id"]: annotate_sample(s, vocab) for s in imported}
    folder = layout.annotations_dir
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.json"):
        if stale.stem not in records:
            stale.unlink()
    for sample_id, record in records.items():
        write_json(folder / f"{sample_id}.json", record)
    unknown = Counter(
        Path(s["source"]).parent.as_posix() or "."
        for s in imported
        if records[s["id"]]["label"] is None and "conflict" not in records[s["id"]]
    )
    summary = {
        "labelled": sum(1 for r in records.values() if r["label"] is not None),
        "unlabelled": sum(1 for r in records.values() if r["label"] is None),
        "conflicts": sum(1 for r in records.values() if "conflict" in r),
        "per_label": dict(sorted(Counter(r["label"] for r in records.values() if r["label"]).items())),
        "unknown_folders": dict(sorted(unknown.items())),
        "labels": sorted(vocab.labels),
    }
    write_json(layout.index("annotated"), {"annotations": records, "summary": summary})
    return summary
