"""Families named by a metadata table (``split.families``): files whose key columns agree are one family.

MAESTRO lists each performance with its ``canonical_composer`` and
``canonical_title``: the performances of one piece must not be spread over
train and test, yet nothing in their paths or notes ties them. The splits
stage joins, on top of the groups the manifest holds (content, detected
families, ``split.group_by``), every sample with every other sample whose
table row gives the same key.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from penta_core.splits.groups import UnionFind
from penta_core.tables.rows import find_table, lookup, normal_key, read_rows, require_columns

WHAT = "split.families"


def load_family_keys(spec: dict[str, Any], folder: Path) -> tuple[dict[str, str], str, int]:
    """File key → family key from the table ``spec`` names (found below ``folder``); its path; its rows.

    A row whose key columns are all empty names no family. The key is the
    columns' values, stripped, joined by `` / ``.
    """
    path = find_table(spec["table"], folder, WHAT)
    rows = read_rows(path, WHAT)
    columns = [spec["file_column"]] if isinstance(spec["file_column"], str) else list(spec["file_column"])
    require_columns(rows, [*columns, *spec["key_columns"]], path, WHAT)
    keys: dict[str, str] = {}
    for row in rows:
        parts = [" ".join(str(row.get(c) or "").split()) for c in spec["key_columns"]]
        if not any(parts):
            continue
        for column in columns:
            name = normal_key(str(row.get(column) or ""))
            if name:
                keys[name] = " / ".join(parts)
    try:
        shown = path.relative_to(folder).as_posix()
    except ValueError:
        shown = path.as_posix()
    return keys, shown, len(rows)


def join_families(samples: list[dict[str, Any]], keys: dict[str, str]) -> tuple[dict[str, str], dict[str, int]]:
    """Sample id → its group once groups whose imported samples share a family key are joined; counts.

    Augmented variants keep following their original (they share its group already).

    Example
    -------
    >>> s = [{"id": "a", "group": "a", "origin": "imported", "sources": ["x/p1.mid"]},
    ...      {"id": "b", "group": "b", "origin": "imported", "sources": ["y/p2.mid"]}]
    >>> join_families(s, {"p1.mid": "Bach / Fugue", "p2.mid": "Bach / Fugue"})[0]
    {'a': 'a', 'b': 'a'}
    """
    uf = UnionFind()
    first: dict[str, str] = {}  # family key → the group of its first sample
    members: Counter = Counter()
    for sample in samples:
        if sample["origin"] != "imported":
            continue
        key = next((k for k in (lookup(keys, p) for p in sample.get("sources") or []) if k), None)
        if key is not None:
            members[key] += 1
            uf.union(first.setdefault(key, sample["group"]), sample["group"])
    before = {s["group"] for s in samples}
    groups = {s["id"]: uf.find(s["group"]) for s in samples}
    return groups, {
        "samples_named": sum(members.values()),
        "families": len(members),
        "families_of_several": sum(1 for n in members.values() if n > 1),
        "groups_joined": len(before) - len(set(groups.values())),
    }
