"""Two versions compared sample by sample (the logic; the git/DVC round trip is in test_versions.py)."""
from __future__ import annotations

from penta_core.versions.diff import Version, diff_lines, diff_versions


def _version(name, samples):
    v = Version(name, "datasets/x")
    for sample_id, label, split, row in samples:
        v.labels[sample_id], v.origins[sample_id] = label, "imported"
        if split:
            v.splits[sample_id] = split
        v.features[sample_id] = row
    return v


OLD = _version("v1", [("a", "happy", "train", "r1"), ("b", "sad", "val", "r2"), ("c", "calm", "test", "r3")])


def test_identical_versions_have_an_empty_diff():
    counts = diff_versions(OLD, OLD)["counts"]
    assert counts == {"old_samples": 3, "new_samples": 3, "added": 0, "removed": 0, "relabelled": 0,
                      "moved": 0, "features_changed": 0}


def test_each_kind_of_change_is_reported_for_its_sample():
    new = _version("v2", [("a", "sad", "train", "r1"), ("b", "sad", "train", "r2"), ("d", "happy", "train", "r4"),
                          ("c", "calm", "test", "r3-changed")])
    result = diff_versions(OLD, new)
    assert [e["id"] for e in result["added"]] == ["d"] and result["removed"] == []
    assert result["relabelled"] == [{"id": "a", "old": "happy", "new": "sad"}]
    assert result["moved"] == [{"id": "b", "old": "val", "new": "train"}]
    assert result["features_changed"] == ["c"]
    text = "\n".join(diff_lines(result))
    assert "a: happy → sad" in text and "val → train: 1" in text and "+1 added" in text
