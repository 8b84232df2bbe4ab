"""The manifest merged a sample at a time from index files sorted by id.

Every index the pipeline writes lists its samples sorted by id (``imported``,
``synthetic``; ``augmented`` by parent then id, which is id order for the
pipeline's ids) or keys them by id in a sorted object (``annotated``,
``features``, ``families``, ``targets``). So the manifest is a merge join:
each index is read an item at a time (:class:`~penta_core.core.json_stream.MemberStream`),
and ``manifest.json`` is written as the merged samples come
(:class:`~penta_core.core.io.StreamedList`). Two passes: the first joins the
groups of originals (families, ``split.group_by``); the second writes.

What is held grows with the originals whose groups were joined (the
union-find), the distinct families and groups (the summary counts them), not
with the samples and never with the variants. Input that is not sorted as
above raises :class:`~penta_core.core.json_stream.NotSorted` before the
manifest is replaced; the caller then merges in memory, as before.
"""
from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from penta_core.core.io import Deferred, StreamedList, write_json_streamed
from penta_core.core.json_stream import MemberStream, NotSorted, SortedLookup, ascending, read_head
from penta_core.core.layout import DatasetLayout
from penta_core.splits.groups import UnionFind

SCHEMA_VERSION = 1
_EMPTY: list = []


class _Index:
    """One index file of the dataset: its member streamed, or nothing when the file is absent."""

    def __init__(self, layout: DatasetLayout, step: str) -> None:
        self.path: Path = layout.index(step)
        self.exists = self.path.exists()

    def items(self, key: str) -> Iterator[Any]:
        return iter(MemberStream(self.path, key)) if self.exists else iter(_EMPTY)

    def has(self, key: str) -> bool:
        if not self.exists:
            return False
        stream = MemberStream(self.path, key)
        stream.close()
        return stream.found

    def lookup(self, key: str) -> SortedLookup:
        return SortedLookup(self.items(key), what=f"{self.path.name} {key}")

    def samples(self) -> Iterator[dict[str, Any]]:
        """The ``samples`` list, checked to be in ascending id order."""
        return ascending(self.items("samples"), key=lambda s: s["id"],
                         what=f"{self.path.name} samples")


def _originals(indexes: dict[str, _Index]) -> Iterator[dict[str, Any]]:
    """The imported samples, each with its annotation's label, valence and arousal (and conflict)."""
    notes = indexes["annotated"].lookup("annotations")
    for sample in indexes["imported"].samples():
        entry = dict(sample)
        note = notes.get(sample["id"]) or {}
        entry["label"] = note.get("label")
        entry["valence"] = note.get("valence")
        entry["arousal"] = note.get("arousal")
        if "conflict" in note:
            entry["label_conflict"] = note["conflict"]
        yield entry


def _join_groups(indexes: dict[str, _Index], group_by: str | None, use_families: bool) -> UnionFind:
    """Pass one: the union-find of :func:`~penta_core.splits.groups.assign_groups` over the originals."""
    pattern = re.compile(group_by) if group_by else None
    uf = UnionFind()
    family_group: dict[str, str] = {}
    families = indexes["families"].lookup("samples")
    non_variants = heapq.merge(((s, True) for s in indexes["imported"].samples()),
                               ((s, False) for s in indexes["synthetic"].samples()),
                               key=lambda pair: pair[0]["id"])
    for sample, imported in non_variants:
        if imported and use_families:
            member = families.get(sample["id"])
            family = member["family"] if member else sample["id"]
        else:
            family = sample.get("family")
        if family:
            uf.union(family_group.setdefault(family, sample["group"]), sample["group"])
        if pattern is not None:
            for source in sample.get("sources") or []:
                match = pattern.search(source)
                if match and match.group(1):
                    uf.union(f"name:{match.group(1)}", sample["group"])
    return uf


