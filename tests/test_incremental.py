"""The one incremental-output helper: keyed reuse, periodic saves, one sweep of stale files."""
from __future__ import annotations

import os

import pytest

from penta_core.core.io import TMP_PREFIX, sha256_bytes
from penta_core.engine.incremental import STORE_NAME, OutputStore, cache_key, sweep


@pytest.fixture
def made(tmp_path):
    """A store holding one finished output ``a`` (file ``a.bin``) made under key ``k1``."""
    (tmp_path / "a.bin").write_bytes(b"variant")
    store = OutputStore(tmp_path, about="test")
    store.put("a", "k1", sha256_bytes(b"variant"), path="a.bin")
    store.finish(["a"])
    return tmp_path


def test_an_output_is_reused_when_its_key_and_bytes_match(made):
    assert OutputStore(made, about="test").reusable("a", "k1", made / "a.bin") == {
        "key": "k1", "sha256": sha256_bytes(b"variant"), "path": "a.bin"}


def test_an_output_made_under_another_key_is_not_reused(made):
    assert OutputStore(made, about="test").reusable("a", "k2", made / "a.bin") is None


def test_an_output_whose_bytes_changed_or_vanished_is_not_reused(made):
    (made / "a.bin").write_bytes(b"edited by hand")
    assert OutputStore(made, about="test").reusable("a", "k1", made / "a.bin") is None
    (made / "a.bin").unlink()
    assert OutputStore(made, about="test").reusable("a", "k1", made / "a.bin") is None


def test_a_link_in_place_of_an_output_is_not_reused(made, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "a.bin"
    (made / "a.bin").rename(elsewhere)
    os.symlink(elsewhere, made / "a.bin")
    assert OutputStore(made, about="test").reusable("a", "k1", made / "a.bin") is None


def test_an_unknown_id_or_an_unreadable_store_reuses_nothing(made):
    assert OutputStore(made, about="test").reusable("b", "k1", made / "a.bin") is None
    (made / STORE_NAME).write_text("{not json")
    assert OutputStore(made, about="test").records == {}


def test_records_put_during_a_run_are_saved_once_the_interval_passed(tmp_path):
    # As a run killed after this put would leave them: on disk, for the next run to reuse.
    store = OutputStore(tmp_path, about="test", flush_interval_s=0.0)
    store.put("a", "k1", "s1")
    assert OutputStore(tmp_path, about="test").records == {"a": {"key": "k1", "sha256": "s1"}}


def test_records_are_not_saved_before_the_interval_passed(tmp_path):
    OutputStore(tmp_path, about="test", flush_interval_s=3600).put("a", "k1", "s1")
    assert not (tmp_path / STORE_NAME).exists()


def test_work_left_by_an_exception_keeps_its_records(tmp_path):
    store = OutputStore(tmp_path, about="test", flush_interval_s=3600)
    with pytest.raises(KeyboardInterrupt), store:
        store.put("a", "k1", "s1")
        raise KeyboardInterrupt
    assert OutputStore(tmp_path, about="test").records == {"a": {"key": "k1", "sha256": "s1"}}


def test_finish_keeps_only_the_current_records_and_writes_the_same_bytes_whatever_the_order(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    one = OutputStore(first, about="test")
    for rid in ("b", "gone", "a"):
        one.put(rid, f"k-{rid}", f"s-{rid}")
    one.finish(["a", "b"])
    two = OutputStore(second, about="test")
    for rid in ("a", "b"):
        two.put(rid, f"k-{rid}", f"s-{rid}")
    two.finish(["b", "a"])
    assert set(OutputStore(first, about="test").records) == {"a", "b"}
    assert (first / STORE_NAME).read_bytes() == (second / STORE_NAME).read_bytes()


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


def test_the_store_sweep_keeps_the_store_file(made):
    (made / "stale.bin").write_bytes(b"old")
    assert OutputStore(made, about="test").sweep(["a.bin"]) == 1
    assert sorted(p.name for p in made.iterdir()) == [STORE_NAME, "a.bin"]


def test_the_cache_key_depends_on_content_not_on_key_order():
    assert cache_key({"a": 1, "b": [2]}) == cache_key({"b": [2], "a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})
