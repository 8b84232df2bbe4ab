"""The command line, `penta-dataset`: create, import and annotate, input checks, errors."""
from __future__ import annotations

import json
import shutil

import pytest
from helpers import REPO, run, write_midi

from penta_core import cli
from penta_core.core.layout import STRUCTURE_DIRS
from penta_core.core.locking import DatasetBusy, dataset_lock


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("import:\n  n_jobs: 1\n")
    return tmp_path


def test_create_makes_the_dataset_layout_config_and_empty_manifest(workdir, capsys):
    assert cli.main(["--create", "--dataset", "emo", "--target-model", "emotionrecognizer"]) == 0
    root = workdir / "datasets" / "emo"
    assert all((root / d).is_dir() for d in STRUCTURE_DIRS)
    config = json.loads((root / "config.json").read_text())
    assert config["dataset"] == "emo" and config["params"]["dataset"]["name"] == "emo"
    assert json.loads((root / "manifest.json").read_text())["samples"] == []


def test_import_then_annotate_fill_the_manifest(workdir, capsys):
    write_midi(workdir / "music" / "Q1" / "a.mid")
    write_midi(workdir / "music" / "sad" / "a.mid", pitches=(45, 48))
    assert cli.main(["--import-dir", "music", "--dataset", "emo"]) == 0
    manifest = json.loads((workdir / "datasets/emo/manifest.json").read_text())
    assert sorted(s["source"] for s in manifest["samples"]) == ["Q1/a.mid", "sad/a.mid"]
    assert all(s["label"] is None for s in manifest["samples"])
    assert cli.main(["--annotate", "--dataset", "emo", "--params", "params.yaml"]) == 0
    manifest = json.loads((workdir / "datasets/emo/manifest.json").read_text())
    assert {s["source"]: s["label"] for s in manifest["samples"]} == {"Q1/a.mid": "happy", "sad/a.mid": "sad"}
    out = capsys.readouterr().out
    assert "imported 2 samples" in out and "annotated 2 samples (happy 1, sad 1)" in out


def test_missing_import_dir_is_one_line_and_nonzero(workdir, capsys):
    assert cli.main(["--import-dir", "nope", "--dataset", "emo"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("error: source folder 'nope' does not exist; "
                   "set dataset.source_dir (or --import-dir) to a folder of MIDI or audio files")


def test_bad_flag_value_is_caught_by_param_validation(workdir, capsys):
    assert cli.main(["--create", "--multiplier", "-2"]) == 1
    assert "'augment.multiplier' must be an integer >= 0, got -2" in capsys.readouterr().err


def test_no_step_chosen_is_an_error(workdir, capsys):
    assert cli.main([]) == 1
    assert "choose at least one step" in capsys.readouterr().err


def test_second_run_on_a_busy_dataset_refuses_with_a_clear_message(workdir, capsys):
    with dataset_lock(workdir / "datasets" / "emo"):
        assert cli.main(["--create", "--dataset", "emo"]) == 1
    assert "is in use by another penta-dataset run" in capsys.readouterr().err
    assert cli.main(["--create", "--dataset", "emo"]) == 0  # released with its holder


def test_lock_is_exclusive_within_one_process_too(tmp_path):
    with dataset_lock(tmp_path / "ds"), pytest.raises(DatasetBusy), dataset_lock(tmp_path / "ds"):
        pass


def test_console_script_is_installed_and_answers_help(tmp_path):
    exe = shutil.which("penta-dataset") or str(REPO / ".venv/bin/penta-dataset")
    result = run([exe, "--help"], tmp_path)
    for flag in ("--create", "--import-dir", "--annotate", "--extract-features", "--augment", "--synthesize",
                 "--validate", "--splits", "--all", "--dataset", "--target-model", "--multiplier", "--count"):
        assert flag in result.stdout


def test_steps_run_in_pipeline_order_with_the_manifest_rebuilt_before_its_readers():
    assert cli.plan_run(["import", "annotate"], has_config=False) == ["create", "import", "annotate", "manifest"]
    assert cli.plan_run(["splits", "import"], has_config=True) == ["splits", "import", "manifest"]
    planned = cli.plan_run(["import", "splits", "validate"], has_config=True)
    assert planned == ["import", "manifest", "splits", "validate"]
    assert cli.plan_run(["validate"], has_config=True) == ["validate"]


@pytest.mark.slow
def test_all_builds_a_validated_split_dataset_from_a_folder(workdir, capsys):
    shutil.copytree(REPO / "datasets" / "examples" / "happy", workdir / "music" / "happy")
    shutil.copytree(REPO / "datasets" / "examples" / "sad", workdir / "music" / "sad")
    code = cli.main(["--all", "--import-dir", "music", "--dataset", "emo", "--multiplier", "1", "--count", "4"])
    out = capsys.readouterr().out
    assert code == 0, out
    root = workdir / "datasets" / "emo"
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["summary"]["per_origin"] == {"augmented": 20, "imported": 20, "synthetic": 4}
    assert all(s["features"] == "ok" for s in manifest["samples"])
    assert sum(len((root / "splits" / f"{n}.txt").read_text().split()) for n in ("train", "val", "test")) > 20
    assert json.loads((root / "metrics" / "validation.json").read_text())["leakage_groups"] == 0
    assert "Dataset Validation Report" in out and "baseline (" in out
    config = json.loads((root / "config.json").read_text())
    assert config["params"]["augment"]["multiplier"] == 1 and config["params"]["dataset"]["source_dir"] == "music"


def test_multiplier_and_count_zero_switch_their_stages_off_and_the_rest_runs(workdir, capsys):
    for label in ("happy", "sad", "calm"):
        (workdir / "music" / label).mkdir(parents=True)
        for k in range(1, 5):
            shutil.copy(REPO / "datasets" / "examples" / label / f"{label}_0{k}.mid", workdir / "music" / label)
    assert cli.main(["--all", "--import-dir", "music", "--dataset", "plain", "--multiplier", "0", "--count", "0"]) == 0
    out = capsys.readouterr().out
    assert "augmentation off" in out and "synthesis off" in out
    root = workdir / "datasets" / "plain"
    assert json.loads((root / "index" / "augmented.json").read_text())["samples"] == []
    assert json.loads((root / "index" / "synthetic.json").read_text())["samples"] == []
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["summary"]["per_origin"] == {"imported": 12}
    assert all(s["features"] == "ok" for s in manifest["samples"])
    assert json.loads((root / "metrics" / "baseline.json").read_text())["n_train"] > 0
