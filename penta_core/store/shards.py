"""A folder of tar shards with a catalogue beside each: derived samples packed about 1,000 to a file.

Each shard ``<prefix>-<digest>.tar`` has a sidecar ``<prefix>-<digest>.json``
listing its members (sample id, member name, group, cache key, sha256, data
offset and size) and the shard's own sha256. The digest names the content
(member ids, names and checksums), so a chunk whose members did not change
keeps its file and its bytes, and DVC uploads nothing for it.

A stage syncs the store with what it wants (:meth:`ShardStore.begin`): members
whose cache key matches a stored one are reused, the others are produced by
the stage (in workers) and handed over with :meth:`ShardSync.put`. A chunk is
written, with one fsync, as soon as every member of it is known, so a killed
run keeps every finished shard; :meth:`ShardSync.finish` deletes the shards no
longer wanted. Clean and incremental runs write identical shards.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from penta_core.core.io import TMP_PREFIX, atomic_write_bytes, read_json, sha256_bytes, write_json
from penta_core.engine.statcache import HashCache
from penta_core.store.chunks import chunk
from penta_core.store.tar_shard import build_tar, read_member

# Samples per shard: MIDI files are a few KB, audio clips a few MB, so a shard is about 5 MB to a
# few hundred MB either way. Each shard is two DVC objects (the tar and its catalogue): 2,000 MIDI
# samples a shard keeps that to one object per 1,000 derived samples (1,000 a shard made it one per
# 500, the issue-10 limit, before any other output), while a small change still rewrites only the
# few MB of the shards it falls in.
SAMPLES_PER_SHARD = {"midi": 2000, "audio": 48}


@dataclass(frozen=True)
class Member:
    """A sample the store must hold: ``name`` is its path inside the shard."""

    id: str
    name: str
    group: str
    key: str


class Stored(NamedTuple):
    """A member as it sits in a written shard (a named tuple: a store loads millions of them at scale,
    and one is built in a fifth of a frozen dataclass's time)."""

    id: str
    name: str
    group: str
    key: str
    sha256: str
    shard: str
    offset: int
    size: int
    meta: dict[str, Any] | None = None  # what the stage records about the member (e.g. a transform)


def _catalogue_entry(s: Stored) -> dict[str, Any]:
    """A member's line in its shard's catalogue (``dataclasses.asdict`` deep-copies: 10x slower)."""
    entry = {"id": s.id, "name": s.name, "group": s.group, "key": s.key, "sha256": s.sha256,
             "offset": s.offset, "size": s.size}
    if s.meta is not None:
        entry["meta"] = s.meta
    return entry


def _digest(members: Iterable[tuple[str, str, str]]) -> str:
    text = "\n".join(f"{i}\t{n}\t{s}" for i, n, s in members)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class ShardStore:
    """The shards with one ``prefix`` in ``folder``.

    Parameters
    ----------
    folder : where the shards live (created on first write).
    prefix : file-name prefix of this store's shards, e.g. ``midi``.
    groups_per_shard : mean number of groups (e.g. a parent and its variants) per shard.
    max_members : a shard is cut at the next group once it holds this many members.
    hashes : where the shards' sha256 are remembered by stat (:mod:`penta_core.engine.statcache`), so
        an untouched shard is not read again to be verified; ``None``: every shard is hashed.
    """

    def __init__(self, folder: str | os.PathLike, prefix: str, *, groups_per_shard: float = 1000.0,
                 max_members: int = 4000, hashes: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder)
        self.prefix = prefix
        self.groups_per_shard = groups_per_shard
        self.max_members = max_members
        self.hashes = HashCache(hashes, base=self.folder)

    def sidecars(self) -> list[Path]:
        return sorted(self.folder.glob(f"{self.prefix}-*.json")) if self.folder.is_dir() else []

    def load(self, verify: bool = True) -> dict[str, Stored]:
        """Every member of every intact shard (:meth:`intact`), by sample id (the first shard by name wins)."""
        found: dict[str, Stored] = {}
        for _, members in self.intact(verify):
            for member in members:
                found.setdefault(member.id, member)
        return found

    def intact(self, verify: bool = True) -> Iterator[tuple[Path, list[Stored]]]:
        """``(catalogue, its members)`` of each intact shard, catalogues by name.

        A shard counts when its sidecar parses and (``verify``) its bytes still
        hash to the recorded sha256; anything else is ignored, so its members
        are produced again and the file is swept at the end of the next sync.
        """
        for sidecar in self.sidecars():
            try:
                record = read_json(sidecar)
                shard = self.folder / record["shard"]
                if not shard.is_file() or shard.stat().st_size != record["size"]:
                    continue
                if verify and self.hashes.sha256(shard) != record["sha256"]:
                    continue
                members = [Stored(shard=record["shard"], **m) for m in record["members"]]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            yield sidecar, members

    def read(self, stored: Stored) -> bytes:
        """The bytes of one stored member."""
        return read_member(self.folder / stored.shard, stored.offset, stored.size)

    def read_many(self, stored: Iterable[Stored]) -> dict[str, bytes]:
        """The bytes of many members by id, each shard read once (not once a member)."""
        by_shard: dict[str, list[Stored]] = {}
        for s in stored:
            by_shard.setdefault(s.shard, []).append(s)
        found: dict[str, bytes] = {}
        for shard, members in sorted(by_shard.items()):
            data = (self.folder / shard).read_bytes()
            for s in members:
                found[s.id] = data[s.offset:s.offset + s.size]
                if len(found[s.id]) != s.size:
                    raise ValueError(f"shard {shard} is shorter than its catalogue says (member {s.id})")
        return found

    def begin(self, wanted: Iterable[Member]) -> ShardSync:
        """Start syncing the store to hold exactly ``wanted`` (any order; sorted here)."""
        return ShardSync(self, sorted(wanted, key=lambda m: (m.group, m.id)), self.load())


@dataclass
class _Chunk:
    members: list[Member]
    pending: set[str] = field(default_factory=set)
    written: bool = False


class ShardSync:
    """One sync of a :class:`ShardStore`: reuse, accept produced members, write chunks, sweep."""

    def __init__(self, store: ShardStore, wanted: list[Member], stored: dict[str, Stored]) -> None:
        ids = [m.id for m in wanted]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{store.prefix} store: a sample id is wanted twice")
        self.store = store
        self.old = stored
        self.reused = {m.id for m in wanted if m.id in stored and stored[m.id].key == m.key
                       and stored[m.id].name == m.name}
        self._chunks = [_Chunk(c) for c in chunk(wanted, lambda m: m.group,
                                                  groups_per_chunk=store.groups_per_shard,
                                                  max_items=store.max_members)]
        self._chunk_of: dict[str, _Chunk] = {}
        for c in self._chunks:
            c.pending = {m.id for m in c.members if m.id not in self.reused}
            for m in c.members:
                self._chunk_of[m.id] = c
        self._produced: dict[str, bytes] = {}
        self._meta: dict[str, dict[str, Any] | None] = {}
        self._dropped: set[str] = set()
        self.result: dict[str, Stored] = {}
        self.written = 0
        self.removed = 0

    @property
    def missing(self) -> list[Member]:
        """The members to produce, in shard order (so shards complete, and are written, early)."""
        return [m for c in self._chunks for m in c.members if m.id in c.pending]

    def put(self, member_id: str, data: bytes, meta: dict[str, Any] | None = None) -> None:
        """Hand over the bytes (and record) of a produced member; writes its shard when that completes it."""
        if member_id not in self._chunk_of:
            raise KeyError(f"{self.store.prefix} store: {member_id} was not wanted")
        self._produced[member_id] = data
        self._meta[member_id] = meta
        self._resolve(member_id)

    def drop(self, member_ids: Iterable[str]) -> None:
        """Leave members out (their production failed); their shard is written without them."""
        member_ids = list(member_ids)
        self._dropped.update(member_ids)  # all of them before any shard they complete is written
        for member_id in member_ids:
            self._resolve(member_id)

    def _resolve(self, member_id: str) -> None:
        c = self._chunk_of[member_id]
        c.pending.discard(member_id)
        if not c.pending and not c.written:
            self._write(c)

    def _write(self, c: _Chunk) -> None:
        c.written = True
        kept = [m for m in c.members if m.id not in self._dropped]
        produced = {m.id: self._produced.pop(m.id) for m in kept if m.id not in self.reused}
        meta = {m_id: self._meta.pop(m_id) for m_id in produced}
        members, wrote = write_chunk(self.store, kept, self.reused, self.old, produced, meta)
        for stored in members:
            self.result[stored.id] = stored
        self.written += wrote

    def finish(self) -> dict[str, Stored]:
        """Check every member was resolved, delete shards no longer wanted; the stored members by id."""
        open_chunks = [c for c in self._chunks if c.pending]
        if open_chunks:
            left = sorted(i for c in open_chunks for i in c.pending)
            raise RuntimeError(f"{self.store.prefix} store: {len(left)} members never produced, e.g. {left[0]}")
        for c in self._chunks:
            if not c.written:
                self._write(c)
        keep = self.files()
        for path in self.store.folder.glob(f"{self.store.prefix}-*") if self.store.folder.is_dir() else []:
            if path.name not in keep:
                path.unlink()
                self.removed += 1
        for tmp in self.store.folder.glob(TMP_PREFIX + "*") if self.store.folder.is_dir() else []:
            tmp.unlink()
        self.store.hashes.save(keep)
        return dict(sorted(self.result.items()))

    def files(self) -> set[str]:
        """Names of the shards and catalogues that hold the members resolved so far."""
        shards = {s.shard for s in self.result.values()}
        return shards | {Path(s).with_suffix(".json").name for s in shards}



def write_chunk(store: ShardStore, kept: list[Member], reused: Collection[str], old: Mapping[str, Stored],
                produced: dict[str, bytes], meta: dict[str, dict[str, Any] | None]) -> tuple[list[Stored], bool]:
    """Write the shard of ``kept`` (in shard order) and its catalogue, unless an identical one is on disk.

    Members in ``reused`` keep their stored copy in ``old`` (its bytes are read from its shard);
    the others bring their bytes and record in ``produced`` and ``meta``. Returns the members as
    stored and whether a file was written (``False``: the shard on disk already held exactly
    these members, or ``kept`` is empty).
    """
    if not kept:
        return [], False
    payload: dict[str, bytes] = dict(produced)
    sums = {m_id: sha256_bytes(data) for m_id, data in produced.items()}
    metas = dict(meta)
    for m in kept:
        if m.id in reused:
            sums[m.id], metas[m.id] = old[m.id].sha256, old[m.id].meta
    name = f"{store.prefix}-{_digest((m.id, m.name, sums[m.id]) for m in kept)}"
    sidecar = store.folder / f"{name}.json"
    existing = _existing(sidecar, old, {m.id: (m.key, sums[m.id], metas[m.id]) for m in kept})
    if existing is not None:
        return existing, False
    payload.update(store.read_many(old[m.id] for m in kept if m.id in reused))
    data, placed = build_tar((m.name, payload[m.id]) for m in kept)
    shard_sha = sha256_bytes(data)
    atomic_write_bytes(store.folder / f"{name}.tar", data)
    store.hashes.remember(store.folder / f"{name}.tar", shard_sha)
    members = [Stored(m.id, m.name, m.group, m.key, sums[m.id], f"{name}.tar", p.offset, p.size, metas[m.id])
               for m, p in zip(kept, placed, strict=True)]
    write_json(sidecar, {
        "shard": f"{name}.tar", "sha256": shard_sha, "size": len(data),
        "members": [_catalogue_entry(s) for s in members],
    })
    return members, True


def _existing(sidecar: Path, old: Mapping[str, Stored], expected: dict[str, tuple[str, str, Any]]
              ) -> list[Stored] | None:
    """The members of an identical shard already on disk (verified when the store was loaded), if there is one.

    Identical means the same members with the same keys, checksums and records,
    so the sidecar on disk is byte for byte the one this run would write.
    """
    try:
        record = read_json(sidecar)
        members = [Stored(shard=record["shard"], **m) for m in record["members"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if len(members) != len(expected):
        return None
    if all(old.get(s.id) == s and expected.get(s.id) == (s.key, s.sha256, s.meta) for s in members):
        return members
    return None


def describe(stored: Stored, folder_rel: str) -> dict[str, Any]:
    """The manifest fields that locate a packed sample: its shard (relative to the dataset) and member."""
    return {"shard": f"{folder_rel}/{stored.shard}", "member": stored.name, "sha256": stored.sha256}
