"""A command that fails on its inputs writes nothing: no dataset folder, no config, no lock file."""
from __future__ import annotations

import pytest
from helpers import write_midi
from reliability_helpers import files_below

from penta_core import cli
from penta_core.core.errors import MissingInput
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.core.stage_runner import STAGE_NAMES, run_stage
from penta_core.core.steps import check_inputs

FIX = "set dataset.source_dir (or --import-dir) to a folder of MIDI or audio files"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("import:\n  n_jobs: 1\n")
    return tmp_path


def _one_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_import_from_a_missing_folder_creates_no_dataset(workdir, capsys):
    assert cli.main(["--import-dir", "/nonexistent", "--dataset", "x"]) == 1
    assert _one_line(capsys) == f"error: source folder '/nonexistent' does not exist; {FIX}"
    assert not (workdir / "datasets").exists()


def test_splits_of_a_dataset_that_does_not_exist_creates_none(workdir, capsys):
    assert cli.main(["--splits", "--dataset", "nosuch"]) == 1
    assert _one_line(capsys) == (
        "error: no dataset at 'datasets/nosuch'; --splits needs one with manifest.json: "
        "run --import-dir DIR first, or check --dataset and the current folder")
    assert not (workdir / "datasets").exists()


def test_validate_from_the_wrong_folder_creates_no_dataset_there(workdir, tmp_path, capsys, monkeypatch):
    write_midi(workdir / "music" / "happy" / "a.mid")
    assert cli.main(["--import-dir", "music", "--splits", "--dataset", "emo"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert cli.main(["--validate", "--dataset", "emo"]) == 1
    assert "error: no dataset at 'datasets/emo'; --validate needs one with manifest.json" in _one_line(capsys)
    assert list(elsewhere.iterdir()) == []


def test_a_step_missing_a_file_of_an_existing_dataset_names_it_and_writes_nothing(workdir, capsys):
    assert cli.main(["--create", "--dataset", "emo"]) == 0
    root = workdir / "datasets" / "emo"
    before = files_below(root)
    capsys.readouterr()
    assert cli.main(["--baseline", "--dataset", "emo"]) == 1
    assert _one_line(capsys) == (f"error: '{root.relative_to(workdir)}/splits/train.txt' does not exist; "
                                 "--baseline needs it: run --splits first")
    assert files_below(root) == before


def test_a_file_an_earlier_step_of_the_same_run_makes_counts_as_present(workdir):
    write_midi(workdir / "music" / "sad" / "a.mid")
    params = resolve({"dataset": {"name": "new", "source_dir": "music"}})
    layout = DatasetLayout.from_params(params)
    check_inputs(["create", "import", "annotate", "manifest", "splits", "validate"], layout, params,
                 STAGE_NAMES, "dataset.name")
    with pytest.raises(MissingInput, match=r"the baseline stage needs one with index/features\.json"):
        check_inputs(["create", "import", "manifest", "splits", "baseline"], layout, params,
                     STAGE_NAMES, "dataset.name")
    assert not layout.root.exists()


@pytest.mark.parametrize("step, needs, producer", [
    ("annotate", "index/imported.json", "import"),
    ("features", "index/imported.json", "import"),
    ("splits", "manifest.json", "manifest"),
    ("validate", "manifest.json", "manifest"),
    ("export", "manifest.json", "manifest"),
])
def test_a_stage_script_refuses_a_missing_dataset_without_creating_it(workdir, capsys, step, needs, producer):
    assert run_stage(cli.load_step(step), "params.yaml") == 1
    assert _one_line(capsys) == (
        f"error: no dataset at 'datasets/emotion_dataset_v1'; the {step} stage needs one with {needs}: "
        f"run the {producer} stage first, or check dataset.name and the current folder")
    assert not (workdir / "datasets").exists()


def test_a_stage_that_reads_nothing_still_needs_the_dataset_folder(workdir, capsys):
    assert run_stage(cli.load_step("synthesize"), "params.yaml") == 1
    assert _one_line(capsys) == ("error: no dataset at 'datasets/emotion_dataset_v1'; the synthesize stage needs "
                                 "one: run the create stage first, or check dataset.name and the current folder")
    assert not (workdir / "datasets").exists()


def test_the_import_stage_script_refuses_a_missing_source_without_creating_the_dataset(workdir, capsys):
    (workdir / "params.yaml").write_text("dataset:\n  source_dir: gone\n")
    assert run_stage(cli.load_step("import"), "params.yaml") == 1
    assert _one_line(capsys) == f"error: source folder 'gone' does not exist; {FIX}"
    assert not (workdir / "datasets").exists()
