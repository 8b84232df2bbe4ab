"""The targets stage: labels and examples of ``dataset.target_model`` for every sample it reads.

For a model that derives its labels from the data (``derives``: the
harmony predictor, the melody transformer) every MIDI sample is analysed in
worker processes (imported, augmented and synthetic alike) and its labels
and examples are packed, one JSON member per sample, into tar shards in
``processed/targets/`` (``<model>-<digest>.tar`` with a ``.json``
catalogue beside each; :mod:`penta_core.store.shards`), with the examples'
vocabulary written once beside them. ``index/targets.json`` records, per
sample, where its member is, whether its labels were annotated or
estimated, its split label and the figures the model's checks add up.

Annotation files beside an imported sample's source (``targets.annotations``)
win over the estimates; an augmented variant of an annotated sample takes
its parent's annotations transformed as its own transform says (a
transposition moves chord roots and keys, a duration factor scales times).
A malformed annotation file fails that sample, with the file and line named.

Incremental like the other packing stages: a member whose cache key (the
sample's bytes, its annotations, the ``targets`` params, the code and
library versions) still matches is kept, and a clean and an incremental run
write the same bytes. The emotion recognizer derives nothing here (its
labels come from the annotate stage, its examples are the feature table):
the stage then writes an index saying so and no shard.
"""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from penta_core.core.errors import MissingInput
from penta_core.core.io import read_json, sha256_bytes, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs as resolve_jobs
from penta_core.core.steps import import_folder
from penta_core.engine.executor import parallel_map
from penta_core.engine.fingerprint import library_versions, source_digest
from penta_core.engine.incremental import cache_key, sweep
from penta_core.harmony.annotations import Annotations, read_annotations, sidecars
from penta_core.store.access import sample_bytes
from penta_core.store.shards import Member, ShardStore, describe
from penta_core.targets.examples import TARGETS_DIR, vocabulary_path
from penta_core.targets.model import TargetModel, load_model, transform_annotations

# Samples per shard: a member is a few to a few tens of kB of JSON.
SAMPLES_PER_SHARD = 500
# The modules whose source decides a member's bytes (any target model): part of every cache key.
_MODULES = (
    "penta_core.targets.model", "penta_core.targets.analysis", "penta_core.targets.harmony",
    "penta_core.targets.melody", "penta_core.harmony.harte", "penta_core.harmony.keys",
    "penta_core.harmony.recognizer", "penta_core.harmony.annotations", "penta_core.melody.extraction",
    "penta_core.midi.notes", "penta_core.midi.tempo", "penta_core.features.key", "penta_core.features.harmony",
    "penta_core.targets.groove", "penta_core.targets.regression", "penta_core.groove.meter",
    "penta_core.groove.timing", "penta_core.groove.styles", "penta_core.targets.dynamics",
    "penta_core.dynamics.analysis", "penta_core.dynamics.roles", "penta_core.midi.controls",
)
_LIBRARIES = ("symusic", "numpy")


def code_fingerprint() -> dict[str, str]:
    return {"code": source_digest(_MODULES), **library_versions(_LIBRARIES)}


