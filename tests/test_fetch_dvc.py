"""Under DVC: the fetch stage runs before the import, is pinned by its params entry, and fails in one line."""
from __future__ import annotations

import json

import pytest
import yaml
from fetch_helpers import make_zip, midi_bytes, sha256
from helpers import project_copy, run

pytestmark = pytest.mark.slow


def _set_source(repo, url, digest):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["dataset"]["source"] = {"url": str(url), "sha256": digest, "name": "emo"}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_a_pinned_source_is_fetched_imported_and_changes_only_on_purpose(tmp_path):
    repo = project_copy(tmp_path / "repo")
    first = make_zip(tmp_path / "v1.zip", {"happy/a.mid": midi_bytes(tmp_path, 60)})
    _set_source(repo, first, sha256(first))
    out = run(["dvc", "repro", "import"], repo).stdout
    assert "Running stage 'fetch'" in out and "Running stage 'import'" in out
    root = repo / "datasets" / "emotion_dataset_v1"
    assert [s["source"] for s in json.loads((root / "index/imported.json").read_text())["samples"]] == \
        ["emo/happy/a.mid"]
    assert "Data and pipelines are up to date." in run(["dvc", "repro", "import"], repo).stdout

    second = make_zip(tmp_path / "v2.zip", {"happy/a.mid": midi_bytes(tmp_path, 60),
                                            "sad/b.mid": midi_bytes(tmp_path, 50)})
    _set_source(repo, second, sha256(first))  # a new upstream under the old pin: refused in one line
    failed = run(["dvc", "repro", "import"], repo, check=False)
    assert failed.returncode != 0 and "error: " + str(second) + ": sha256 mismatch" in failed.stderr
    assert sorted(p.name for p in (root / "sources" / "emo").rglob("*.mid")) == ["a.mid"]

    _set_source(repo, second, sha256(second))  # taken on purpose
    run(["dvc", "repro", "import"], repo)
    assert len(json.loads((root / "index/imported.json").read_text())["samples"]) == 2
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert lock["stages"]["fetch"]["params"]["params.yaml"]["dataset.source"]["sha256"] == sha256(second)
