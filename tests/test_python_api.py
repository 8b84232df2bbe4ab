"""The original project's Python API and command line, used on the embedded example."""
from __future__ import annotations

import doctest
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
from helpers import REPO

from penta_core.cli import load_step
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.features import extractor as extractor_module
from penta_core.features.midi import MIDI_COLUMNS, extract_midi_features
from penta_core.features.table import load_feature_table
from penta_core.ml.datasets import augmentation, midi_features, synthetic
from penta_core.ml.datasets.augmentation import AudioAugmenter, MIDIAugmenter
from penta_core.ml.datasets.midi_features import MIDIFeatureExtractor
from penta_core.ml.datasets.synthetic import SyntheticGenerator, midi_bytes, rng_for
from penta_core.store.access import sample_bytes
from penta_core.synth import generator as generator_module

EXAMPLES = REPO / "datasets" / "examples"
EXAMPLE_MIDI = sorted(EXAMPLES.glob("*/*.mid"))
EXAMPLE_WAV = EXAMPLES / "calm" / "calm_audio_wav.wav"
SCRIPT = REPO / "scripts" / "dataset_pipeline.py"
MIDI_IDENTITY = {"transpose_semitones": (0, 0), "duration_factor": (1, 1), "velocity_scale": (1, 1),
                 "timing_jitter_ms": (0, 0), "note_dropout": (0, 0)}
AUDIO_IDENTITY = {"pitch_shift_semitones": (0, 0), "speed_factor": (1, 1), "noise_snr_db": (120, 120),
                  "gain_db": (0, 0)}
ONE_JOB = {step: {"n_jobs": 1} for step in ("import", "features", "augment", "synthesize")}


def _pitched(data: bytes) -> list[tuple[float, int]]:
    """``(start, pitch)`` of every non-drum note, read by pretty_midi (independent of the augmenter)."""
    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    return sorted((round(n.start, 6), n.pitch) for inst in midi.instruments if not inst.is_drum for n in inst.notes)


# -- MIDIFeatureExtractor ---------------------------------------------------------
def test_extractor_vector_has_one_finite_float64_value_per_column():
    extractor = MIDIFeatureExtractor()
    rows = np.stack([extractor.vector(path) for path in EXAMPLE_MIDI])
    assert extractor.columns == MIDI_COLUMNS
    assert rows.dtype == np.float64 and rows.shape == (len(EXAMPLE_MIDI), len(extractor.columns))
    assert np.isfinite(rows).all()


@pytest.mark.parametrize("path", EXAMPLE_MIDI[::8], ids=lambda p: p.name)
def test_extractor_vector_is_extract_midi_features_on_the_same_bytes_in_column_order(path):
    features = extract_midi_features(path.read_bytes())["features"]
    expected = np.array([features[c] for c in MIDI_COLUMNS], dtype=np.float64)
    extractor = MIDIFeatureExtractor()
    assert np.array_equal(extractor.vector(path), expected)
    assert np.array_equal(extractor.vector(str(path)), expected)
    assert np.array_equal(extractor.vector(path.read_bytes()), expected)


def test_extract_returns_the_record_the_features_stage_stores():
    path = EXAMPLES / "sad" / "sad_01.mid"
    record = MIDIFeatureExtractor().extract(path)
    assert record == extract_midi_features(path.read_bytes())
    assert set(record) == {"features", "flags", "details"} and record["features"]["mode"] == "minor"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> DatasetLayout:
    """Two example MIDI files per emotion through import, augment, synthesize and features, in process."""
    tmp = tmp_path_factory.mktemp("api")
    for path in EXAMPLE_MIDI[::4]:
        (tmp / "src" / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, tmp / "src" / path.parent.name / path.name)
    params = resolve({**ONE_JOB, "dataset": {"name": "api", "root": str(tmp / "datasets"),
                                             "source_dir": str(tmp / "src")},
                      "augment": {"multiplier": 1, "n_jobs": 1}, "synthesize": {"count": 4, "n_jobs": 1}})
    layout = DatasetLayout.from_params(params)
    for step in ("create", "import", "annotate", "augment", "synthesize", "features", "manifest"):
        load_step(step)(params, layout)
    return layout


