"""Odd paths in the source folder: every file ends imported or quarantined, and nothing hangs.

Spaces, unicode, undecodable and 255-byte names, over-long paths, symbolic links
(followed once, loops detected), devices and pipes, permission denied, empty
folders, and a ``source_dir`` that is a file.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from helpers import tree_digest, write_midi, write_tone
from reliability_helpers import one_line_reason, temp_files, time_limit

from penta_core.cli import load_step
from penta_core.core.errors import InputError
from penta_core.core.io import read_json
from penta_core.core.stage_runner import run_stage
from penta_core.sources.importer import import_sources


def _outcome(layout, report) -> tuple[dict[str, str], dict[str, str]]:
    """``(source path → raw path, source path → quarantine reason)`` as written to disk."""
    imported = {src: s["path"] for s in read_json(layout.index("imported"))["samples"] for src in s["sources"]}
    quarantined = {q["path"]: q["reason"] for q in read_json(layout.quarantine)["files"]}
    assert not imported.keys() & quarantined.keys()
    assert all(one_line_reason(r) for r in quarantined.values()), quarantined
    assert temp_files(layout.root) == []
    return imported, quarantined


def test_names_with_spaces_and_unicode_are_imported_under_the_same_names(tmp_path, layout, params):
    src = tmp_path / "src"
    names = [
        "happy/My Song (live) - take 2.mid",
        "sad folder/Ünïcödé 日本語 🎵.mid",
        "calm/caf\u00e9.mid",      # composed é
        "calm/cafe\u0301.mid",     # e + combining accent: another name, another file
        "calm/  leading and trailing  .wav",
    ]
    for i, name in enumerate(names):
        if name.endswith(".wav"):
            write_tone(src / name, freq=300 + 10 * i)
        else:
            write_midi(src / name, pitches=(60 + i, 64 + i))
    before = tree_digest(src)
    report = import_sources(src, layout, params)
    imported, quarantined = _outcome(layout, report)
    assert quarantined == {}
    assert set(imported) == set(names)
    for name in names:
        kind = "audio" if name.endswith(".wav") else "midi"
        assert imported[name] == f"raw/{kind}/{name}"
        assert (layout.root / imported[name]).read_bytes() == (src / name).read_bytes()
    assert tree_digest(src) == before


def test_a_name_that_is_not_valid_utf8_is_quarantined_and_the_rest_imported(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "ok.mid")
    raw_src = os.fsencode(src)
    with open(raw_src + b"/latin1 caf\xe9.mid", "wb") as handle:  # a name written by a Latin-1 system
        handle.write(write_midi(tmp_path / "other.mid", pitches=(50,)).read_bytes())
    os.mkdir(raw_src + b"/dir \xff")
    with open(raw_src + b"/dir \xff/inside.mid", "wb") as handle:
        handle.write(write_midi(tmp_path / "third.mid", pitches=(52,)).read_bytes())
    report = import_sources(src, layout, params)  # used to die on writing quarantine.json
    imported, quarantined = _outcome(layout, report)
    assert set(imported) == {"ok.mid"}
    assert quarantined == {
        "dir \\xff": "name is not valid UTF-8; rename it to import it",
        "latin1 caf\\xe9.mid": "name is not valid UTF-8; rename it to import it",
    }


def test_a_255_byte_file_name_is_imported(tmp_path, layout, params):
    src = tmp_path / "src"
    ascii_name = "a" * 251 + ".mid"
    unicode_name = "é" * 125 + ".mid"  # 254 bytes in UTF-8
    assert len(ascii_name.encode()) == 255 and len(unicode_name.encode()) == 254
    write_midi(src / "long" / ascii_name)
    write_midi(src / "long" / unicode_name, pitches=(40, 45))
    report = import_sources(src, layout, params)
    _imported, quarantined = _outcome(layout, report)
    assert quarantined == {}
    assert (layout.raw_midi / "long" / ascii_name).is_file()
    assert (layout.raw_midi / "long" / unicode_name).is_file()


def test_a_source_path_too_long_to_copy_into_the_dataset_is_quarantined_not_fatal(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "ok.mid")
    # The source path fits in PATH_MAX (4096) but its copy, below the longer dataset
    # folder, would not.
    grow = len(str(layout.raw_midi)) - len(str(src))
    assert grow > 5
    budget = 4090 - len(str(src)) - len("/x.mid")  # characters left for "/<folder>" parts
    rel = []
    while budget >= 2:
        size = min(250, budget - 1)  # each name within the 255-byte limit
        rel.append("d" * size)
        budget -= size + 1
    deep = src.joinpath(*rel)
    deep.mkdir(parents=True)
    target = write_midi(deep / "x.mid", pitches=(41,))
    assert 4096 - grow <= len(str(target)) < 4096  # readable; its copy would not be
    report = import_sources(src, layout, params)  # used to die with "File name too long"
    imported, quarantined = _outcome(layout, report)
    assert set(imported) == {"ok.mid"}
    long_rel = "/".join(rel + ["x.mid"])
    assert quarantined[long_rel].startswith("path too long to copy into the dataset folder")


def test_a_linked_folder_is_walked_once_even_when_linked_twice(tmp_path, layout, params):
    src = tmp_path / "src"
    outside = tmp_path / "elsewhere"
    write_midi(outside / "one.mid")
    write_midi(outside / "two.mid", pitches=(70,))
    src.mkdir()
    os.symlink(outside, src / "happy")
    os.symlink(outside, src / "joy")
    report = import_sources(src, layout, params)
    imported, quarantined = _outcome(layout, report)
    assert set(imported) == {"happy/one.mid", "happy/two.mid"}
    assert quarantined == {"joy": "second link to a folder already imported through another path"}


def test_link_loops_end_quarantined_instead_of_walked_forever(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "ok.mid")
    os.symlink("ping", src / "pong")
    os.symlink("pong", src / "ping")
    os.symlink("self.mid", src / "self.mid")
    os.symlink(".", src / "here")  # back to the source folder itself
    with time_limit(60):
        report = import_sources(src, layout, params)
    imported, quarantined = _outcome(layout, report)
    assert set(imported) == {"ok.mid"}
    assert set(quarantined) == {"ping", "pong", "self.mid", "here"}
    assert quarantined["here"] == "symbolic link loop: folder already visited"
    for name in ("ping", "pong", "self.mid"):
        assert "Too many levels of symbolic links" in quarantined[name]


def test_devices_and_pipes_are_quarantined_without_being_read(tmp_path, layout, params):
    src = tmp_path / "src"
    write_midi(src / "ok.mid")
    os.mkfifo(src / "pipe.mid")  # opening it for reading would block forever
    os.symlink(src / "pipe.mid", src / "link_to_pipe.mid")
    os.symlink("/dev/zero", src / "zeros.wav")  # reading it would never end
    os.symlink(tmp_path / "gone.mid", src / "broken.mid")
    with time_limit(60):
        report = import_sources(src, layout, params)
    imported, quarantined = _outcome(layout, report)
    assert set(imported) == {"ok.mid"}
    assert quarantined == {
        "pipe.mid": "not a regular file",
        "link_to_pipe.mid": "not a regular file",
        "zeros.wav": "not a regular file",
        "broken.mid": "broken symbolic link",
    }


def test_a_source_dir_given_as_a_link_is_followed(tmp_path, layout, params):
    write_midi(tmp_path / "real_src" / "happy" / "a.mid")
    os.symlink(tmp_path / "real_src", tmp_path / "src")
    report = import_sources(tmp_path / "src", layout, params)
    imported, _ = _outcome(layout, report)
    assert imported == {"happy/a.mid": "raw/midi/happy/a.mid"}


UNPRIVILEGED_IMPORT = """
import json, sys
from pathlib import Path
from penta_core.sources.importer import import_sources
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
if __name__ == "__main__":
    src, root = Path(sys.argv[1]), Path(sys.argv[2])
    params = resolve({"dataset": {"name": "ds", "root": str(root), "source_dir": str(src)}, "import": {"n_jobs": 1}})
    report = import_sources(src, DatasetLayout.from_params(params), params)
    print(json.dumps({"imported": [s["source"] for s in report.samples], "quarantined": report.quarantined}))
