"""Leak-free, stratified train/val/test splits over sample families.

A *group* is a family that must never cross splits (see ``groups.py``).
Every group gets a hash unit, a number in [0, 1) fixed by the seed, its
label and its id; its *home* is the split whose ratio interval holds that
unit. Two strategies (``split.strategy``):

- ``hash``: each group goes home. Adding files never moves a group, but
  label shares carry binomial noise.
- ``balanced`` (default): per label, groups nearest a cut in hash space
  leave home, one at a time, until every split is within tolerance of its
  share of the label's samples (``balance.py``). Growing a dataset moves
  few groups, and the result depends on the current groups alone: a clean
  build and an incremental one agree.

A third, ``published``, follows the split a corpus ships (``published.py``).
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from penta_core.splits.balance import balance_label
from penta_core.splits.lists import SPLITS

STRATEGIES = ("balanced", "hash")  # and published (penta_core/splits/published.py), placed by make_splits


@dataclass(frozen=True)
class Placement:
    """Where one group went, and where its hash alone would have put it."""

    label: str
    weight: int
    home: str
    split: str


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


def _hash_repair(groups: list[str], units: dict[str, float], chosen: dict[str, str],
                 ratios: dict[str, float]) -> None:
    # A split that should get at least one group of this label but got none
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


def assign_splits(group_labels: dict[str, str], ratios: dict[str, float], seed: int,
                  strategy: str = "balanced", weights: dict[str, int] | None = None) -> dict[str, Placement]:
    """Group id → :class:`Placement`, per label stratum.

    Parameters
    ----------
    group_labels : group id → its label.
    ratios : ``{"train": .., "val": .., "test": ..}`` summing to 1.
    seed : changes every hash unit when changed.
    strategy : ``balanced`` or ``hash`` (see the module docstring).
    weights : group id → samples it brings to a split (default 1 each).

    Example
    -------
    >>> p = assign_splits({"a": "happy", "b": "happy"}, {"train": 1.0, "val": 0.0, "test": 0.0}, seed=0)
    >>> sorted(x.split for x in p.values())
    ['train', 'train']
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"split.strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    weights = weights or {}
    by_label: dict[str, list[str]] = defaultdict(list)
    for group, label in group_labels.items():
        by_label[label].append(group)
    result: dict[str, Placement] = {}
    total = sum(weights.get(g, 1) for g in group_labels)
    for label, groups in sorted(by_label.items()):
        units = {g: _unit(seed, label, g) for g in groups}
        home = {g: _split_of(units[g], ratios) for g in groups}
        chosen = dict(home)
        if strategy == "hash":
            _hash_repair(groups, units, chosen, ratios)
        else:
            order = sorted(groups, key=lambda g: (units[g], g))
            placed = balance_label([units[g] for g in order], [weights.get(g, 1) for g in order], ratios, total)
            chosen.update(zip(order, placed))
        for g in groups:
            result[g] = Placement(label, weights.get(g, 1), home[g], chosen[g])
    return result


def _in_eval(sample: dict[str, Any], split_params: dict[str, Any]) -> bool:
    """Whether the sample would sit in val/test when its group goes there."""
    if sample["origin"] == "augmented":
        return split_params["augmented_in_eval"]
    return sample["origin"] != "synthetic" or split_params["synthetic_in_eval"]


def group_labels_and_weights(samples: list[dict[str, Any]],
                             split_params: dict[str, Any]) -> tuple[dict[str, str], dict[str, int]]:
    """Each placed group's label (its most common, ties by name) and weight (samples it brings to eval)."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for sample in samples:
        if sample.get("label") and _in_eval(sample, split_params):
            votes[sample["group"]][sample["label"]] += 1
    labels = {g: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for g, c in votes.items()}
    return labels, {g: sum(c.values()) for g, c in votes.items()}


def make_splits(samples: list[dict[str, Any]], split_params: dict[str, Any], seed: int,
                published: Any = None) -> dict[str, Any]:
    """Split manifest samples.

    Parameters
    ----------
    samples : manifest samples with their ``group``.
    split_params : the ``split`` params.
    seed : fixes every hash unit.
    published : with ``strategy: published``, the
        :class:`~penta_core.splits.published.PublishedSplit` to follow.

    Returns
    -------
    dict : ``{"train": [ids], "val": [...], "test": [...], "excluded": {reason: n},
        "placement": {group: Placement}}`` (and ``"published"``, the published
        split's report). Unlabelled samples are left out.
        By default eval splits hold originals only: augmented variants follow
        their group into train and are dropped when their group is in
        val/test; synthetic samples go to train.
    """
    ratios = {name: split_params[name] for name in SPLITS}
    labelled = [s for s in samples if s.get("label")]
    excluded: Counter = Counter()
    excluded["unlabelled"] = len(samples) - len(labelled)
    report = None
    left_out: set[str] = set()
    if split_params.get("strategy") == "published":
        if published is None:
            raise ValueError("split.strategy published needs the published split (split.published)")
        from penta_core.splits.published import place_published  # it builds on this module

        placement, left_out, report = place_published(labelled, split_params, seed, published)
    else:
        group_labels, weights = group_labels_and_weights(labelled, split_params)
        placement = assign_splits(group_labels, ratios, seed, split_params.get("strategy", "balanced"), weights)
    out: dict[str, list[str]] = {name: [] for name in SPLITS}
    for sample in labelled:
        if sample["group"] in left_out:
            excluded["unlisted"] += 1
            continue
        where = placement.get(sample["group"])
        if where is None or (sample["origin"] == "synthetic" and not split_params["synthetic_in_eval"]):
            out["train"].append(sample["id"])
            continue
        if where.split != "train" and not _in_eval(sample, split_params):
            excluded["augmented_of_eval_groups"] += 1
            continue
        out[where.split].append(sample["id"])
    result: dict[str, Any] = {name: sorted(ids) for name, ids in out.items()}
    result["excluded"] = {k: v for k, v in sorted(excluded.items()) if v}
    result["placement"] = placement
    if report is not None:
        result["published"] = report
    return result
