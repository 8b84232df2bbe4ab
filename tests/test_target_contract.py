"""Every registered target model over the embedded example and the POP909 fixtures: one contract for all.

Like mirdata's test over every loader: for each model in the registry, the
pipeline's steps run on the embedded example (half its MIDI pieces, the
annotated ones among them, and their chord annotations; its recordings are
left to the pipeline tests, whose audio features cost half a minute), and
the same things must hold whatever the
model: labels derived for every sample it reads, examples written, its
validation checks and baseline in the metrics, and augmented variants whose
labels are their parent's, transformed as the model's rules say.
"""
from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO
from target_helpers import SONGS, song_midi

from penta_core.cli import load_step
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.features.table import load_feature_table
from penta_core.harmony.annotations import annotations_beside
from penta_core.targets import registry
from penta_core.targets.examples import read_derived, vocabulary_path
from penta_core.targets.model import check_augmentations, load_model

MODELS = sorted(registry.TARGETS)
SHARED_STEPS = ("import", "augment", "features")
MODEL_STEPS = ("annotate", "targets", "manifest", "splits", "validate", "baseline")
ANNOTATED_PIECES = 5  # the example's .lab and .jams files
# Models whose labels hang on a key and chords (annotation files win); the others carry their own split labels.
KEYED = ("harmonypredictor", "melodytransformer")




def contract_params(root: Path, source: Path, model: str) -> dict:
    return resolve({
        "dataset": {"name": "contract", "root": str(root), "source_dir": str(source), "target_model": model},
        "import": {"n_jobs": 1}, "features": {"n_jobs": 2}, "targets": {"n_jobs": 2},
        "augment": {"multiplier": 1, "n_jobs": 2}, "synthesize": {"count": 0}, "families": {"detect": False},
    })


@pytest.fixture(scope="session")
def contract_builds(tmp_path_factory) -> dict[str, tuple[dict, DatasetLayout]]:
    """Per model: params and the dataset built from the example's first four pieces per folder and annotations."""
    source = tmp_path_factory.mktemp("example")
    examples = REPO / "datasets" / "examples"
    for path in sorted(examples.rglob("*_0[1-4].*")):
        if path.suffix in (".mid", ".lab", ".jams"):
            (source / path.relative_to(examples)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, source / path.relative_to(examples))
    shared = tmp_path_factory.mktemp("shared")
    params = contract_params(shared, source, MODELS[0])
    for step in SHARED_STEPS:
        load_step(step)(params, DatasetLayout.from_params(params))
    builds = {}
    for model in MODELS:
        root = tmp_path_factory.mktemp(model)
        shutil.copytree(shared / "contract", root / "contract")
        params = contract_params(root, source, model)
        layout = DatasetLayout.from_params(params)
        for step in MODEL_STEPS:
            load_step(step)(params, layout)
        builds[model] = (params, layout)
    return builds


def manifest_of(layout: DatasetLayout) -> dict[str, dict]:
    return {s["id"]: s for s in read_json(layout.manifest)["samples"]}


@pytest.mark.parametrize("name", MODELS)
def test_declares_a_rule_for_every_augmentation_and_an_example_format(name):
    model = load_model(name)
    check_augmentations(model)
    assert model.name == name and model.example_format
    assert importlib.import_module(model.declaration.module).MODEL is model
    assert set(model.reads) <= {"midi", "audio"}


@pytest.mark.parametrize("name", MODELS)
def test_labels_are_derived_for_every_sample_the_model_reads(name, contract_builds):
    params, layout = contract_builds[name]
    model = load_model(name)
    samples = manifest_of(layout)
    if not model.derives:
        assert all(s["label"] for s in samples.values() if s["origin"] == "imported")
        return
    records = read_json(layout.index("targets"))["samples"]
    read = {sid for sid, s in samples.items() if s["kind"] in model.reads
            and (s["origin"] != "augmented" or model.uses_variant(s["transform"], params))}  # not those it drops
    assert set(records) == read and all(r["status"] == "ok" for r in records.values())
    assert all(samples[sid]["label"] == records[sid]["label"] in load_model(name).piece_labels for sid in read)
    annotated = [sid for sid in read if samples[sid]["target"]["labels"] == "annotated"]
    assert len(annotated) == (2 * ANNOTATED_PIECES if name in KEYED else 0)  # the annotated pieces and variants


