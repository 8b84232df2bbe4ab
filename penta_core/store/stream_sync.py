"""Syncing a shard store a chunk at a time: memory bounded by the chunks in flight, not by the store.

:class:`~penta_core.store.shards.ShardSync` holds every wanted member, every
stored one (with its record) and every result until it finishes: about
2.5 KB a member, which for the augment stage is ``multiplier`` times the
sources (4.6 GB for Lakh MIDI's 176,000 files at the seed's multiplier of
10). :class:`StreamSync` writes the same shards, byte for byte, from wanted
members that arrive sorted: it cuts them into the same content-defined
chunks as they come, looks up the old copies of one chunk's members in the
old shards whose groups overlap it, and forgets a chunk once its shard is
written. What it keeps is a line per shard.

A stage walks :meth:`StreamSync.chunks` (each chunk's members still to
produce, a chunk whose members are all reused being written as it is
reached), hands produced members over with :meth:`StreamSync.put` (or
:meth:`StreamSync.drop_group`), calls :meth:`StreamSync.finish`, and reads
what the store holds, in order, from :meth:`StreamSync.members`.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from penta_core.core.io import TMP_PREFIX, read_json
from penta_core.store.chunks import iter_chunks
from penta_core.store.shards import Member, ShardStore, Stored, write_chunk


@dataclass(frozen=True)
class _Span:
    """An intact shard of the store as this run found it: the groups it covers and its catalogue."""

    first: str
    last: str
    sidecar: str


@dataclass
class _Open:
    """A chunk whose shard is not written yet."""

    members: list[Member]
    old: dict[str, Stored]
    reused: set[str]
    position: int  # the chunk's place in the store, in order
    pending: set[str] = field(default_factory=set)
    written: bool = False
    dropped: set[str] = field(default_factory=set)
    produced: dict[str, bytes] = field(default_factory=dict)
    meta: dict[str, dict[str, Any] | None] = field(default_factory=dict)


class StreamSync:
    """One streamed sync of ``store`` to hold exactly ``wanted``, sorted by ``(group, id)``.

    Raises
    ------
    ValueError : (while walking :meth:`chunks`) ``wanted`` is not in ascending ``(group, id)`` order,
        or names a member twice.
    """

    def __init__(self, store: ShardStore, wanted: Iterable[Member]) -> None:
        self.store = store
        self._wanted = wanted
        self._spans = _spans(store)
        self._firsts = [s.first for s in self._spans]
        self._loaded: dict[str, dict[str, Stored]] = {}  # the last catalogues read (a chunk's neighbours share)
        self._open: dict[str, _Open] = {}  # member id -> its chunk, for members not yet resolved
        self._sidecars: list[str | None] = []  # each chunk's catalogue, in order (None: nothing kept)
        self.reused = 0
        self.written = 0
        self.removed = 0

    def chunks(self) -> Iterator[list[Member]]:
        """Each chunk's members still to produce, in store order; a chunk with none is written on the way."""
        walked = _ascending(self._wanted, self.store.prefix)
        for members in iter_chunks(walked, lambda m: m.group, groups_per_chunk=self.store.groups_per_shard,
                                   max_items=self.store.max_members):
            old = self._old_of(members)
            reused = {m.id for m in members if m.id in old and old[m.id].key == m.key and old[m.id].name == m.name}
            c = _Open(members, old, reused, len(self._sidecars))
            self._sidecars.append(None)
            self.reused += len(reused)
            c.pending = {m.id for m in members} - reused
            if not c.pending:
                self._write(c)
                continue
            for member_id in c.pending:
                self._open[member_id] = c
            yield [m for m in members if m.id in c.pending]

    def put(self, member_id: str, data: bytes, meta: dict[str, Any] | None = None) -> None:
        """Hand over the bytes (and record) of a produced member; writes its shard when that completes it."""
        c = self._open.pop(member_id, None)
        if c is None:
            raise KeyError(f"{self.store.prefix} store: {member_id} was not wanted, or was already handed over")
        c.produced[member_id], c.meta[member_id] = data, meta
        self._resolve(c, member_id)

    def drop_group(self, member_id: str) -> None:
        """Leave out every member of the group of ``member_id`` (a member still to produce), reused ones too."""
        c = self._open[member_id]
        group = next(m.group for m in c.members if m.id == member_id)
        ids = [m.id for m in c.members if m.group == group]
        c.dropped.update(ids)  # all of them before the shard they complete is written
        for each in ids:
            if self._open.pop(each, None) is not None or each in c.reused:
                self._resolve(c, each)

    def _resolve(self, c: _Open, member_id: str) -> None:
        c.pending.discard(member_id)
        if not c.pending and not c.written:
            self._write(c)

    def _write(self, c: _Open) -> None:
        kept = [m for m in c.members if m.id not in c.dropped]
        produced = {m.id: c.produced[m.id] for m in kept if m.id not in c.reused}
        meta = {m_id: c.meta[m_id] for m_id in produced}
        members, wrote = write_chunk(self.store, kept, c.reused, c.old, produced, meta)
        c.written, c.produced, c.meta, c.old = True, {}, {}, {}  # the chunk's bytes and records are let go
        if members:
            self._sidecars[c.position] = members[0].shard.removesuffix(".tar") + ".json"
        self.written += wrote

    def _old_of(self, members: list[Member]) -> dict[str, Stored]:
        """The stored members of the old shards whose groups overlap this chunk's, by id.

        A member stored twice (a killed run's shard beside the one it replaced) is taken from the
        catalogue first by name, as :meth:`ShardStore.load` takes it.
        """
        low, high = members[0].group, members[-1].group
        overlapping = sorted(s.sidecar for s in self._spans[:bisect.bisect_right(self._firsts, high)] if s.last >= low)
        found: dict[str, Stored] = {}
        for sidecar in overlapping:
            for member_id, stored in self._catalogue(sidecar).items():
                found.setdefault(member_id, stored)
        return found

    def _catalogue(self, sidecar: str) -> dict[str, Stored]:
        if sidecar not in self._loaded:
            if len(self._loaded) >= 4:
                del self._loaded[next(iter(self._loaded))]
            record = read_json(self.store.folder / sidecar)
            self._loaded[sidecar] = {m["id"]: Stored(shard=record["shard"], **m) for m in record["members"]}
        return self._loaded[sidecar]

    def finish(self) -> None:
        """Check every member was resolved; delete the shards and temporary files no longer wanted."""
        if self._open:
            left = sorted(self._open)
            raise RuntimeError(f"{self.store.prefix} store: {len(left)} members never produced, e.g. {left[0]}")
        keep = self.files()
        folder = self.store.folder
        for path in folder.glob(f"{self.store.prefix}-*") if folder.is_dir() else []:
            if path.name not in keep:
                path.unlink()
                self.removed += 1
        for tmp in folder.glob(TMP_PREFIX + "*") if folder.is_dir() else []:
            tmp.unlink()
        self.store.hashes.save(keep)

    def files(self) -> set[str]:
        """Names of the shards and catalogues written or kept so far."""
        sidecars = [s for s in self._sidecars if s is not None]
        return set(sidecars) | {s.removesuffix(".json") + ".tar" for s in sidecars}

    @property
    def shards(self) -> int:
        return sum(s is not None for s in self._sidecars)

    def members(self) -> Iterator[Stored]:
        """Every member the store holds after :meth:`finish`, in ``(group, id)`` order, a catalogue at a time."""
        for sidecar in self._sidecars:
            if sidecar is not None:
                record = read_json(self.store.folder / sidecar)
                for m in record["members"]:
                    yield Stored(shard=record["shard"], **m)


def _spans(store: ShardStore) -> list[_Span]:
    """The store's intact shards (as :meth:`ShardStore.load` counts them), sorted by their first group."""
    spans = []
    for sidecar, members in store.intact():
        groups = [m.group for m in members]
        if groups:
            spans.append(_Span(min(groups), max(groups), sidecar.name))
    return sorted(spans, key=lambda s: (s.first, s.sidecar))


def _ascending(members: Iterable[Member], prefix: str) -> Iterator[Member]:
    previous: tuple[str, str] | None = None
    for m in members:
        here = (m.group, m.id)
        if previous is not None and here <= previous:
            what = "wanted twice" if here == previous else f"out of order after {previous[1]}"
            raise ValueError(f"{prefix} store: member {m.id} {what} (wanted must ascend by group, then id)")
        previous = here
        yield m
