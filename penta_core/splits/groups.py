"""Families of samples (groups) that must never cross splits.

A group joins an original, its augmented variants, every source that
duplicated it and its near-duplicate family (``family``, from the families
stage), widened by ``split.group_by`` (a regex on source paths whose first
capture group names a song or take).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any


class UnionFind:
    """Groups joined so far; holds only the groups that were joined to another, not every group."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while (up := self.parent.get(root, root)) != root:
            root = up
        while x != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # A name group wins, then the smaller id, so the result does not depend on order.
            keep, drop = sorted((ra, rb), key=lambda g: (not g.startswith("name:"), g))
            self.parent[drop] = keep


def assign_groups(samples: list[dict[str, Any]], group_by: str | None = None) -> dict[str, str]:
    """Sample id → group id.

    Originals start in their content group; originals of one ``family`` join;
    ``group_by`` joins every original whose source paths yield the same first
    capture group (named ``name:<capture>``); augmented variants follow their parent.

    Example
    -------
    >>> s = [{"id": "a", "group": "a", "origin": "imported", "sources": ["x/song1_clip1.mid"]},
    ...      {"id": "b", "group": "b", "origin": "imported", "sources": ["x/song1_clip2.mid"]}]
    >>> assign_groups(s, r"(song\\d+)_clip")
    {'a': 'name:song1', 'b': 'name:song1'}
    """
    pattern = re.compile(group_by) if group_by else None
    uf = UnionFind()
    family_group: dict[str, str] = {}
    for sample in samples:
        if sample["origin"] == "augmented":
            continue
        if sample.get("family"):
            uf.union(family_group.setdefault(sample["family"], sample["group"]), sample["group"])
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


def group_stats(groups: Iterable[str]) -> dict[str, int]:
    sizes = Counter(groups)
    return {"groups": len(sizes), "largest_group": max(sizes.values(), default=0)}