@pytest.mark.parametrize("name", MODELS)
def test_examples_are_written_for_every_sample(name, contract_builds):
    _, layout = contract_builds[name]
    model = load_model(name)
    if not model.derives:
        ids, _, X = load_feature_table(layout)
        assert set(ids) == set(manifest_of(layout)) and np.isfinite(X).all()
        return
    index = read_json(layout.index("targets"))
    with_examples = 0
    for sample_id, record in index["samples"].items():
        member = read_derived(layout, record)
        assert member["id"] == sample_id
        assert name not in KEYED or member["labels"]["key"]["mode"] in ("major", "minor")
        assert len(member["examples"]) == record["stats"]["examples"]
        with_examples += bool(member["examples"])
    # A short melody (a slow piece, thinned by note dropout) may give no 33-note window.
    assert with_examples >= 0.75 * len(index["samples"])
    assert read_json(vocabulary_path(layout, name)) == model.vocabulary()


@pytest.mark.parametrize("name", MODELS)
def test_validation_and_baseline_metrics_are_present(name, contract_builds):
    _, layout = contract_builds[name]
    model = load_model(name)
    validation = read_json(layout.metrics_dir / "validation.json")
    baseline = read_json(layout.metrics_dir / "baseline.json")
    assert validation["quality_score"] == 1.0 and validation["leakage_groups"] == 0
    regression = "velocity_mae" in baseline["val"]
    for split in ("val", "test"):
        if regression:  # velocities (and offsets): errors against simple references
            assert baseline[split]["velocity_mae"] >= 0 and baseline[split]["velocity_mae_voice_mean"] >= 0
        else:
            assert 0.0 <= baseline[split]["accuracy"] <= 1.0
    if model.derives:
        assert validation["target"]["samples"] == validation["target"]["samples"] > 0
        assert validation["target"]["examples"] > 0 and baseline["target_model"] == name
        assert regression or all("chance_accuracy" in baseline[split] for split in ("val", "test"))
        assert baseline["n_train"] > 0 and baseline["test"]["n"] > 0
    else:
        assert "target" not in validation and "chance_accuracy" in baseline


def _overlap(a: list, b: list) -> float:
    """Share of ``a``'s duration where ``b`` has the same label (both ``[start, end, label, ...]`` lists)."""
    total = sum(x[1] - x[0] for x in a)
    same = sum(max(0.0, min(x[1], y[1]) - max(x[0], y[0])) for x in a for y in b if x[2] == y[2])
    return same / total if total else 1.0


@pytest.mark.parametrize("name", MODELS)
def test_augmented_variants_carry_their_parents_labels_transformed(name, contract_builds):
    _, layout = contract_builds[name]
    model = load_model(name)
    samples = manifest_of(layout)
    variants = [s for s in samples.values() if s["origin"] == "augmented" and s["kind"] in model.reads]
    assert variants
    if not model.derives:
        assert all(v["label"] == samples[v["parent"]]["label"] for v in variants)
        return
    records = read_json(layout.index("targets"))["samples"]
    if name == "groovepredictor":
        _groove_variants_match(model, layout, records, variants)
        return
    if name == "dynamicsengine":
        _dynamics_variants_match(model, layout, records, variants)
        return
    for variant in variants:
        parent = read_derived(layout, records[variant["parent"]])["labels"]
        expected = model.transform_labels(parent, variant["transform"])
        got = read_derived(layout, records[variant["id"]])["labels"]
        assert got["key"]["tonic"] == expected["key"]["tonic"]
        if got["chords_source"] == "annotated":  # transformed annotations: exactly the parent's, moved
            assert [s[2] for s in got["segments"]] == [s[2] for s in expected["segments"]]
            assert np.allclose([s[:2] for s in got["segments"]], [s[:2] for s in expected["segments"]], atol=1e-5)
        else:  # estimated again on the variant: the same chords, save where dropout or jitter moved a beat
            assert _overlap(expected["segments"], got["segments"]) >= 0.9
        if name == "melodytransformer":  # the parent's melody moved, less the notes dropout removed
            want, have = expected["melody"]["notes"], got["melody"]["notes"]
            found = sum(any(abs(h[0] - w[0]) <= 0.05 and h[2:] == w[2:] for w in want) for h in have)
            assert found == len(have) >= 0.75 * len(want)


