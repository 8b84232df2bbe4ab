"""Augment stage: ``augment.multiplier`` variants of every imported sample.

Reads ``index/imported.json``; writes the variants under
``processed/augmented/`` (keeping each parent's folders, e.g.
``processed/augmented/midi/happy/a_aug001.mid``) and ``index/augmented.json``
with one provenance entry per variant. Labels are not written here: the
manifest gives a variant its parent's label.

Each variant's randomness comes from ``(seed, sample id, variant number)``,
so adding, removing or changing one parent never changes another parent's
variants. The stage is incremental (:mod:`penta_core.engine.incremental`):
``processed/augmented/_cache.json`` remembers, per variant, a key made of the
parent's sha256, the parameters of its kind, the seed and the code and
library versions; a variant whose key and file are unchanged is kept, the
others are made again, and files of removed parents are deleted. An
incremental run therefore ends with the same bytes as a clean one.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from penta_core.augment.audio import OUTPUT_SUFFIX as AUDIO_SUFFIX
from penta_core.augment.audio import AudioAugmenter, encode_audio, load_audio
from penta_core.augment.midi import MIDIAugmenter
from penta_core.core.errors import MissingInput
from penta_core.core.io import atomic_write_bytes, read_json, sha256_bytes, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs as resolve_jobs
from penta_core.engine.fingerprint import library_versions, source_digest
from penta_core.engine.incremental import OutputStore, cache_key
from penta_core.engine.numba_cache import prepare_numba
from penta_core.engine.parallel import supervised_map
from penta_core.engine.seeding import rng_for
from penta_core.midi.piece import MidiPiece

# The modules a variant's bytes go through, per kind: their source is part of
# every cache key, so editing one remakes that kind's variants.
_MODULES = {
    "midi": ("penta_core.midi.piece", "penta_core.midi.tempo", "penta_core.augment.midi",
             "penta_core.augment.transform", "penta_core.augment.registry", "penta_core.engine.seeding"),
    "audio": ("penta_core.augment.audio", "penta_core.augment.transform",
              "penta_core.augment.registry", "penta_core.engine.seeding"),
}
# Seconds per variant (``augment.timeout_s`` when the params define it); a
# parent's limit is this times the number of variants it still needs.
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
    """``parent id -> (folder, file stem)`` of its variants, relative to the dataset.

    The parent's folders below ``raw/`` are kept. Two parents of one folder
    that would share a name (``a.wav`` and ``a.flac`` both become FLAC) get
    their id appended, so no variant ever overwrites another.
    """
    planned: dict[str, tuple[str, str, str]] = {}
    for sample in samples:
        path = PurePosixPath(sample["path"])
        parts = path.parts[1:] if path.parts and path.parts[0] == "raw" else path.parts
        folder = PurePosixPath("processed", "augmented", *parts[:-1]).as_posix()
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


def _key(parent: dict[str, Any], k: int, path: str, ranges: dict[str, Any], seed: int,
         fingerprint: dict[str, str]) -> str:
    return cache_key({
        "parent": parent["id"], "parent_sha256": parent["sha256"], "kind": parent["kind"],
        "k": k, "path": path, "ranges": ranges, "seed": seed, "code": fingerprint,
    })


def augment_parent(task: dict[str, Any]) -> list[dict[str, Any]]:
    """Worker entry point: make the listed variants of one parent and write them.

    Parameters
    ----------
    task : ``{"root", "parent": {"id", "path", "kind", "sha256"}, "seed",
        "ranges", "variants": [[k, relative path], ...]}``.

    Returns
    -------
    list of dict : ``{"k", "path", "sha256", "transform"}`` per variant.

    Raises
    ------
    ValueError : the parent changed since import or cannot be augmented.
    """
    root = PurePosixPath(task["root"])
    parent = task["parent"]
    data = Path(root / parent["path"]).read_bytes()
    if sha256_bytes(data) != parent["sha256"]:
        raise ValueError(f"parent file {parent['path']} changed since import (sha256 differs)")
    results = []
    if parent["kind"] == "midi":
        augmenter = MIDIAugmenter.from_params(task["ranges"])
        piece = MidiPiece.from_bytes(data)
        for k, rel in task["variants"]:
            variant, record = augmenter.augment(piece, variant_rng(task["seed"], parent["id"], k))
            results.append((k, rel, variant.to_bytes(), record))
    elif parent["kind"] == "audio":
        audio_augmenter = AudioAugmenter.from_params(task["ranges"])
        samples, rate = load_audio(data)
        for k, rel in task["variants"]:
            out, record = audio_augmenter.augment(samples, rate, variant_rng(task["seed"], parent["id"], k))
            results.append((k, rel, encode_audio(out, rate), record))
    else:
        raise ValueError(f"unknown sample kind {parent['kind']!r}")
    written = []
    for k, rel, payload, record in results:
        atomic_write_bytes(root / rel, payload)
        written.append({"k": k, "path": rel, "sha256": sha256_bytes(payload), "transform": record})
    return written


def augment_dataset(layout: DatasetLayout, params: dict[str, Any]) -> dict[str, Any]:
    """Make, reuse or delete variants so they match the imported samples and params.

    Parameters
    ----------
    layout : the dataset (reads ``index/imported.json``).
    params : the validated parameter tree (``seed`` and ``augment.*``).

    Returns
    -------
    dict : ``summary`` (as written to ``index/augmented.json``), ``generated``
        and ``reused`` variant counts, ``removed`` file count,
        ``regenerated_parents`` (ids) and ``failed`` (``parent``, ``path``, ``reason``).

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
    parents = sorted((s for s in read_json(record_path)["samples"] if s["kind"] in ranges),
                     key=lambda s: s["id"])
    by_id = {s["id"]: s for s in parents}
    fingerprint = {kind: code_fingerprint(kind) for kind in ranges}
    stems = variant_stems(parents)
    store = OutputStore(layout.augmented_dir, about="augment stage cache: a variant is kept while its key "
                        "and sha256 match")

    entries: dict[str, dict[str, Any]] = {}
    tasks: list[dict[str, Any]] = []
    keys: dict[str, dict[int, str]] = {}
    for parent in parents:
        folder, stem = stems[parent["id"]]
        suffix = AUDIO_SUFFIX if parent["kind"] == "audio" else PurePosixPath(parent["path"]).suffix
        todo = []
        for k in range(1, multiplier + 1):
            vid = variant_id(parent["id"], k)
            rel = variant_path(folder, stem, suffix, k)
            key = _key(parent, k, rel, ranges[parent["kind"]], seed, fingerprint[parent["kind"]])
            old = store.reusable(vid, key, layout.abs(rel))
            if old is not None:
                entries[vid] = old
            else:
                todo.append((k, rel, key))
        if todo:
            tasks.append({
                "root": str(layout.root), "seed": seed, "ranges": ranges[parent["kind"]],
                "parent": {field: parent[field] for field in ("id", "path", "kind", "sha256")},
                "variants": [[k, rel] for k, rel, _ in todo],
            })
            keys[parent["id"]] = {k: key for k, _, key in todo}
    reused = len(entries)

    failed: list[dict[str, str]] = []
    generated = 0
    if tasks:
        jobs = min(resolve_jobs(opts["n_jobs"]), len(tasks))
        if any(t["parent"]["kind"] == "audio" for t in tasks):
            prepare_numba(warm_up=jobs > 1)  # one compilation before several workers share numba's cache
        per_variant = float(opts.get("timeout_s", TIMEOUT_PER_VARIANT_S))
        timeout = per_variant * max(len(t["variants"]) for t in tasks)
        with store:
            for index, outcome in supervised_map(
                augment_parent, tasks, n_jobs=jobs, timeout_s=timeout, desc="augment", total=len(tasks),
                relative_to=[layout.root],
            ):
                task = tasks[index]
                pid = task["parent"]["id"]
                if outcome.ok:
                    for made in outcome.value:
                        entries[variant_id(pid, made["k"])] = store.put(
                            variant_id(pid, made["k"]), keys[pid][made["k"]], made["sha256"],
                            parent=pid, k=made["k"], path=made["path"], transform=made["transform"])
                    generated += len(outcome.value)
                else:
                    failed.append({"parent": pid, "path": task["parent"]["path"],
                                   "reason": outcome.reason or "augmentation failed"})
    # A parent that failed keeps none of its variants, as in a clean run.
    failed_ids = {f["parent"] for f in failed}
    entries = {vid: e for vid, e in entries.items() if e["parent"] not in failed_ids}

    samples = []
    for vid, entry in sorted(entries.items(), key=lambda item: (item[1]["parent"], item[1]["k"])):
        parent = by_id[entry["parent"]]
        samples.append({
            "id": vid, "path": entry["path"], "kind": parent["kind"], "origin": "augmented",
            "parent": parent["id"], "group": parent["group"], "sha256": entry["sha256"],
            "transform": entry["transform"],
        })
    failed.sort(key=lambda f: f["parent"])

    layout.augmented_dir.mkdir(parents=True, exist_ok=True)
    store.finish(entries)
    removed = store.sweep(layout.abs(e["path"]).relative_to(layout.augmented_dir).as_posix()
                          for e in entries.values())
    summary = {
        "multiplier": multiplier,
        "parents": len(parents),
        "augmented_parents": len({s["parent"] for s in samples}),
        "variants": len(samples),
        "per_kind": {kind: sum(1 for s in samples if s["kind"] == kind) for kind in ("audio", "midi")},
        "failed": len(failed),
    }
    write_json(layout.index("augmented"), {"samples": samples, "failed": failed, "summary": summary})
    return {
        "summary": summary,
        "generated": generated,
        "reused": reused,
        "removed": removed,
        "regenerated_parents": sorted(t["parent"]["id"] for t in tasks),
        "failed": failed,
    }
