"""Splits: families never cross, eval holds originals, labels stay stratified, assignments stay put."""
from __future__ import annotations

from collections import Counter

import pytest

from penta_core.splits.assign import assign_splits, make_splits
from penta_core.splits.groups import assign_groups

LABELS = ("happy", "sad", "angry", "calm")
RATIOS = {"train": 0.7, "val": 0.15, "test": 0.15, "group_by": None, "strategy": "balanced",
          "augmented_in_eval": False, "synthetic_in_eval": False}
HASH = dict(RATIOS, strategy="hash")


def _original(i: int, label: str, source: str | None = None) -> dict:
    sid = f"{i:016x}"
    return {"id": sid, "group": sid, "origin": "imported", "label": label,
            "sources": [source or f"{label}/piece_{i}.mid"]}


def _dataset(n_per_label: int = 50, variants: int = 3, start: int = 0) -> list[dict]:
    samples = []
    for j, label in enumerate(LABELS):
        for k in range(n_per_label):
            parent = _original(start + j * 100000 + k, label)
            samples.append(parent)
            samples += [{"id": f"{parent['id']}_aug{v:03d}", "group": parent["group"], "origin": "augmented",
                         "parent": parent["id"], "label": label} for v in range(1, variants + 1)]
    return samples


def _with_groups(samples, group_by=None):
    groups = assign_groups(samples, group_by)
    return [dict(s, group=groups[s["id"]]) for s in samples]


def test_no_family_crosses_splits_and_eval_holds_originals_only():
    samples = _with_groups(_dataset())
    result = make_splits(samples, RATIOS, seed=42)
    by_id = {s["id"]: s for s in samples}
    where = {}
    for name in ("train", "val", "test"):
        for sid in result[name]:
            assert where.setdefault(by_id[sid]["group"], name) == name
    assert all(by_id[sid]["origin"] == "imported" for name in ("val", "test") for sid in result[name])
    eval_groups = {by_id[s]["group"] for s in result["val"] + result["test"]}
    assert result["excluded"]["augmented_of_eval_groups"] == 3 * len(eval_groups)
    assert not any(by_id[s]["group"] in eval_groups for s in result["train"])


def test_hash_strategy_splits_each_label_near_the_requested_ratios():
    # Each group is placed by its own hash, so shares carry binomial noise: sd <= 0.015 here, 0.05 is > 3 sd.
    result = make_splits(_with_groups(_dataset(n_per_label=1000, variants=0)), HASH, seed=7)
    for name in ("train", "val", "test"):
        per_label = Counter(LABELS[int(sid, 16) // 100000] for sid in result[name])
        for label in LABELS:
            assert abs(per_label[label] / 1000 - RATIOS[name]) <= 0.05, (name, label, per_label)


def test_hash_strategy_moves_no_existing_group_when_files_are_added():
    old = make_splits(_with_groups(_dataset(variants=0)), HASH, seed=1)
    grown = _dataset(variants=0) + _dataset(n_per_label=20, variants=0, start=50)
    new = make_splits(_with_groups(grown), HASH, seed=1)
    for name in ("train", "val", "test"):
        assert set(old[name]) <= set(new[name])


def test_same_seed_same_splits_other_seed_other_splits():
    samples = _with_groups(_dataset(variants=0))
    assert make_splits(samples, RATIOS, seed=3) == make_splits(samples, RATIOS, seed=3)
    assert make_splits(samples, RATIOS, seed=3)["test"] != make_splits(samples, RATIOS, seed=4)["test"]


@pytest.mark.parametrize("strategy", ["balanced", "hash"])
def test_a_small_label_still_reaches_val_and_test(strategy):
    placement = assign_splits({f"g{i}": "rare" for i in range(7)}, {"train": 0.7, "val": 0.15, "test": 0.15},
                              seed=0, strategy=strategy)
    assert {p.split for p in placement.values()} == {"train", "val", "test"}


def test_group_by_keeps_clips_of_one_song_together():
    samples = [_original(i, label, f"{label}/{label}_song{i // 4}_clip{i % 4}.mid")
               for i, label in enumerate(LABELS[i // 8 % 4] for i in range(64))]
    grouped = _with_groups(samples, r"_(song\d+)_clip")
    assert len({s["group"] for s in grouped}) == 16
    result = make_splits(grouped, RATIOS, seed=5)
    songs = {}
    for name in ("train", "val", "test"):
        for sid in result[name]:
            song = next(s for s in grouped if s["id"] == sid)["group"]
            assert songs.setdefault(song, name) == name


def test_duplicate_sources_join_every_name_group_they_match():
    a = _original(1, "happy", "happy/songA_clip1.mid")
    b = _original(2, "happy", "happy/songB_clip1.mid")
    b["sources"].append("happy/songA_clip9.mid")  # b's content also appeared as a clip of song A
    groups = assign_groups([a, b], r"(song\w)_clip")
    assert groups[a["id"]] == groups[b["id"]]


def test_synthetic_goes_to_train_unless_allowed_in_eval():
    synth = [{"id": f"syn_happy_{k:05d}", "group": f"syn_happy_{k:05d}", "origin": "synthetic", "label": "happy"}
             for k in range(40)]
    samples = _with_groups(_dataset(n_per_label=10, variants=0) + synth)
    default = make_splits(samples, RATIOS, seed=0)
    assert all(s["id"] in default["train"] for s in synth)
    mixed = make_splits(samples, dict(RATIOS, synthetic_in_eval=True), seed=0)
    assert any(s["id"] in mixed["test"] + mixed["val"] for s in synth)


def test_augmented_in_eval_keeps_variants_with_their_group():
    samples = _with_groups(_dataset(n_per_label=10, variants=2))
    result = make_splits(samples, dict(RATIOS, augmented_in_eval=True), seed=0)
    assert any("_aug" in sid for sid in result["test"])
    assert "augmented_of_eval_groups" not in result["excluded"]


def test_unlabelled_samples_are_left_out_and_counted():
    samples = _with_groups(_dataset(n_per_label=5, variants=0) + [_original(999, None)])
    result = make_splits(samples, RATIOS, seed=0)
    assert result["excluded"] == {"unlabelled": 1}
    assert sum(len(result[n]) for n in ("train", "val", "test")) == 20


@pytest.mark.parametrize("train, val, test", [(0.8, 0.2, 0.0), (1.0, 0.0, 0.0)])
def test_empty_ratios_give_empty_splits(train, val, test):
    result = make_splits(_with_groups(_dataset(n_per_label=20, variants=0)),
                         dict(RATIOS, train=train, val=val, test=test), seed=0)
    assert (len(result["test"]) == 0) and (len(result["val"]) == 0) == (val == 0)
