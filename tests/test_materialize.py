"""`penta-dataset --materialize`: packed samples back as plain files, byte for byte."""
from __future__ import annotations

import shutil

import pytest

from penta_core.cli import main
from penta_core.core.errors import InputError
from penta_core.core.io import read_json, sha256_file
from penta_core.core.layout import DatasetLayout
from penta_core.store.access import sample_bytes
from penta_core.store.materialize import materialize

DATASET = "datasets/emotion_dataset_v1"


@pytest.fixture(scope="module")
def repo(clean_builds):
    return clean_builds[0]


def _manifest(repo) -> dict[str, dict]:
    return {s["id"]: s for s in read_json(repo / DATASET / "manifest.json")["samples"]}


def test_materializing_all_gives_every_sample_as_the_bytes_of_its_shard_member(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(repo)
    assert main(["--materialize", "all", str(tmp_path / "out")]) == 0
    samples = _manifest(repo)
    layout = DatasetLayout(repo / DATASET)
    files = sorted(p for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert len(files) == len(samples)
    packed = [s for s in samples.values() if "shard" in s]
    assert {s["origin"] for s in packed} == {"augmented", "synthetic"}
    for sample in packed:
        folder = sample["shard"].rsplit("/", 1)[0]
        target = tmp_path / "out" / folder / sample["member"]
        assert target.read_bytes() == sample_bytes(layout, sample)
        assert sha256_file(target) == sample["sha256"]
    variant = next(s for s in packed if s["origin"] == "augmented" and s["kind"] == "midi")
    label_folder = (tmp_path / "out" / "processed" / "augmented" / variant["member"]).parent.name
    assert label_folder == variant["label"]  # the parent's folders, so labels still read from folder names


def test_materializing_a_split_writes_exactly_its_samples(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    assert main(["--materialize", "test", str(tmp_path / "test")]) == 0
    wanted = (repo / DATASET / "splits" / "test.txt").read_text().split()
    assert len([p for p in (tmp_path / "test").rglob("*") if p.is_file()]) == len(wanted) > 0
    assert f"wrote {len(wanted)} files" in capsys.readouterr().out


def test_materializing_one_sample_by_id(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    sample = next(s for s in _manifest(repo).values() if s["origin"] == "synthetic")
    assert main(["--materialize", sample["id"], str(tmp_path / "one")]) == 0
    (written,) = [p for p in (tmp_path / "one").rglob("*") if p.is_file()]
    assert written.name == sample["member"].rsplit("/", 1)[1] and sha256_file(written) == sample["sha256"]


def test_an_unknown_id_is_a_one_line_error_and_writes_nothing(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    assert main(["--materialize", "no_such_sample", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "neither a sample id" in err
    assert not (tmp_path / "none").exists()


def test_a_shard_member_that_no_longer_matches_its_checksum_is_refused(repo, tmp_path):
    copy = tmp_path / "ds"
    shutil.copytree(repo / DATASET, copy)
    layout = DatasetLayout(copy)
    sample = next(s for s in _manifest(repo).values() if s["origin"] == "augmented")
    shard = layout.abs(sample["shard"])
    data = bytearray(shard.read_bytes())
    data[520] ^= 0xFF  # inside the first member
    shard.write_bytes(bytes(data))
    first_id = min(read_json(shard.with_suffix(".json"))["members"], key=lambda m: m["offset"])["id"]
    first = _manifest(repo)[first_id]
    with pytest.raises(InputError, match="do not match the sha256"):
        materialize(layout, [first], tmp_path / "out")
