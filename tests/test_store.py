"""Packed storage: deterministic tar shards, content-defined chunks, incremental syncs equal clean ones."""
from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from penta_core.engine import statcache
from penta_core.store.chunks import chunk
from penta_core.store.shards import Member, ShardStore
from penta_core.store.tar_shard import build_tar, read_member


def _payload(member_id: str, version: int = 0) -> bytes:
    return f"MThd {member_id} v{version}".encode() * 3


def _members(groups: list[str], per_group: int = 3, key: str = "k") -> list[Member]:
    return [Member(f"{g}_aug{k:03d}", f"midi/{g}_aug{k:03d}.mid", g, key)
            for g in groups for k in range(1, per_group + 1)]


def _sync(store: ShardStore, wanted: list[Member], version: int = 0, fail: frozenset = frozenset()):
    sync = store.begin(wanted)
    produced = [m.id for m in sync.missing]
    for m in sync.missing:
        if m.group in fail:
            sync.drop([m.id])
        else:
            sync.put(m.id, _payload(m.id, version))
    return sync.finish(), produced, sync.written


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


GROUPS = [f"{i:04x}{'ab' * 6}" for i in range(0, 400, 3)]


def test_a_tar_shard_is_deterministic_and_members_read_by_offset(tmp_path):
    members = [("midi/happy/a.mid", b"one"), ("midi/sad/b.mid", b"two" * 1000)]
    data, placed = build_tar(members)
    assert build_tar(members)[0] == data
    (tmp_path / "s.tar").write_bytes(data)
    for (name, payload), where in zip(members, placed, strict=True):
        assert where.name == name and read_member(tmp_path / "s.tar", where.offset, where.size) == payload
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:  # any tar tool unpacks it
        assert archive.extractfile("midi/sad/b.mid").read() == b"two" * 1000
        assert {m.mtime for m in archive.getmembers()} == {0}


def test_a_repeated_member_name_is_refused():
    with pytest.raises(ValueError, match="appears twice"):
        build_tar([("a.mid", b"1"), ("a.mid", b"2")])


def test_chunks_depend_on_group_keys_only_so_an_insert_changes_one_chunk():
    before = chunk(GROUPS, str, groups_per_chunk=8, max_items=1000)
    inserted = sorted([*GROUPS, "0100zz"])
    after = chunk(inserted, str, groups_per_chunk=8, max_items=1000)
    changed = [c for c in after if c not in before]
    assert len(before) > 5 and len(changed) <= 2 and any("0100zz" in c for c in changed)
    assert sum(len(c) for c in after) == len(inserted)


