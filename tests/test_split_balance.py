"""Balanced splits: sizes and label shares on target, few groups moved when data grows, no history."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from penta_core.splits.assign import assign_splits, make_splits
from penta_core.splits.moves import moves_since

RATIOS = {"train": 0.7, "val": 0.15, "test": 0.15}
LABELS = ("Q1", "Q2", "Q3", "Q4")
# Samples per group, 1-10, mean near EMOPIA's 2.8 clips per song.
SIZE_WEIGHTS = [0.36, 0.2, 0.13, 0.09, 0.06, 0.05, 0.04, 0.03, 0.02, 0.02]
# (groups, largest group): EMOPIA's clips, EMOPIA-sized groups of 1-10, and 10x each.
STRUCTURES = [(1078, 1), (1078, 10), (10780, 1), (10780, 10)]


def _structure(n_groups: int, max_size: int, seed: int) -> tuple[dict[str, str], dict[str, int]]:
    rng = random.Random(seed)
    labels = {f"g{i:06d}": LABELS[rng.randrange(4)] for i in range(n_groups)}
    weights = {g: rng.choices(range(1, max_size + 1), SIZE_WEIGHTS[:max_size])[0] for g in labels}
    return labels, weights


def _per_label_split(placement) -> dict[str, Counter]:
    per: dict[str, Counter] = {}
    for p in placement.values():
        per.setdefault(p.label, Counter())[p.split] += p.weight
    return per


@pytest.mark.parametrize("n_groups, max_size", STRUCTURES)
def test_every_split_size_is_within_one_group_or_two_points_per_label(n_groups, max_size):
    labels, weights = _structure(n_groups, max_size, seed=n_groups + max_size)
    placement = assign_splits(labels, RATIOS, seed=3, weights=weights)
    for label, counts in _per_label_split(placement).items():
        total = sum(counts.values())
        largest = max(weights[g] for g, lb in labels.items() if lb == label)
        for split, ratio in RATIOS.items():
            assert abs(counts[split] - ratio * total) <= max(largest, 0.02 * total), (label, split, counts)


@pytest.mark.parametrize("n_groups, max_size", STRUCTURES)
def test_every_label_share_in_each_split_is_within_three_points_of_overall(n_groups, max_size):
    labels, weights = _structure(n_groups, max_size, seed=n_groups * max_size)
    per = _per_label_split(assign_splits(labels, RATIOS, seed=5, weights=weights))
    grand = sum(sum(c.values()) for c in per.values())
    for split in RATIOS:
        in_split = sum(c[split] for c in per.values())
        for label, counts in per.items():
            assert abs(counts[split] / in_split - sum(counts.values()) / grand) <= 0.03, (split, label)


def _kept_after_growth(n_groups: int, max_size: int, seed: int) -> float:
    """Share of v1's val/test groups in the same split after 25% more groups are added."""
    labels, weights = _structure(n_groups + n_groups // 4, max_size, seed=seed)
    old = dict(list(labels.items())[:n_groups])
    v1 = assign_splits(old, RATIOS, seed=seed, weights=weights)
    v2 = assign_splits(labels, RATIOS, seed=seed, weights=weights)
    evals = [g for g, p in v1.items() if p.split != "train"]
    return sum(v2[g].split == v1[g].split for g in evals) / len(evals)


@pytest.mark.parametrize("n_groups, max_size", [(10780, 1), (10780, 10)])
def test_at_ten_times_emopia_adding_a_quarter_keeps_95_percent_of_val_and_test_groups(n_groups, max_size):
    assert min(_kept_after_growth(n_groups, max_size, seed) for seed in range(3)) >= 0.95


def test_on_emopia_clips_adding_a_quarter_keeps_95_percent_of_val_and_test_groups_on_average():
    assert sum(_kept_after_growth(1078, 1, seed) for seed in range(10)) / 10 >= 0.95


def test_on_emopia_sized_groups_of_up_to_ten_the_history_free_design_keeps_about_95_percent():
    # The measured limit (benchmarks/split_targets.py: mean 95.4%, 72% of builds at 95% or more):
    # balance within tolerance forces moves near the cuts that a history-free placement cannot avoid.
    assert sum(_kept_after_growth(1078, 10, seed) for seed in range(10)) / 10 >= 0.93


def test_the_hash_strategy_drifts_where_balanced_does_not():
    labels, weights = _structure(387, 10, seed=1)
    drift = {}
    for strategy in ("hash", "balanced"):
        per = _per_label_split(assign_splits(labels, RATIOS, seed=2, strategy=strategy, weights=weights))
        totals = {label: sum(c.values()) for label, c in per.items()}
        drift[strategy] = max(abs(c["val"] - 0.15 * totals[label]) / totals[label] for label, c in per.items())
    assert drift["balanced"] <= 0.04 < drift["hash"]


def test_placement_depends_on_the_groups_alone_not_their_order_or_history():
    labels, weights = _structure(2000, 10, seed=4)
    shuffled = list(labels.items())
    random.Random(0).shuffle(shuffled)
    clean = assign_splits(labels, RATIOS, seed=9, weights=weights)
    assign_splits(dict(shuffled[:1500]), RATIOS, seed=9, weights=weights)  # an earlier, smaller build
    assert assign_splits(dict(shuffled), RATIOS, seed=9, weights=weights) == clean


def test_groups_away_from_their_hash_split_sit_next_to_a_cut():
    labels, weights = _structure(1078, 10, seed=6)
    placement = assign_splits(labels, RATIOS, seed=6, weights=weights)
    moved = [p for p in placement.values() if p.split != p.home]
    assert moved
    assert all({p.home, p.split} in ({"train", "val"}, {"val", "test"}) for p in moved)


def _samples(n: int, start: int = 0) -> list[dict]:
    return [{"id": f"s{i:05d}", "group": f"s{i:05d}", "origin": "imported", "label": LABELS[i % 4]}
            for i in range(start, start + n)]


def test_moves_since_a_previous_build_are_counted_with_their_reason():
    split_params = dict(RATIOS, strategy="balanced", augmented_in_eval=False, synthetic_in_eval=False)
    old_samples = _samples(400)
    old = make_splits(old_samples, split_params, seed=1)
    previous_groups = {g: {"label": p.label, "home": p.home, "split": p.split} for g, p in old["placement"].items()}
    grown = _samples(500)
    new = make_splits(grown, split_params, seed=1)
    report = moves_since({k: old[k] for k in RATIOS}, previous_groups, new["placement"],
                         {s["id"]: s["group"] for s in grown})
    changed = sum(old["placement"][g].split != new["placement"][g].split for g in old["placement"])
    assert report["groups_moved"] == changed
    assert set(report["reasons"]) <= {"rebalanced"}
    assert report["eval_groups"] == sum(p.split != "train" for p in old["placement"].values())


def test_a_group_whose_samples_were_apart_is_reported_as_regrouped():
    split_params = dict(RATIOS, strategy="balanced", augmented_in_eval=False, synthetic_in_eval=False)
    samples = _samples(40)
    old = make_splits(samples, split_params, seed=0)
    a = old["val"][0]
    b = old["train"][0]
    joined = [dict(s, group=a) if s["id"] == b else s for s in samples]
    new = make_splits(joined, split_params, seed=0)
    report = moves_since({k: old[k] for k in RATIOS}, {}, new["placement"], {s["id"]: s["group"] for s in joined})
    assert report["reasons"].get("regrouped", 0) >= 1
