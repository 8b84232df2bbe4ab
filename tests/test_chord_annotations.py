"""Chord and key annotation files beside a MIDI file: MIREX .lab, JAMS, POP909; they win over estimates."""
from __future__ import annotations

import json
import shutil

import pytest
from target_helpers import POP909, song_midi, without_annotations

from penta_core.harmony.annotations import annotations_beside, read_jams, read_key_lab, read_lab, sidecars
from penta_core.harmony.keys import Key
from penta_core.harmony.sidecars import is_sidecar
from penta_core.midi.notes import read_notes
from penta_core.targets.analysis import ANNOTATED, ESTIMATED, analyse


def test_read_lab_takes_tabs_or_spaces_and_sorts_segments():
    assert read_lab("1.5 3.0 A:min7\n\n0.0\t1.5\tN\n") == [(0.0, 1.5, "N"), (1.5, 3.0, "A:min7")]


@pytest.mark.parametrize(("text", "problem"), [
    ("0.0 1.0\n", "expected 'start end label'"),
    ("0.0 x C:maj\n", "must be numbers"),
    ("2.0 1.0 C:maj\n", "start <= end"),
    ("0.0 1.0 C:major\n", "unknown quality"),
])
def test_a_malformed_lab_names_the_file_and_what_is_wrong(text, problem):
    with pytest.raises(ValueError, match=problem) as err:
        read_lab(text, "song.lab")
    assert "song.lab" in str(err.value)


def test_read_jams_takes_the_first_chord_and_key_annotations():
    document = {"annotations": [
        {"namespace": "beat", "data": [{"time": 0.0, "duration": 0.0, "value": 1}]},
        {"namespace": "chord", "data": [{"time": 2.0, "duration": 2.0, "value": "G:7"},
                                        {"time": 0.0, "duration": 2.0, "value": "C:maj"}]},
        {"namespace": "chord", "data": [{"time": 0.0, "duration": 4.0, "value": "F:maj"}]},
        {"namespace": "key_mode", "data": [{"time": 0.0, "duration": 4.0, "value": "C:major"}]},
    ]}
    chords, keys = read_jams(json.dumps(document))
    assert chords == [(0.0, 2.0, "C:maj"), (2.0, 4.0, "G:7")] and keys == [(0.0, 4.0, Key(0, "major"))]


def test_pop909_files_apply_to_the_song_named_after_its_folder_only():
    found = sidecars(song_midi(POP909 / "001"))
    assert sorted(found) == ["pop909_chords", "pop909_keys"]
    assert sidecars(POP909 / "001" / "versions" / "001-v1.mid") == {}
    annotations = annotations_beside(song_midi(POP909 / "004"))
    assert annotations.main_key() == Key(3, "minor")
    assert annotations.chords == read_lab((POP909 / "004" / "chord_midi.txt").read_text())
    assert read_key_lab("0 10 Gb:maj\n") == [(0.0, 10.0, Key(6, "major"))]


def test_a_lab_beside_the_file_wins_over_the_pop909_chords(tmp_path):
    folder = tmp_path / "001"
    shutil.copytree(POP909 / "001", folder)
    (folder / "001.lab").write_text("0.0\t100.0\tE:min\n")
    assert annotations_beside(folder / "001.mid").chords == [(0.0, 100.0, "E:min")]


def test_annotated_chords_and_key_win_and_say_so(tmp_path):
    annotated = analyse(read_notes(song_midi(POP909 / "004")), annotations_beside(song_midi(POP909 / "004")))
    estimated = analyse(read_notes(without_annotations(POP909 / "004", tmp_path)))
    assert (annotated.chords_source, annotated.key_source) == (ANNOTATED, ANNOTATED)
    assert (estimated.chords_source, estimated.key_source) == (ESTIMATED, ESTIMATED)
    assert annotated.key == Key(3, "minor")
    assert [c.label for c in annotated.chords] == [label for *_, label in read_lab(
        (POP909 / "004" / "chord_midi.txt").read_text())]


@pytest.mark.parametrize(("name", "expected"), [
    ("a/b/song.lab", True), ("song.JAMS", True), ("001/chord_midi.txt", True), ("001/beat_midi.txt", True),
    ("notes.txt", False), ("song.mid", False), (".song.lab", False),
])
def test_annotation_file_names_are_recognised_for_the_import(name, expected):
    assert is_sidecar(name) is expected