def test_a_group_never_straddles_two_chunks_and_max_items_bounds_a_chunk():
    items = [(g, k) for g in GROUPS for k in range(4)]
    chunks = chunk(items, lambda item: item[0], groups_per_chunk=1e9, max_items=20)
    assert all(len(c) <= 20 for c in chunks)
    assert all(len({g for g, _ in c}) == len(c) // 4 for c in chunks)
    with pytest.raises(ValueError, match="not sorted"):
        chunk(["b", "a"], str, groups_per_chunk=2, max_items=10)


def test_a_second_sync_with_nothing_new_produces_and_writes_nothing(tmp_path):
    store = ShardStore(tmp_path, "midi", groups_per_shard=10)
    first, produced, written = _sync(store, _members(GROUPS))
    before = _files(tmp_path)
    again, produced_again, written_again = _sync(store, _members(GROUPS))
    assert produced_again == [] and written_again == 0 and again == first
    assert _files(tmp_path) == before and len(produced) == len(first) == 3 * len(GROUPS)
    assert written == len([n for n in before if n.endswith(".tar")]) > 5


def test_adding_a_group_rewrites_only_its_shard_and_equals_a_clean_build(tmp_path):
    incremental, clean = tmp_path / "inc", tmp_path / "clean"
    store = ShardStore(incremental, "midi", groups_per_shard=10)
    _sync(store, _members(GROUPS))
    before = {p.name: os.stat(p).st_ino for p in incremental.glob("*.tar")}
    grown = sorted([*GROUPS, "0123new"])
    _, produced, written = _sync(store, _members(grown))
    assert produced == ["0123new_aug001", "0123new_aug002", "0123new_aug003"] and written <= 2
    after = {p.name: os.stat(p).st_ino for p in incremental.glob("*.tar")}
    untouched = [n for n in before if after.get(n) == before[n]]
    assert len(untouched) >= len(before) - 1
    _sync(ShardStore(clean, "midi", groups_per_shard=10), _members(grown))
    assert _files(incremental) == _files(clean)


def test_removing_a_group_and_changing_a_key_match_a_clean_build(tmp_path):
    incremental, clean = tmp_path / "inc", tmp_path / "clean"
    store = ShardStore(incremental, "midi", groups_per_shard=10)
    _sync(store, _members(GROUPS))
    wanted = [m for m in _members(GROUPS[1:]) if m.group != GROUPS[5]]
    wanted += _members([GROUPS[5]], key="new-params")
    result, produced, _ = _sync(store, sorted(wanted, key=lambda m: m.id), version=1)
    assert sorted(produced) == sorted(m.id for m in _members([GROUPS[5]]))
    assert not any(i.startswith(GROUPS[0]) for i in result)
    _sync(ShardStore(clean, "midi", groups_per_shard=10), sorted(wanted, key=lambda m: m.id), version=1)
    # the clean build made every payload at version 1; only GROUPS[5] differs in content
    incremental_members = ShardStore(incremental, "midi").load()
    clean_members = ShardStore(clean, "midi").load()
    assert incremental_members[f"{GROUPS[5]}_aug001"].sha256 == clean_members[f"{GROUPS[5]}_aug001"].sha256


def test_a_dropped_group_is_left_out_as_in_a_clean_run_and_retried_next_time(tmp_path):
    store = ShardStore(tmp_path / "a", "midi", groups_per_shard=10)
    result, _, _ = _sync(store, _members(GROUPS), fail=frozenset({GROUPS[3]}))
    assert not any(i.startswith(GROUPS[3]) for i in result)
    _, produced, _ = _sync(store, _members(GROUPS))
    assert produced == [m.id for m in _members([GROUPS[3]])]
    _sync(ShardStore(tmp_path / "b", "midi", groups_per_shard=10), _members(GROUPS))
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_a_corrupted_shard_has_its_members_produced_again(tmp_path):
    store = ShardStore(tmp_path, "midi", groups_per_shard=10)
    first, _, _ = _sync(store, _members(GROUPS))
    victim = first[f"{GROUPS[7]}_aug002"].shard
    data = bytearray((tmp_path / victim).read_bytes())
    data[600] ^= 0xFF
    (tmp_path / victim).write_bytes(bytes(data))
    again, produced, _ = _sync(store, _members(GROUPS))
    assert f"{GROUPS[7]}_aug002" in produced
    assert again == first and all(read_ok(store, s) for s in again.values())


def read_ok(store: ShardStore, stored) -> bool:
    return store.read(stored) == _payload(stored.id)


def test_a_shard_without_its_catalogue_is_ignored_and_swept(tmp_path):
    store = ShardStore(tmp_path, "midi", groups_per_shard=10)
    first, _, _ = _sync(store, _members(GROUPS))
    orphan = next(iter(first.values())).shard
    (tmp_path / orphan).with_suffix(".json").unlink()  # as if killed between the tar and its catalogue
    (tmp_path / ".penta-tmp-leftover").write_bytes(b"half")
    again, produced, _ = _sync(store, _members(GROUPS))
    assert produced and again == first
    assert not (tmp_path / ".penta-tmp-leftover").exists()


def test_every_member_must_be_resolved_before_finish(tmp_path):
    sync = ShardStore(tmp_path, "midi").begin(_members(GROUPS[:2]))
    sync.put(sync.missing[0].id, b"x")
    with pytest.raises(RuntimeError, match="never produced"):
        sync.finish()


def _settled(monkeypatch) -> None:
    """Nothing counts as racy, not even a shard written a moment ago: the stat alone decides."""
    monkeypatch.setattr(statcache, "RACY_WINDOW_NS", -10**19)


def test_an_untouched_shard_is_verified_by_its_stat_without_being_read(tmp_path, monkeypatch):
    _settled(monkeypatch)
    cache = tmp_path / "cache" / "hashes.json"
    folder = tmp_path / "shards"
    first, _, _ = _sync(ShardStore(folder, "midi", groups_per_shard=10, hashes=cache), _members(GROUPS))
    store = ShardStore(folder, "midi", groups_per_shard=10, hashes=cache)  # a later run
    again, produced, written = _sync(store, _members(GROUPS))
    assert (again, produced, written, store.hashes.hashed) == (first, [], 0, 0)
    assert sorted(json.loads(cache.read_text())["files"]) == sorted({s.shard for s in first.values()})


def test_an_edit_that_puts_size_and_modification_time_back_is_still_caught(tmp_path, monkeypatch):
    _settled(monkeypatch)
    cache, folder = tmp_path / "hashes.json", tmp_path / "shards"
    first, _, _ = _sync(ShardStore(folder, "midi", groups_per_shard=10, hashes=cache), _members(GROUPS))
    victim = folder / first[f"{GROUPS[7]}_aug002"].shard
    st = victim.stat()
    data = bytearray(victim.read_bytes())
    data[600] ^= 0xFF
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))  # the change time still moves
    store = ShardStore(folder, "midi", groups_per_shard=10, hashes=cache)
    again, produced, _ = _sync(store, _members(GROUPS))
    assert f"{GROUPS[7]}_aug002" in produced and store.hashes.hashed == 1
    assert again == first and all(read_ok(store, s) for s in again.values())


