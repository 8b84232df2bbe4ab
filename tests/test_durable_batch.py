"""The import's batched atomic copies: one sync per batch, nothing under a final name before it."""
from __future__ import annotations

import os
import stat

import pytest
from helpers import tree_digest, write_midi

from penta_core.core.io import TMP_PREFIX
from penta_core.core.layout import DatasetLayout
from penta_core.sources import durable_batch
from penta_core.sources.durable_batch import DurableBatch
from penta_core.sources.importer import import_sources


def _temps(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob(f"{TMP_PREFIX}*"))


class _Recorder:
    def __init__(self) -> None:
        self.done: list[str] = []
        self.failed: dict[str, str] = {}
        self.syncfs_calls = 0

    def syncfs(self, fd: int) -> int:
        self.syncfs_calls += 1
        return 0


def test_every_file_lands_with_its_bytes_and_the_copy_mode_after_one_sync_for_the_batch(tmp_path):
    seen = _Recorder()
    with DurableBatch(seen.done.append, seen.failed.__setitem__, syncfs=seen.syncfs) as batch:
        for i in range(20):
            batch.add(f"{tmp_path}/a/{i % 3}/f{i}.mid", bytes([i]) * (i + 1), key=i)
    assert seen.done == list(range(20))
    for i in range(20):
        path = tmp_path / "a" / str(i % 3) / f"f{i}.mid"
        assert path.read_bytes() == bytes([i]) * (i + 1)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert seen.syncfs_calls == 1 and batch.syncs == 1
    assert _temps(tmp_path) == []


def test_no_final_name_exists_before_the_batch_is_synced(tmp_path):
    seen = _Recorder()
    batch = DurableBatch(seen.done.append, seen.failed.__setitem__, syncfs=seen.syncfs)
    batch.add(f"{tmp_path}/x.mid", b"MThd", key="x")
    assert not (tmp_path / "x.mid").exists()
    assert len(_temps(tmp_path)) == 1 and seen.syncfs_calls == 0
    batch.flush()
    assert (tmp_path / "x.mid").read_bytes() == b"MThd" and seen.done == ["x"] and seen.syncfs_calls == 1
    assert _temps(tmp_path) == []


def test_a_full_batch_is_synced_and_renamed_before_more_is_written(tmp_path):
    seen = _Recorder()
    with DurableBatch(seen.done.append, seen.failed.__setitem__, max_files=4, syncfs=seen.syncfs) as batch:
        for i in range(10):
            batch.add(f"{tmp_path}/f{i}", b"x", key=i)
            assert len(_temps(tmp_path)) == (i + 1) % 4
    assert seen.syncfs_calls == 3 and seen.done == list(range(10))


def test_an_error_inside_the_batch_leaves_no_temp_file_and_no_final_name(tmp_path):
    seen = _Recorder()
    with pytest.raises(KeyboardInterrupt), \
            DurableBatch(seen.done.append, seen.failed.__setitem__, syncfs=seen.syncfs) as batch:
        batch.add(f"{tmp_path}/a.mid", b"a", key="a")
        batch.add(f"{tmp_path}/b.mid", b"b", key="b")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert seen.done == [] and seen.syncfs_calls == 0


def test_without_syncfs_each_file_is_fsynced_before_any_rename(tmp_path, monkeypatch):
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(durable_batch.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(durable_batch.os, "replace", lambda a, b: (events.append("rename"), real_replace(a, b))[1])
    seen = _Recorder()
    with DurableBatch(seen.done.append, seen.failed.__setitem__, syncfs=None) as batch:
        for i in range(3):
            batch.add(f"{tmp_path}/f{i}", b"x", key=i)
    assert events == ["fsync"] * 3 + ["rename"] * 3


def test_a_failing_syncfs_falls_back_to_an_fsync_of_each_file(tmp_path, monkeypatch):
    fsynced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(durable_batch.os, "fsync", lambda fd: (fsynced.append(fd), real_fsync(fd))[1])
    seen = _Recorder()
    with DurableBatch(seen.done.append, seen.failed.__setitem__, syncfs=lambda fd: -1) as batch:
        batch.add(f"{tmp_path}/a", b"a", key="a")
        batch.add(f"{tmp_path}/b", b"b", key="b")
    assert len(fsynced) == 2 and seen.done == ["a", "b"]


def test_a_path_too_long_fails_that_file_alone_with_its_reason(tmp_path):
    seen = _Recorder()
    deep = "/".join(["d" * 200] * 25)  # more than PATH_MAX
    with DurableBatch(seen.done.append, seen.failed.__setitem__, syncfs=seen.syncfs) as batch:
        batch.add(f"{tmp_path}/ok.mid", b"ok", key="ok")
        batch.add(f"{tmp_path}/{deep}/long.mid", b"long", key="long")
    assert seen.done == ["ok"]
    assert seen.failed == {"long": "path too long to copy into the dataset folder"}
    assert (tmp_path / "ok.mid").read_bytes() == b"ok"


def test_linux_has_syncfs():
    if os.uname().sysname != "Linux":
        pytest.skip("syncfs is Linux's")
    assert durable_batch.libc_syncfs() is not None
    fd = os.open(".", os.O_RDONLY)
    try:
        assert durable_batch.libc_syncfs()(fd) == 0
    finally:
        os.close(fd)


def test_an_import_killed_between_its_renames_is_completed_by_the_next_one_as_a_clean_import_writes_it(
        tmp_path, layout, params, monkeypatch):
    src = tmp_path / "src"
    for i in range(12):
        write_midi(src / ("happy" if i % 2 else "sad") / f"f{i:02d}.mid", pitches=(50 + i, 62, 55 + i))
    real_replace, renames = os.replace, []

    def dies_at_the_fifth_copy(a, b):
        if f"{os.sep}raw{os.sep}" in os.fspath(b):
            renames.append(b)
            if len(renames) == 5:
                raise KeyboardInterrupt  # where a kill -9 would stop it: synced temp files, 4 copies renamed
        return real_replace(a, b)

    monkeypatch.setattr(durable_batch.os, "replace", dies_at_the_fifth_copy)
    with pytest.raises(KeyboardInterrupt):
        import_sources(src, layout, params)
    monkeypatch.setattr(durable_batch.os, "replace", real_replace)
    assert len(_temps(layout.raw_midi)) == 8  # no torn copy: the rest wait under their temp names
    assert not layout.index("imported").exists()

    import_sources(src, layout, params)
    clean_params = {**params, "dataset": {**params["dataset"], "name": "clean_ds"}}
    clean = DatasetLayout.from_params(clean_params)
    import_sources(src, clean, clean_params)
    assert tree_digest(layout.raw_midi) == tree_digest(clean.raw_midi)
    assert layout.index("imported").read_bytes() == clean.index("imported").read_bytes()
    assert _temps(layout.root / "raw") == []