def member_bytes(sample_id: str, labels: dict[str, Any], examples: list[Any]) -> bytes:
    """A member's bytes: compact canonical JSON (sorted keys), one line."""
    text = json.dumps({"id": sample_id, "labels": labels, "examples": examples}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def derive_sample(task: dict[str, Any]) -> dict[str, Any]:
    """Worker entry point: the member bytes and index record of one sample.

    Parameters
    ----------
    task : ``{"root", "model", "sample": {"id", "sha256", "path" or "shard"+"member"},
        "annotations": record or None, "params"}``.

    Raises
    ------
    ValueError : the sample changed since it was indexed, does not parse, or gives no labels.
    """
    sample = task["sample"]
    layout = DatasetLayout(Path(task["root"]))
    data = sample_bytes(layout, sample)
    if sha256_bytes(data) != sample["sha256"]:
        raise ValueError(f"{sample.get('path') or sample.get('member')} changed since it was indexed (sha256 differs)")
    model = load_model(task["model"])
    derived = model.derive(data, Annotations.from_record(task["annotations"]), task["params"])
    return {"data": member_bytes(sample["id"], derived.labels, derived.examples),
            "meta": {"label": derived.piece_label, "stats": derived.stats}}


def _read_index(layout: DatasetLayout, step: str) -> list[dict[str, Any]]:
    path = layout.index(step)
    return read_json(path)["samples"] if path.exists() else []


def _annotations_of(sample: dict[str, Any], source_dir: Path) -> tuple[Annotations | None, str | None]:
    """Annotations beside the first source path of ``sample`` that has any; or the reason they cannot be read."""
    for source in sample.get("sources", [sample.get("source")]):
        if not source:
            continue
        found = sidecars(source_dir / source)
        if not found:
            continue
        try:
            texts = {kind: (path.name, path.read_text(encoding="utf-8")) for kind, path in found.items()}
            return read_annotations(texts), None
        except (OSError, UnicodeDecodeError, ValueError) as err:
            return None, f"annotation file beside {source}: {' '.join(str(err).split())}"[:300]
    return None, None


def _location(sample: dict[str, Any]) -> dict[str, Any]:
    where = {k: sample[k] for k in ("path", "shard", "member") if k in sample}
    return {"id": sample["id"], "sha256": sample["sha256"], **where}


def _plan(layout: DatasetLayout, params: dict[str, Any], model: TargetModel
          ) -> tuple[list[tuple[dict[str, Any], Annotations | None, dict[str, Any] | None]], dict[str, str]]:
    """The samples the model reads with their annotations and source context; samples failed before any work."""
    reads = set(model.reads)
    imported = [s for s in _read_index(layout, "imported") if s["kind"] in reads]
    source_dir = import_folder(params, layout)
    use_files = params["targets"]["annotations"]
    notes_of: dict[str, Annotations | None] = {}
    context_of: dict[str, dict[str, Any] | None] = {}
    failed: dict[str, str] = {}
    planned = []
    for sample in imported:
        found, problem = _annotations_of(sample, source_dir) if use_files else (None, None)
        try:
            context = model.source_context(sample.get("sources", [sample.get("source")])[0], source_dir, params)
        except (OSError, UnicodeDecodeError, ValueError) as err:
            problem = problem or " ".join(str(err).split())[:300]
        if problem:
            failed[sample["id"]] = problem
            continue
        notes_of[sample["id"]] = found
        context_of[sample["id"]] = context
        planned.append((sample, found, context))
    for variant in _read_index(layout, "augmented"):
        if (variant["kind"] not in reads or variant["parent"] in failed
                or not model.uses_variant(variant["transform"], params)):
            continue
        parent = notes_of.get(variant["parent"])
        context = context_of.get(variant["parent"])
        if context is not None:
            context = {**context, "transform": variant["transform"]}
        planned.append((variant, transform_annotations(parent, variant["transform"]) if parent else None, context))
    planned += [(s, None, model.source_context(None, source_dir, params))
                for s in _read_index(layout, "synthetic") if s["kind"] in reads]
    planned.sort(key=lambda p: p[0]["id"])
    return planned, failed


def _no_derivation(layout: DatasetLayout, model: TargetModel) -> dict[str, Any]:
    folder = layout.abs(TARGETS_DIR)
    folder.mkdir(parents=True, exist_ok=True)  # an empty folder is still the stage's output
    removed = sweep(folder, set())
    summary = {"derived": 0, "failed": 0, "examples": 0, "labels": "folder names (annotate stage)",
               "example_format": model.example_format}
    write_json(layout.index("targets"), {"target_model": model.name, "derives": False, "samples": {},
                                         "summary": summary})
    return {"summary": summary, "derives": False, "generated": 0, "reused": 0, "removed": removed, "failed": []}


def build_targets(layout: DatasetLayout, params: dict[str, Any]) -> dict[str, Any]:
    """Derive, reuse or drop every member so ``processed/targets`` holds the model's labels and examples.

    Returns
    -------
    dict : ``summary`` (as in ``index/targets.json``), ``derives`` (whether the model derives anything here),
        ``generated`` and ``reused`` member counts,
        ``removed`` (stale files deleted) and ``failed`` (``id``, ``reason``).

    Raises
    ------
    MissingInput : ``index/imported.json`` is missing.
    """
    if not layout.index("imported").exists():
        raise MissingInput(f"{layout.index('imported')} does not exist; run the import stage first")
    model = load_model(params["dataset"]["target_model"])
    if not model.derives:
        return _no_derivation(layout, model)
    opts = params["targets"]
    derive_params = {"targets": {k: v for k, v in opts.items() if k not in ("n_jobs", "timeout_s")}}
    planned, failed = _plan(layout, params, model)
    fingerprint = code_fingerprint()
    members, by_id = [], {}
    for sample, found, context in planned:
        record = found.as_record() if found else None
        sample_params = derive_params if context is None else {**derive_params, "source": context}
        key = cache_key({"model": model.name, "id": sample["id"], "sha256": sample["sha256"],
                         "annotations": record, "params": sample_params, "code": fingerprint})
        members.append(Member(sample["id"], f"{model.name}/{sample['id']}.json", sample["group"], key))
        by_id[sample["id"]] = (sample, record, sample_params)
    folder = layout.abs(TARGETS_DIR)
    sync = ShardStore(folder, model.name, groups_per_shard=SAMPLES_PER_SHARD,
                      hashes=layout.hash_cache(folder, model.name)).begin(members)
    tasks = [{"root": str(layout.root), "model": model.name, "sample": _location(by_id[m.id][0]),
              "annotations": by_id[m.id][1], "params": by_id[m.id][2]} for m in sync.missing]
    generated = 0
    if tasks:
        folder.mkdir(parents=True, exist_ok=True)
        jobs = min(resolve_jobs(opts["n_jobs"]), len(tasks))
        for index, outcome in parallel_map(derive_sample, tasks, n_jobs=jobs, timeout_s=float(opts["timeout_s"]),
                                             desc="targets", total=len(tasks), relative_to=[layout.root],
                                             engine=params.get("engine")):
            sample_id = tasks[index]["sample"]["id"]
            if outcome.ok:
                sync.put(sample_id, outcome.value["data"], outcome.value["meta"])
                generated += 1
            else:
                failed[sample_id] = outcome.reason or "derivation failed"
                sync.drop([sample_id])
    stored = sync.finish()
    vocabulary = model.vocabulary()
    keep = sync.files()
    if vocabulary is not None:
        write_json(vocabulary_path(layout, model.name), vocabulary)
        keep.add(vocabulary_path(layout, model.name).name)
    removed = sync.removed + sweep(folder, keep)
    folder.mkdir(parents=True, exist_ok=True)
    records: dict[str, dict[str, Any]] = {}
    folder_rel = PurePosixPath(TARGETS_DIR).as_posix()
    for sample_id, member in stored.items():
        records[sample_id] = {"status": "ok", **describe(member, folder_rel), "label": member.meta["label"],
                              "stats": member.meta["stats"]}
    for sample_id, reason in failed.items():
        records[sample_id] = {"status": "failed", "reason": reason}
    records = dict(sorted(records.items()))
    ok = [r for r in records.values() if r["status"] == "ok"]
    summary = {
        "derived": len(ok), "failed": len(failed), "examples": sum(r["stats"]["examples"] for r in ok),
        "annotated": sum(1 for r in ok if r["stats"].get("chords_source") == "annotated"),
        "shards": len({r["shard"] for r in ok}), "example_format": model.example_format,
    }
    write_json(layout.index("targets"), {"target_model": model.name, "derives": True, "samples": records,
                                         "summary": summary})
    return {"summary": summary, "derives": True, "generated": generated, "reused": len(sync.reused), "removed": removed,
            "failed": [{"id": k, "reason": v} for k, v in sorted(failed.items())]}