def _groove_variants_match(model, layout, records, variants) -> None:
    """Each variant's notes sit where its parent's do, moved as the rules say (ms offsets scaled by the tempo)."""
    used = [v for v in variants if v["id"] in records]
    assert all(v["id"] in records for v in variants if not v["transform"].get("timing_jitter_ms"))
    assert not any(v["transform"].get("timing_jitter_ms") for v in used)  # jitter is off for groove
    for variant in used:
        expected = model.transform_labels(read_derived(layout, records[variant["parent"]])["labels"],
                                          variant["transform"])
        got = read_derived(layout, records[variant["id"]])["labels"]
        assert got["grid"] == expected["grid"] and got["style"] == expected["style"]
        want = {(round(n[0], 2), n[6]): n for n in expected["notes"]}
        found = [want.get((round(n[0], 2), n[6])) for n in got["notes"]]
        matched = [(n, w) for n, w in zip(got["notes"], found) if w is not None]
        assert len(matched) >= 0.9 * len(got["notes"])
        assert all(abs(n[2] - w[2]) < 1.0 and abs(n[3] - w[3]) < 1e-3 for n, w in matched)  # ms, beats


def _dynamics_variants_match(model, layout, records, variants) -> None:
    """Each variant's notes are its parent's, moved in time and scaled in velocity as the rules say."""
    for variant in variants:
        expected = model.transform_labels(read_derived(layout, records[variant["parent"]])["labels"],
                                          variant["transform"])["notes"]
        got = read_derived(layout, records[variant["id"]])["labels"]["notes"]
        onsets = np.array([n[0] for n in expected])
        near = [np.flatnonzero((np.abs(onsets - n[0]) <= 0.05) & (np.array([e[1] for e in expected]) == n[1]))
                for n in got]
        assert sum(k.size > 0 for k in near) >= 0.9 * len(got) >= 0.7 * len(expected)


@pytest.mark.parametrize("name", MODELS)
def test_pop909_fixtures_get_their_annotated_chords_and_key(name):
    model = load_model(name)
    params = resolve()
    if not model.derives:
        with pytest.raises(NotImplementedError):
            model.derive(song_midi(SONGS[0]).read_bytes(), None, params)
        return
    if name not in KEYED:  # no chords or key in its labels: it derives from the notes alone
        derived = model.derive(song_midi(SONGS[0]).read_bytes(), annotations_beside(song_midi(SONGS[0])), params)
        assert derived.examples and derived.piece_label in load_model(name).piece_labels
        json.dumps(derived.examples, allow_nan=False)
        return
    for song in SONGS:
        path = song_midi(song)
        annotations = annotations_beside(path)
        derived = model.derive(path.read_bytes(), annotations, params)
        labels = derived.labels
        assert (labels["chords_source"], labels["key_source"]) == ("annotated", "annotated")
        assert labels["key"]["name"] == annotations.main_key().name
        assert derived.piece_label == annotations.main_key().mode and derived.examples
        json.dumps(derived.examples, allow_nan=False)  # JSON-ready, finite


def test_the_targets_stage_is_incremental_and_deterministic(contract_builds):
    params, layout = contract_builds["harmonypredictor"]
    folder = layout.abs("processed/targets")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    index = layout.index("targets").read_bytes()
    from penta_core.targets.build import build_targets

    again = build_targets(layout, params)
    assert again["generated"] == 0 and again["reused"] == len(read_json(layout.index("targets"))["samples"])
    shutil.rmtree(folder)
    clean = build_targets(layout, params)
    assert clean["generated"] == again["reused"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert layout.index("targets").read_bytes() == index


@pytest.mark.parametrize("name", MODELS)
def test_the_report_prints_the_models_validation_and_baseline(name, contract_builds, tmp_path, capsys):
    import yaml

    from penta_core import report

    params, _ = contract_builds[name]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert report.main([str(tmp_path / "params.yaml")]) == 0
    out = capsys.readouterr().out
    assert "Dataset Validation Report" in out and "baseline (" in out
    assert ("\nTarget: " in out) is load_model(name).derives


@pytest.mark.parametrize("name", [m for m in MODELS if load_model(m).derives])
def test_load_examples_gives_the_split_members_for_training(name, contract_builds):
    from penta_core.dataset import load_examples

    _, layout = contract_builds[name]
    train = load_examples(layout.root, "train")
    split_ids = (layout.splits_dir / "train.txt").read_text().split()
    assert [sid for sid, _ in train] == split_ids and all(member["examples"] is not None for _, member in train)
