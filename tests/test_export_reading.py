"""How the export reads what it writes: samples' bytes through one reader per export, ``.npy`` parts without
``numpy.save`` per sample, and pyarrow's memory pool put back after an export.
"""
from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest

from penta_core.core.layout import DatasetLayout
from penta_core.export import sample_reader
from penta_core.export.arrow_memory import system_memory_pool
from penta_core.export.records import features_npy
from penta_core.export.sample_reader import SampleReader
from penta_core.manifest.load import iter_samples
from penta_core.store.access import sample_bytes
from penta_core.store.tar_shard import build_tar

DATASET = "datasets/emotion_dataset_v1"


def _shard(root, name: str, members: dict[str, bytes]) -> None:
    """``root/<name>.tar`` holding ``members`` and its catalogue beside it, as the shard store writes them."""
    data, placed = build_tar(members.items())
    (root / f"{name}.tar").write_bytes(data)
    (root / f"{name}.json").write_text(json.dumps(
        {"members": [{"name": p.name, "offset": p.offset, "size": p.size} for p in placed]}))


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_the_reader_reads_what_sample_bytes_reads_for_every_sample_of_a_built_version(clean_builds):
    layout = DatasetLayout(clean_builds[0] / DATASET)
    samples = list(iter_samples(layout))
    assert any("shard" in s for s in samples) and any("path" in s for s in samples)
    with SampleReader(layout) as reader:
        for sample in samples:
            expected = sample_bytes(layout, sample)
            assert reader.read(sample) == expected, sample["id"]
            assert reader.size(sample) == len(expected), sample["id"]


def test_the_reader_holds_at_most_open_shards_files_open_and_none_once_closed(tmp_path, monkeypatch):
    monkeypatch.setattr(sample_reader, "OPEN_SHARDS", 2)
    for n in range(4):
        _shard(tmp_path, f"s{n}", {f"m{k}.mid": bytes([n, k]) * (n + 1) for k in range(3)})
    before = _open_fds()
    reader = SampleReader(DatasetLayout(tmp_path))
    for k in range(3):
        for n in range(4):
            assert reader.read({"shard": f"s{n}.tar", "member": f"m{k}.mid"}) == bytes([n, k]) * (n + 1)
            assert _open_fds() - before <= 2
    reader.close()
    assert _open_fds() == before


def test_a_member_its_shards_catalogue_does_not_list_is_a_missing_file(tmp_path):
    _shard(tmp_path, "s", {"a.mid": b"MThd"})
    with SampleReader(DatasetLayout(tmp_path)) as reader, pytest.raises(FileNotFoundError, match=r"no member b\.mid"):
        reader.read({"shard": "s.tar", "member": "b.mid"})


def test_a_shard_without_its_catalogue_is_a_missing_file(tmp_path):
    _shard(tmp_path, "s", {"a.mid": b"MThd"})
    (tmp_path / "s.json").unlink()
    with SampleReader(DatasetLayout(tmp_path)) as reader, pytest.raises(FileNotFoundError, match="catalogue"):
        reader.size({"shard": "s.tar", "member": "a.mid"})


def test_a_shard_shorter_than_its_catalogue_says_is_refused(tmp_path):
    _shard(tmp_path, "s", {"a.mid": b"MThd" * 300})
    path = tmp_path / "s.tar"
    path.write_bytes(path.read_bytes()[:600])
    with SampleReader(DatasetLayout(tmp_path)) as reader, pytest.raises(ValueError, match="shorter"):
        reader.read({"shard": "s.tar", "member": "a.mid"})


@pytest.mark.parametrize("shape", [(0,), (1,), (170,), (3, 4)])
def test_features_npy_gives_the_bytes_numpy_save_writes(shape):
    values = np.random.default_rng(0).normal(size=shape)
    buffer = io.BytesIO()
    np.save(buffer, values, allow_pickle=False)
    assert features_npy(values) == buffer.getvalue()
    assert np.array_equal(np.load(io.BytesIO(features_npy(values))), values)


def test_the_system_memory_pool_is_used_inside_the_block_and_the_previous_one_after():
    import pyarrow as pa

    before = pa.default_memory_pool().backend_name
    with system_memory_pool():
        assert pa.default_memory_pool().backend_name == "system"
        assert pa.array([b"x" * 100]).nbytes > 0
    assert pa.default_memory_pool().backend_name == before


def test_a_record_file_gives_back_each_record_as_appended_in_any_order(tmp_path):
    from penta_core.export.record_file import RecordFile

    records = [(f"id{n}", n, n / 3, None, {"x": [n, -0.0]}, "é") for n in range(50)]
    with RecordFile(tmp_path) as kept:
        for record in records:
            kept.append(record)
        kept.seal()
        assert len(kept) == 50
        assert kept.read(list(range(10, 40))) == records[10:40]  # a run: one read
        assert kept.read([7, 3, 49, 3]) == [records[7], records[3], records[49], records[3]]
        assert kept.read([]) == []
    assert list(tmp_path.iterdir()) == []  # unnamed: nothing left behind


def test_a_record_file_is_read_only_once_sealed(tmp_path):
    from penta_core.export.record_file import RecordFile

    with RecordFile(tmp_path) as kept:
        kept.append(("a",))
        with pytest.raises(RuntimeError, match="before seal"):
            kept.read([0])


def _version_copy(clean_builds, tmp_path):
    import shutil

    root = tmp_path / "emotion_dataset_v1"
    shutil.copytree(clean_builds[0] / DATASET, root, ignore=shutil.ignore_patterns("export"))
    return root


def test_a_split_listing_a_sample_the_manifest_lacks_is_refused_naming_it(clean_builds, tmp_path):
    from penta_core.core.errors import InputError
    from penta_core.export.records import plan_export

    root = _version_copy(clean_builds, tmp_path)
    (root / "splits" / "val.txt").write_text((root / "splits" / "val.txt").read_text() + "ffffffffffffffff\n")
    with pytest.raises(InputError, match=r"splits/val\.txt lists ffffffffffffffff, which manifest\.json does not"):
        plan_export(DatasetLayout(root))


def test_a_sample_listed_in_two_splits_is_a_record_of_each(clean_builds, tmp_path):
    from penta_core.export.records import plan_export

    root = _version_copy(clean_builds, tmp_path)
    moved = (root / "splits" / "train.txt").read_text().split()[0]
    (root / "splits" / "test.txt").write_text((root / "splits" / "test.txt").read_text() + moved + "\n")
    with plan_export(DatasetLayout(root)) as plan:
        train, test = plan.records("train", [0])[0], plan.records("test", [plan.count("test") - 1])[0]
    assert train.id == test.id == moved and (train.meta["split"], test.meta["split"]) == ("train", "test")
    assert train.entry == test.entry and {k: v for k, v in train.meta.items() if k != "split"} == \
        {k: v for k, v in test.meta.items() if k != "split"}
