"""The features stage: outputs, incremental reuse, failures recorded, table loader."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from helpers import REPO, drum_groove, make_score, progression

from penta_core.core.io import read_json, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.features import extract as stage
from penta_core.features.extract import TABLE_COLUMNS, extract_features
from penta_core.features.parts import part_files, read_parts
from penta_core.features.table import load_feature_table

NUMBA_CACHE = REPO / ".numba_cache"


def feature_params(root: Path, **features) -> dict:
    return resolve({"dataset": {"name": "ds", "root": str(root)}, "features": {"n_jobs": 2, **features}})


def midi_bytes(i: int) -> bytes:
    """A distinct small song per ``i``: transposed cadence, tempo and drums varying with i."""
    shift = i % 12
    chords = [tuple(p + shift for p in c) for c in [(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]]
    parts = [(0, False, progression(chords, beats_each=2.0))]
    if i % 3 == 0:
        parts.append((0, True, drum_groove(2)))
    return make_score(parts, tempos=((0, 80 + 5 * i),)).dumps_midi()


def add_sample(layout: DatasetLayout, sample_id: str, data: bytes, kind: str = "midi", step: str = "imported") -> dict:
    folder = "raw/midi" if kind == "midi" else "raw/audio"
    rel = f"{folder}/{sample_id}.{'mid' if kind == 'midi' else 'wav'}"
    layout.abs(rel).parent.mkdir(parents=True, exist_ok=True)
    layout.abs(rel).write_bytes(data)
    sample = {"id": sample_id, "path": rel, "kind": kind, "origin": step,
              "sha256": hashlib.sha256(data).hexdigest()}
    index = read_json(layout.index(step)) if layout.index(step).exists() else {"samples": []}
    index["samples"] = [s for s in index["samples"] if s["id"] != sample_id] + [sample]
    write_json(layout.index(step), index)
    return sample


def remove_sample(layout: DatasetLayout, sample_id: str, step: str = "imported") -> None:
    index = read_json(layout.index(step))
    index["samples"] = [s for s in index["samples"] if s["id"] != sample_id]
    write_json(layout.index(step), index)


def outputs(layout: DatasetLayout) -> dict[str, bytes]:
    files = sorted(layout.features_dir.iterdir()) + [layout.index("features")]
    return {f.relative_to(layout.root).as_posix(): f.read_bytes() for f in files}


def run(layout: DatasetLayout, params: dict) -> dict:
    return extract_features(layout, params, numba_cache_dir=NUMBA_CACHE)


@pytest.fixture
def dataset(tmp_path):
    params = feature_params(tmp_path)
    layout = DatasetLayout.from_params(params)
    for i in range(6):
        add_sample(layout, f"m{i:02d}", midi_bytes(i))
    return layout, params


def test_writes_the_table_as_parquet_parts_and_an_index(dataset):
    layout, params = dataset
    report = run(layout, params)
    assert (report["ok"], report["failed"], report["extracted"]) == (6, 0, 6)
    (part,) = part_files(layout.features_dir)
    assert [p.name for p in layout.features_dir.iterdir()] == [part.name]
    table = pq.read_table(part).to_pylist()
    record = next(r for r in table if r["id"] == "m03")
    for name in ("duration_s", "tempo_bpm", "key_tonic", "mode", "note_density", "pitch_mean",
                 "velocity_mean", "swing_ratio", "syncopation", "sha256", "feature_key", "flags", "details"):
        assert name in record, name
    assert record["tempo_bpm"] == pytest.approx(95.0)
    assert record["sha256"] == hashlib.sha256(midi_bytes(3)).hexdigest()
    ids, columns, X = load_feature_table(layout)
    assert ids == [f"m{i:02d}" for i in range(6)]
    assert columns == list(TABLE_COLUMNS)
    assert X.shape == (6, len(TABLE_COLUMNS)) and X.dtype == np.float64 and np.isfinite(X).all()
    assert (X[:, columns.index("is_midi")] == 1).all() and (X[:, columns.index("is_audio")] == 0).all()
    index = read_json(layout.index("features"))
    assert index["columns"] == list(TABLE_COLUMNS)
    assert index["samples"]["m00"] == {"status": "ok", "reason": None, "flags": []}


def test_adding_samples_extracts_only_those_and_matches_a_clean_run(dataset, tmp_path):
    layout, params = dataset
    run(layout, params)
    for i in range(6, 9):
        add_sample(layout, f"m{i:02d}", midi_bytes(i))
    report = run(layout, params)
    assert (report["extracted"], report["reused"]) == (3, 6)

    clean_root = tmp_path / "clean"
    shutil.copytree(layout.root / "raw", clean_root / "ds" / "raw")
    shutil.copytree(layout.index_dir, clean_root / "ds" / "index")
    (clean_root / "ds" / "index" / "features.json").unlink()
    clean_params = feature_params(clean_root)
    clean = DatasetLayout.from_params(clean_params)
    assert run(clean, clean_params)["extracted"] == 9
    assert outputs(layout) == outputs(clean)


def test_removed_samples_lose_their_outputs(dataset):
    layout, params = dataset
    run(layout, params)
    remove_sample(layout, "m02")
    report = run(layout, params)
    assert (report["extracted"], report["removed"]) == (0, 1)
    assert "m02" not in read_parts(layout.features_dir).ids
    assert "m02" not in load_feature_table(layout)[0]
    assert "m02" not in read_json(layout.index("features"))["samples"]


def test_changed_content_is_extracted_again(dataset):
    layout, params = dataset
    run(layout, params)
    add_sample(layout, "m01", midi_bytes(11))
    report = run(layout, params)
    assert report["extracted"] == 1
    rows = read_parts(layout.features_dir)
    assert rows.sha256[rows.ids.index("m01")] == hashlib.sha256(midi_bytes(11)).hexdigest()


def test_a_part_edited_by_hand_is_extracted_again(dataset):
    layout, params = dataset
    run(layout, params)
    expected = outputs(layout)
    (part,) = part_files(layout.features_dir)
    table = pq.read_table(part)  # same sha256 and feature_key, another value
    tempo = table.column_names.index("tempo_bpm")
    pq.write_table(table.set_column(tempo, "tempo_bpm", pa.array([1.0] * table.num_rows)), part)
    assert run(layout, params)["extracted"] == 6
    assert outputs(layout) == expected


def test_new_feature_code_version_extracts_everything_again(dataset, monkeypatch):
    layout, params = dataset
    run(layout, params)
    monkeypatch.setitem(stage.CODE_VERSIONS, "midi", "midi-test-bump")
    assert run(layout, params)["extracted"] == 6


def test_failures_are_recorded_and_do_not_stop_the_stage(dataset):
    layout, params = dataset
    add_sample(layout, "broken", b"MThd\x00\x00\x00\x06garbage that is not midi")
    sample = add_sample(layout, "gone", midi_bytes(1))
    layout.abs(sample["path"]).unlink()
    swapped = add_sample(layout, "swapped", midi_bytes(2))
    layout.abs(swapped["path"]).write_bytes(midi_bytes(3))
    report = run(layout, params)
    assert (report["ok"], report["failed"]) == (6, 3)
    status = read_json(layout.index("features"))["samples"]
    assert status["broken"]["status"] == "failed" and status["broken"]["reason"]
    assert status["gone"]["reason"].startswith("file missing")
    assert "differs from the sha256" in status["swapped"]["reason"]
    assert "broken" not in load_feature_table(layout)[0]


def test_index_entries_that_cannot_be_extracted_are_failed_by_reason(dataset):
    layout, params = dataset
    index = read_json(layout.index("imported"))
    index["samples"] += [
        {"id": "../escape", "path": "raw/midi/m00.mid", "kind": "midi", "sha256": "0" * 64},
        {"id": "odd", "path": "raw/midi/m00.mid", "kind": "score", "sha256": "0" * 64},
        {"id": "m00", "path": "raw/midi/m01.mid", "kind": "midi", "sha256": "0" * 64},
    ]
    write_json(layout.index("imported"), index)
    report = run(layout, params)
    assert report["ok"] == 6 and report["repeated_ids"] == ["m00"]
    reasons = dict(report["failures"])
    assert "cannot name a file" in reasons["../escape"]
    assert "unknown sample kind" in reasons["odd"]
    assert not (layout.root / "processed" / "escape.json").exists()


def test_degenerate_samples_are_kept_with_their_flags(dataset):
    layout, params = dataset
    add_sample(layout, "drums", make_score([(0, True, drum_groove(1))]).dumps_midi())
    run(layout, params)
    assert read_json(layout.index("features"))["samples"]["drums"]["flags"] == ["no_pitched_notes"]
    ids, _columns, X = load_feature_table(layout)
    assert np.isfinite(X[ids.index("drums")]).all()


def test_audio_and_midi_share_one_table(tmp_path):
    params = feature_params(tmp_path, audio_sample_rate=16000)
    layout = DatasetLayout.from_params(params)
    add_sample(layout, "m00", midi_bytes(0))
    t = np.arange(16000 * 2) / 16000
    wav = tmp_path / "tone.wav"
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32), 16000)
    add_sample(layout, "a00", wav.read_bytes(), kind="audio", step="augmented")
    assert run(layout, params)["ok"] == 2
    ids, columns, X = load_feature_table(layout)
    audio, midi = X[ids.index("a00")], X[ids.index("m00")]
    assert audio[columns.index("is_audio")] == 1 and audio[columns.index("pitch_mean")] == 0
    assert audio[columns.index("duration_s")] == pytest.approx(2.0)
    assert midi[columns.index("mfcc_mean_0")] == 0 and midi[columns.index("tempo_bpm")] == pytest.approx(80)
    # Only the audio sample depends on the sample rate.
    assert run(layout, feature_params(tmp_path, audio_sample_rate=22050))["extracted"] == 1


def test_missing_index_is_a_clear_error(tmp_path):
    params = feature_params(tmp_path)
    with pytest.raises(FileNotFoundError, match="run the import stage first"):
        run(DatasetLayout.from_params(params), params)
    with pytest.raises(FileNotFoundError, match="features stage"):
        load_feature_table(DatasetLayout.from_params(params))


def test_stage_script_prints_a_summary_and_fails_only_on_real_errors(tmp_path):
    (tmp_path / "params.yaml").write_text("dataset:\n  name: ds\n  root: data\nfeatures:\n  n_jobs: 1\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(NUMBA_CACHE)}
    script = str(REPO / "stages" / "features.py")
    missing = subprocess.run([sys.executable, script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "run the import stage first" in missing.stderr
    layout = DatasetLayout(tmp_path / "data" / "ds")
    add_sample(layout, "m00", midi_bytes(0))
    add_sample(layout, "broken", b"MThd not really")
    done = subprocess.run([sys.executable, script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 of 2 samples" in done.stdout and "failed broken" in done.stdout


def test_every_table_column_is_documented():
    import re

    doc = (REPO / "docs" / "features.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z0-9_]+)`", doc))
    for family in re.findall(r"`([a-z0-9_]+)_\{([a-z0-9_.,]+)\}(_[a-z_]+)?`", doc):
        prefix, inner, suffix = family
        if ".." in inner:
            lo, hi = inner.split("..")
            members = [str(i) for i in range(int(lo), int(hi) + 1)]
        else:
            members = inner.split(",")
        documented |= {f"{prefix}_{m}{suffix}" for m in members}
    missing = [c for c in TABLE_COLUMNS if c not in documented]
    assert not missing, f"columns missing from docs/features.md: {missing}"


def test_rows_are_extracted_in_the_parts_order_so_each_part_is_let_go_when_done(tmp_path, monkeypatch):
    from penta_core.features import parts

    params = feature_params(tmp_path, n_jobs=1)
    layout = DatasetLayout.from_params(params)
    originals = [add_sample(layout, f"m{i:02d}", midi_bytes(i)) for i in range(6)]
    # Variants come after every original in the index, as the augment stage writes them.
    variants = [dict(add_sample(layout, f"m{i:02d}_aug1", midi_bytes(i + 20), step="augmented"), group=f"m{i:02d}")
                for i in range(6)]
    write_json(layout.index("augmented"), {"samples": variants})
    write_json(layout.index("imported"), {"samples": [dict(s, group=s["id"]) for s in originals]})
    monkeypatch.setattr(parts, "GROUPS_PER_PART", 1.0)  # one group (an original and its variant) a part
    held = []

    class Watched(parts.PartSync):
        def put(self, row):
            super().put(row)
            held.append(len(self._unwritten))

    monkeypatch.setattr(stage, "PartSync", Watched)
    assert run(layout, params)["ok"] == 12
    assert len(part_files(layout.features_dir)) == 6
    assert max(held) <= 1  # in index order the six originals would wait for their variants
