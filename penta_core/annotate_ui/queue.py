"""The annotation queue: every sample of the built version with what a person needs to judge it, ordered by need.

Order, most urgent first: duplicates whose folders name different labels,
samples without a label, samples the baseline confidently labels otherwise,
families whose members carry different labels, then the rest by the
baseline's confidence, lowest first. Samples a person already decided go last.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from penta_core.features.key import PITCH_CLASS_NAMES
from penta_core.store.access import sample_location

FEATURE_COLUMNS = ("duration_s", "tempo_bpm", "key_tonic", "mode_minor", "key_confidence")

# Tiers of need, most urgent first.
TIER_CONFLICT, TIER_UNLABELLED, TIER_DISAGREES, TIER_MIXED_FAMILY, TIER_REST, TIER_DECIDED = range(6)


def family_of(sample: dict[str, Any]) -> str:
    """The family a sample belongs to: near-duplicate ``family`` when the manifest has one, else its ``group``."""
    return sample.get("family") or sample["group"]


def key_name(tonic: float, minor: float) -> str:
    """``'A minor'`` from a tonic pitch class and a minor flag."""
    return f"{PITCH_CLASS_NAMES[int(tonic) % 12]} {'minor' if minor >= 0.5 else 'major'}"


def build_row(sample: dict[str, Any], note: dict[str, Any], split: str, prediction: Any,
              features: dict[str, float] | None) -> dict[str, Any]:
    """One queue row from the manifest entry, its annotation record, split, prediction and feature values."""
    row: dict[str, Any] = {
        "id": sample["id"], "kind": sample["kind"], "origin": sample["origin"], "location": sample_location(sample),
        "split": split, "group": sample["group"], "family": family_of(sample),
        "editable": sample["origin"] == "imported",
        "built_label": sample.get("label"), "label": sample.get("label"),
        "valence": sample.get("valence"), "arousal": sample.get("arousal"),
        "label_source": note.get("label_source") or {"augmented": "parent", "synthetic": "generation"}.get(
            sample["origin"], "none"),
        "folder_label": note.get("folder_label", note.get("label")) if note else None,
        "conflict": sample.get("label_conflict") or [],
        "predicted": prediction.predicted if prediction else None,
        "confidence": prediction.confidence if prediction else None,
        "prediction_source": prediction.source if prediction else None,
        "annotator": note.get("annotator"), "va_source": note.get("va_source"),
        "decided": note.get("label_source") == "annotator" or note.get("va_source") == "annotator",
        "source": sample.get("source"), "parent": sample.get("parent"),
    }
    if sample["label"] is None and not row["conflict"]:
        row["label_source"] = "none"
    if features:
        row["duration_s"] = round(features["duration_s"], 2)
        row["tempo_bpm"] = round(features["tempo_bpm"], 1)
        row["key"] = key_name(features["key_tonic"], features["mode_minor"])
        row["key_confidence"] = round(features["key_confidence"], 3)
    elif sample.get("info", {}).get("duration_s") is not None:
        row["duration_s"] = round(sample["info"]["duration_s"], 2)
    return row


def apply_decision(row: dict[str, Any], decision: Any, labels: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """``row`` with the events not yet built into the version: the label and valence/arousal they decide."""
    if decision is None:
        return row
    if decision.label_event is not None:
        event = decision.label_event
        row.update(label=event["new"], label_source="annotator", annotator=event["annotator"], decided=True,
                   conflict=[])
        row["valence"], row["arousal"] = labels.get(event["new"], (None, None))
    elif row["label_source"] == "annotator":
        # Every label event of a sample decided in the build was undone: back to the folder's label.
        row.update(label=row["folder_label"], label_source="folder" if row["folder_label"] else "none",
                   annotator=None, decided=False)
        row["valence"], row["arousal"] = labels.get(row["label"], (None, None))
    if decision.va_event is not None:
        row["valence"], row["arousal"] = decision.va_event["new"]
        row.update(va_source="annotator", decided=True)
    elif row["va_source"] == "annotator":
        row["valence"], row["arousal"] = labels.get(row["label"], (None, None))
        row["va_source"] = None
    row["decided"] = row["label_source"] == "annotator" or row["va_source"] == "annotator"
    return row


def mixed_families(rows: list[dict[str, Any]]) -> set[str]:
    """Families whose labelled members carry more than one label."""
    seen: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["label"]:
            seen[row["family"]].add(row["label"])
    return {family for family, labels in seen.items() if len(labels) > 1}


def need(row: dict[str, Any], mixed: set[str]) -> tuple[int, float, str]:
    """``(tier, order within the tier, reason)`` of a row; lower sorts first."""
    confidence = row["confidence"] if row["confidence"] is not None else 1.0
    if row["decided"]:
        return TIER_DECIDED, 0.0, f"decided by {row['annotator'] or 'a person'}"
    if row["conflict"]:
        return TIER_CONFLICT, 0.0, "folders disagree: " + " / ".join(row["conflict"])
    if not row["label"]:
        return TIER_UNLABELLED, -confidence if row["predicted"] else 0.0, "no label"
    if row["predicted"] and row["predicted"] != row["label"]:
        return TIER_DISAGREES, -confidence, f"baseline says {row['predicted']} ({confidence:.2f})"
    if row["family"] in mixed:
        return TIER_MIXED_FAMILY, 0.0, "family has mixed labels"
    if row["confidence"] is None:
        return TIER_REST, 1.0, "no prediction"
    return TIER_REST, confidence, f"baseline agrees ({confidence:.2f})"


def order_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted by need (ties by id), each given its ``tier`` and ``reason``."""
    mixed = mixed_families(rows)
    keyed = []
    for row in rows:
        tier, within, reason = need(row, mixed)
        row["tier"], row["reason"] = tier, reason
        keyed.append(((tier, within, row["id"]), row))
    return [row for _, row in sorted(keyed, key=lambda item: item[0])]
