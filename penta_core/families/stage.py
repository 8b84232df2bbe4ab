"""The families step: fingerprint every imported file (incrementally) and join near-duplicates.

Fingerprints are the expensive part, so each is kept, packed about a
thousand to a tar shard in ``processed/fingerprints/`` (member ``<id>.json``;
:mod:`penta_core.store.shards`), keyed by the file's sha256 and a digest of
the code and libraries that compute it; a run fingerprints new or changed
files only, drops entries of files no longer imported (rewriting only the
shards they were in), and then joins families over all files. ``index/families.json`` holds each sample's
family and the link (reason, similarity) that joined it.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from penta_core.core.io import dumps_json, sha256_bytes, write_json
from penta_core.core.json_stream import MemberStream
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs as resolve_jobs
from penta_core.engine.executor import parallel_map
from penta_core.engine.fingerprint import library_versions, source_digest
from penta_core.engine.incremental import cache_key, sweep
from penta_core.engine.numba_cache import prepare_numba
from penta_core.engine.parallel import start_method_for
from penta_core.families.detect import detect_families
from penta_core.families.midi import informative, midi_print
from penta_core.families.minhash import band_keys_of
from penta_core.store.access import read_where, sample_where, where_as_file
from penta_core.store.shards import Member, ShardStore

_MODULES = {"midi": ["penta_core.families.midi", "penta_core.families.minhash"],
            "audio": ["penta_core.families.audio"]}
_LIBRARIES = {"midi": ["symusic", "numpy"], "audio": ["librosa", "soundfile", "soxr", "numpy"]}
# What a stored fingerprint record holds; part of its key. 2: MIDI records carry their
# informative voices' shingles, so verifying a candidate pair reads no MIDI file.
RECORD_FORMAT = 2
# A fingerprint is about 3 KB of JSON: 4,000 a shard is about 11 MB, two DVC objects per 4,000 sources.
PRINTS_PER_SHARD = 4000.0


def fingerprints_dir(layout: DatasetLayout) -> Path:
    return layout.root / "processed" / "fingerprints"


def print_key(kind: str) -> str:
    """What a cached fingerprint of ``kind`` depends on besides the file: code and library versions."""
    libs = ",".join(f"{k}={v}" for k, v in library_versions(_LIBRARIES[kind]).items())
    return f"{source_digest(_MODULES[kind])}+{libs}+record{RECORD_FORMAT}"


def _encode(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _decode(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def fingerprint_file(task: tuple[str, tuple, str]) -> dict[str, Any]:
    """Worker: the cacheable fingerprint of one file (``kind, where, sha256``), as JSON-ready values."""
    kind, where, sha = task
    data = read_where(where)
    if sha256_bytes(data) != sha:  # the stage depends on the import's record, not on raw/ itself
        raise ValueError("file content differs from the sha256 in its index; rerun the import stage")
    if kind == "midi":
        p = midi_print(data)
        voices = informative(p.voices)
        keys = band_keys_of(list(voices.values()))
        return {"normalised": p.normalised,
                "bands": {name: _encode(k.astype("<u8")) for name, k in zip(voices, keys)},
                "voices": {name: _encode(v.astype("<u4")) for name, v in voices.items()}}
    from penta_core.families.audio import audio_print  # librosa loads where audio is fingerprinted only

    with where_as_file(where, data) as path:
        prints, loud = audio_print(path)
    return {"prints": _encode(prints.astype("<u4")), "loud": _encode(np.packbits(loud)), "frames": len(loud)}


# What the stage reads of an imported entry: its content and where its bytes are.
_SAMPLE_FIELDS = ("id", "kind", "sha256", "path", "shard", "member")


def _unpack_audio(record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    prints = _decode(record["prints"], "<u4").astype(np.uint32)
    loud = np.unpackbits(_decode(record["loud"], "u1"))[: record["frames"]].astype(bool)
    return prints, loud


def run(params: dict[str, Any], layout: DatasetLayout) -> list[str]:
    opts = params["families"]
    # The imported entries read one at a time, each kept to what fingerprinting reads (not its sources and info).
    imported = MemberStream(layout.index("imported"), "samples") if layout.index("imported").exists() else []
    samples = [{k: s[k] for k in _SAMPLE_FIELDS if k in s} for s in imported
               if s["kind"] in ("midi", "audio")] if opts["detect"] else []
    cache = fingerprints_dir(layout)
    keys = {kind: print_key(kind) for kind in ("midi", "audio") if any(s["kind"] == kind for s in samples)}
    store = ShardStore(cache, "prints", groups_per_shard=PRINTS_PER_SHARD, hashes=layout.hash_cache(cache, "prints"))
    sync = store.begin(Member(s["id"], f"{s['id']}.json", s["id"],
                              cache_key({"sha256": s["sha256"], "key": keys[s["kind"]]})) for s in samples)
    kept = store.read_many(sync.old[sid] for sid in sorted(sync.reused))
    records: dict[str, dict[str, Any]] = {sid: json.loads(kept[sid]) for sid in sorted(kept)}
    del kept  # their text, decoded now
    by_id = {s["id"]: s for s in samples}
    pending = [by_id[m.id] for m in sync.missing]
    reused = len(records)
    failed: dict[str, str] = {}
    n_jobs = resolve_jobs(opts["n_jobs"])
    n_audio = sum(1 for s in pending if s["kind"] == "audio")
    if n_audio:  # librosa compiles its kernels on import: once, before several workers share the cache
        prepare_numba(warm_up=min(n_jobs, n_audio) > 1)
    tasks = ((s["kind"], sample_where(layout, s), s["sha256"]) for s in pending)
    for index, outcome in parallel_map(fingerprint_file, tasks, n_jobs=n_jobs,
                                         timeout_s=opts["timeout_s"], desc="families", total=len(pending),
                                         relative_to=[layout.root], engine=params.get("engine"),
                                         start_method=start_method_for(s["kind"] for s in pending)):
        sample = pending[index]
        if outcome.ok:
            record = {"id": sample["id"], "kind": sample["kind"], "sha256": sample["sha256"],
                      "key": keys[sample["kind"]], **outcome.value}
            sync.put(sample["id"], dumps_json(record).encode("utf-8"))
            records[sample["id"]] = record  # JSON values already (strings, ints): what reading it back gives
        else:
            failed[sample["id"]] = outcome.reason
            sync.drop([sample["id"]])
    sync.finish()
    cache.mkdir(parents=True, exist_ok=True)  # an empty store is still an output
    removed = sync.removed + sweep(cache, sync.files())

    midi = {sid: {"normalised": r["normalised"], "bands": {v: _decode(b, "<u8") for v, b in r["bands"].items()}}
            for sid, r in records.items() if r["kind"] == "midi"}
    audio = {sid: _unpack_audio(r) for sid, r in records.items() if r["kind"] == "audio"}
    # Of the records, detection still needs the MIDI voices (read for candidate pairs only).
    voice_text = {sid: r["voices"] for sid, r in records.items() if r["kind"] == "midi"}
    fingerprinted = len(records)
    del records

    def voices(sid: str) -> dict[str, np.ndarray]:
        return {name: _decode(text, "<u4") for name, text in voice_text[sid].items()}

    found = detect_families(midi, audio, voices,
                            midi_threshold=opts["midi_similarity"], audio_threshold=opts["audio_similarity"])
    sizes: dict[str, int] = {}
    for fam in found.family.values():
        sizes[fam] = sizes.get(fam, 0) + 1
    members = {}
    for sid, fam in sorted(found.family.items()):
        if sizes[fam] > 1:
            link = found.joined_by[sid]
            members[sid] = {"family": fam, "joined_by": {"with": link.b if link.a == sid else link.a,
                                                         "reason": link.reason, "similarity": link.similarity}}
    summary = {
        "fingerprinted": fingerprinted, "failed": len(failed),
        "families_of_two_or_more": sum(1 for n in sizes.values() if n > 1),
        "largest_family": max(sizes.values(), default=0),
        "samples_in_shared_families": len(members),
        **{k: found.stats[k] for k in sorted(found.stats)},
    }
    write_json(layout.index("families"), {"samples": members, "failed": dict(sorted(failed.items())),
                                         "summary": summary})
    lines = [
        (f"families: {summary['families_of_two_or_more']} families of two or more "
         f"({summary['samples_in_shared_families']} samples, largest {summary['largest_family']}) "
         f"among {len(samples)} imported files; fingerprinted {len(pending) - len(failed)}, "
         f"reused {reused}, stale removed {removed}"),
        (f"families: {found.stats['midi_candidate_pairs']} MIDI candidate pairs "
         f"({found.stats['midi_verified_pairs']} verified), {found.stats['audio_candidate_pairs']} audio "
         f"({found.stats['audio_verified_pairs']} verified)"),
    ]
    lines += [f"families: not fingerprinted {sid}: {reason}" for sid, reason in sorted(failed.items())[:10]]
    return lines
