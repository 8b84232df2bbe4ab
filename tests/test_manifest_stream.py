"""Reading manifest.json a sample at a time: the same samples as reading it whole, whatever its layout."""
from __future__ import annotations

import json

import pytest

from penta_core.core.errors import MissingInput
from penta_core.core.io import Deferred, StreamedDict, StreamedList, dumps_json, write_json, write_json_streamed
from penta_core.manifest.load import ManifestIndex, iter_samples, load_manifest, load_manifest_head


def _manifest(n: int) -> dict:
    samples = [{"id": f"s{i:04d}", "kind": "midi", "label": ["happy", None][i % 2], "group": f"g{i // 3}",
                "origin": "imported", "info": {"size": i, "notes": list(range(i % 7))},
                "transform": {"name": "transpose", "semitones": i % 5} if i % 3 else None,
                "sources": [f"a/{i}.mid", f"b/{i}, \"quoted\".mid"]} for i in range(n)]
    return {"augmentation": {"offline": {"multiplier": 3}}, "dataset": "t", "samples": samples,
            "schema_version": 1, "summary": {"total": n, "per_label": {"happy": n - n // 2}}, "target_model": "x"}


@pytest.mark.parametrize("n", [0, 1, 250])
def test_iter_samples_gives_the_samples_load_manifest_gives(layout, n):
    write_json(layout.manifest, _manifest(n))
    assert list(iter_samples(layout)) == load_manifest(layout)["samples"]


def test_the_head_is_the_manifest_without_its_samples(layout):
    manifest = _manifest(40)
    write_json(layout.manifest, manifest)
    assert load_manifest_head(layout) == {**manifest, "samples": []}


def test_a_manifest_not_one_sample_a_line_is_still_read(layout):
    manifest = _manifest(30)
    layout.root.mkdir(parents=True)
    for text in (json.dumps(manifest), json.dumps(manifest, indent=4)):
        layout.manifest.write_text(text, encoding="utf-8")
        assert list(iter_samples(layout)) == manifest["samples"]
        assert load_manifest_head(layout) == {**manifest, "samples": []}
        index = ManifestIndex.build(layout)
        assert index.entries([index.position("s0007"), 0]) == [manifest["samples"][7], manifest["samples"][0]]


def test_the_index_reads_back_any_entry_by_id(layout):
    manifest = _manifest(120)
    write_json(layout.manifest, manifest)
    seen = []
    index = ManifestIndex.build(layout, visit=lambda s: seen.append(s["id"]))
    assert seen == index.ids == [s["id"] for s in manifest["samples"]]
    assert index.parsed is None  # the one-a-line file is indexed by offsets, not held
    wanted = ["s0119", "s0003", "s0050"]
    assert index.entries([index.position(i) for i in wanted]) == [manifest["samples"][int(i[1:])] for i in wanted]
    assert index.position("s9999") is None and index.position("a") is None


def test_readers_name_the_missing_manifest(layout):
    with pytest.raises(MissingInput, match="manifest"):
        list(iter_samples(layout))
    with pytest.raises(MissingInput, match="manifest"):
        ManifestIndex.build(layout)


def test_write_json_streamed_writes_write_jsons_bytes(tmp_path):
    obj = {**_manifest(3000), "short": list(range(33)), "long": list(range(34)),
           "pairs": {str(i): i for i in range(14)}}
    write_json_streamed(tmp_path / "a.json", obj)
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == dumps_json(obj)


def test_a_container_that_fits_on_a_line_is_still_inlined():
    # 33 one-digit items are 99 characters on one line, 34 are 102: the cut is INLINE_WIDTH (100).
    text = dumps_json({"a": [0] * 33, "b": [0] * 34})
    assert '"a": [0, 0' in text and '"b": [\n' in text


@pytest.mark.parametrize("n", [0, 1, 33, 34, 500])
def test_streamed_containers_are_written_as_the_containers_they_stand_for(tmp_path, n):
    # 33 items may fit on one line and 34 never do: both sides of the cut, and one item a line.
    items = [{"id": f"s{i:04d}", "tags": ["x"] * (i % 3)} for i in range(n)]
    pairs = {f"k{i:04d}": {"status": "failed", "reason": "r" * (i % 150)} for i in range(n)}
    obj = {"a": items, "b": pairs, "c": {"total": n}}
    streamed = {"a": StreamedList(iter(items)), "b": StreamedDict(iter(sorted(pairs.items()))),
                "c": Deferred(lambda: {"total": n})}
    write_json_streamed(tmp_path / "s.json", streamed)
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == dumps_json(obj)


def test_a_streamed_dict_refuses_keys_out_of_order(tmp_path):
    pairs = [(f"k{i:03d}", i) for i in range(40)]
    pairs[20], pairs[21] = pairs[21], pairs[20]
    with pytest.raises(ValueError, match="keys must ascend"):
        write_json_streamed(tmp_path / "s.json", {"b": StreamedDict(iter(pairs))})
    assert not (tmp_path / "s.json").exists()
