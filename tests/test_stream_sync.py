"""The streamed shard sync writes what the in-memory one writes, holding a chunk at a time."""
from __future__ import annotations

import pytest

from penta_core.store.shards import Member, ShardStore
from penta_core.store.stream_sync import StreamSync

GROUPS = [f"{i:04x}{'ab' * 6}" for i in range(0, 400, 3)]


def _payload(member_id: str, version: int = 0) -> bytes:
    return f"MThd {member_id} v{version}".encode() * 3


def _members(groups: list[str], per_group: int = 3, key: str = "k") -> list[Member]:
    return [Member(f"{g}_aug{k:03d}", f"midi/{g}_aug{k:03d}.mid", g, key)
            for g in sorted(groups) for k in range(1, per_group + 1)]


def _in_memory(folder, wanted, version=0, fail=frozenset()):
    sync = ShardStore(folder, "midi", groups_per_shard=10).begin(wanted)
    produced = [m.id for m in sync.missing]
    for m in sync.missing:
        if m.group in fail:
            sync.drop([m.id])
        else:
            sync.put(m.id, _payload(m.id, version), {"v": version})
    return list(sync.finish().values()), produced, sync.written


def _streamed(folder, wanted, version=0, fail=frozenset()):
    sync = StreamSync(ShardStore(folder, "midi", groups_per_shard=10), iter(wanted))
    produced, dropped = [], set()
    for missing in sync.chunks():
        for m in missing:
            produced.append(m.id)
            if m.group not in fail:
                sync.put(m.id, _payload(m.id, version), {"v": version})
            elif m.group not in dropped:
                sync.drop_group(m.id)
                dropped.add(m.group)
    sync.finish()
    return list(sync.members()), produced, sync.written


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def _history(tmp_path, runs, name):
    """Run ``runs`` (wanted lists, with their version and failed groups) through one sync kind in one folder."""
    folder = tmp_path / name
    sync = _streamed if name == "streamed" else _in_memory
    outcomes = [sync(folder, wanted, version, fail) for wanted, version, fail in runs]
    return folder, outcomes


RUNS = {
    "nothing new": [(_members(GROUPS), 0, frozenset()), (_members(GROUPS), 0, frozenset())],
    "a group added": [(_members(GROUPS), 0, frozenset()), (_members([*GROUPS, "0123new"]), 0, frozenset())],
    "a group removed, a key changed": [
        (_members(GROUPS), 0, frozenset()),
        (sorted([m for m in _members(GROUPS[1:]) if m.group != GROUPS[5]] + _members([GROUPS[5]], key="new"),
                key=lambda m: (m.group, m.id)), 1, frozenset()),
    ],
    "a failed group, retried": [(_members(GROUPS), 0, frozenset({GROUPS[3], GROUPS[4]})),
                                (_members(GROUPS), 0, frozenset())],
    "everything removed": [(_members(GROUPS), 0, frozenset()), ([], 0, frozenset())],
}


@pytest.mark.parametrize("scenario", list(RUNS))
def test_the_streamed_sync_leaves_the_files_and_members_of_the_in_memory_one(tmp_path, scenario):
    memory_folder, memory = _history(tmp_path, RUNS[scenario], "memory")
    streamed_folder, streamed = _history(tmp_path, RUNS[scenario], "streamed")
    assert streamed == memory  # members (records included), what was produced, shards written
    assert _files(streamed_folder) == _files(memory_folder)


def test_the_streamed_members_come_in_group_then_id_order_with_their_records(tmp_path):
    members, _, _ = _streamed(tmp_path, _members(GROUPS))
    assert [s.id for s in members] == [m.id for m in _members(GROUPS)]
    assert all(s.meta == {"v": 0} for s in members)
    again, produced, written = _streamed(tmp_path, _members(GROUPS), version=1)
    assert (produced, written) == ([], 0) and again == members  # kept: records and all


def test_an_identical_build_in_a_fresh_folder_gives_identical_bytes(tmp_path):
    _streamed(tmp_path / "a", _members(GROUPS))
    _streamed(tmp_path / "b", _members([*GROUPS, "0123new"]))
    _streamed(tmp_path / "b", _members(GROUPS))  # grown then shrunk back
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_a_chunk_is_let_go_once_its_shard_is_written(tmp_path):
    # Producing each chunk's members before asking for the next, at most one chunk is ever open,
    # and the wanted members are read as the chunks are cut, not before.
    read = []

    def wanted():
        for m in _members(GROUPS):
            read.append(m.id)
            yield m

    sync = StreamSync(ShardStore(tmp_path, "midi", groups_per_shard=10), wanted())
    most_open = 0
    for n, missing in enumerate(sync.chunks()):
        assert len(read) < len(GROUPS) * 3 or n > 5  # not everything read up front
        for m in missing:
            most_open = max(most_open, len({id(c) for c in sync._open.values()}))
            sync.put(m.id, _payload(m.id))
        assert not sync._open
    sync.finish()
    assert most_open == 1 and sync.shards > 5


@pytest.mark.parametrize("wanted, message", [
    ([Member("b_aug001", "b1", "b", "k"), Member("a_aug001", "a1", "a", "k")], "out of order after b_aug001"),
    ([Member("a_aug002", "a2", "a", "k"), Member("a_aug001", "a1", "a", "k")], "out of order after a_aug002"),
    ([Member("a_aug001", "a1", "a", "k"), Member("a_aug001", "a1", "a", "k")], "wanted twice"),
])
def test_wanted_members_out_of_order_or_twice_are_refused(tmp_path, wanted, message):
    sync = StreamSync(ShardStore(tmp_path, "midi"), wanted)
    with pytest.raises(ValueError, match=message):
        for missing in sync.chunks():
            for m in missing:
                sync.put(m.id, b"x")


def test_every_member_must_be_handed_over_before_finish(tmp_path):
    sync = StreamSync(ShardStore(tmp_path, "midi"), _members(GROUPS[:2]))
    first = next(sync.chunks())
    sync.put(first[0].id, b"x")
    with pytest.raises(RuntimeError, match="never produced"):
        sync.finish()
    with pytest.raises(KeyError, match="already handed over"):
        sync.put(first[0].id, b"x")


def test_a_corrupted_shard_has_its_members_produced_again(tmp_path):
    first, _, _ = _streamed(tmp_path, _members(GROUPS))
    victim = next(s for s in first if s.id == f"{GROUPS[7]}_aug002").shard
    data = bytearray((tmp_path / victim).read_bytes())
    data[600] ^= 0xFF
    (tmp_path / victim).write_bytes(bytes(data))
    (tmp_path / ".penta-tmp-leftover").write_bytes(b"half")
    again, produced, _ = _streamed(tmp_path, _members(GROUPS))
    assert f"{GROUPS[7]}_aug002" in produced and again == first
    assert not (tmp_path / ".penta-tmp-leftover").exists()
