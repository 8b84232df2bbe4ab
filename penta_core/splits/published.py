"""The split a corpus publishes (``split.strategy: published``), kept leak-free over families.

Where the split comes from (``split.published``, one of):

- ``table``: one table (CSV, TSV, JSON) with a file column and a split column
  (MAESTRO's CSV, Groove MIDI's ``info.csv``);
- ``tables``: one table per split, ``{train: ..., val: ..., test: ...}``, each
  listing its files (EMOPIA's ``split/train_clip.csv`` ...);
- ``folders: true``: a source path's innermost folder named after a split
  (Slakh's ``train/``, ``validation/``, ``test/``).

Published names (``validation``, ``dev``, ...) map to ``train``/``val``/``test``
through ``values``. Every listed file of a family votes for its published
split; the family goes whole to the majority, a tie to the evaluation side
(test before val before train), so a family the publisher spread over two
splits never leaks into training. Augmented variants follow their original's
family and synthetic samples go to train, as under the other strategies.
A family none of whose files is listed is *unlisted*: with ``unlisted: seeded``
(the default) the seeded balanced strategy places those families among
themselves at the ``split.train/val/test`` ratios; with ``unlisted: exclude``
they are left out. Either way they are counted.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from penta_core.splits.assign import Placement, assign_splits, group_labels_and_weights
from penta_core.splits.lists import SPLITS
from penta_core.tables.rows import Agreed, find_table, lookup, normal_key, read_rows, require_columns

# Published split names → ours, when ``split.published.values`` is not given (case is ignored).
DEFAULT_VALUES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                  "dev": "val", "test": "test", "testing": "test"}
# A family the published split spreads evenly goes to the first of these it holds: nothing leaks into train.
TIE_ORDER = ("test", "val", "train")
UNLISTED = ("seeded", "exclude")
WHAT = "split.published"


@dataclass
class PublishedSplit:
    """The published split as read: file key → split, or the folder names that are splits.

    Attributes
    ----------
    source : what was read, for the report (a table's path, ``folders``).
    by_key : normalised file key (path, tail or stem) → ``train``, ``val`` or ``test``.
    folders : folder name (lower case) → split, when the split is the folder.
    rows : table rows read; ``unknown_values`` counts split cells ``values`` does not map;
        ``ambiguous`` counts files two rows put in different splits (dropped).
    """
    source: str
    by_key: dict[str, str] = field(default_factory=dict)
    folders: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    unknown_values: dict[str, int] = field(default_factory=dict)
    ambiguous: int = 0

    def split_of(self, rel_path: str) -> str | None:
        """The split the publisher gives the file at ``rel_path`` (below the imported folder), or ``None``."""
        if self.folders:
            for part in reversed(rel_path.split("/")[:-1]):  # the innermost folder naming a split wins
                if part.lower() in self.folders:
                    return self.folders[part.lower()]
            return None
        return lookup(self.by_key, rel_path)


def _values(spec: dict[str, Any]) -> dict[str, str]:
    return {str(k).strip().lower(): v for k, v in (spec.get("values") or DEFAULT_VALUES).items()}


def _columns(spec: dict[str, Any]) -> list[str]:
    given = spec["file_column"]
    return [given] if isinstance(given, str) else list(given)


def load_published(spec: dict[str, Any], folder: Path) -> PublishedSplit:
    """Read the published split ``spec`` (``split.published``) names, tables found below ``folder``.

    Raises
    ------
    ConfigError : a table is missing, matches several files, or lacks a named column.
    """
    values = _values(spec)
    if spec.get("folders"):
        return PublishedSplit("folders", folders=values)
    if spec.get("table"):
        path = find_table(spec["table"], folder, WHAT)
        sources = [(path, None)]
        source = _shown(path, folder)
    else:
        sources = [(find_table(pattern, folder, WHAT), split) for split, pattern in sorted(spec["tables"].items())]
        source = ", ".join(f"{split} {_shown(path, folder)}" for path, split in sources)
    result = PublishedSplit(source)
    agreed = Agreed()
    unknown: Counter = Counter()
    for path, fixed in sources:
        rows = read_rows(path, WHAT)
        columns = _columns(spec)
        require_columns(rows, [*columns, *([] if fixed else [spec["split_column"]])], path, WHAT)
        result.rows += len(rows)
        for row in rows:
            if fixed is None:
                cell = str(row.get(spec["split_column"]) or "").strip()
                split = values.get(cell.lower())
                if split is None:
                    unknown[cell] += 1
                    continue
            else:
                split = fixed
            for column in columns:
                key = normal_key(str(row.get(column) or ""))
                if not key:
                    continue
                agreed.add(key, split)
    result.by_key = agreed.entries()
    result.ambiguous = agreed.ambiguous()
    result.unknown_values = dict(sorted(unknown.items()))
    return result


def _shown(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.as_posix()


def _majority(votes: Counter) -> str:
    """The split most votes name; a tie goes to the first of :data:`TIE_ORDER` among the tied."""
    top = max(votes.values())
    return next(name for name in TIE_ORDER if votes.get(name) == top)


def place_published(samples: list[dict[str, Any]], split_params: dict[str, Any], seed: int,
                    published: PublishedSplit) -> tuple[dict[str, Placement], set[str], dict[str, Any]]:
    """Group id → :class:`Placement` from the published split; the groups left out; the report.

    Parameters
    ----------
    samples : labelled manifest samples with their ``group`` (families already joined).
    split_params : the ``split`` params (ratios, ``published.unlisted``, the eval policies).
    seed : seeds the placement of unlisted families (``unlisted: seeded``).
    published : what :func:`load_published` read.

    Returns
    -------
    placement, left_out, report : ``left_out`` holds the unlisted groups under
        ``unlisted: exclude``; ``report`` the counts of ``metrics/splits.json``'s ``published``.

    Example
    -------
    >>> s = [{"id": "a", "group": "g", "origin": "imported", "label": "happy", "sources": ["test/a.mid"]},
    ...      {"id": "b", "group": "g", "origin": "imported", "label": "happy", "sources": ["train/b.mid"]}]
    >>> p, _, r = place_published(s, {"train": .7, "val": .15, "test": .15, "augmented_in_eval": False,
    ...                           "synthetic_in_eval": False, "published": {}}, 0, PublishedSplit("folders",
    ...                           folders={"train": "train", "test": "test"}))
    >>> p["g"].split, r["families_moved"]
    ('test', 1)
    """
    policy = (split_params.get("published") or {}).get("unlisted", "seeded")
    group_labels, weights = group_labels_and_weights(samples, split_params)
    votes: dict[str, Counter] = defaultdict(Counter)
    listed: dict[str, str] = {}  # sample id → the split its first listed source names
    unlisted_ids: dict[str, list[str]] = defaultdict(list)
    for sample in samples:
        if sample["origin"] != "imported":
            continue
        found = [s for s in (published.split_of(p) for p in sample.get("sources") or []) if s]
        if found:
            votes[sample["group"]].update(found)
            listed[sample["id"]] = found[0]
        else:
            unlisted_ids[sample["group"]].append(sample["id"])
    placement: dict[str, Placement] = {}
    moved = ties = 0
    for group, counts in votes.items():
        if group not in group_labels:
            continue  # no sample of it would enter a split
        split = _majority(counts)
        top = max(counts.values())
        moved += len(counts) > 1
        ties += sum(1 for v in counts.values() if v == top) > 1
        placement[group] = Placement(group_labels[group], weights[group], split, split)
    unplaced = {g: lb for g, lb in group_labels.items() if g not in placement}
    # Synthetic-only groups (placed only with split.synthetic_in_eval) are never in a published split:
    # they are seeded whatever the policy; imported families the publisher does not list follow the policy.
    unlisted_groups = {g for g in unplaced if unlisted_ids.get(g)}
    left_out: set[str] = set()
    if policy == "exclude":
        left_out = unlisted_groups
        unplaced = {g: lb for g, lb in unplaced.items() if g not in left_out}
    if unplaced:
        ratios = {name: split_params[name] for name in SPLITS}
        placement.update(assign_splits(unplaced, ratios, seed, "balanced", {g: weights[g] for g in unplaced}))
    group_of = {s["id"]: s["group"] for s in samples}
    samples_moved = sum(1 for sid, split in listed.items()
                        if group_of[sid] in placement and placement[group_of[sid]].split != split)
    unlisted_total = sum(len(v) for v in unlisted_ids.values())
    in_unlisted_groups = sum(len(unlisted_ids[g]) for g in unlisted_groups)
    report = {
        "source": published.source,
        "table_rows": published.rows,
        "files_named": len(published.by_key),
        "ambiguous_files": published.ambiguous,
        "unknown_split_values": published.unknown_values,
        "listed_samples": len(listed),
        "families_moved": moved,
        "families_tied_to_eval": ties,
        "samples_moved": samples_moved,
        "unlisted": {
            "policy": policy,
            "samples": unlisted_total,
            "following_their_family": unlisted_total - in_unlisted_groups,
            "families": len(unlisted_groups),
            ("excluded" if policy == "exclude" else "seeded"): in_unlisted_groups,
        },
    }
    return placement, left_out, report

