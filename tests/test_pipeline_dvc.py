"""`dvc repro` on the embedded example: complete, deterministic, and up to date when rerun."""
from __future__ import annotations

import json
import shutil
import sys

import pytest
import yaml
from helpers import run

from penta_core.core.layout import STRUCTURE_DIRS

pytestmark = pytest.mark.slow


def _out_hashes(repo) -> dict[str, str]:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {
        f"{stage}:{out['path']}": out["md5"]
        for stage, spec in lock["stages"].items()
        for out in spec.get("outs", [])
    }


@pytest.fixture
def built(clean_builds):
    return clean_builds


def test_repro_builds_the_dataset_layout_with_labelled_manifest(built):
    root = built[0] / "datasets" / "emotion_dataset_v1"
    assert all((root / d).is_dir() for d in STRUCTURE_DIRS)
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["summary"]["total"] >= 40
    imported = [s for s in manifest["samples"] if s["origin"] == "imported"]
    assert {s["kind"] for s in imported} == {"midi", "audio"}
    assert {s["label"] for s in imported} == {"happy", "sad", "angry", "calm"}
    assert json.loads((root / "quarantine.json").read_text())["count"] == 0


def test_two_clean_runs_give_identical_lock_hashes(built):
    first, second = (_out_hashes(repo) for repo in built)
    assert first == second and len(first) >= 6


def test_outputs_hold_no_absolute_paths(built):
    repo = built[0]
    for path in (repo / "datasets" / "emotion_dataset_v1").rglob("*.json"):
        assert str(repo) not in path.read_text(), path


def test_second_repro_is_up_to_date(built):
    result = run(["dvc", "repro"], built[0])
    assert "Data and pipelines are up to date." in result.stdout
    assert "Running stage" not in result.stdout


def test_a_split_loads_for_training_in_one_call(built):
    from penta_core.dataset import load_split

    root = built[0] / "datasets" / "emotion_dataset_v1"
    train, test = load_split(root, "train"), load_split(root, "test")
    assert train.X.shape == (len(train.ids), len(train.columns)) and len(train.y) == len(train.ids)
    assert set(train.y) == {"happy", "sad", "angry", "calm"}
    assert not set(train.ids) & set(test.ids) and len(test.ids) > 0
    assert (root / "splits" / "test.txt").read_text().split() == test.ids


def test_the_report_of_a_built_version_prints_without_rerunning_anything(built):
    out = run([sys.executable, "-m", "penta_core.report"], built[0]).stdout
    assert "Dataset Validation Report" in out and "Valid: ✅" in out
    assert "Splits: train " in out and "baseline (" in out


def _changed_stages(repo) -> set[str]:
    status = json.loads(run(["dvc", "status", "--json"], repo).stdout or "{}")
    return {name.split(":")[-1] for name in status}


@pytest.mark.parametrize(("module", "expected"), [
    ("penta_core/splits/assign.py", {"splits"}),
    ("penta_core/families/midi.py", {"families"}),
    # The target models are loaded by name in the stages that use them; the emotion
    # recognizer's baseline reads the feature table, so those stages follow it.
    ("penta_core/features/table.py", {"targets", "validate", "baseline", "export"}),
    ("penta_core/harmony/recognizer.py", {"targets", "validate", "baseline"}),
    ("penta_core/harmony/sidecars.py", {"import", "targets", "validate", "baseline"}),
    ("penta_core/store/shards.py", {"import", "augment", "synthesize", "families", "targets"}),  # import: import.pack
    # Every stage validates augment ranges through the registry, but only augment runs the transforms.
    ("penta_core/augment/midi.py", {"augment"}),
    ("penta_core/core/io.py", {"create", "fetch", "import", "annotate", "augment", "synthesize", "features",
                               "families", "targets", "manifest", "splits", "validate", "baseline", "export"}),
])
def test_editing_a_module_marks_exactly_the_stages_that_import_it(built, module, expected):
    """`dvc status` names the code stage at once, and the stages the edit touches once it has rerun."""
    repo = built[1]
    path = repo / module
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# edited\n")
        assert _changed_stages(repo) == {"code"}
        run(["dvc", "repro", "code"], repo)
        assert _changed_stages(repo) == expected
    finally:
        path.write_bytes(original)
        run(["dvc", "repro", "code"], repo)
    assert _changed_stages(repo) == set()


def test_bytecode_beside_the_code_changes_no_stage(built):
    """Python writes ``__pycache__/*.pyc`` into the package folders the stages depend on; DVC must not count them."""
    package = built[1] / "penta_core"
    run([sys.executable, "-m", "compileall", "-q", str(package)], built[1])
    try:
        assert any(package.rglob("*.pyc"))
        assert _changed_stages(built[1]) == set()
    finally:
        for cache in list(package.rglob("__pycache__")):
            shutil.rmtree(cache)
