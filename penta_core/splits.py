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
import re
from collections import Counter, defaultdict
from typing import Any, Iterable

SPLITS = ("train", "val", "test")


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # A name group wins, then the smaller id, so the result does not depend on order.
            keep, drop = sorted((ra, rb), key=lambda g: (not g.startswith("name:"), g))
            self.parent[drop] = keep


def assign_groups(samples: list[dict[str, Any]], group_by: str | None = None) -> dict[str, str]:
    """Sample id → group id.

    Originals start in their content group; ``group_by`` joins every original
    whose source paths yield the same first capture group (named
    ``name:<capture>``); augmented variants follow their parent.

    Example
    -------
    >>> s = [{"id": "a", "group": "a", "origin": "imported", "sources": ["x/song1_clip1.mid"]},
    ...      {"id": "b", "group": "b", "origin": "imported", "sources": ["x/song1_clip2.mid"]}]
    >>> assign_groups(s, r"(song\\d+)_clip")
    {'a': 'name:song1', 'b': 'name:song1'}
    """
    pattern = re.compile(group_by) if group_by else None
    uf = _UnionFind()
    for sample in samples:
        if sample["origin"] == "augmented":
            continue
        uf.find(sample["group"])
        if pattern is not None:
            for source in sample.get("sources") or []:
                match = pattern.search(source)
                if match and match.group(1):
                    uf.union(f"name:{match.group(1)}", sample["group"])
    by_id = {s["id"]: s for s in samples}
    groups = {}
    for sample in samples:
        if sample["origin"] == "augmented":
            parent = by_id.get(sample["parent"])
            base = parent["group"] if parent else sample["group"]
        else:
            base = sample["group"]
        groups[sample["id"]] = uf.find(base)
    return groups


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


def write_splits(layout, splits: dict[str, Any]) -> None:
    """``splits/<name>.txt``: one sample id per line, sorted."""
    from .io import atomic_write_text

    layout.splits_dir.mkdir(parents=True, exist_ok=True)
    for name in SPLITS:
        atomic_write_text(layout.splits_dir / f"{name}.txt", "".join(f"{i}\n" for i in splits[name]))


def read_splits(layout) -> dict[str, list[str]]:
    return {name: (layout.splits_dir / f"{name}.txt").read_text().split() for name in SPLITS}


def group_stats(groups: Iterable[str]) -> dict[str, int]:
    sizes = Counter(groups)
    return {"groups": len(sizes), "largest_group": max(sizes.values(), default=0)}
