"""Import: recursive, folder-preserving, content-deduplicated, quarantining bad input."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import tree_digest, write_midi, write_tone

from penta_core.core.errors import InputError, MissingInput
from penta_core.core.io import read_json
from penta_core.sources.importer import import_sources


def _reasons(layout) -> dict[str, str]:
    return {q["path"]: q["reason"] for q in read_json(layout.quarantine)["files"]}


@pytest.fixture
def mixed_source(tmp_path) -> Path:
    src = tmp_path / "src"
    write_midi(src / "happy" / "a.mid", pitches=(60, 62, 64))
    write_midi(src / "sad" / "a.mid", pitches=(57, 60, 64))  # same name, other folder, other content
    write_tone(src / "calm" / "pad.wav", freq=220)
    write_tone(src / "calm" / "pad.flac", freq=330, fmt="FLAC")
    good = (src / "happy" / "a.mid").read_bytes()
    (src / "happy" / "truncated.mid").write_bytes(good[: len(good) // 2])
    (src / "happy" / "empty.mid").write_bytes(b"")
    (src / "happy" / "noise.mid").write_bytes(np.random.default_rng(0).bytes(400))
    (src / "happy" / "really_audio.mid").write_bytes((src / "calm" / "pad.wav").read_bytes())
    (src / "calm" / "really_midi.wav").write_bytes(good)
    (src / "calm" / "silent.wav").parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(src / "calm" / "silent.wav"), np.zeros(8000, np.float32), 16000)
    sf.write(str(src / "calm" / "zero_frames.wav"), np.zeros(0, np.float32), 16000)
    sf.write(str(src / "calm" / "nan.wav"), np.full(800, np.nan, np.float32), 16000, subtype="FLOAT")
    write_midi(src / "sad" / "no_notes.mid", pitches=())
    (src / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (src / "notes.txt").write_text("liner notes")
    return src


def test_mixed_folder_imports_good_files_and_quarantines_the_rest(mixed_source, layout, params):
    before = tree_digest(mixed_source)
    report = import_sources(mixed_source, layout, params)
    assert sorted(s["source"] for s in report.samples) == ["calm/pad.flac", "calm/pad.wav", "happy/a.mid", "sad/a.mid"]
    reasons = _reasons(layout)
    assert set(reasons) == {
        "happy/truncated.mid", "happy/empty.mid", "happy/noise.mid", "happy/really_audio.mid",
        "calm/really_midi.wav", "calm/silent.wav", "calm/zero_frames.wav", "calm/nan.wav",
        "sad/no_notes.mid", ".DS_Store", "notes.txt",
    }
    assert reasons["happy/empty.mid"] == "empty file"
    assert reasons["happy/noise.mid"] == "not a MIDI file (no MThd header)"
    assert reasons["happy/really_audio.mid"].startswith("wrong extension: content is WAV audio")
    assert reasons["calm/really_midi.wav"].startswith("wrong extension: content is MIDI")
    assert reasons["calm/silent.wav"].startswith("audio is silent")
    assert reasons["calm/zero_frames.wav"] == "audio holds no samples"
    assert reasons["calm/nan.wav"] == "audio holds NaN or infinite samples"
    assert reasons["sad/no_notes.mid"] == "MIDI holds no notes"
    assert reasons[".DS_Store"].startswith("not a music file")
    assert reasons["notes.txt"].startswith("unsupported file type (.txt)")
    assert "MIDI" in reasons["happy/truncated.mid"]
    assert all("\n" not in r for r in reasons.values())
    assert tree_digest(mixed_source) == before


def test_same_name_in_two_folders_both_arrive_under_their_folders(mixed_source, layout, params):
    import_sources(mixed_source, layout, params)
    assert (layout.raw_midi / "happy" / "a.mid").read_bytes() == (mixed_source / "happy" / "a.mid").read_bytes()
    assert (layout.raw_midi / "sad" / "a.mid").read_bytes() == (mixed_source / "sad" / "a.mid").read_bytes()
    assert (layout.raw_audio / "calm" / "pad.flac").is_file()


def test_duplicates_collapse_by_content_and_record_every_source(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "happy" / "one.mid")
    (src / "joy").mkdir()
    (src / "joy" / "copy.mid").write_bytes((src / "happy" / "one.mid").read_bytes())
    write_midi(src / "happy" / "two.mid", pitches=(70, 72))
    report = import_sources(src, layout, params)
    assert len(report.samples) == 2
    dup = next(s for s in report.samples if len(s["sources"]) == 2)
    assert dup["sources"] == ["happy/one.mid", "joy/copy.mid"]
    assert dup["source"] == "happy/one.mid"
    assert report.duplicates == [{"sample": dup["id"], "kept": "happy/one.mid", "sources": dup["sources"]}]
    assert report.summary()["duplicate_files"] == 1


def test_sample_ids_come_from_content_not_names(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "x" / "first_name.mid")
    first = import_sources(src, layout, params).samples[0]
    (src / "x" / "first_name.mid").rename(src / "x" / "renamed.mid")
    second = import_sources(src, layout, params).samples[0]
    assert first["id"] == second["id"] == first["sha256"][:16]
    assert second["path"] == "raw/midi/x/renamed.mid"
    assert not (layout.raw_midi / "x" / "first_name.mid").exists()  # the re-import pruned the old copy


def test_manifest_paths_are_relative_to_the_dataset(mixed_source, layout, params):
    report = import_sources(mixed_source, layout, params)
    for sample in report.samples:
        assert not os.path.isabs(sample["path"])
        assert (layout.root / sample["path"]).is_file()


def test_missing_source_dir_is_one_clear_error(tmp_path, layout, params):
    with pytest.raises(MissingInput, match=r"^source folder '.*nowhere' does not exist; set dataset.source_dir"):
        import_sources(tmp_path / "nowhere", layout, params)


def test_source_dir_that_is_a_file_is_refused(tmp_path, layout, params):
    target = write_midi(tmp_path / "song.mid")
    with pytest.raises(InputError, match="is a file, not a folder"):
        import_sources(target, layout, params)


def test_nothing_valid_fails_but_still_writes_the_quarantine(tmp_path, layout, params):
    src = tmp_path / "src"
    src.mkdir()
    (src / "junk.mid").write_bytes(b"MThd garbage")
    with pytest.raises(InputError, match="no valid MIDI or audio file"):
        import_sources(src, layout, params)
    assert _reasons(layout)["junk.mid"].startswith("MIDI does not parse")


def test_symlink_loops_are_detected_and_linked_files_followed(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "happy" / "a.mid")
    os.symlink(src, src / "happy" / "loop")
    outside = write_midi(tmp_path / "elsewhere" / "b.mid", pitches=(50, 55))
    os.symlink(outside, src / "happy" / "linked.mid")
    os.symlink(tmp_path / "missing.mid", src / "happy" / "broken.mid")
    report = import_sources(src, layout, params)
    assert sorted(s["source"] for s in report.samples) == ["happy/a.mid", "happy/linked.mid"]
    reasons = _reasons(layout)
    assert reasons["happy/loop"] == "symbolic link loop: folder already visited"
    assert reasons["happy/broken.mid"] == "broken symbolic link"


def test_files_over_the_size_limit_are_quarantined_unread(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "ok.mid")
    write_tone(src / "long.wav", seconds=4.0)
    params["import"]["max_file_mb"] = 0.05
    import_sources(src, layout, params)
    assert "above the limit import.max_file_mb" in _reasons(layout)["long.wav"]


def test_real_music21_midi_files_import(tmp_path, layout, params, music21_midi_files):
    src = tmp_path / "src" / "real"
    src.mkdir(parents=True)
    for f in music21_midi_files:
        (src / f.name).write_bytes(f.read_bytes())
    report = import_sources(tmp_path / "src", layout, params)
    imported = {s["source"] for s in report.samples}
    quarantined = {q["path"] for q in report.quarantined}
    assert imported | quarantined == {f"real/{f.name}" for f in music21_midi_files}
    assert not quarantined, report.quarantined  # real, valid files: any rejection is a bug
    for sample in report.samples:
        assert sample["info"]["n_notes"] > 0 and sample["info"]["duration_s"] > 0


def test_a_file_deleted_between_its_check_and_its_copy_is_quarantined(tmp_path, layout, params, monkeypatch):
    import penta_core.sources.importer as importer

    src = tmp_path / "src"
    write_midi(src / "stays.mid")
    write_midi(src / "goes.mid", pitches=(50, 52))
    real_map = importer.parallel_map

    def check_then_delete(*args, **kwargs):
        yield from real_map(*args, **kwargs)
        (src / "goes.mid").unlink()  # after every check, before any copy

    monkeypatch.setattr(importer, "parallel_map", check_then_delete)
    report = import_sources(src, layout, params)
    assert [s["source"] for s in report.samples] == ["stays.mid"]
    assert _reasons(layout)["goes.mid"].startswith("file went away while it was being imported")


def test_pieces_longer_than_the_duration_limit_are_quarantined(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "short.mid", step=0.5)
    write_midi(src / "long.mid", pitches=(60, 62), step=30.0)
    params["import"]["max_duration_s"] = 20.0
    report = import_sources(src, layout, params)
    assert [s["source"] for s in report.samples] == ["short.mid"]
    assert _reasons(layout)["long.mid"] == "lasts 60 s, above the limit import.max_duration_s = 20"
