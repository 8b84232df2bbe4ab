"""Incremental import: the import record spares unchanged files their check and their copy, never their truth.

A re-run checks only new or changed sources and rewrites only copies that do
not already hold the right bytes; whatever happened in between (adds, edits,
renames, moves, removals, a changed rule, a lost or corrupt record), the
outputs are the bytes a clean import of the same folder writes.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
import yaml
from helpers import project_copy, run, tree_digest, write_midi, write_tone

from penta_core.core.io import read_json, sha256_bytes, sha256_file
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.engine.parallel import Outcome
from penta_core.sources import record as record_module
from penta_core.sources.importer import import_sources
from penta_core.sources.record import ImportRecord
from penta_core.sources.stage import run as run_import_stage


def _outputs(layout: DatasetLayout) -> dict[str, object]:
    """Everything the import stage hands to DVC, as bytes."""
    return {
        "imported.json": layout.index("imported").read_bytes(),
        "quarantine.json": layout.quarantine.read_bytes(),
        "raw": tree_digest(layout.root / "raw"),
    }


def _clean_outputs(src: Path, tmp_path: Path, **opts) -> dict[str, object]:
    """The outputs of a clean import of ``src`` into a fresh dataset."""
    params = resolve({"dataset": {"name": "clean", "root": str(tmp_path / "clean"), "source_dir": str(src)},
                      "import": {"n_jobs": 1, **opts}})
    layout = DatasetLayout.from_params(params)
    import_sources(src, layout, params)
    return _outputs(layout)


def _edit_keeping_size(path: Path) -> None:
    """Other bytes of the same length: the velocity of the first note."""
    data = bytearray(path.read_bytes())
    at = data.index(b"\x90") + 2  # note-on status, pitch, velocity
    data[at] = 1 if data[at] != 1 else 2
    path.write_bytes(bytes(data))


@pytest.fixture
def src(tmp_path) -> Path:
    """Valid MIDI and audio in label folders, a duplicate and three files the checks reject."""
    src = tmp_path / "src"
    for i, label in enumerate(("happy", "sad", "calm")):
        write_midi(src / label / "a.mid", pitches=(60 + i, 64 + i, 67 + i))
        write_midi(src / label / "b.mid", pitches=(50 + i, 55 + i))
    write_tone(src / "calm" / "pad.wav", freq=220)
    (src / "joy").mkdir()
    shutil.copy(src / "happy" / "a.mid", src / "joy" / "copy.mid")
    (src / "happy" / "broken.mid").write_bytes(b"MThd garbage")
    sf.write(str(src / "sad" / "silent.wav"), np.zeros(8000, np.float32), 16000)
    (src / "notes.txt").write_text("liner notes")
    return src


def test_an_unchanged_rerun_checks_nothing_and_rewrites_no_copy(src, layout, params):
    first = import_sources(src, layout, params)
    before = _outputs(layout)
    inodes = {p: p.stat().st_ino for p in layout.raw_midi.rglob("*.mid")}
    again = import_sources(src, layout, params)
    assert (first.checked, first.reused) == (10, 0)  # every music file; notes.txt is rejected by its name
    assert (again.checked, again.reused, again.copied, again.kept) == (0, 10, 0, first.copied)
    assert _outputs(layout) == before
    assert {p: p.stat().st_ino for p in layout.raw_midi.rglob("*.mid")} == inodes


def test_an_edited_file_is_checked_again(src, layout, params, tmp_path):
    import_sources(src, layout, params)
    write_midi(src / "sad" / "b.mid", pitches=(40, 41, 42, 43))
    report = import_sources(src, layout, params)
    assert (report.checked, report.reused) == (1, 9)
    sample = next(s for s in report.samples if s["source"] == "sad/b.mid")
    assert sample["sha256"] == sha256_file(src / "sad" / "b.mid") == sha256_file(layout.raw_midi / "sad" / "b.mid")
    assert _outputs(layout) == _clean_outputs(src, tmp_path)


def test_an_edit_that_keeps_size_and_modification_time_is_caught_by_the_change_time(
        src, layout, params, tmp_path, monkeypatch):
    monkeypatch.setattr(record_module, "RACY_WINDOW_NS", 0)  # nothing counts as racy: the stat alone decides
    import_sources(src, layout, params)
    target = src / "happy" / "b.mid"
    st = target.stat()
    time.sleep(0.02)  # past the file system's timestamp tick
    _edit_keeping_size(target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # what `touch -r` or a careful editor does
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    report = import_sources(src, layout, params)
    assert report.checked == 1
    assert _outputs(layout) == _clean_outputs(src, tmp_path)


def test_a_touched_or_moved_file_is_hashed_not_checked(src, layout, params, tmp_path):
    import_sources(src, layout, params)
    os.utime(src / "happy" / "a.mid")
    (src / "angry").mkdir()
    (src / "sad" / "b.mid").rename(src / "angry" / "b.mid")  # same name, same bytes, another label folder
    report = import_sources(src, layout, params)
    assert (report.checked, report.reused) == (0, 10)
    assert not (layout.raw_midi / "sad" / "b.mid").exists() and (layout.raw_midi / "angry" / "b.mid").is_file()
    assert _outputs(layout) == _clean_outputs(src, tmp_path)


def test_a_removed_file_disappears_from_raw_and_from_the_index(src, layout, params, tmp_path):
    import_sources(src, layout, params)
    (src / "sad" / "a.mid").unlink()
    (src / "calm" / "pad.wav").unlink()
    report = import_sources(src, layout, params)
    assert report.checked == 0
    assert not (layout.raw_midi / "sad" / "a.mid").exists()
    assert not (layout.raw_audio / "calm").exists()  # its emptied folder goes too
    assert not {"sad/a.mid", "calm/pad.wav"} & {p for s in report.samples for p in s["sources"]}
    assert _outputs(layout) == _clean_outputs(src, tmp_path)


def test_clean_and_incremental_imports_are_byte_identical_after_adds_edits_renames_and_removals(
        src, layout, params, tmp_path):
    import_sources(src, layout, params)
    write_midi(src / "happy" / "new.mid", pitches=(72, 74, 76))  # added
    write_tone(src / "sad" / "new.flac", freq=330, fmt="FLAC")  # added audio
    _edit_keeping_size(src / "calm" / "b.mid")  # edited in place
    (src / "happy" / "b.mid").rename(src / "happy" / "b_renamed.mid")  # renamed
    (src / "sad" / "a.mid").unlink()  # removed
    (src / "joy" / "copy.mid").unlink()  # a duplicate removed: its sample keeps one source
    shutil.copy(src / "calm" / "a.mid", src / "sad" / "another_copy.mid")  # a new duplicate
    (src / "calm" / "a.mid").write_bytes(b"MThd now broken")  # a valid file turned invalid
    write_midi(src / "happy" / "broken.mid", pitches=(61, 62))  # an invalid file repaired
    report = import_sources(src, layout, params)
    assert 0 < report.checked < len(report.samples) + len(report.quarantined)
    assert _outputs(layout) == _clean_outputs(src, tmp_path)
    again = import_sources(src, layout, params)
    assert again.checked == 0 and _outputs(layout) == _clean_outputs(src, tmp_path / "second")


def test_files_beside_the_music_are_listed_with_their_sha256_and_follow_edits(src, layout, params, tmp_path):
    # annotate and targets depend on the index, not on the source folder: an edited table must change it
    (src / "labels.csv").write_text("file,emotion\nhappy/a.mid,sad\n")
    (src / "happy" / "a.lab").write_text("0.0\t1.0\tC:maj\n")
    import_sources(src, layout, params)
    listed = read_json(layout.index("imported"))["side_files"]
    assert listed == [{"path": "happy/a.lab", "kind": "annotation", "sha256": sha256_file(src / "happy" / "a.lab")},
                      {"path": "labels.csv", "kind": "label_table", "sha256": sha256_file(src / "labels.csv")}]
    (src / "labels.csv").write_text("file,emotion\nhappy/a.mid,calm\n")
    report = import_sources(src, layout, params)
    assert report.checked == 0  # no music changed
    assert read_json(layout.index("imported"))["side_files"][1]["sha256"] == sha256_file(src / "labels.csv")
    assert _outputs(layout) == _clean_outputs(src, tmp_path)


def test_quarantine_reasons_are_the_same_from_the_record(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "ok.mid")
    good = (src / "ok.mid").read_bytes()
    (src / "truncated.mid").write_bytes(good[: len(good) // 2])
    (src / "noise.mid").write_bytes(np.random.default_rng(0).bytes(400))
    (src / "really_midi.wav").write_bytes(good)
    write_midi(src / "no_notes.mid", pitches=())
    sf.write(str(src / "nan.wav"), np.full(800, np.nan, np.float32), 16000, subtype="FLOAT")
    (src / "undecodable.flac").write_bytes(b"fLaC" + bytes(200))
    import_sources(src, layout, params)
    first = read_json(layout.quarantine)
    report = import_sources(src, layout, params)
    assert report.checked == 0 and report.reused == 7
    assert read_json(layout.quarantine) == first and first["count"] == 6


def test_a_changed_check_param_checks_every_file_again(src, layout, params, tmp_path):
    import_sources(src, layout, params)
    params["import"]["silence_dbfs"] = -10.0  # the tone at -6 dBFS passes, as before; the rule changed
    report = import_sources(src, layout, params)
    assert (report.checked, report.reused) == (10, 0)
    assert _outputs(layout) == _clean_outputs(src, tmp_path, silence_dbfs=-10.0)


def test_a_changed_duration_limit_applies_to_recorded_durations_without_a_check(src, layout, params, tmp_path):
    import_sources(src, layout, params)
    params["import"]["max_duration_s"] = 1.2  # three notes of 0.5 s are over, two are not
    report = import_sources(src, layout, params)
    assert report.checked == 0
    reasons = {q["path"]: q["reason"] for q in report.quarantined}
    assert reasons["happy/a.mid"] == "lasts 2 s, above the limit import.max_duration_s = 1.2"
    assert _outputs(layout) == _clean_outputs(src, tmp_path, max_duration_s=1.2)


def test_a_change_of_the_checking_code_checks_every_file_again(src, layout, params, monkeypatch):
    import_sources(src, layout, params)
    monkeypatch.setattr(record_module, "source_digest", lambda modules: "another version")
    assert import_sources(src, layout, params).checked == 10


@pytest.mark.parametrize("content", [
    b"",
    b"{not json",
    b"[1, 2, 3]",
    b'{"format": 999}',
    json.dumps({"format": record_module.FORMAT, "rules": "x", "sources": 3, "verdicts": [], "copies": None,
                "outputs": {}}).encode(),
], ids=["empty", "truncated", "a list", "another format", "wrong types"])
def test_a_corrupt_or_foreign_record_means_a_full_check(src, layout, params, tmp_path, content):
    import_sources(src, layout, params)
    layout.import_record.write_bytes(content)
    report = import_sources(src, layout, params)
    assert report.checked == 10
    assert _outputs(layout) == _clean_outputs(src, tmp_path)


def test_record_entries_of_the_wrong_shape_are_ignored_one_by_one(src, layout, params, tmp_path):
    import_sources(src, layout, params)
    data = read_json(layout.import_record)
    rel = "happy/a.mid"
    sha = data["sources"][rel][4]
    data["verdicts"][f"{sha}/a.mid"] = {"info": "not a dict"}
    data["sources"]["sad/a.mid"] = ["1", 2]
    layout.import_record.write_text(json.dumps(data))
    report = import_sources(src, layout, params)
    # sad/a.mid lost its entry but is hashed (its name has verdicts) and found; happy/a.mid lost its verdict
    assert (report.checked, report.reused) == (1, 9)
    assert _outputs(layout) == _clean_outputs(src, tmp_path)


def test_a_missing_record_checks_everything_but_rewrites_no_copy_that_holds_its_bytes(src, layout, params):
    import_sources(src, layout, params)
    before = _outputs(layout)
    shutil.rmtree(layout.cache_dir)
    report = import_sources(src, layout, params)
    assert (report.checked, report.copied) == (10, 0)
    assert _outputs(layout) == before


def test_a_damaged_copy_of_an_earlier_index_is_never_written(src, layout, params):
    import_sources(src, layout, params)
    before = _outputs(layout)
    kept = layout.cache_dir / "import-imported.json"
    kept.write_bytes(kept.read_bytes().replace(b"happy", b"HAPPY"))
    import_sources(src, layout, params)
    assert _outputs(layout) == before


def test_a_copy_changed_in_raw_is_written_again(src, layout, params):
    import_sources(src, layout, params)
    before = _outputs(layout)
    copy = layout.raw_midi / "happy" / "b.mid"
    _edit_keeping_size(copy)
    (layout.raw_midi / "sad" / "a.mid").chmod(0o600)
    (layout.raw_midi / "calm" / "b.mid").unlink()
    os.symlink(src / "calm" / "b.mid", layout.raw_midi / "calm" / "b.mid")  # a link is never taken for a copy
    report = import_sources(src, layout, params)
    assert report.checked == 0 and report.copied == 3
    assert _outputs(layout) == before


def test_files_left_in_raw_by_a_killed_run_or_by_hand_are_removed(src, layout, params):
    import_sources(src, layout, params)
    before = _outputs(layout)
    (layout.raw_midi / "happy" / ".penta-tmp-abc123").write_bytes(b"half a write")
    write_midi(layout.raw_midi / "stray" / "x.mid")
    os.symlink("/nowhere", layout.raw_audio / "dangling.wav")
    import_sources(src, layout, params)
    assert _outputs(layout) == before


def test_a_timed_out_or_crashed_check_is_not_recorded_and_is_tried_again(src, layout, params, monkeypatch):
    import penta_core.sources.importer as importer

    real_map = importer.parallel_map

    def flaky(func, items, **kwargs):
        for index, outcome in real_map(func, items, **kwargs):
            if outcome.ok and outcome.value.get("info", {}).get("n_notes") == 2:  # the b.mid files
                outcome = Outcome(False, reason="timed out after 60 s")
            yield index, outcome

    monkeypatch.setattr(importer, "parallel_map", flaky)
    first = import_sources(src, layout, params)
    assert sum(q["reason"] == "timed out after 60 s" for q in first.quarantined) == 3
    monkeypatch.setattr(importer, "parallel_map", real_map)
    again = import_sources(src, layout, params)
    assert (again.checked, again.reused) == (3, 7)
    assert not [q for q in again.quarantined if q["reason"].startswith("timed out")]


def test_an_interrupted_import_keeps_the_checks_it_finished(src, layout, params, monkeypatch):
    import penta_core.sources.importer as importer

    real_map = importer.parallel_map

    def interrupted(func, items, **kwargs):
        results = real_map(func, items, **kwargs)
        try:
            for done, result in enumerate(results):
                if done == 4:  # a Ctrl-C after four checks
                    raise KeyboardInterrupt
                yield result
        finally:
            results.close()  # stops the workers, as the real pool does on its way out

    monkeypatch.setattr(importer, "parallel_map", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_sources(src, layout, params)
    monkeypatch.setattr(importer, "parallel_map", real_map)
    report = import_sources(src, layout, params)
    assert (report.checked, report.reused) == (6, 4)


def test_verify_hash_reads_every_source_and_corrects_a_record_the_stat_cannot_contradict(
        src, layout, params, tmp_path):
    import_sources(src, layout, params)
    # The blind spot of a stat cache, forged: happy/b.mid's entry says it holds sad/b.mid's bytes.
    data = read_json(layout.import_record)
    data["sources"]["happy/b.mid"] = data["sources"]["happy/b.mid"][:4] + [data["sources"]["sad/b.mid"][4]]
    layout.import_record.write_text(json.dumps(data))
    params["import"]["verify"] = "hash"
    report = import_sources(src, layout, params)
    assert report.checked == 0  # every verdict found again by content
    assert _outputs(layout) == _clean_outputs(src, tmp_path)


def test_a_recently_changed_source_is_hashed_again_at_the_next_import(tmp_path):
    """Racy entries: a file changed within the timestamp granularity of its recording may change unseen."""
    path = tmp_path / "a.mid"
    path.write_bytes(b"first")
    now = time.time_ns()
    stat = SimpleNamespace(st_size=5, st_mtime_ns=now - 10**9, st_ctime_ns=now - 10**9, st_ino=7)
    record = ImportRecord(tmp_path / "record.json", "rules", now)
    record.remember_source("a.mid", stat, sha256_bytes(b"first"))
    record.remember_verdict(sha256_bytes(b"first"), "a.mid", {"reason": "x"})
    record.save()
    path.write_bytes(b"other")  # same size; the stat handed in stays the same
    later = ImportRecord(tmp_path / "record.json", "rules", now + 10 * 10**9)
    assert later.sha_of("a.mid", path, stat) == sha256_bytes(b"other")


def test_an_old_unchanged_source_is_not_read_at_all(tmp_path):
    now = time.time_ns()
    stat = SimpleNamespace(st_size=5, st_mtime_ns=now - 60 * 10**9, st_ctime_ns=now - 60 * 10**9, st_ino=7)
    record = ImportRecord(tmp_path / "record.json", "rules", now)
    record.remember_source("a.mid", stat, "ab" * 32)
    record.save()
    later = ImportRecord(tmp_path / "record.json", "rules", now + 10**9)
    assert later.sha_of("a.mid", tmp_path / "does-not-exist.mid", stat) == "ab" * 32


def test_the_record_lives_outside_the_outputs_and_keeps_itself_out_of_git(src, layout, params, tmp_path):
    import_sources(src, layout, params)
    assert layout.import_record.parent == layout.root / ".cache"
    assert (layout.cache_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    for name, content in _outputs(layout).items():
        if isinstance(content, bytes):
            assert str(tmp_path).encode() not in content, name  # no absolute path, hence no machine's
    record = read_json(layout.import_record)
    assert set(record["sources"]) == {s for s in tree_digest(src) if s != "notes.txt"}


def test_the_stage_prints_what_it_checked_and_reused_but_writes_no_count(src, layout, params):
    params["dataset"]["source_dir"] = str(src)
    run_import_stage(params, layout)
    index = layout.index("imported").read_bytes()
    lines = run_import_stage(params, layout)
    assert lines[1] == ("  checked 0 new or changed files, reused 10 earlier checks (.cache/import.json); "
                        "wrote 0 raw copies, kept 7")
    assert layout.index("imported").read_bytes() == index
    assert b"reused" not in index and b"checked" not in index


DATASET = Path("datasets") / "emotion_dataset_v1"
IMPORT_OUTS = ("raw/midi", "raw/audio", "index/imported.json", "quarantine.json")


def _change_examples(repo: Path) -> None:
    examples = repo / "datasets" / "examples"
    removed = sorted(examples.rglob("*.mid"))[0]
    renamed = sorted(examples.rglob("*.mid"))[1]
    removed.unlink()
    renamed.rename(renamed.with_name("renamed_" + renamed.name))
    write_midi(examples / "happy" / "added.mid", pitches=(60, 67, 72, 76))


def _import_state(repo: Path) -> tuple[dict, dict]:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["import"]
    hashes = {out["path"]: out["md5"] for out in lock["outs"]}
    files = {out: tree_digest(repo / DATASET / out) if (repo / DATASET / out).is_dir()
             else sha256_file(repo / DATASET / out) for out in IMPORT_OUTS}
    return hashes, files


@pytest.mark.slow
def test_dvc_repro_of_an_updated_source_keeps_unchanged_copies_and_equals_a_clean_build(tmp_path):
    repo = project_copy(tmp_path / "incremental" / "repo")
    run(["dvc", "repro", "import"], repo)
    unchanged = {p: p.stat().st_ino for p in (repo / DATASET / "raw" / "midi").rglob("*.mid")}
    _change_examples(repo)
    result = run(["dvc", "repro", "import"], repo)
    assert "checked 2 new or changed files" in result.stdout, result.stdout  # the added and the renamed file
    kept = {p for p, ino in unchanged.items() if p.exists() and p.stat().st_ino == ino}
    assert len(kept) == len(unchanged) - 2  # persist: true kept every copy but the removed and the renamed

    clean = project_copy(tmp_path / "clean" / "repo")
    _change_examples(clean)
    run(["dvc", "repro", "import"], clean)
    assert _import_state(repo) == _import_state(clean)
    assert "up to date" in run(["dvc", "status", "import"], repo).stdout
