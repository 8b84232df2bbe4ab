"""The export stage: Parquet, WebDataset and LMDB read back with other people's libraries equal to the version,
deterministic, incremental per split, with a dataset card a hub understands.
"""
from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import yaml
from helpers import tree_digest

from penta_core.core.errors import InputError, ParamError
from penta_core.core.io import read_json, sha256_bytes
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import load_params, resolve
from penta_core.export.build import export_dataset
from penta_core.features.table import load_feature_table
from penta_core.store.access import sample_bytes

DATASET = "datasets/emotion_dataset_v1"
HUB = {"train": "train", "val": "validation", "test": "test"}


@pytest.fixture(scope="module")
def built(clean_builds):
    """The first clean `dvc repro` of the example: its export/ was made by the export stage."""
    return clean_builds[0] / DATASET


class Version:
    """What the version itself says: samples, split lists, feature rows, classes."""

    def __init__(self, root):
        self.layout = DatasetLayout(root)
        self.samples = {s["id"]: s for s in read_json(root / "manifest.json")["samples"]}
        self.splits = {n: (root / "splits" / f"{n}.txt").read_text().split() for n in HUB}
        ids, self.columns, X = load_feature_table(self.layout)
        self.features = {sid: X[i] for i, sid in enumerate(ids)}
        catalogue = root / "export" / "export.json"
        self.classes = read_json(catalogue)["classes"] if catalogue.is_file() else None

    def check_bytes(self, sid: str, data: bytes) -> None:
        """``data`` is the sample: its own bytes, or audio re-encoded to FLAC decoding to the same samples."""
        entry = self.samples[sid]
        if entry["kind"] == "midi" or sample_bytes(self.layout, entry)[:4] == b"fLaC":
            assert sha256_bytes(data) == entry["sha256"], sid
            return
        original, rate = sf.read(io.BytesIO(sample_bytes(self.layout, entry)), dtype="int16")
        exported, exported_rate = sf.read(io.BytesIO(data), dtype="int16")
        assert data[:4] == b"fLaC" and rate == exported_rate and np.array_equal(original, exported), sid


def test_parquet_reads_back_with_pyarrow_equal_to_the_version(built):
    import pyarrow.parquet as pq

    version = Version(built)
    for split in HUB:
        table = pq.read_table(built / "export" / f"{split}.parquet")
        rows = table.to_pylist()
        assert [r["id"] for r in rows] == version.splits[split] and rows, split
        meta = json.loads(table.schema.metadata[b"penta_core"])
        assert meta["feature_columns"] == version.columns and meta["classes"] == version.classes
        for row in rows:
            entry = version.samples[row["id"]]
            assert (row["label"], row["valence"], row["arousal"], row["group"], row["origin"], row["kind"]) == \
                (entry["label"], entry["valence"], entry["arousal"], entry["group"], entry["origin"], entry["kind"])
            assert version.classes[row["label_id"]] == entry["label"] and row["split"] == split
            assert json.loads(row["transform"]) == entry["transform"] if entry.get("transform") else \
                row["transform"] is None
            assert np.array_equal(np.array(row["features"]), version.features[row["id"]])
            if entry["kind"] == "midi":
                assert row["audio"] is None
                version.check_bytes(row["id"], row["midi"])
            else:
                assert row["midi"] is None and row["audio"]["path"] is None
                version.check_bytes(row["id"], row["audio"]["bytes"])
    kinds = {version.samples[i]["kind"] for ids in version.splits.values() for i in ids}
    assert kinds == {"midi", "audio"}  # both byte columns were exercised


def test_parquet_row_groups_are_equal_shares_in_multiples_of_workers_multiple(built):
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(built / "export" / "train.parquet").metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert len(sizes) % 8 == 0 and max(sizes) - min(sizes) <= 1