def test_extractor_vector_equals_the_row_the_features_stage_writes(built):
    ids, columns, X = load_feature_table(built)
    manifest = json.loads(built.manifest.read_text())
    at = [columns.index(c) for c in MIDI_COLUMNS]
    extractor = MIDIFeatureExtractor()
    midi = [s for s in manifest["samples"] if s["kind"] == "midi"]
    assert {s["origin"] for s in midi} == {"imported", "augmented", "synthetic"}
    for sample in midi:
        row = X[ids.index(sample["id"]), at]
        assert np.array_equal(extractor.vector(sample_bytes(built, sample)), row), sample["id"]


def test_missing_file_is_a_one_line_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^MIDI file '.*nope\.mid' does not exist$"):
        MIDIFeatureExtractor().extract(tmp_path / "nope.mid")


def test_a_folder_is_refused_as_not_a_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"is not a file$"):
        MIDIFeatureExtractor().vector(tmp_path)


def test_non_midi_bytes_are_a_one_line_value_error():
    with pytest.raises(ValueError, match=r"^MIDI bytes: not a MIDI file \(no MThd header\)$"):
        MIDIFeatureExtractor().vector(EXAMPLE_WAV.read_bytes())


def test_a_file_holding_audio_is_named_in_the_error():
    with pytest.raises(ValueError, match=re.escape(f"{EXAMPLE_WAV}: not a MIDI file")):
        MIDIFeatureExtractor().extract(EXAMPLE_WAV)


