"""The incremental helpers: the cache key of an output, and one sweep of stale files."""
from __future__ import annotations

import os

from penta_core.core.io import TMP_PREFIX
from penta_core.engine.incremental import cache_key, sweep


def test_sweep_deletes_what_is_not_kept_with_leftover_temp_files_and_empty_folders(tmp_path):
    for rel in ("keep.json", "sub/keep.mid", "sub/stale.mid", "gone/old.mid", f"sub/{TMP_PREFIX}x1"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert sweep(tmp_path, {"keep.json", "sub/keep.mid"}) == 3
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "keep.json", "sub", "sub/keep.mid"]


def test_sweep_unlinks_a_stale_link_without_touching_its_target(tmp_path, tmp_path_factory):
    target = tmp_path_factory.mktemp("outside") / "source.mid"
    target.write_bytes(b"source")
    os.symlink(target, tmp_path / "link.mid")
    assert sweep(tmp_path, set()) == 1
    assert not (tmp_path / "link.mid").is_symlink() and target.read_bytes() == b"source"


def test_sweep_of_a_missing_folder_does_nothing(tmp_path):
    assert sweep(tmp_path / "absent", set()) == 0


def test_the_cache_key_depends_on_content_not_on_key_order():
    assert cache_key({"a": 1, "b": [2]}) == cache_key({"b": [2], "a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})
