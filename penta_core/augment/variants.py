"""Augment stage: ``augment.multiplier`` variants of every imported sample, packed in shards.

Reads ``index/imported.json``; writes the variants into tar shards in
``processed/augmented/`` (``midi-<digest>.tar`` and ``audio-<digest>.tar``,
each with a ``.json`` catalogue beside it; :mod:`penta_core.store.shards`)
and ``index/augmented.json`` with one provenance entry per variant naming
its shard and member. A member's name keeps its parent's folders
(``midi/happy/a_aug001.mid``), so ``tar -xf`` or ``penta-dataset
--materialize`` gives the familiar tree back. Labels are not written here:
the manifest gives a variant its parent's label.

Each variant's randomness comes from ``(seed, sample id, variant number)``,
so adding, removing or changing one parent never changes another parent's
variants. The stage is incremental: every member's catalogue entry keeps
the key it was made under (the parent's sha256, the parameters of its kind,
the seed and the code and library versions) and its transform record; a
variant whose key still matches is kept, the others are made again in
workers (which return bytes and never write), and a shard is rewritten only
when one of its members changed. An incremental run therefore ends with the
same bytes as a clean one.
"""
from __future__ import annotations

import functools
import heapq
import itertools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from penta_core.augment.audio import OUTPUT_SUFFIX as AUDIO_SUFFIX
from penta_core.augment.audio import AudioAugmenter, encode_audio, load_audio
from penta_core.augment.midi import MIDIAugmenter
from penta_core.core.errors import MissingInput
from penta_core.core.io import Deferred, StreamedList, sha256_bytes, write_json_streamed
from penta_core.core.json_stream import MemberStream
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs as resolve_jobs
from penta_core.engine.executor import parallel_map
from penta_core.engine.fingerprint import library_versions, source_digest
from penta_core.engine.incremental import cache_key, sweep
from penta_core.engine.numba_cache import prepare_numba
from penta_core.engine.parallel import start_method_for
from penta_core.engine.seeding import rng_for
from penta_core.midi.piece import MidiPiece
from penta_core.store.access import read_where, sample_location, sample_path, sample_where
from penta_core.store.shards import SAMPLES_PER_SHARD, Member, ShardStore, describe
from penta_core.store.stream_sync import StreamSync

# The modules a variant's bytes go through, per kind: their source is part of
# every cache key, so editing one remakes that kind's variants.
_MODULES = {
    "midi": ("penta_core.midi.piece", "penta_core.midi.smf_read", "penta_core.midi.smf_write",
             "penta_core.midi.tempo", "penta_core.augment.midi",
             "penta_core.augment.transform", "penta_core.augment.registry", "penta_core.engine.seeding"),
    "audio": ("penta_core.augment.audio", "penta_core.augment.transform",
              "penta_core.augment.registry", "penta_core.engine.seeding"),
}
# What the stage reads of an imported entry: its content, group and where its bytes are.
_PARENT_FIELDS = ("id", "kind", "sha256", "group", "path", "shard", "member")
# Seconds per variant (``augment.timeout_s`` when the params define it); a
# parent's limit is this times ``augment.multiplier`` (the most variants it can need: the
# stage streams its work, so it does not know them all before the first is sent).
TIMEOUT_PER_VARIANT_S = 120.0


def variant_rng(seed: int, sample_id: str, k: int) -> np.random.Generator:
    """The generator of variant ``k`` of ``sample_id``: depends on nothing else.

    Example
    -------
    >>> variant_rng(42, "a1b2", 1).integers(100) == variant_rng(42, "a1b2", 1).integers(100)
    True
    """
    return rng_for(seed, sample_id, "augment", k)


def variant_id(parent_id: str, k: int) -> str:
    return f"{parent_id}_aug{k:03d}"


# The libraries whose versions decide a variant's bytes, per kind.
_LIBRARIES = {"midi": ("mido", "numpy"), "audio": ("numpy", "librosa", "soxr", "scipy", "soundfile")}


def code_fingerprint(kind: str) -> dict[str, str]:
    """Versions of everything that decides the bytes of a ``kind`` variant.

    Part of every cache key: upgrading librosa remakes the audio variants,
    not the MIDI ones.
    """
    versions = {"code": source_digest(_MODULES[kind]), **library_versions(_LIBRARIES[kind])}
    if kind == "audio":
        import soundfile

        versions["libsndfile"] = soundfile.__libsndfile_version__
    return versions


