"""Fetching sources: local folders and archives, pinned by sha256, each under its own folder, all or nothing."""
from __future__ import annotations

import json
import re

import pytest
from fetch_helpers import make_zip, midi_bytes, sha256

from penta_core.core.errors import InputError, MissingInput, MissingTool, ParamError
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.core.steps import check_inputs, import_folder
from penta_core.fetch import download
from penta_core.fetch.checksum import ChecksumMismatch
from penta_core.fetch.extract import UnsafeArchive
from penta_core.fetch.sources import fetch_sources
from penta_core.sources.stage import run as run_import


def _params(tmp_path, **dataset):
    return resolve({"dataset": {"name": "ds", "root": str(tmp_path / "datasets"),
                                "source_dir": str(tmp_path / "unused"), **dataset},
                    "import": {"n_jobs": 1}})


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def emopia_zip(tmp_path):
    """A small archive in EMOPIA's layout: one folder, clips named by quadrant, a label CSV beside them."""
    return make_zip(tmp_path / "up" / "EMOPIA_1.0.zip", {
        "EMOPIA_1.0/midis/Q1_a_0.mid": midi_bytes(tmp_path, 60),
        "EMOPIA_1.0/midis/Q3_b_0.mid": midi_bytes(tmp_path, 50),
        "EMOPIA_1.0/label.csv": b"ID,4Q\nQ1_a_0,1\nQ3_b_0,3\n",
    })


def test_a_local_archive_is_verified_extracted_under_its_name_and_imported(tmp_path, emopia_zip):
    params = _params(tmp_path, source={"url": str(emopia_zip), "sha256": sha256(emopia_zip)})
    layout = DatasetLayout.from_params(params)
    fetch_sources(params, layout)
    assert _files(layout.sources_dir) == ["EMOPIA_1.0/EMOPIA_1.0/label.csv", "EMOPIA_1.0/EMOPIA_1.0/midis/Q1_a_0.mid",
                                          "EMOPIA_1.0/EMOPIA_1.0/midis/Q3_b_0.mid"]
    metrics = json.loads((layout.metrics_dir / "sources.json").read_text())
    assert metrics["sources"] == [{"name": "EMOPIA_1.0", "url": str(emopia_zip), "sha256": sha256(emopia_zip),
                                   "kind": "archive", "files": 3, "bytes": metrics["sources"][0]["bytes"],
                                   "links_skipped": 0, "special_skipped": 0, "ratio": metrics["sources"][0]["ratio"]}]
    assert import_folder(params, layout) == layout.sources_dir
    lines = run_import(params, layout)
    imported = json.loads(layout.index("imported").read_text())["samples"]
    assert sorted(s["source"] for s in imported) == ["EMOPIA_1.0/EMOPIA_1.0/midis/Q1_a_0.mid",
                                                     "EMOPIA_1.0/EMOPIA_1.0/midis/Q3_b_0.mid"]
    assert json.loads(layout.quarantine.read_text())["count"] == 0  # the CSV is left for annotate
    assert any("1 tables" in line for line in lines)


def test_a_wrong_sha256_fails_in_one_line_and_extracts_nothing(tmp_path, emopia_zip):
    params = _params(tmp_path, source={"url": str(emopia_zip), "sha256": "0" * 64})
    layout = DatasetLayout.from_params(params)
    with pytest.raises(ChecksumMismatch, match=f"sha256 mismatch: expected 0{{64}}, got {sha256(emopia_zip)}") as err:
        fetch_sources(params, layout)
    assert "\n" not in str(err.value)
    assert not layout.sources_dir.exists() and not (layout.metrics_dir / "sources.json").exists()
    assert _files(layout.root) == []


def test_a_failed_fetch_keeps_the_previous_sources(tmp_path, emopia_zip):
    good = _params(tmp_path, source=str(emopia_zip))
    layout = DatasetLayout.from_params(good)
    fetch_sources(good, layout)
    before = _files(layout.sources_dir)
    hostile = make_zip(tmp_path / "up" / "hostile.zip", {"a.mid": b"MThd", "../../../escaped.mid": b"evil"})
    with pytest.raises(UnsafeArchive, match=re.escape("hostile.zip' refused: member '../../../escaped.mid'")):
        fetch_sources(_params(tmp_path, sources=[str(emopia_zip), str(hostile)]), layout)
    assert _files(layout.sources_dir) == before
    assert not list(tmp_path.rglob("escaped.mid"))