def test_truncated_midi_is_refused_before_the_parser_reads_past_its_end():
    data = EXAMPLE_MIDI[0].read_bytes()
    with pytest.raises(ValueError, match=r"^MIDI bytes: MIDI does not parse: truncated or corrupt, chunk \d+"):
        MIDIFeatureExtractor().vector(data[: len(data) // 2])


def test_a_source_that_is_neither_path_nor_bytes_is_a_type_error():
    with pytest.raises(TypeError, match="source must be a path or MIDI bytes, got int"):
        MIDIFeatureExtractor().extract(3)


# -- augmenters -------------------------------------------------------------------
def test_midi_augmenter_records_a_value_inside_each_range():
    ranges = {"transpose_semitones": (-3, 3), "duration_factor": (0.9, 1.1), "velocity_scale": (0.8, 1.2),
              "timing_jitter_ms": (0, 10), "note_dropout": (0, 0.1)}
    data, record = MIDIAugmenter(**ranges).augment_bytes(EXAMPLE_MIDI[0].read_bytes(), np.random.default_rng(5))
    assert set(record) == set(ranges)
    assert all(lo <= record[name] <= hi for name, (lo, hi) in ranges.items())
    assert len(_pitched(data)) > 0


def test_midi_augmenter_variant_is_shifted_by_the_recorded_transposition():
    parent = EXAMPLES / "happy" / "happy_01.mid"
    aug = MIDIAugmenter(**{**MIDI_IDENTITY, "transpose_semitones": (-4, 4)})
    offsets = set()
    for seed in range(4):
        data, record = aug.augment_bytes(parent.read_bytes(), np.random.default_rng(seed))
        offset = record["transpose_semitones"]
        assert _pitched(data) == [(t, p + offset) for t, p in _pitched(parent.read_bytes())]
        offsets.add(offset)
    assert len(offsets) > 1


def test_audio_augmenter_variant_keeps_rate_channels_and_length_and_applies_the_recorded_gain():
    source, rate = sf.read(str(EXAMPLE_WAV), dtype="float32", always_2d=True)
    aug = AudioAugmenter(**{**AUDIO_IDENTITY, "gain_db": (-6.0, -3.0)})
    data, record = aug.augment_file(EXAMPLE_WAV, np.random.default_rng(1))
    out, out_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    assert set(record) == set(AUDIO_IDENTITY) and -6.0 <= record["gain_db"] <= -3.0
    assert out_rate == rate and out.shape == source.shape and np.isfinite(out).all()
    expected_peak = np.abs(source).max() * 10 ** (record["gain_db"] / 20)
    assert np.abs(out).max() == pytest.approx(expected_peak, abs=1e-3)


# -- SyntheticGenerator -----------------------------------------------------------
@pytest.mark.parametrize("emotion", SyntheticGenerator().emotions)
def test_generator_piece_carries_its_label_and_generation_record(emotion):
    midi, plan = SyntheticGenerator().generate(emotion, np.random.default_rng(11))
    record = plan.as_record()
    assert plan.emotion == emotion
    assert set(record) == {"key", "key_tonic", "mode", "mode_family", "tempo_bpm", "progression", "bars"}
    assert sum(len(i.notes) for i in midi.instruments) > 0


def test_generator_piece_is_the_same_bytes_for_the_same_seed_and_differs_across_seeds():
    def piece(seed: int) -> bytes:
        return midi_bytes(SyntheticGenerator().generate("happy", np.random.default_rng(seed))[0])

    assert piece(3) == piece(3)
    assert len({piece(s) for s in range(4)}) == 4


def test_rng_for_rebuilds_the_synthetic_piece_of_a_dataset(built):
    manifest = json.loads(built.manifest.read_text())
    sample = next(s for s in manifest["samples"] if s["origin"] == "synthetic")
    midi, plan = SyntheticGenerator().generate(sample["label"], rng_for(42, sample["id"]))
    assert midi_bytes(midi) == sample_bytes(built, sample)
    assert plan.as_record() == sample["generation"]


# -- documentation ----------------------------------------------------------------
@pytest.mark.parametrize("module", [midi_features, augmentation, synthetic, extractor_module, generator_module],
                         ids=lambda m: m.__name__)
def test_docstring_examples_run(module, monkeypatch):
    monkeypatch.chdir(REPO)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_readme_python_api_example_runs(monkeypatch):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    code = "\n".join(re.findall(r"```python\n(.*?)```", section, flags=re.S))
    assert "MIDIFeatureExtractor" in code and "SyntheticGenerator" in code and "AudioAugmenter" in code
    monkeypatch.chdir(REPO)
    exec(compile(code, "README.md", "exec"), {})


# -- scripts/dataset_pipeline.py --------------------------------------------------
def _run_script(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """The script as a checkout runs it: site-packages for the dependencies, penta_core not installed.

    ``-S`` skips the ``.pth`` files, which is where an editable install of
    penta_core hooks in; the dependencies are reached through PYTHONPATH.
    """
    paths = sysconfig.get_paths()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys((paths["purelib"], paths["platlib"])))}
    return subprocess.run([sys.executable, "-S", str(SCRIPT), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_script_creates_a_dataset_from_a_checkout_that_was_never_installed(tmp_path):
    result = _run_script(["--create", "--dataset", "x"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "datasets" / "x" / "config.json").read_text())["dataset"] == "x"


def test_script_all_runs_the_original_usage_example(tmp_path):
    for path in EXAMPLE_MIDI[::4]:
        (tmp_path / "music" / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, tmp_path / "music" / path.parent.name / path.name)
    (tmp_path / "params.yaml").write_text(json.dumps(ONE_JOB))
    result = _run_script(["--all", "--dataset", "x", "--import-dir", "music", "--multiplier", "1",
                          "--count", "7"], tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "datasets" / "x"
    summary = json.loads((root / "manifest.json").read_text())["summary"]
    assert summary["per_origin"] == {"augmented": 8, "imported": 8, "synthetic": 7}
    assert (root / "splits" / "train.txt").read_text().strip()
    assert json.loads((root / "metrics" / "validation.json").read_text())["total_samples"] == 23
    assert (root / "metrics" / "baseline.json").is_file()
