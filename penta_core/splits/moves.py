"""Groups whose split changed since the previous build, and why.

The splits themselves never depend on a previous build; this comparison
only describes the difference from the split lists a previous build left
in the workspace, for the stage's report and ``metrics/splits.json``.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

EVAL = ("val", "test")


def _reason(group: str, current: Any, before: set[str], previous_groups: dict[str, Any]) -> str:
    old = previous_groups.get(group)
    if len(before) > 1 or old is None:
        return "regrouped"  # a family or split.group_by joined samples that were apart
    if old.get("label") != current.label:
        return "relabelled"
    if old.get("home") != current.home:
        return "rehashed"  # seed, ratios or strategy changed
    return "rebalanced"  # groups added or removed moved a cut


def moves_since(previous_lists: dict[str, list[str]], previous_groups: dict[str, Any],
                placement: dict[str, Any], sample_groups: dict[str, str]) -> dict[str, Any]:
    """Compare the current placement with the lists of a previous build.

    Parameters
    ----------
    previous_lists : split name → sample ids, as the previous build wrote them.
    previous_groups : the previous ``splits/groups.json`` placements (may be empty).
    placement : current group id → :class:`~penta_core.splits.assign.Placement`.
    sample_groups : current sample id → group id.

    Returns
    -------
    dict : ``groups_moved``, ``reasons`` (count per reason), ``eval_groups``
        (current groups whose samples all sat in val or test before) and
        ``eval_groups_kept`` (those still in that split).
    """
    before: dict[str, set[str]] = defaultdict(set)
    for split, ids in previous_lists.items():
        for sid in ids:
            group = sample_groups.get(sid)
            if group in placement:
                before[group].add(split)
    reasons: Counter = Counter()
    eval_groups = eval_kept = 0
    for group, splits in sorted(before.items()):
        current = placement[group]
        if len(splits) == 1 and next(iter(splits)) in EVAL:
            eval_groups += 1
            eval_kept += current.split in splits
        if splits != {current.split}:
            reasons[_reason(group, current, splits, previous_groups)] += 1
    return {
        "groups_moved": sum(reasons.values()),
        "reasons": dict(sorted(reasons.items())),
        "eval_groups": eval_groups,
        "eval_groups_kept": eval_kept,
    }
