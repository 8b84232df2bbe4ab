"""The manifest merged a sample at a time from sorted indexes: the bytes of the merge held in memory."""
from __future__ import annotations

import copy
import json
import random

import pytest

from penta_core.core.io import dumps_json, write_json
from penta_core.core.json_stream import MemberStream, NotSorted, SortedLookup, read_head
from penta_core.manifest import merge
from penta_core.manifest.build import build_manifest, build_manifest_in_memory, target_entry
from penta_core.manifest.load import load_manifest


def _indexes(n: int, seed: int = 0, derives: bool = False) -> dict[str, dict]:
    """Index files as the stages write them: n originals, 2 variants each, a few synthetic pieces."""
    rng = random.Random(seed)
    ids = sorted(f"{rng.getrandbits(64):016x}" for _ in range(n))
    imported = [{"id": i, "group": i, "kind": "midi", "origin": "imported", "path": f"raw/midi/{i}.mid",
                 "sha256": i * 4, "sources": [f"song{k % 7}_clip{k}/{i}.mid"]} for k, i in enumerate(ids)]
    notes = {}
    for k, i in enumerate(ids):
        if k % 5:
            notes[i] = {"id": i, "label": ["happy", "sad"][k % 2], "valence": 0.5, "arousal": -0.1 * k}
            if k % 11 == 0:
                notes[i]["conflict"] = ["happy", "sad"]
    variants = [{"id": f"{i}_aug{v:03d}", "group": i, "kind": "midi", "origin": "augmented", "parent": i,
                 "shard": "processed/augmented/midi-x.tar", "member": f"midi/{i}_aug{v:03d}.mid",
                 "transform": {"transpose_semitones": v}} for i in ids for v in (1, 2)]
    synthetic = [{"id": f"syn_happy_{k:05d}", "group": f"syn_happy_{k:05d}", "kind": "midi", "origin": "synthetic",
                  "label": "happy", "valence": 0.8, "arousal": 0.3} for k in range(1, 4)]
    synthetic[0]["family"] = synthetic[2]["family"] = "f"  # a family an index names is joined too, as in memory
    every = sorted([*ids, *(v["id"] for v in variants), *(s["id"] for s in synthetic)])
    features = {i: ({"status": "failed", "reason": f"could not parse {i}: " + "x" * 120, "flags": []} if k % 9 == 0
                    else {"status": "ok", "reason": None, "flags": ["short"] if k % 4 else []})
                for k, i in enumerate(every) if k % 13}
    families = {i: ({"family": ids[0], "joined_by": {"reason": "midi-normalised", "similarity": 1.0, "with": ids[0]}}
                    if k % 3 == 0 and k else {"family": i, "joined_by": None}) for k, i in enumerate(ids) if k % 6}
    targets = {i: ({"status": "ok", "label": "minor", "shard": "processed/targets/t.tar", "member": f"{i}.json",
                    "stats": {"examples": 3}} if k % 4 else {"status": "failed", "reason": "no notes"})
               for k, i in enumerate(every) if k % 5}
    return {
        "imported": {"duplicates": [], "samples": imported},
        "annotated": {"annotations": notes},
        "augmented": {"failed": [], "policy": {"multiplier": 2, "seed": 1}, "samples": variants,
                      "summary": {"variants": len(variants)}},
        "synthetic": {"failed": [], "samples": synthetic},
        "features": {"columns": ["a", "b"], "samples": features, "summary": {"ok": 1}},
        "families": {"failed": {}, "samples": families},
        "targets": {"derives": derives, "samples": targets if derives else {}, "target_model": "x"},
    }


def _write(layout, indexes: dict[str, dict]) -> None:
    for step, record in indexes.items():
        write_json(layout.index(step), record)


def _in_memory(layout, params) -> bytes:
    build_manifest_in_memory(layout, params)
    return layout.manifest.read_bytes()


@pytest.mark.parametrize(("n", "derives", "group_by"), [(0, False, None), (1, False, None), (60, False, None),
                                                         (60, True, None), (60, False, r"(song\d)_clip")])
def test_the_streamed_merge_writes_the_in_memory_merges_bytes(layout, params, n, derives, group_by):
    params = copy.deepcopy(params)
    params["split"]["group_by"] = group_by
    _write(layout, _indexes(n, derives=derives))
    expected = _in_memory(layout, params)
    layout.manifest.unlink()
    head = merge.write_manifest_streamed(layout, params, target_entry)
    assert layout.manifest.read_bytes() == expected
    assert head == {**json.loads(expected), "samples": []}


@pytest.mark.parametrize("missing", ["annotated", "augmented", "synthetic", "features", "families", "targets"])
def test_an_absent_index_is_merged_as_in_memory(layout, params, missing):
    indexes = _indexes(30)
    del indexes[missing]
    _write(layout, indexes)
    expected = _in_memory(layout, params)
    build_manifest(layout, params)
    assert layout.manifest.read_bytes() == expected


def test_unsorted_indexes_fall_back_to_the_merge_in_memory(layout, params):
    indexes = _indexes(40)
    indexes["imported"]["samples"].reverse()
    _write(layout, indexes)
    expected = _in_memory(layout, params)
    layout.manifest.unlink()
    with pytest.raises(NotSorted):
        merge.write_manifest_streamed(layout, params, lambda entry, record: None)
    assert not layout.manifest.exists()  # nothing written by the streamed merge that gave up
    head = build_manifest(layout, params)
    assert layout.manifest.read_bytes() == expected
    assert head["summary"] == load_manifest(layout)["summary"]


def test_a_variant_without_an_imported_parent_falls_back(layout, params):
    indexes = _indexes(20)
    indexes["augmented"]["samples"][0]["parent"] = "0" * 16
    _write(layout, indexes)
    expected = _in_memory(layout, params)
    build_manifest(layout, params)
    assert layout.manifest.read_bytes() == expected


@pytest.mark.parametrize("dump", [dumps_json, json.dumps, lambda o: json.dumps(o, indent=3, ensure_ascii=False)])
def test_a_member_streams_the_items_json_load_gives(tmp_path, monkeypatch, dump):
    monkeypatch.setattr("penta_core.core.json_stream._CHUNK", 5)  # values cut across every read
    obj = {"a": [1, "é"], "samples": {f"k{i}": {"x": 10.0 ** i, "s": '"\\' * i} for i in range(25)},
           "t": {"n": 123456789}, "u": 7}
    path = tmp_path / "i.json"
    path.write_text(dump(obj), encoding="utf-8")
    stream = MemberStream(path, "samples")
    assert stream.found and stream.head == {"a": [1, "é"]}
    assert list(stream) == list(json.loads(path.read_text(encoding="utf-8"))["samples"].items())
    assert stream.tail == {"t": {"n": 123456789}, "u": 7}
    assert read_head(path, "samples") == {"a": [1, "é"], "t": {"n": 123456789}, "u": 7}
    missing = MemberStream(path, "nope")
    assert not missing.found and list(missing) == []


def test_a_sorted_lookup_refuses_keys_asked_backwards_and_unsorted_streams():
    look = SortedLookup(iter([("a", 1), ("c", 3)]))
    assert (look.get("a"), look.get("b"), look.get("c")) == (1, None, 3)
    with pytest.raises(NotSorted):
        look.get("b")
    with pytest.raises(NotSorted):
        SortedLookup(iter([("b", 1), ("a", 2)])).get("c")