def variant_stems(samples: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """``parent id -> (folder, file stem)`` of its variants, relative to ``processed/augmented``.

    The parent's folders below ``raw/`` are kept. Two parents of one folder
    that would share a name (``a.wav`` and ``a.flac`` both become FLAC) get
    their id appended, so no variant ever overwrites another.
    """
    planned: dict[str, tuple[str, str, str]] = {}
    for sample in samples:
        path = PurePosixPath(sample_path(sample))
        parts = path.parts[1:] if path.parts and path.parts[0] == "raw" else path.parts
        folder = PurePosixPath(*parts[:-1]).as_posix()
        suffix = AUDIO_SUFFIX if sample["kind"] == "audio" else path.suffix
        planned[sample["id"]] = (folder, path.stem, suffix)
    taken = Counter((f, stem.lower(), suffix.lower()) for f, stem, suffix in planned.values())
    stems: dict[str, tuple[str, str]] = {}
    for sid, (folder, stem, suffix) in planned.items():
        if taken[(folder, stem.lower(), suffix.lower())] > 1:
            stem = f"{stem}_{sid}"
        stems[sid] = (folder, stem)
    return stems


def variant_path(folder: str, stem: str, suffix: str, k: int) -> str:
    return f"{folder}/{stem}_aug{k:03d}{suffix}"


def _key(parent: dict[str, Any], k: int, member: str, ranges: dict[str, Any], seed: int,
         fingerprint: dict[str, str]) -> str:
    return cache_key({
        "parent": parent["id"], "parent_sha256": parent["sha256"], "kind": parent["kind"],
        "k": k, "member": member, "ranges": ranges, "seed": seed, "code": fingerprint,
    })


@functools.lru_cache(maxsize=8)
def _midi_chain(ranges: str) -> MIDIAugmenter:
    return MIDIAugmenter.from_params(json.loads(ranges))


def _midi_augmenter(ranges: dict[str, Any]) -> MIDIAugmenter:
    """The augmenter of ``ranges``, built once per worker (its transforms keep only the last draw)."""
    return _midi_chain(json.dumps(ranges, sort_keys=True))


def augment_parent(task: dict[str, Any]) -> list[dict[str, Any]]:
    """Worker entry point: make the listed variants of one parent; return their bytes.

    Parameters
    ----------
    task : ``{"parent": {"id", "kind", "sha256", "where", "location"}, "seed",
        "ranges", "variants": [k, ...]}``.

    Returns
    -------
    list of dict : ``{"k", "data", "transform"}`` per variant (the stage process packs them).

    Raises
    ------
    ValueError : the parent changed since import or cannot be augmented.
    """
    parent = task["parent"]
    data = read_where(parent["where"])
    if sha256_bytes(data) != parent["sha256"]:
        raise ValueError(f"parent file {parent['location']} changed since import (sha256 differs)")
    results = []
    if parent["kind"] == "midi":
        augmenter = _midi_augmenter(task["ranges"])
        piece = MidiPiece.from_bytes(data)
        made, failure = [], None
        try:  # every variant through each transform at once; on any error, one by one as below
            rngs = [variant_rng(task["seed"], parent["id"], k) for k in task["variants"]]
            made = [(k, *out) for k, out in zip(task["variants"], augmenter.augment_many(piece, rngs), strict=True)]
        except Exception:
            made = []
            try:
                for k in task["variants"]:
                    made.append((k, *augmenter.augment(piece, variant_rng(task["seed"], parent["id"], k))))
            except Exception as err:  # raised after the variants before it are written, as one by one
                failure = err
        # All variants serialised in one pass; the first that cannot be written raises, as one by one.
        encoded = MidiPiece.to_bytes_many([variant for _, variant, _ in made])
        if failure is not None:
            raise failure
        results = [{"k": k, "data": blob, "transform": record}
                   for (k, _, record), blob in zip(made, encoded, strict=True)]
    elif parent["kind"] == "audio":
        audio_augmenter = AudioAugmenter.from_params(task["ranges"])
        samples, rate = load_audio(data)
        for k in task["variants"]:
            out, record = audio_augmenter.augment(samples, rate, variant_rng(task["seed"], parent["id"], k))
            results.append({"k": k, "data": encode_audio(out, rate), "transform": record})
    else:
        raise ValueError(f"unknown sample kind {parent['kind']!r}")
    return results


def _plan(parents: list[dict[str, Any]], kind: str, multiplier: int, ranges: dict[str, Any], seed: int,
          stems: dict[str, tuple[str, str]]) -> Iterator[Member]:
    """The members ``kind``'s store must hold, made as they are read: every variant of every parent of
    that kind, keyed, in ``(parent id, variant id)`` order (``parents`` sorted by id)."""
    fingerprint = code_fingerprint(kind) if any(p["kind"] == kind for p in parents) else {}
    for parent in parents:
        if parent["kind"] != kind:
            continue
        folder, stem = stems[parent["id"]]
        suffix = AUDIO_SUFFIX if kind == "audio" else PurePosixPath(sample_path(parent)).suffix
        members = []
        for k in range(1, multiplier + 1):
            name = variant_path(folder, stem, suffix, k)
            key = _key(parent, k, name, ranges, seed, fingerprint)
            members.append(Member(variant_id(parent["id"], k), name, parent["id"], key))
        yield from sorted(members, key=lambda m: m.id)  # "_aug1000" sorts before "_aug999"


def _to_make(missing: list[Member]) -> dict[str, list[int]]:
    """Parent id -> the variant numbers it still needs, parents in the order their shards need them."""
    variants: dict[str, list[int]] = {}
    for member in missing:
        variants.setdefault(member.group, []).append(int(member.id.rsplit("_aug", 1)[1]))
    return variants


def _task(parent: dict[str, Any], ks: list[int], layout: DatasetLayout, seed: int,
          ranges: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The worker task of one parent (made as the pool asks for it, not all before the first is sent)."""
    return {
        "seed": seed, "ranges": ranges[parent["kind"]],
        "parent": {**{field: parent[field] for field in ("id", "kind", "sha256")},
                   "where": sample_where(layout, parent), "location": sample_location(parent)},
        "variants": ks,
    }


def augment_dataset(layout: DatasetLayout, params: dict[str, Any]) -> dict[str, Any]:
    """Make, reuse or delete variants so the shards match the imported samples and params.

    Parameters
    ----------
    layout : the dataset (reads ``index/imported.json``).
    params : the validated parameter tree (``seed`` and ``augment.*``).

    Returns
    -------
    dict : ``summary`` (as written to ``index/augmented.json``), ``generated``
        and ``reused`` variant counts, ``removed`` (stale files deleted), ``shards``
        (written this run / total), ``regenerated_parents`` (ids) and ``failed``
        (``parent``, ``path``, ``reason``).

    Raises
    ------
    MissingInput : ``index/imported.json`` is missing.
    ValueError : an ``augment.*`` range is invalid (names the parameter).
    """
    record_path = layout.index("imported")
    if not record_path.exists():
        raise MissingInput(f"{record_path} does not exist; run the import stage first")
    opts = params["augment"]
    seed = int(params["seed"])
    multiplier = int(opts["multiplier"])
    ranges = {"midi": dict(sorted(opts["midi"].items())), "audio": dict(sorted(opts["audio"].items()))}
    MIDIAugmenter.from_params(ranges["midi"])  # fail on a bad range before any work
    AudioAugmenter.from_params(ranges["audio"])
    # Only the fields a parent's variants are planned and read from: the import's whole entries
    # (sources, info) are read past one at a time, not held.
    parents = sorted(({k: s[k] for k in _PARENT_FIELDS if k in s} for s in MemberStream(record_path, "samples")
                      if s["kind"] in ranges), key=lambda s: s["id"])
    by_id = {s["id"]: s for s in parents}
    folder = layout.augmented_dir
    stems = variant_stems(parents)
    # Each kind's store is synced a chunk at a time (store.stream_sync): the variants' members,
    # records and results are never all in memory, only the chunks in flight.
    syncs = {kind: StreamSync(ShardStore(folder, kind, groups_per_shard=SAMPLES_PER_SHARD[kind] / max(multiplier, 1),
                                         max_members=4 * SAMPLES_PER_SHARD[kind],
                                         hashes=layout.hash_cache(folder, kind)),
                              _plan(parents, kind, multiplier, ranges[kind], seed, stems))
             for kind in ("midi", "audio")}
    made = _Made()
    for kind in ("midi", "audio"):  # one pool per kind: each starts its workers its own way
        _make(kind, syncs[kind], made, by_id, layout, params, ranges)
    for sync in syncs.values():
        sync.finish()
    keep = set().union(*(sync.files() for sync in syncs.values()))
    removed = sum(sync.removed for sync in syncs.values()) + sweep(folder, keep)
    folder.mkdir(parents=True, exist_ok=True)  # an empty store is still an output

    # index/augmented.json is written as its entries are read back from the catalogues, in
    # (parent, id) order: the entries (30,000 dicts at 10,000 sources) are never all in memory.
    folder_rel = PurePosixPath("processed", "augmented").as_posix()
    counted: Counter[str] = Counter()

    def entries() -> Iterator[dict[str, Any]]:
        previous = None
        streams = [zip(sync.members(), itertools.repeat(kind)) for kind, sync in syncs.items()]
        for member, kind in heapq.merge(*streams, key=lambda item: (item[0].group, item[0].id)):
            counted[kind] += 1
            counted["parents"] += member.group != previous
            previous = member.group
            yield {"id": member.id, **describe(member, folder_rel), "kind": kind, "origin": "augmented",
                   "parent": member.group, "group": by_id[member.group]["group"],
                   "transform": member.meta["transform"]}

    made.failed.sort(key=lambda f: f["parent"])
    summary: dict[str, Any] = {}

    def summarise() -> dict[str, Any]:
        summary.update({
            "multiplier": multiplier,
            "parents": len(parents),
            "augmented_parents": counted["parents"],
            "variants": counted["midi"] + counted["audio"],
            "per_kind": {kind: counted[kind] for kind in ("audio", "midi")},
            "shards": sum(sync.shards for sync in syncs.values()),
            "failed": len(made.failed),
        })
        return summary

    # The offline policy, carried into the manifest so a trainer can see what was applied before it
    # adds its own (online) augmentation, and nothing is applied twice.
    policy = {"multiplier": multiplier, "seed": seed, **(ranges if multiplier else {})}
    write_json_streamed(layout.index("augmented"), {"samples": StreamedList(entries()), "failed": made.failed,
                                                    "summary": Deferred(summarise), "policy": policy})
    return {
        "summary": summary,
        "generated": made.generated,
        "reused": sum(sync.reused for sync in syncs.values()),
        "removed": removed,
        "shards_written": sum(sync.written for sync in syncs.values()),
        "regenerated_parents": sorted(made.parents),
        "failed": made.failed,
    }


@dataclass
class _Made:
    """What the workers made, over both kinds: variants handed to the stores, parents, failures."""

    generated: int = 0
    parents: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)


def _make(kind: str, sync: StreamSync, made: _Made, by_id: dict[str, dict[str, Any]], layout: DatasetLayout,
          params: dict[str, Any], ranges: dict[str, dict[str, Any]]) -> None:
    """Make the ``kind`` variants ``sync`` still needs, in workers, a chunk of the store at a time.

    Workers start only when some parent needs variants; a chunk whose variants are all kept is
    written (or found unchanged) as the walk reaches it.
    """
    opts, seed = params["augment"], int(params["seed"])
    todo: list[tuple[str, str]] = []  # (parent id, a variant it still needs) of each task, in task order

    def tasks() -> Iterator[dict[str, Any]]:
        for missing in sync.chunks():
            for pid, ks in _to_make(missing).items():
                todo.append((pid, variant_id(pid, ks[0])))
                yield _task(by_id[pid], ks, layout, seed, ranges)

    work = tasks()
    n_jobs = resolve_jobs(opts["n_jobs"])
    head = list(itertools.islice(work, n_jobs))  # enough to know whether, and how many, workers are needed
    if not head:
        return
    jobs = len(head)
    if kind == "audio":
        prepare_numba(warm_up=jobs > 1)  # one compilation before several workers share numba's cache
    else:
        _midi_augmenter(ranges["midi"])  # built before the workers fork, so they inherit it
    # Seconds per variant times the most variants a parent can need.
    timeout = float(opts.get("timeout_s", TIMEOUT_PER_VARIANT_S)) * max(int(opts["multiplier"]), 1)
    for index, outcome in parallel_map(
        augment_parent, itertools.chain(head, work), n_jobs=jobs, timeout_s=timeout, desc="augment",
        relative_to=[layout.root], engine=params.get("engine"), start_method=start_method_for([kind]),
    ):
        pid, pending = todo[index]
        made.parents.append(pid)
        if outcome.ok:
            for variant in outcome.value:
                sync.put(variant_id(pid, variant["k"]), variant["data"], {"transform": variant["transform"]})
            made.generated += len(outcome.value)
        else:
            made.failed.append({"parent": pid, "path": sample_location(by_id[pid]),
                                "reason": outcome.reason or "augmentation failed"})
            # A parent that failed keeps none of its variants (kept ones included), as in a clean run.
            sync.drop_group(pending)