def _variants(indexes: dict[str, _Index]) -> Iterator[tuple[dict[str, Any], str]]:
    """Each variant with its parent's label, valence and arousal, and the group it starts from."""
    parents = SortedLookup(((s["id"], s) for s in _originals(indexes)), what="imported samples (parents)")
    for variant in indexes["augmented"].samples():
        parent = parents.get(variant["parent"])
        if parent is None:
            # In memory the parent would be looked up among every sample: not a join of sorted files.
            raise NotSorted(f"variant {variant['id']} has no imported parent {variant['parent']!r}")
        entry = dict(variant)
        entry["label"] = parent["label"]
        entry["valence"] = parent["valence"]
        entry["arousal"] = parent["arousal"]
        yield entry, parent["group"]


class _Summary:
    """The manifest's ``summary``, counted as the samples stream past."""

    def __init__(self) -> None:
        self.total = self.conflicts = self.failed = 0
        self.origin: Counter[str] = Counter()
        self.kind: Counter[str] = Counter()
        self.label: Counter[str] = Counter()
        self.families: set[str] = set()
        self.groups: Counter[str] = Counter()

    def add(self, s: dict[str, Any]) -> None:
        self.total += 1
        self.origin[s["origin"]] += 1
        self.kind[s["kind"]] += 1
        self.label[s["label"] or "null"] += 1
        self.conflicts += bool(s.get("label_conflict"))
        self.failed += s.get("features") in ("failed", "missing")
        if s.get("family"):
            self.families.add(s["family"])
        self.groups[s["group"]] += 1

    def value(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "per_origin": dict(sorted(self.origin.items())),
            "per_kind": dict(sorted(self.kind.items())),
            "per_label": dict(sorted(self.label.items())),
            "label_conflicts": self.conflicts,
            "features_failed": self.failed,
            "families": len(self.families),
            "groups": len(self.groups),
            "largest_group": max(self.groups.values(), default=0),
        }


def write_manifest_streamed(layout: DatasetLayout, params: dict[str, Any],
                            merge_targets: Callable[[dict[str, Any], dict[str, Any] | None], None]
                            ) -> dict[str, Any]:
    """Merge the indexes of ``layout`` into ``manifest.json`` a sample at a time; return its head.

    The head is the manifest without its samples (``"samples"`` is empty),
    summary included. ``merge_targets(entry, record)`` applies the targets
    stage's record to one entry.

    Raises
    ------
    NotSorted : an index is not sorted by id (or a variant has no imported
        parent); nothing has been written.
    """
    names = ("imported", "annotated", "augmented", "synthetic", "features", "families", "targets")
    indexes = {name: _Index(layout, name) for name in names}
    use_families = indexes["families"].has("samples")
    uf = _join_groups(indexes, params["split"]["group_by"], use_families)
    targets_head = read_head(indexes["targets"].path, "samples") if indexes["targets"].exists else {}
    derives = bool(targets_head.get("derives"))
    augmented_head = read_head(indexes["augmented"].path, "samples") if indexes["augmented"].exists else {}
    summary = _Summary()

    def entries() -> Iterator[dict[str, Any]]:
        features = indexes["features"].lookup("samples")
        families = indexes["families"].lookup("samples")
        targets = indexes["targets"].lookup("samples")
        streams = heapq.merge(((s, s["group"]) for s in _originals(indexes)), _variants(indexes),
                              ((dict(s), s["group"]) for s in indexes["synthetic"].samples()),
                              key=lambda pair: pair[0]["id"])
        for entry, base in ascending(streams, key=lambda pair: pair[0]["id"], what="manifest samples"):
            if not features.empty:
                status = features.get(entry["id"])
                entry["features"] = status["status"] if status else "missing"
                if status and status.get("reason"):
                    entry["features_reason"] = status["reason"]
            if use_families and entry["origin"] == "imported":
                member = families.get(entry["id"])
                entry["family"] = member["family"] if member else entry["id"]
                if member:
                    entry["family_link"] = member["joined_by"]
            if derives:
                merge_targets(entry, targets.get(entry["id"]))
            entry["group"] = uf.find(base)
            summary.add(entry)
            yield entry

    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "dataset": params["dataset"]["name"],
        "target_model": params["dataset"]["target_model"],
        "samples": StreamedList(entries()),
        "summary": Deferred(summary.value),
    }
    if "policy" in augmented_head:
        manifest["augmentation"] = {"offline": augmented_head["policy"]}
    write_json_streamed(layout.manifest, manifest)
    return {**manifest, "samples": [], "summary": summary.value()}
