"""Validation: each check scores the dataset and names what fails."""
from __future__ import annotations

import json

import pytest
from helpers import write_midi

from penta_core.cli import load_step
from penta_core.core.io import read_json
from penta_core.create.structure import create_structure, write_config
from penta_core.features.parts import read_parts
from penta_core.manifest.load import load_manifest
from penta_core.splits.assign import make_splits
from penta_core.validation.checks import balance, diversity, report_lines, validate_dataset

LABELS = ("happy", "sad", "angry", "calm")


@pytest.fixture
def dataset(tmp_path, params, layout):
    """Imported, annotated and manifested: 8 MIDI files per label."""
    for j, label in enumerate(LABELS):
        for k in range(8):
            write_midi(tmp_path / "src" / label / f"{k}.mid", pitches=(40 + 3 * j + k, 60 + k, 70 - j))
    create_structure(layout)
    write_config(layout, params)
    for step in ("import", "annotate", "manifest"):
        load_step(step)(params, layout)
    samples = load_manifest(layout)["samples"]
    splits = make_splits(samples, params["split"], params["seed"])
    splits = {name: splits[name] for name in ("train", "val", "test")}
    rows = {s["id"]: {"key_tonic": i % 12, "mode_minor": i % 2, "tempo_bpm": 60 + 5 * i} for i, s in enumerate(samples)}
    return samples, splits, rows


def _validate(layout, params, samples, splits, rows):
    status = dict.fromkeys(rows, "ok")
    return validate_dataset(layout, samples, splits, rows, status, params["validate"])


def test_a_clean_dataset_is_valid(layout, params, dataset):
    metrics, details = _validate(layout, params, *dataset)
    assert metrics["valid"] and details["failing"] == []
    assert metrics["total_samples"] == 32 and metrics["quality_score"] == 1.0 and metrics["balance_score"] == 1.0
    assert metrics["leakage_groups"] == 0 and metrics["structure_score"] == 1.0
    assert sum(metrics["per_split"].values()) == 32
    assert metrics["per_label"] == dict.fromkeys(sorted(LABELS), 8)


def test_a_deleted_file_is_named_and_lowers_quality(layout, params, dataset):
    samples = dataset[0]
    (layout.root / samples[3]["path"]).unlink()
    metrics, details = _validate(layout, params, *dataset)
    assert metrics["quality_counts"]["missing"] == 1
    assert details["quality_problems"]["missing"] == [samples[3]["id"]]
    assert metrics["quality_score"] == pytest.approx(31 / 32)


def test_a_corrupted_file_is_a_sha256_mismatch(layout, params, dataset):
    samples = dataset[0]
    path = layout.root / samples[5]["path"]
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    _metrics, details = _validate(layout, params, *dataset)
    assert details["quality_problems"]["sha256_mismatch"] == [samples[5]["id"]]


def test_a_leaked_split_is_caught_and_invalidates(layout, params, dataset):
    samples, splits, rows = dataset
    by_id = {s["id"]: s for s in samples}
    leaked_group = by_id[splits["test"][0]]["group"]
    variant = {"id": splits["test"][0] + "_aug001", "group": leaked_group, "origin": "augmented",
               "parent": splits["test"][0], "label": by_id[splits["test"][0]]["label"],
               "path": by_id[splits["test"][0]]["path"], "sha256": by_id[splits["test"][0]]["sha256"]}
    splits = dict(splits, train=splits["train"] + [variant["id"]])
    metrics, details = _validate(layout, params, samples + [variant], splits, rows)
    assert metrics["leakage_groups"] == 1 and not metrics["valid"]
    assert details["leakage"]["crossing_groups"] == [leaked_group]
    assert any(f.startswith("leakage") for f in details["failing"])
    derived = dict(splits, train=[splits["test"][0]], test=[variant["id"]])
    assert _validate(layout, params, samples + [variant], derived, rows)[0]["leakage_derived"] == 1


def test_a_missing_structure_folder_is_named(layout, params, dataset):
    (layout.root / "processed" / "augmented").rmdir()
    metrics, details = _validate(layout, params, *dataset)
    assert details["structure_missing"] == ["processed/augmented"] and not metrics["valid"]


def test_balance_is_smallest_over_largest_label():
    samples = [{"label": "a"}] * 10 + [{"label": "b"}] * 4 + [{"label": None}] * 3
    assert balance(samples)["score"] == pytest.approx(0.4)