def test_load_dataset_on_the_export_folder_finds_the_splits_the_card_names(built, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is a test extra")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    version = Version(built)
    loaded = datasets.load_dataset(str(built / "export"))
    assert set(loaded) == {"train", "validation", "test"}
    for split, hub in HUB.items():
        assert loaded[hub]["id"] == version.splits[split]
    assert loaded["train"].features["label_id"].names == version.classes
    assert loaded["train"].features["features"].length == len(version.columns)
    one = datasets.load_dataset("parquet", data_files={"test": str(built / "export" / "test.parquet")})["test"]
    assert one["label"] == [version.samples[i]["label"] for i in version.splits["test"]]


def test_the_webdataset_library_reads_the_shards_equal_to_the_version(built):
    wds = pytest.importorskip("webdataset", reason="webdataset is a test extra, proving the shards' format")
    version = Version(built)
    for split in HUB:
        shards = sorted(str(p) for p in (built / "export" / "webdataset").glob(f"{split}-*.tar"))
        assert len(shards) % 8 == 0 and shards
        seen = []
        for sample in wds.WebDataset(shards, shardshuffle=False, empty_check=False):
            record = json.loads(sample["json"])
            sid = sample["__key__"]
            seen.append(sid)
            entry = version.samples[sid]
            assert record["label"] == entry["label"] and record["id"] == sid and record["split"] == split
            version.check_bytes(sid, sample["mid"] if entry["kind"] == "midi" else sample["flac"])
            assert np.array_equal(np.load(io.BytesIO(sample["npy"])), version.features[sid])
        assert sorted(seen) == version.splits[split]


def test_small_shards_come_in_multiples_of_workers_multiple_with_equal_counts(exported):
    catalogue = read_json(exported / "export" / "export.json")
    version = Version(exported)
    files = catalogue["exports"]["webdataset"]["train"]["files"]
    assert len(files) % 8 == 0 and len(files) >= 16  # 0.25 MB shards: the train split spans many
    assert sum(entry["size"] for entry in files.values()) / len(files) <= 0.25 * 2**20
    counts = [entry["samples"] for entry in files.values()]
    assert sum(counts) == len(version.splits["train"]) and max(counts) - min(counts) <= 1


def test_lmdb_reads_back_with_the_lmdb_package_alone(exported):
    lmdb = pytest.importorskip("lmdb", reason="LMDB export needs the lmdb package (an optional extra)")
    version = Version(exported)
    env = lmdb.open(str(exported / "export" / "val.lmdb"), subdir=False, readonly=True, lock=False)
    with env.begin() as txn:
        keys = [bytes(k).decode() for k, _ in txn.cursor() if not bytes(k).startswith(b"__")]
        assert keys == sorted(version.splits["val"])
        for sid in keys:
            head, _, body = txn.get(sid.encode()).partition(b"\n")  # the recipe the README gives
            parts = {k: body[o:o + n] for k, (o, n) in json.loads(head).items()}
            entry = version.samples[sid]
            assert json.loads(parts["json"])["label"] == entry["label"]
            version.check_bytes(sid, parts["mid"] if entry["kind"] == "midi" else parts["flac"])
            assert np.array_equal(np.load(io.BytesIO(parts["npy"])), version.features[sid])
    env.close()


def test_two_clean_builds_export_identical_bytes(clean_builds):
    first, second = (tree_digest(repo / DATASET / "export") for repo in clean_builds)
    assert first == second and any(name.endswith(".parquet") for name in first)


def test_lmdb_files_are_deterministic(exported, tmp_path):
    pytest.importorskip("lmdb", reason="LMDB export needs the lmdb package (an optional extra)")
    copy = tmp_path / "emotion_dataset_v1"
    shutil.copytree(exported, copy)
    shutil.rmtree(copy / "export")
    export_dataset(DatasetLayout(copy), _params(copy, formats=["lmdb"]))
    for split in HUB:
        assert (copy / "export" / f"{split}.lmdb").read_bytes() == \
            (exported / "export" / f"{split}.lmdb").read_bytes()


def _params(root, **export):
    return resolve({"dataset": {"root": str(root.parent), "name": root.name}, "export": export})


def _stamps(folder):
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def test_a_change_to_one_split_rewrites_only_that_splits_files(built, tmp_path):
    root = tmp_path / "emotion_dataset_v1"
    shutil.copytree(built, root)
    layout = DatasetLayout(root)
    params = _params(root)
    again = export_dataset(layout, params)
    assert again["rebuilt"] == [] and again["files_written"] == 0  # the stage's own output is up to date
    before = _stamps(root / "export")
    manifest = read_json(layout.manifest)
    relabelled = (root / "splits" / "val.txt").read_text().split()[0]
    entry = next(s for s in manifest["samples"] if s["id"] == relabelled)
    entry["label"] = next(c for c in ("happy", "sad") if c != entry["label"])
    (layout.manifest).write_text(json.dumps(manifest))
    report = export_dataset(layout, params)
    assert report["rebuilt"] == [("parquet", "val"), ("webdataset", "val")]
    after = _stamps(root / "export")
    changed = {name for name in after if after[name] != before.get(name)}
    assert "val.parquet" in changed and "README.md" in changed
    assert not {n for n in changed if n.startswith(("train", "test", "webdataset/train", "webdataset/test"))}
    shard = next(n for n in changed if n.startswith("webdataset/val-"))
    import tarfile

    with tarfile.open(root / "export" / shard) as archive:
        records = [json.loads(archive.extractfile(m).read()) for m in archive if m.name.endswith(".json")]
    assert {r["label"] for r in records if r["id"] == relabelled} == {entry["label"]}


def test_dropping_a_format_deletes_its_files_and_adding_one_keeps_the_others(exported, tmp_path):
    root = tmp_path / "emotion_dataset_v1"
    shutil.copytree(exported, root)
    before = _stamps(root / "export")
    report = export_dataset(DatasetLayout(root), _params(root, formats=["parquet"], shard_mb=0.25))
    assert report["rebuilt"] == [] and report["removed"] > 0
    left = sorted(p.relative_to(root / "export").as_posix() for p in (root / "export").rglob("*") if p.is_file())
    assert left == ["README.md", "export.json", "test.parquet", "train.parquet", "val.parquet"]
    assert all(_stamps(root / "export")[n] == before[n] for n in left if n.endswith(".parquet"))


def test_the_card_has_a_hub_header_and_the_versions_label_counts(built):
    text = (built / "export" / "README.md").read_text()
    _, header, body = text.split("---\n", 2)
    card = yaml.safe_load(header)
    assert card["license"] == "unknown" and card["task_categories"] == ["audio-classification"]
    assert card["size_categories"] == ["n<1K"]
    files = {f["split"]: f["path"] for f in card["configs"][0]["data_files"]}
    assert files == {"train": "train.parquet", "validation": "val.parquet", "test": "test.parquet"}
    version = Version(built)
    for label in ("happy", "sad", "angry", "calm"):
        counts = [sum(1 for i in version.splits[s] if version.samples[i]["label"] == label) for s in HUB]
        assert f"| {label} | {' | '.join(map(str, counts))} |" in body
    manifest = read_json(built / "manifest.json")
    offline = manifest["augmentation"]["offline"]
    assert offline["multiplier"] == 3 and "transpose_semitones" in offline["midi"]
    assert f"{offline['multiplier']} variants per imported sample" in body and "`transpose_semitones` -5 to 6" in body


def test_a_sample_whose_bytes_no_longer_match_the_manifest_is_refused(built, tmp_path):
    root = tmp_path / "emotion_dataset_v1"
    shutil.copytree(built, root)
    shutil.rmtree(root / "export")
    version = Version(root)
    victim = next(version.samples[i] for i in version.splits["test"] if "path" in version.samples[i])
    path = root / victim["path"]
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(InputError, match=f"sample {victim['id']}: its bytes do not match"):
        export_dataset(DatasetLayout(root), _params(root))


@pytest.mark.parametrize(("export", "message"), [
    ({"formats": ["csv"]}, r"'export.formats' must be a non-empty list of parquet, webdataset, lmdb"),
    ({"formats": []}, r"'export.formats' must be a non-empty list"),
    ({"formats": ["parquet", "parquet"]}, r"'export.formats' must be a list without repeats"),
    ({"audio": "wav"}, r"'export.audio' must be one of bytes, path"),
    ({"workers_multiple": 0}, r"'export.workers_multiple' must be an integer >= 1"),
    ({"shard_mb": 0}, r"'export.shard_mb' must be a number > 0"),
    ({"license": "MIT License"}, r"'export.license' must be a licence identifier"),
])
def test_bad_export_params_fail_naming_the_key(export, message):
    with pytest.raises(ParamError, match=message):
        resolve({"export": export})


def test_penta_dataset_export_runs_the_step(built, tmp_path, monkeypatch, capsys):
    from penta_core import cli

    root = tmp_path / "datasets" / "emotion_dataset_v1"
    shutil.copytree(built, root)
    shutil.rmtree(root / "export")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("export:\n  formats: [parquet]\n")
    assert cli.main(["--export", "--dataset", "emotion_dataset_v1"]) == 0
    out = capsys.readouterr().out
    assert "exported train" in out and "as parquet to export" in out
    assert (root / "export" / "train.parquet").is_file() and not (root / "export" / "webdataset").exists()
    assert load_params(tmp_path / "params.yaml")["export"]["formats"] == ["parquet"]


@pytest.mark.parametrize("fmt", ["pax", "gnu", "ustar"])
def test_the_shard_reader_reads_any_tar_as_tarfile_does(tmp_path, fmt):
    import tarfile

    from penta_core.export.webdataset import iter_members, iter_shard

    path = tmp_path / "shard.tar"
    long_folder = "a" * 120 if fmt != "ustar" else "folder"
    members = [(f"{long_folder}/k1.json", b'{"x": 1}'), (f"{long_folder}/k1.mid", b"MThd" * 300),
               ("k2.json", b"{}"), ("k2.npy", bytes(range(256)) * 5)]
    form = {"pax": tarfile.PAX_FORMAT, "gnu": tarfile.GNU_FORMAT, "ustar": tarfile.USTAR_FORMAT}[fmt]
    with tarfile.open(path, "w", format=form) as archive:
        folder = tarfile.TarInfo("a_folder")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)  # not a file: skipped
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert list(iter_members(path)) == members
    samples = list(iter_shard(path))
    assert [s["__key__"] for s in samples] == [f"{long_folder}/k1", "k2"] and samples[1]["npy"] == members[3][1]
    assert [s["__key__"] for s in iter_shard(path, keep=lambda record: record != b"{}")] == [f"{long_folder}/k1"]
    broken = bytearray(path.read_bytes())
    broken[len(broken) // 3] ^= 0xFF
    path.write_bytes(bytes(broken[: len(broken) // 2]))
    with pytest.raises(ValueError, match=r"bad tar header checksum|cut short"):
        list(iter_members(path))


def test_docstring_examples_run():
    import doctest

    from penta_core.export import parquet, webdataset

    for module in (parquet, webdataset):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_the_plan_builds_each_record_on_demand_from_the_manifest_and_the_table(built, tmp_path):
    from penta_core.export.records import plan_export
    from penta_core.export.webdataset import shard_bytes, write_shard

    version = Version(built)
    layout = DatasetLayout(built)
    with plan_export(layout) as plan:
        for split in HUB:
            assert plan.ids[split] == version.splits[split]
            records = list(plan.iter_records(split))
            assert [r.id for r in records] == version.splits[split]
            for r in records:
                entry = version.samples[r.id]
                assert r.entry.items() <= entry.items() and ("path" in r.entry or "shard" in r.entry)
                assert r.meta["label"] == entry["label"] and r.meta["split"] == split
                assert np.array_equal(r.features, version.features[r.id])
            assert plan.stats[split].count == len(records)
            assert sum(plan.stats[split].labels.values()) == len(records)
        order = list(range(plan.count("train")))[::-1]
        write_shard(layout, plan, "train", order, tmp_path / "s.tar")  # member by member, to a file
        assert (tmp_path / "s.tar").read_bytes() == shard_bytes(plan.reader, plan.records("train", order))