"""


def _without_file_privileges() -> list[str]:
    """Command prefix under which even root obeys file modes (tests run as root in CI)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and util-linux setpriv is missing: a read cannot be denied")
    # Without these two capabilities, root is held to the owner/group/other bits like anyone.
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def test_unreadable_files_and_folders_are_quarantined_as_permission_denied(tmp_path):
    src = tmp_path / "src"
    write_midi(src / "ok.mid")
    write_midi(src / "locked.mid", pitches=(40,)).chmod(0)
    write_midi(src / "closed" / "inside.mid", pitches=(42,))
    (src / "closed").chmod(0)
    (tmp_path / "probe.py").write_text(UNPRIVILEGED_IMPORT)
    before = tree_digest(src)
    try:
        result = subprocess.run(
            _without_file_privileges() + [sys.executable, str(tmp_path / "probe.py"), str(src), str(tmp_path / "out")],
            capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        assert outcome["imported"] == ["ok.mid"]
        assert {q["path"]: q["reason"] for q in outcome["quarantined"]} == {
            "closed": "folder cannot be read: Permission denied",
            "locked.mid": "permission denied",
        }
        assert tree_digest(src) == before
    finally:
        (src / "closed").chmod(0o755)  # so pytest can clean up as a non-root user too


def test_empty_folders_are_skipped_and_a_source_of_only_empty_folders_fails_in_one_line(
        tmp_path, layout, params, capsys):
    src = tmp_path / "src"
    (src / "happy" / "empty").mkdir(parents=True)
    (src / "sad").mkdir()
    with pytest.raises(InputError, match=r"^no valid MIDI or audio file found in '.*src' \(0 quarantined"):
        import_sources(src, layout, params)
    write_midi(src / "sad" / "a.mid")
    report = import_sources(src, layout, params)
    imported, quarantined = _outcome(layout, report)
    assert imported == {"sad/a.mid": "raw/midi/sad/a.mid"} and quarantined == {}


def test_a_source_dir_that_is_a_file_fails_the_stage_in_one_line_before_writing(tmp_path, monkeypatch, capsys):
    song = write_midi(tmp_path / "song.mid")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(f"dataset:\n  source_dir: {song}\n  name: ds\nimport:\n  n_jobs: 1\n")
    assert run_stage(load_step("import"), "params.yaml") == 1
    err = capsys.readouterr().err
    assert err == (f"error: source folder '{song}' is a file, not a folder; "
                   "set dataset.source_dir (or --import-dir) to a folder of MIDI or audio files\n")
    assert not (tmp_path / "datasets").exists()
