"""Leak-free, stratified, stable train/val/test splits over sample families.

A *group* is a family that must never cross splits: an original, its
augmented variants and every source that duplicated it, widened by
``split.group_by`` (a regex on source paths whose first capture group names
a song or take). Each group's split is a pure function of the seed, its
label and its own id (a hash mapped onto the ratio intervals), so adding
files later never moves an existing group; stratification comes from doing
this per label, with a repair step that gives every label at least one
group in every split whose expected share is at least one group.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Any

from penta_core.splits.lists import SPLITS


def _unit(seed: int, *keys: str) -> float:
    """A number in [0, 1) fixed by the seed and the keys."""
    digest = hashlib.sha256("\x1f".join([str(seed), *keys]).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _split_of(u: float, ratios: dict[str, float]) -> str:
    edge = 0.0
    for name in SPLITS:
        edge += ratios[name]
        if u < edge:
            return name
    return SPLITS[-1] if ratios[SPLITS[-1]] > 0 else max(SPLITS, key=lambda n: ratios[n])


def assign_splits(group_labels: dict[str, str], ratios: dict[str, float], seed: int) -> dict[str, str]:
    """Group id → split name, per label stratum, stable under additions.

    Parameters
    ----------
    group_labels : group id → its label (a group holds one label).
    ratios : ``{"train": .., "val": .., "test": ..}`` summing to 1.
    seed : changes every assignment when changed.
    """
    by_label: dict[str, list[str]] = defaultdict(list)
    for group, label in group_labels.items():
        by_label[label].append(group)
    result: dict[str, str] = {}
    for label, groups in sorted(by_label.items()):
        units = {g: _unit(seed, label, g) for g in groups}
        chosen = {g: _split_of(units[g], ratios) for g in groups}
        # Repair: a split that should get at least one group of this label but got none
        # takes the train group whose hash lies closest to that split's interval.
        edges = {"train": (0.0, ratios["train"]), "val": (ratios["train"], ratios["train"] + ratios["val"]),
                 "test": (ratios["train"] + ratios["val"], 1.0)}
        for name in ("val", "test"):
            if len(groups) * ratios[name] >= 1 and name not in chosen.values():
                donors = [g for g in sorted(groups) if chosen[g] == "train"]
                if len(donors) > 1:
                    lo, hi = edges[name]
                    pick = min(donors, key=lambda g: (min(abs(units[g] - lo), abs(units[g] - hi)), g))
                    chosen[pick] = name
        result.update(chosen)
    return result


def make_splits(samples: list[dict[str, Any]], split_params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Split manifest samples; return ``{"train": [ids], "val": [...], "test": [...], "excluded": {...}}``.

    Unlabelled samples are left out. By default eval splits hold originals
    only: augmented variants follow their group into train and are dropped
    when their group is in val/test; synthetic samples go to train.
    """
    ratios = {name: split_params[name] for name in SPLITS}
    labelled = [s for s in samples if s.get("label")]
    excluded: Counter = Counter()
    excluded["unlabelled"] = len(samples) - len(labelled)
    group_labels: dict[str, str] = {}
    for sample in labelled:
        if sample["origin"] == "synthetic" and not split_params["synthetic_in_eval"]:
            continue
        group_labels.setdefault(sample["group"], sample["label"])
    placement = assign_splits(group_labels, ratios, seed)
    out: dict[str, list[str]] = {name: [] for name in SPLITS}
    for sample in labelled:
        if sample["origin"] == "synthetic" and not split_params["synthetic_in_eval"]:
            out["train"].append(sample["id"])
            continue
        split = placement[sample["group"]]
        if sample["origin"] == "augmented" and split != "train" and not split_params["augmented_in_eval"]:
            excluded["augmented_of_eval_groups"] += 1
            continue
        out[split].append(sample["id"])
    result: dict[str, Any] = {name: sorted(ids) for name, ids in out.items()}
    result["excluded"] = {k: v for k, v in sorted(excluded.items()) if v}
    return result
