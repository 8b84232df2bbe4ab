"""The targets stage and its neighbours: what a MIDI-only model reads, bad annotations, labels in the manifest."""
from __future__ import annotations

import shutil

import pytest
from helpers import REPO, write_tone

from penta_core.cli import load_step
from penta_core.core.errors import ParamError
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve

EXAMPLES = REPO / "datasets" / "examples"


def build(tmp_path, model: str, extra=None, steps=("import", "annotate", "targets", "manifest")) -> DatasetLayout:
    params = resolve({"dataset": {"name": "t", "root": str(tmp_path / "ds"), "source_dir": str(tmp_path / "src"),
                                  "target_model": model},
                      "import": {"n_jobs": 1}, "targets": {"n_jobs": 1}, **(extra or {})})
    layout = DatasetLayout.from_params(params)
    for step in steps:
        load_step(step)(params, layout)
    return layout


def example_source(folder):
    folder.mkdir(parents=True)
    for name in ("happy_01.mid", "happy_01.lab", "sad_02.mid", "calm_01.mid"):
        shutil.copy(EXAMPLES / name.split("_")[0] / name, folder / name)
    write_tone(folder / "take.wav")
    return folder


@pytest.fixture
def source(tmp_path):
    return example_source(tmp_path / "src" / "songs")


@pytest.fixture(scope="module")
def harmony_build(tmp_path_factory) -> DatasetLayout:
    """A harmony dataset of an annotated piece, an unannotated one, one with a malformed .lab, and a recording."""
    tmp_path = tmp_path_factory.mktemp("harmony")
    folder = example_source(tmp_path / "src" / "songs")
    (folder / "calm_01.lab").write_text("0.0 1.0 C:major\n")
    return build(tmp_path, "harmonypredictor")


def test_a_midi_only_model_labels_midi_and_leaves_audio_unlabelled(harmony_build):
    samples = {s["source"]: s for s in read_json(harmony_build.manifest)["samples"]}
    assert samples["songs/happy_01.mid"]["target"]["labels"] == "annotated"
    assert samples["songs/sad_02.mid"]["target"]["labels"] == "estimated"
    assert all(samples[f"songs/{n}"]["label"] in ("major", "minor") for n in ("happy_01.mid", "sad_02.mid"))
    assert samples["songs/take.wav"]["label"] is None and "target" not in samples["songs/take.wav"]


def test_annotation_files_are_not_quarantined(harmony_build):
    assert read_json(harmony_build.quarantine)["count"] == 0


def test_a_malformed_annotation_fails_its_sample_only_naming_the_file(harmony_build):
    records = read_json(harmony_build.index("targets"))["samples"]
    failed = [r for r in records.values() if r["status"] == "failed"]
    assert len(failed) == 1 and "calm_01.lab" in failed[0]["reason"] and "C:major" in failed[0]["reason"]
    assert sum(r["status"] == "ok" for r in records.values()) == 2
    manifest = {s["source"]: s for s in read_json(harmony_build.manifest)["samples"]}
    assert manifest["songs/calm_01.mid"]["target"]["status"] == "failed"
    assert manifest["songs/calm_01.mid"]["label"] is None


def test_a_model_without_folder_labels_gives_no_folder_label(harmony_build):
    assert all(a["label"] is None for a in read_json(harmony_build.index("annotated"))["annotations"].values())


def test_annotations_off_estimates_everything(tmp_path, source):
    layout = build(tmp_path, "melodytransformer", {"targets": {"n_jobs": 1, "annotations": False}})
    stats = [r["stats"] for r in read_json(layout.index("targets"))["samples"].values()]
    assert {s["chords_source"] for s in stats} == {"estimated"}


def test_the_emotion_recognizer_derives_nothing_in_the_targets_stage(tmp_path, source):
    layout = build(tmp_path, "emotionrecognizer")
    index = read_json(layout.index("targets"))
    assert index["derives"] is False and index["samples"] == {}
    assert not list(layout.abs("processed/targets").iterdir())
    assert all("target" not in s for s in read_json(layout.manifest)["samples"])


@pytest.mark.parametrize("model", ["harmonypredictor", "melodytransformer", "groovepredictor", "dynamicsengine"])
def test_params_accept_the_new_target_models(model):
    assert resolve({"dataset": {"target_model": model}})["dataset"]["target_model"] == model


def test_params_refuse_an_unknown_model_naming_the_available_ones():
    with pytest.raises(ParamError, match="must be one of emotionrecognizer, harmonypredictor"):
        resolve({"dataset": {"target_model": "tempomodel"}})
