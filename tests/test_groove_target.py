"""The groove predictor's target: styles from info.csv and folders, labels, augmentation rules, the command."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from groove_helpers import performance
from helpers import REPO
from test_groove_timing import straight_sixteenths

from penta_core.annotate.vocabulary import Vocabulary
from penta_core.augment.midi import MIDIAugmenter
from penta_core.core.params import resolve
from penta_core.groove.styles import style_of
from penta_core.targets.command import main as targets_main
from penta_core.targets.groove import MODEL, STYLES
from penta_core.targets.model import DROPS

GMD = REPO / "tests" / "fixtures" / "groove_midi"
TAKE = "drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid"
VOCAB = Vocabulary.load("groovepredictor")


def _bytes(notes) -> bytes:
    from groove_helpers import TPQ
    from helpers import make_score

    return make_score([(0, True, [(s / TPQ, 0.1, p, v) for s, p, v in zip(
        notes.start.tolist(), notes.pitch.tolist(), notes.velocity.tolist())])], tpq=TPQ).dumps_midi()


def test_info_csv_gives_the_style_and_the_take_details():
    found = style_of(TAKE, GMD, VOCAB)
    assert found["style"] == "funk" and found["style_source"] == "info.csv"
    assert found["info"]["bpm"] == "138" and found["info"]["split"] == "test"


def test_folder_names_give_the_style_through_the_vocabulary(tmp_path):
    (tmp_path / "Hip-Hop" / "takes").mkdir(parents=True)
    assert style_of("Hip-Hop/takes/a.mid", tmp_path, VOCAB)["style"] == "hiphop"
    assert style_of("misc/a.mid", tmp_path, VOCAB) == {"style": "unknown", "style_source": "none", "info": {}}


def test_info_csv_wins_over_folder_names(tmp_path):
    shutil.copytree(GMD, tmp_path / "swing")
    assert style_of(f"swing/{TAKE}", tmp_path, VOCAB)["style"] == "funk"


def test_a_real_performance_gives_per_bar_examples_and_its_style():
    params = resolve()
    context = MODEL.source_context(TAKE, GMD, params)
    derived = MODEL.derive((GMD / TAKE).read_bytes(), None, {**params, "source": context})
    labels = derived.labels
    assert derived.piece_label == "funk" and labels["grid"] == "1/16" and 137 < labels["tempo_bpm"] < 139
    assert len(derived.examples) == len({n[7] for n in labels["notes"]}) == derived.stats["examples"]
    for example in derived.examples:
        assert len(example["pattern"]) == len(example["offsets_ms"]) == len(example["velocity_adjust"])
        assert max(abs(x) for x in example["offsets_ms"]) <= 50
        assert max(abs(x) for x in example["velocity_adjust"]) <= 20
    assert set(labels["push_pull_ms"]) >= {"kick", "snare"} and STYLES[derived.examples[0]["style"]] == "funk"
    json.dumps([labels, derived.examples], allow_nan=False)


def test_a_tempo_change_scales_ms_offsets_and_keeps_beats_transposition_and_loudness_as_ruled():
    parent = _bytes(performance(straight_sixteenths(), drums=True))
    aug = MIDIAugmenter(transpose_semitones=(3, 3), duration_factor=(1.25, 1.25), velocity_scale=(0.8, 0.8),
                        note_dropout=(0, 0), timing_jitter_ms=(0, 0))
    variant, transform = aug.augment_bytes(parent, np.random.default_rng(0))
    params = resolve()
    assert MODEL.uses_variant(transform, params)
    expected = MODEL.transform_labels(MODEL.derive(parent, None, params).labels, transform)
    got = MODEL.derive(variant, None, params).labels
    assert got["grid"] == expected["grid"] and abs(got["tempo_bpm"] - expected["tempo_bpm"]) < 0.01
    want, have = np.array(expected["notes"]), np.array(got["notes"])
    assert np.abs(have[:, 2] - want[:, 2]).max() < 0.5  # ms, scaled by 1.25
    assert np.abs(have[:, 3] - want[:, 3]).max() < 1e-6  # beats, unchanged
    assert np.abs(have[:, 4] - want[:, 4]).max() <= 1 and np.abs(have[:, 5] - want[:, 5]).max() <= 1


def test_timing_jitter_is_off_unless_enabled_and_then_recorded():
    assert MODEL.augmentations["midi.timing_jitter_ms"].effect == DROPS
    params = resolve()
    assert not MODEL.uses_variant({"timing_jitter_ms": 8.0, "duration_factor": 1.0}, params)
    enabled = resolve({"targets": {"groove": {"timing_jitter": True}}})
    assert MODEL.uses_variant({"timing_jitter_ms": 8.0, "duration_factor": 1.0}, enabled)
    context = {"style": "funk", "style_source": "folder", "info": {}, "transform": {"timing_jitter_ms": 8.0}}
    derived = MODEL.derive((GMD / TAKE).read_bytes(), None, {**enabled, "source": context})
    assert derived.labels["timing_jitter_ms"] == 8.0


def test_penta_targets_groove_prints_grid_swing_and_offsets(capsys):
    assert targets_main(["groove", str(GMD / TAKE)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["grid"] == "1/16" and 0.4 < out["swing_ratio"] < 0.6 and 137 < out["tempo_bpm"] < 139
    onset, grid, offset_ms, velocity, _, voice = out["notes"][0]
    assert abs((onset - grid) * 1000 - offset_ms) < 0.01 and 1 <= velocity <= 127 and isinstance(voice, str)


@pytest.mark.parametrize("bad", ["nothing.mid"])
def test_penta_targets_groove_fails_in_one_line_on_a_missing_file(bad, tmp_path, capsys):
    assert targets_main(["groove", str(tmp_path / bad)]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def _stage_build(tmp_path, extra=None):
    from test_targets_stage import build

    shutil.copytree(GMD, tmp_path / "src" / "gmd", ignore=shutil.ignore_patterns("README.md"))
    (tmp_path / "src" / "Swing").mkdir()
    (tmp_path / "src" / "Swing" / "ride.mid").write_bytes(_bytes(performance(
        [(b + r, 0.0, 51, 80) for b in range(16) for r in (0, 0.62)])))
    return build(tmp_path, "groovepredictor", extra)


def test_the_targets_stage_labels_styles_from_info_csv_and_folders(tmp_path):
    from penta_core.core.io import read_json

    layout = _stage_build(tmp_path)
    samples = {s["source"]: s for s in read_json(layout.manifest)["samples"]}
    assert samples[f"gmd/{TAKE}"]["label"] == "funk" and samples["Swing/ride.mid"]["label"] == "swing"
    records = read_json(layout.index("targets"))["samples"]
    stats = {records[s["id"]]["stats"]["style_source"] for s in samples.values()}
    assert stats == {"gmd/info.csv", "folder"}
    assert read_json(layout.quarantine)["count"] == 0  # info.csv is an annotation file, not a stray


def test_a_malformed_info_csv_fails_the_takes_under_it_naming_the_file(tmp_path):
    from test_targets_stage import build

    from penta_core.core.io import read_json

    shutil.copytree(GMD, tmp_path / "src" / "gmd", ignore=shutil.ignore_patterns("README.md"))
    (tmp_path / "src" / "gmd" / "info.csv").write_text("drummer,bpm\nd1,120\n")

    layout = build(tmp_path, "groovepredictor")
    (record,) = read_json(layout.index("targets"))["samples"].values()
    assert record["status"] == "failed" and "info.csv" in record["reason"] and "midi_filename" in record["reason"]
