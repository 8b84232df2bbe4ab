"""Dataset versions: build v1, change a param, build v2, compare with `dvc metrics diff`; share via remotes."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import dataset_files, run

pytestmark = pytest.mark.slow
DATASET = Path("datasets/emotion_dataset_v1")


def _set_params(repo: Path, **groups) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for group, values in groups.items():
        params[group].update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def _commit_version(repo: Path, tag: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", f"dataset {tag}"], repo)
    run(["git", "tag", tag], repo)


@pytest.fixture(scope="module")
def versioned(clean_builds, tmp_path_factory):
    """A repo holding two tagged dataset versions that differ in augment.multiplier (3, then 2)."""
    repo = tmp_path_factory.mktemp("versions") / "repo"
    shutil.copytree(clean_builds[1], repo, symlinks=True)
    _commit_version(repo, "v1")
    _set_params(repo, augment={"multiplier": 2})
    (repo / "v2-build.log").write_text(run(["dvc", "repro"], repo).stdout)
    _commit_version(repo, "v2")
    return repo


def test_metrics_diff_reports_the_changed_counts(versioned):
    diff = json.loads(run(["dvc", "metrics", "diff", "v1", "v2", "--json"], versioned).stdout)
    validation = diff[str(DATASET / "metrics" / "validation.json")]
    assert validation["total_samples"]["old"] == 40 + 3 * 40 + 70
    assert validation["total_samples"]["new"] == 40 + 2 * 40 + 70
    assert validation["per_origin.augmented"]["diff"] == -40
    baseline = diff[str(DATASET / "metrics" / "baseline.json")]
    assert baseline["n_train"]["new"] < baseline["n_train"]["old"]  # fewer variants to train on


def test_diff_compares_the_two_versions_sample_by_sample(versioned):
    out = run([sys.executable, "-m", "penta_core.cli", "--diff", "v1", "v2", "--json"], versioned).stdout
    diff = json.loads(out)
    assert diff["counts"]["old_samples"] == 40 + 3 * 40 + 70 and diff["counts"]["new_samples"] == 40 + 2 * 40 + 70
    assert diff["added"] == [] and len(diff["removed"]) == 40
    assert {e["origin"] for e in diff["removed"]} == {"augmented"}
    assert all(e["id"].endswith("_aug003") for e in diff["removed"])
    assert diff["relabelled"] == [] and diff["features_changed"] == []
    text = run([sys.executable, "-m", "penta_core.cli", "--diff", "v1", "v2"], versioned).stdout
    assert "-40 removed" in text and "removed by origin: augmented 40" in text


def test_metrics_show_reads_both_metric_files(versioned):
    shown = run(["dvc", "metrics", "show", "--json"], versioned).stdout
    assert "balance_score" in shown and "macro_f1" in shown


def test_second_build_reran_only_what_the_change_touched(versioned):
    log = (versioned / "v2-build.log").read_text()
    for untouched in ("import", "annotate", "synthesize"):
        assert f"Stage '{untouched}' didn't change, skipping" in log
    for rerun in ("augment", "features", "manifest", "splits", "validate", "baseline"):
        assert f"Running stage '{rerun}'" in log
    assert "up to date" in run(["dvc", "status"], versioned).stdout


def _clone_and_pull(origin: Path, dest: Path) -> Path:
    run(["git", "clone", "-q", str(origin), str(dest)], dest.parent)
    run(["dvc", "pull", "-q"], dest)
    return dest


def _dataset_tree(repo: Path) -> dict[str, str]:
    return dataset_files(repo / DATASET)  # a clone has no lock and no records of earlier runs


def test_push_to_a_folder_remote_then_clone_and_pull_is_byte_identical(versioned, tmp_path):
    remote = tmp_path / "shared-storage"
    run(["dvc", "remote", "add", "-f", "-d", "shared", str(remote)], versioned)
    run(["git", "commit", "-qam", "remote"], versioned)
    run(["dvc", "push", "-q"], versioned)
    clone = _clone_and_pull(versioned, tmp_path / "clone")
    assert _dataset_tree(clone) == _dataset_tree(versioned)
    assert "Data and pipelines are up to date." in run(["dvc", "status"], clone).stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3_server():
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not os.path.exists(exe):
        pytest.skip("moto[server] is not installed (pip install 'moto[server]'); CI installs it")
    pytest.importorskip("dvc_s3", reason="dvc-s3 is not installed (pip install dvc-s3)")
    port = _free_port()
    server = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("moto_server did not start within 30 s")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def test_push_and_pull_through_an_s3_compatible_server(versioned, tmp_path, s3_server, monkeypatch):
    import boto3

    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    for key, value in creds.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket="datasets")
    run(["dvc", "remote", "add", "-f", "-d", "s3", "s3://datasets/penta"], versioned)
    run(["dvc", "remote", "modify", "s3", "endpointurl", s3_server], versioned)
    run(["git", "commit", "-qam", "s3 remote"], versioned)
    run(["dvc", "push", "-q"], versioned)
    listed = boto3.client("s3", endpoint_url=s3_server).list_objects_v2(Bucket="datasets")
    # Every imported file is an object of its own; derived samples come packed: far fewer objects than
    # samples (one object per derived sample, as before packing, would fail this).
    imported = len(json.loads((versioned / DATASET / "index" / "imported.json").read_text())["samples"])
    derived = len(json.loads((versioned / DATASET / "manifest.json").read_text())["samples"]) - imported
    assert imported < listed["KeyCount"] and listed["KeyCount"] - imported < derived / 2
    clone = _clone_and_pull(versioned, tmp_path / "s3clone")
    assert _dataset_tree(clone) == _dataset_tree(versioned)
    assert "Data and pipelines are up to date." in run(["dvc", "status"], clone).stdout