def test_diversity_is_one_when_spread_evenly_and_zero_when_constant():
    even = [{"key_tonic": k, "mode_minor": k % 2, "tempo_bpm": 40 + 20 * (k % 10) + 5} for k in range(120)]
    assert diversity(even)["parts"]["key"] == pytest.approx(1.0)
    assert diversity(even)["parts"]["mode"] == pytest.approx(1.0)
    assert diversity(even)["parts"]["tempo"] == pytest.approx(1.0)
    same = [{"key_tonic": 0, "mode_minor": 0, "tempo_bpm": 120}] * 50
    assert diversity(same)["score"] == 0.0


def test_report_prints_the_validation_report_lines_and_names_failures(layout, params, dataset):
    params["validate"]["min_balance"] = 1.0
    samples, splits, rows = dataset
    metrics, details = _validate(layout, params, samples[1:], splits, rows)
    text = "\n".join(report_lines(metrics, details))
    for line in ("Dataset Validation Report", "Valid: ❌", "Total Samples: 31", "Balance Score: 87.50%",
                 "Diversity Score:", "Quality Score:", "Failing: balance 0.88 < 1.0"):
        assert line in text


def test_strict_mode_turns_a_failing_dataset_into_an_error(layout, params, dataset):
    from penta_core.splits.lists import write_splits

    _samples, splits, _ = dataset
    write_splits(layout, splits)
    params["validate"].update(strict=True, min_diversity=1.0)
    with pytest.raises(ValueError, match=r"validation failed \(validate.strict: true\): diversity"):
        load_step("validate")(params, layout)
    assert read_json(layout.metrics_dir / "validation.json")["valid"] is False
    params["validate"]["strict"] = False
    assert "Valid: ❌" in load_step("validate")(params, layout)


def test_the_sample_record_the_report_and_keys_csv_name_a_key_the_same_way(tmp_path, params, layout):
    # E-flat minor: a black key, which a sharp and a flat spelling would name two ways.
    durations = {63: 4, 65: 1, 66: 3, 68: 1, 70: 3, 71: 1, 73: 1}
    pitches = [p for p, beats in durations.items() for _ in range(beats)]
    write_midi(tmp_path / "src" / "sad" / "eb_minor.mid", pitches=pitches + [63, 66, 70, 63])
    params["features"]["n_jobs"] = 1
    create_structure(layout)
    for step in ("import", "annotate", "features", "manifest", "splits", "validate"):
        load_step(step)(params, layout)
    (sample,) = load_manifest(layout)["samples"]
    rows = read_parts(layout.features_dir)
    assert json.loads(rows.details[rows.ids.index(sample["id"])])["key"] == "Eb minor"
    assert read_json(layout.metrics_dir / "validation_details.json")["keys"] == {"Eb": 1}
    assert (layout.metrics_dir / "plots" / "keys.csv").read_text() == "key,count\nEb,1\n"


def test_validation_reads_the_samples_and_feature_rows_once_as_they_stream(layout, params, dataset):
    samples, splits, rows = dataset
    status = dict.fromkeys(rows, "ok")
    whole = validate_dataset(layout, samples, splits, rows, status, params["validate"])
    streamed = validate_dataset(layout, iter(samples), splits, iter(rows.values()), status, params["validate"])
    assert streamed == whole


def test_without_a_status_table_each_samples_own_features_field_says_whether_it_parsed(layout, params, dataset):
    samples, splits, rows = dataset
    marked = [dict(s, features="ok") for s in samples]
    marked[3]["features"] = "failed"
    metrics, details = validate_dataset(layout, marked, splits, rows, None, params["validate"])
    assert metrics["quality_counts"]["unparsable"] == 1
    assert details["quality_problems"]["unparsable"] == [marked[3]["id"]]
    unmarked, _ = validate_dataset(layout, samples, splits, rows, None, params["validate"])
    assert unmarked["quality_counts"]["unparsable"] == 0  # features not extracted: nothing to judge


def test_many_problems_are_counted_in_full_and_named_by_the_first_ids(layout, params):
    ids = [f"x{(i * 37) % 130:03d}" for i in range(130)]  # not in order
    samples = [{"id": i, "kind": "midi", "origin": "imported", "group": i, "label": None, "path": f"raw/{i}.mid",
                "sha256": "0"} for i in sorted(ids)]
    metrics, details = validate_dataset(layout, samples, {"train": [], "val": [], "test": []}, {}, {},
                                        params["validate"])
    assert metrics["quality_counts"]["missing"] == metrics["quality_counts"]["unlabelled"] == 130
    assert details["quality_problems"]["missing"] == sorted(ids)[:50]