def test_several_sources_are_merged_each_under_its_own_folder(tmp_path, emopia_zip):
    folder = tmp_path / "mine"
    (folder / "happy").mkdir(parents=True)
    (folder / "happy" / "x.mid").write_bytes(midi_bytes(tmp_path, 70))
    params = _params(tmp_path, sources=[str(emopia_zip), {"url": str(folder), "name": "own"}])
    layout = DatasetLayout.from_params(params)
    report = fetch_sources(params, layout)
    assert [s["name"] for s in report.sources] == ["EMOPIA_1.0", "own"]
    assert "own/happy/x.mid" in _files(layout.sources_dir)
    assert report.sources[1]["kind"] == "folder" and len(report.sources[1]["sha256"]) == 64
    assert (folder / "happy" / "x.mid").exists()  # a source is only read


def test_a_folder_pinned_by_an_old_digest_fails(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "a.mid").write_bytes(b"MThd")
    params = _params(tmp_path, source={"url": str(folder), "sha256": "1" * 64})
    with pytest.raises(InputError, match="folder sha256 mismatch"):
        fetch_sources(params, DatasetLayout.from_params(params))


def test_two_sources_of_one_name_fail_at_the_params(tmp_path, emopia_zip):
    with pytest.raises(ParamError, match="name two sources alike"):
        _params(tmp_path, sources=[str(emopia_zip), str(emopia_zip)])


def test_a_download_without_sha256_fails_at_the_params(tmp_path):
    with pytest.raises(ParamError, match=r"'dataset\.source\.sha256' is required for a downloaded source"):
        _params(tmp_path, source="https://example.org/vgmidi.zip")


def test_a_missing_local_source_fails_in_one_line(tmp_path):
    params = _params(tmp_path, source=str(tmp_path / "nowhere.zip"))
    with pytest.raises(MissingInput, match=r"nowhere\.zip' does not exist"):
        fetch_sources(params, DatasetLayout.from_params(params))


def test_import_before_fetch_says_to_run_fetch(tmp_path, emopia_zip):
    params = _params(tmp_path, source=str(emopia_zip))
    layout = DatasetLayout.from_params(params)
    with pytest.raises(MissingInput, match="run the fetch stage first"):
        check_inputs(["import"], layout, params, {"import": "the import stage"}, "dataset.name")


def test_no_source_leaves_sources_empty_and_the_import_reads_source_dir(tmp_path):
    params = _params(tmp_path)
    layout = DatasetLayout.from_params(params)
    fetch_sources(params, layout)
    assert layout.sources_dir.is_dir() and _files(layout.sources_dir) == []
    assert import_folder(params, layout) == tmp_path / "unused"


def test_kaggle_without_the_client_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(download.importlib.util, "find_spec", lambda name: None)
    params = _params(tmp_path, source={"url": "kaggle://owner/set", "sha256": "2" * 64})
    with pytest.raises(MissingTool, match=r"kaggle client is not installed; .*pip install kaggle"):
        fetch_sources(params, DatasetLayout.from_params(params))


def test_kaggle_without_credentials_says_where_they_go(tmp_path, monkeypatch):
    monkeypatch.setattr(download.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    params = _params(tmp_path, source={"url": "kaggle://owner/set", "sha256": "2" * 64})
    with pytest.raises(MissingTool, match=r"no Kaggle credentials found .*kaggle\.json.*KAGGLE_USERNAME"):
        fetch_sources(params, DatasetLayout.from_params(params))


def _params_file(tmp_path, **dataset):
    import yaml

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"name": "cli", "root": str(tmp_path / "datasets"), **dataset},
                                    "import": {"n_jobs": 1}}))
    return str(path)


def test_penta_dataset_fetch_fetches_then_imports(tmp_path, emopia_zip, capsys):
    from penta_core import cli

    assert cli.main(["--fetch", "--params", _params_file(tmp_path, source=str(emopia_zip))]) == 0
    out = capsys.readouterr().out
    assert "fetched EMOPIA_1.0 (archive, verified" in out and "imported 2 samples" in out
    assert (tmp_path / "datasets" / "cli" / "manifest.json").exists()


def test_penta_dataset_import_dir_with_a_source_named_fails_in_one_line(tmp_path, emopia_zip, capsys):
    from penta_core import cli

    params = _params_file(tmp_path, source=str(emopia_zip))
    assert cli.main(["--import-dir", str(tmp_path), "--params", params]) == 1
    assert "use --fetch to import those" in capsys.readouterr().err
    assert not (tmp_path / "datasets").exists()
