"""`dvc repro` after adding, editing and removing sources: a clean build's bytes, and only the stages that must run.

The example's sources are changed the way a user changes a music folder: two
new pieces in folders whose labels the version already has, one piece edited
in place, one removed. The updated build must equal, file for file, a clean
build of the changed folder (except the one documented report of build
history: the split moves since the previous build); and since no label
appears or disappears, the synthesize stage (which reads only the labels
present) must not run.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import symusic
from helpers import dataset_files, project_copy, run

pytestmark = pytest.mark.slow
EXAMPLES = Path("datasets/examples")
DATASET = Path("datasets/emotion_dataset_v1")
# The only outputs that describe build history (README, *Splits*: "Moves are reported").
HISTORY = {"metrics/splits.json": "since_previous", "metrics/validation.json": "split_groups_moved"}


def _transposed(path: Path, semitones: int) -> bytes:
    score = symusic.Score(str(path))
    return score.shift_pitch(semitones).dumps_midi()


def _change_sources(repo: Path) -> None:
    examples = repo / EXAMPLES
    (examples / "happy" / "happy_09.mid").write_bytes(_transposed(examples / "happy" / "happy_03.mid", 2))
    (examples / "sad" / "sad_09.mid").write_bytes(_transposed(examples / "sad" / "sad_04.mid", -3))
    (examples / "calm" / "calm_06.mid").write_bytes(_transposed(examples / "calm" / "calm_06.mid", 1))
    (examples / "angry" / "angry_07.mid").unlink()


@pytest.fixture(scope="module")
def updated(clean_builds, tmp_path_factory):
    """(an updated build's repo, its `dvc repro` log, a clean build of the same changed sources)."""
    repo = tmp_path_factory.mktemp("updated") / "repo"
    shutil.copytree(clean_builds[0], repo, symlinks=True)
    _change_sources(repo)
    log = run(["dvc", "repro"], repo).stdout
    clean = project_copy(tmp_path_factory.mktemp("clean") / "repo")
    _change_sources(clean)
    run(["dvc", "repro"], clean)
    return repo, log, clean


def test_an_updated_build_equals_a_clean_build_of_the_changed_sources(updated):
    repo, _, clean = updated
    ours, theirs = dataset_files(repo / DATASET), dataset_files(clean / DATASET)
    assert ours.keys() == theirs.keys()
    differ = sorted(path for path in ours if ours[path] != theirs[path] and path not in HISTORY)
    assert not differ, f"files that differ from a clean build: {differ[:10]}"
    for path, key in HISTORY.items():
        updated_metrics = json.loads((repo / DATASET / path).read_text())
        clean_metrics = json.loads((clean / DATASET / path).read_text())
        assert key in updated_metrics and key not in clean_metrics
        del updated_metrics[key]
        assert updated_metrics == clean_metrics, path


def test_the_update_saw_every_change(updated, clean_builds):
    repo, _, _ = updated
    before, after = dataset_files(clean_builds[0] / DATASET), dataset_files(repo / DATASET)
    assert before["index/imported.json"] != after["index/imported.json"]
    assert before["metrics/validation.json"] != after["metrics/validation.json"]


def test_sources_with_labels_the_version_has_leave_synthesis_alone(updated):
    _, log, _ = updated
    assert "Stage 'synthesize' didn't change, skipping" in log
    for stage in ("import", "annotate", "augment", "features", "families", "manifest", "splits", "validate",
                  "baseline", "export"):
        assert f"Running stage '{stage}'" in log


def test_a_label_that_appears_reruns_synthesis(updated, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(updated[0], repo, symlinks=True)
    tender = repo / EXAMPLES / "tender"
    tender.mkdir()
    (tender / "tender_01.mid").write_bytes(_transposed(repo / EXAMPLES / "calm" / "calm_02.mid", 4))
    status = run(["dvc", "status", "synthesize"], repo).stdout
    assert "synthesize" not in status  # nothing synthesize reads has changed yet
    run(["dvc", "repro", "annotate"], repo)
    assert "labels_present.json" in run(["dvc", "status", "synthesize"], repo).stdout