@pytest.mark.parametrize("content", ["", "not json", '{"format": 1, "files": {"x.tar": "nonsense"}}'])
def test_a_missing_or_corrupt_hash_cache_means_hashing_everything_once(tmp_path, monkeypatch, content):
    _settled(monkeypatch)
    cache, folder = tmp_path / "hashes.json", tmp_path / "shards"
    first, _, _ = _sync(ShardStore(folder, "midi", groups_per_shard=10, hashes=cache), _members(GROUPS))
    cache.write_text(content)
    store = ShardStore(folder, "midi", groups_per_shard=10, hashes=cache)
    assert _sync(store, _members(GROUPS))[:2] == (first, [])
    assert store.hashes.hashed == len({s.shard for s in first.values()})


def test_a_file_changed_just_before_it_was_remembered_is_hashed_again(tmp_path):
    file = tmp_path / "a.tar"
    file.write_bytes(b"one")
    hashes = statcache.HashCache(tmp_path / "h.json")  # began now: the file is within the racy window
    sha = hashes.sha256(file)
    hashes.save()
    later = statcache.HashCache(tmp_path / "h.json")
    assert later.sha256(file) == sha and later.hashed == 1


@pytest.mark.parametrize("names", [
    [],
    ["a.mid"],
    ["midi/happy/piece_aug001.mid", "midi/happy/piece_aug002.mid"],
    ["x" * 100, "y" * 99, "z" * 101],  # a name of 100 characters still fits the ustar field; 101 needs PAX
    ["é.mid", "日本/曲.mid", "plain.mid"],  # non-ASCII names need PAX records
    ["midi/" + "q" * 150 + ".mid"],
])
def test_the_fast_tar_writer_gives_tarfiles_bytes(names):
    from penta_core.store.tar_shard import _build_tar_reference

    sizes = [0, 1, 511, 512, 513, 10_000]
    members = [(name, bytes([i % 256]) * sizes[i % len(sizes)]) for i, name in enumerate(names)]
    assert build_tar(members) == _build_tar_reference(members)


def test_write_tar_streams_the_bytes_build_tar_returns():
    import io

    from penta_core.store.tar_shard import write_tar

    members = [(f"m{i}.mid", bytes([i]) * (i * 97)) for i in range(40)] + [("é.mid", b"x")]
    handle = io.BytesIO()
    write_tar(handle, iter(members))  # a generator: members may be made one at a time
    assert handle.getvalue() == build_tar(members)[0]
