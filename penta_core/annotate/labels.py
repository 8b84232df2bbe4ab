"""Annotate imported samples: labels from a table beside the data, else the folder names, then people's corrections.

A labels table (``annotate.labels``, :mod:`penta_core.annotate.label_map`) is
applied first; folder names label what it does not name.

The event log (see :mod:`penta_core.annotate.events`) is folded last, so a
label a person set or confirmed wins over the folder's, and the record keeps
where each value came from.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from penta_core.annotate.events import Decision, EventLogError, fold_events, read_events
from penta_core.annotate.label_map import LabelMap
from penta_core.annotate.vocabulary import Vocabulary
from penta_core.core.errors import MissingInput
from penta_core.core.io import atomic_write_text, read_json, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.engine.incremental import sweep

LABELS_FILE = "labels.jsonl"


def annotate_from_table(sample: dict[str, Any], table: LabelMap) -> dict[str, Any] | None:
    """Annotation of one sample from the labels table, or ``None`` when the table names none of its sources.

    Duplicates the table gives different labels are a conflict, as under folders.
    """
    found = {}
    for source in sample["sources"]:
        entry = table.lookup(source)
        if entry is not None:
            found.setdefault(entry.label.name, entry)
    if not found:
        return None
    record: dict[str, Any] = {"id": sample["id"], "sources": sample["sources"], "label_source": "labels_file"}
    if len(found) == 1:
        (entry,) = found.values()
        record.update(label=entry.label.name, folder=None, valence=entry.valence, arousal=entry.arousal,
                      labels_key=entry.key)
    else:
        record.update(label=None, folder=None, valence=None, arousal=None, conflict=sorted(found))
    return record


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


def apply_decision(record: dict[str, Any], decision: Decision, vocab: Vocabulary, where: str) -> dict[str, Any]:
    """``record`` with the label and valence/arousal a person decided; the folder's label is kept beside."""
    if decision.label_event is not None:
        event = decision.label_event
        entry = vocab.labels.get(event["new"])
        if entry is None:
            raise EventLogError(f"{where}: event {event['event']} labels sample {event['sample']} "
                                f"'{event['new']}', which is not in the vocabulary ({', '.join(sorted(vocab.labels))})")
        if "conflict" in record:
            record["resolved_conflict"] = record.pop("conflict")
        record.update(folder_label=record["label"], label=entry.name, valence=entry.valence, arousal=entry.arousal,
                      label_source="annotator", annotator=event["annotator"], annotated_at=event["time"])
    if decision.va_event is not None:
        event = decision.va_event
        record.update(valence=float(event["new"][0]), arousal=float(event["new"][1]), va_source="annotator",
                      va_annotator=event["annotator"])
    return record


def annotate(layout: DatasetLayout, vocab: Vocabulary, events_path: str | Path | None = None,
             table: LabelMap | None = None) -> dict[str, Any]:
    """Write ``annotations/labels.jsonl``, ``index/annotated.json`` and ``index/labels_present.json``.

    Returns the summary. ``index/labels_present.json`` lists only the labels the
    version holds: the synthesize stage depends on it instead of the whole
    index, so adding files with labels the version already has does not rerun it.

    ``annotations/labels.jsonl`` holds one annotation record per imported file,
    one JSON object per line, sorted by sample id: one file however many
    samples there are, readable with any JSON Lines reader.

    Parameters
    ----------
    layout : the dataset version.
    vocab : the target model's labels.
    events_path : the annotation event log (``annotate.events``); ``None`` or a missing file: no events.
    table : the labels table (``annotate.labels``), applied before the folder names; ``None``: folders only.

    Raises
    ------
    MissingInput : ``index/imported.json`` does not exist.
    """
    if not layout.index("imported").exists():
        raise MissingInput(f"{layout.index('imported')} does not exist; run the import stage first")
    imported = read_json(layout.index("imported"))["samples"]
    records = {s["id"]: (table is not None and annotate_from_table(s, table)) or annotate_sample(s, vocab)
               for s in imported}
    log = read_events(events_path) if events_path is not None else None
    decisions = fold_events(log.events) if log else {}
    for sample_id, decision in decisions.items():
        if sample_id in records:
            apply_decision(records[sample_id], decision, vocab, str(events_path))
    folder = layout.annotations_dir
    atomic_write_text(folder / LABELS_FILE, "".join(
        json.dumps({"id": sample_id, **record}, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
        for sample_id, record in sorted(records.items())))
    sweep(folder, {LABELS_FILE})
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
        "events": len(log.events) if log else 0,
        "events_torn_lines": log.torn_lines if log else 0,
        "events_other_samples": sum(d.events for sid, d in decisions.items() if sid not in records),
        "by_annotator": sum(1 for r in records.values()
                            if r["label_source"] == "annotator" or r.get("va_source") == "annotator"),
    }
    if table is not None:
        summary["labels_file"] = {
            "path": table.path, "rows": table.rows, "keys": len(table.entries), "ambiguous_keys": table.ambiguous,
            "unknown_values": dict(sorted(table.unknown_values.items())),
            "labelled": sum(1 for r in records.values() if r["label_source"] == "labels_file" and r["label"]),
        }
    write_json(layout.index("annotated"), {"annotations": records, "summary": summary})
    write_json(layout.index("labels_present"), {"labels": sorted(summary["per_label"])})
    return summary


def read_annotations(layout: DatasetLayout) -> dict[str, dict[str, Any]]:
    """The records of ``annotations/labels.jsonl`` by sample id (empty when the stage has not run)."""
    path = layout.annotations_dir / LABELS_FILE
    if not path.exists():
        return {}
    records = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return {record.pop("id"): record for record in records}
