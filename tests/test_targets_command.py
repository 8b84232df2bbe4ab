"""penta-targets: a .lab for harmony, JSON for melody and key, one line and status 1 on bad input."""
from __future__ import annotations

import json
import shutil
from itertools import pairwise

import pytest
from helpers import REPO
from target_helpers import POP909, song_midi, without_annotations

from penta_core.harmony.annotations import read_lab
from penta_core.harmony.harte import parse
from penta_core.targets.command import main

EXAMPLE = REPO / "datasets" / "examples" / "sad" / "sad_01.mid"


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_harmony_prints_a_mirex_lab_of_harte_labels_in_seconds(capsys, tmp_path):
    status, out, _ = run(capsys, "harmony", str(without_annotations(POP909 / "003", tmp_path)))
    segments = read_lab(out)
    assert status == 0 and all(line.count("\t") == 2 for line in out.splitlines())
    assert all(a < b for a, b, _ in segments) and all(b == c for (_, b, _), (c, _, _) in pairwise(segments))
    assert len(segments) > 20 and sum(parse(label).root is not None for *_, label in segments) > 20


def test_harmony_prints_the_annotation_beside_the_file_unless_told_not_to(capsys, tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "song.mid")
    (tmp_path / "song.lab").write_text("0.0\t9.5\tF#:hdim7\n")
    assert run(capsys, "harmony", str(tmp_path / "song.mid"))[1] == "0.000000\t9.500000\tF#:hdim7\n"
    assert "F#:hdim7" not in run(capsys, "harmony", str(tmp_path / "song.mid"), "--no-annotations")[1]


def test_melody_prints_json_notes_in_onset_order(capsys):
    status, out, _ = run(capsys, "melody", str(song_midi(POP909 / "002")))
    notes = json.loads(out)["notes"]
    assert status == 0 and len(notes) == 310
    assert all(len(n) == 4 and n[0] < n[1] and 0 <= n[2] < 128 and 1 <= n[3] < 128 for n in notes)
    assert [n[0] for n in notes] == sorted(n[0] for n in notes)


def test_key_prints_tonic_mode_and_confidence(capsys, tmp_path):
    status, out, _ = run(capsys, "key", str(song_midi(POP909 / "001")))
    assert status == 0 and json.loads(out) == {"tonic": 6, "mode": "major", "confidence": 1.0}  # annotated
    estimated = json.loads(run(capsys, "key", str(without_annotations(POP909 / "001", tmp_path)))[1])
    assert estimated["tonic"] == 6 and estimated["mode"] == "major" and 0 < estimated["confidence"] < 1


@pytest.mark.parametrize(("argv", "message"), [
    (("chords", str(EXAMPLE)), "unknown target 'chords'"),
    (("key", "no/such.mid"), "no such file"),
])
def test_bad_target_or_missing_file_is_one_line_and_status_1(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 1 and out == "" and err.count("\n") == 1 and message in err


def test_a_file_that_is_not_midi_is_one_line_and_status_1(capsys, tmp_path):
    (tmp_path / "x.mid").write_bytes(b"not a midi file")
    status, _, err = run(capsys, "melody", str(tmp_path / "x.mid"))
    assert status == 1 and err.startswith("error: cannot read") and err.count("\n") == 1


def test_a_malformed_annotation_beside_the_file_is_one_line_and_status_1(capsys, tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "song.mid")
    (tmp_path / "song.lab").write_text("0.0 1.0 C:major\n")
    status, _, err = run(capsys, "harmony", str(tmp_path / "song.mid"))
    assert status == 1 and "song.lab" in err and err.count("\n") == 1
