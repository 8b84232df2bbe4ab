"""Stage `features`: every sample of the dataset → one JSON of features and one training table.

Samples come from the index files earlier stages wrote (``index/imported.json``,
``index/augmented.json``, ``index/synthetic.json``). Each is extracted in a
supervised worker process (a crashing parser fails one sample, never the
stage) and written to ``processed/features/<id>.json``.

The stage is incremental (:mod:`penta_core.engine.incremental`): the
folder's ``_cache.json`` records, per sample, a key made of the sample's
``sha256`` and its ``feature_key`` (hash of the feature code version and of
the parameters that change values for that kind of sample) and the sha256 of
its JSON; a JSON whose key and bytes still match is reused, anything else is
extracted again, and JSON of samples no longer in the indexes is deleted.
DVC keeps the folder between runs (``persist: true``). The table
(``processed/features.npz``) and ``index/features.json`` are rebuilt from the
JSON files on every run, so an incremental run and a clean run write the
same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from penta_core.core.errors import MissingInput
from penta_core.core.io import atomic_write_bytes, dumps_json, read_json, sha256_bytes, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs as resolve_jobs
from penta_core.engine.fingerprint import source_digest
from penta_core.engine.incremental import OutputStore, cache_key
from penta_core.engine.numba_cache import NUMBA_CACHE, prepare_numba
from penta_core.engine.parallel import supervised_map
from penta_core.features import audio as audio_features
from penta_core.features import midi as midi_features
from penta_core.features.table import table_path, write_npz

INDEX_STEPS = ("imported", "augmented", "synthetic")
KINDS = ("midi", "audio")
# Parameters that change feature values, per kind (n_jobs and timeout_s do not).
VALUE_PARAMS: dict[str, tuple[str, ...]] = {
    "midi": (),
    "audio": ("audio_sample_rate", "max_audio_s"),
}
# The feature version names a change of meaning; the source digest catches every
# other edit of the modules a kind's features go through.
_MODULES = {
    "midi": ("penta_core.features.midi", "penta_core.features.harmony", "penta_core.features.key",
             "penta_core.features.groove", "penta_core.features.vector", "penta_core.midi.tempo"),
    "audio": ("penta_core.features.audio", "penta_core.features.key", "penta_core.features.vector"),
}
CODE_VERSIONS = {
    kind: f"{module.FEATURE_VERSION}+" + source_digest(_MODULES[kind])
    for kind, module in (("midi", midi_features), ("audio", audio_features))
}

# One table for both kinds: indicators, then the MIDI columns, then audio
# columns the MIDI set does not already have (duration_s, tempo_bpm, key_*
# and mode_minor are shared). Absent groups are zero.
TABLE_COLUMNS: tuple[str, ...] = ("is_midi", "is_audio") + midi_features.MIDI_COLUMNS + tuple(
    c for c in audio_features.AUDIO_COLUMNS if c not in midi_features.MIDI_COLUMNS
)

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def feature_key(kind: str, params: dict[str, Any]) -> str:
    """Hash of the feature code version and the value-changing ``features.*`` params of ``kind``."""
    spec = {"kind": kind, "version": CODE_VERSIONS[kind],
            "params": {k: params["features"][k] for k in VALUE_PARAMS[kind]}}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _extract_one(task: tuple[str, str, str, int, float]) -> dict[str, Any]:
    """Worker entry point: ``(path, kind, sha256, sample_rate, max_audio_s)`` → features record.

    The file is hashed as it is read so the stored features always belong to
    the content the index names.
    """
    path, kind, sha, sample_rate, max_audio_s = task
    data = Path(path).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha:
        raise ValueError("file content differs from the sha256 in its index; rerun the stage that wrote it")
    if kind == "midi":
        return midi_features.extract_midi_features(data)
    return audio_features.extract_audio_features(path, sample_rate=sample_rate, max_audio_s=max_audio_s)


def read_samples(layout: DatasetLayout) -> tuple[list[dict[str, Any]], list[str]]:
    """Samples of every existing index file, in index order; second item lists repeated ids."""
    found = [layout.index(step) for step in INDEX_STEPS if layout.index(step).exists()]
    if not found:
        raise MissingInput(
            f"no sample index in {layout.index_dir} (expected one of "
            + ", ".join(f"{s}.json" for s in INDEX_STEPS) + "); run the import stage first"
        )
    samples, seen, repeated = [], set(), []
    for path in found:
        for sample in read_json(path).get("samples", []):
            sample_id = str(sample.get("id"))
            if sample_id in seen:
                repeated.append(sample_id)
                continue
            seen.add(sample_id)
            samples.append(sample)
    return samples, sorted(repeated)


def _cache_key(sample: dict[str, Any], keys: dict[str, str]) -> str:
    """What decides a sample's JSON: its content and the feature key of its kind."""
    return cache_key({"sha256": sample["sha256"], "feature_key": keys[sample["kind"]]})


def _problem(layout: DatasetLayout, sample: dict[str, Any]) -> str | None:
    if not (isinstance(sample.get("id"), str) and _SAFE_ID.fullmatch(sample["id"])):
        return f"sample id {sample.get('id')!r} cannot name a file"
    if sample.get("kind") not in KINDS:
        return f"unknown sample kind {sample.get('kind')!r} (expected midi or audio)"
    if not sample.get("sha256"):
        return "index entry has no sha256"
    if not isinstance(sample.get("path"), str):
        return "index entry has no path"
    if not layout.abs(sample["path"]).is_file():
        return f"file missing: {sample['path']}"
    return None


def _row(record: dict[str, Any]) -> np.ndarray:
    values = dict(record["features"])
    values["is_midi"] = 1.0 if record["kind"] == "midi" else 0.0
    values["is_audio"] = 1.0 if record["kind"] == "audio" else 0.0
    return np.array([float(values.get(c, 0.0)) for c in TABLE_COLUMNS], dtype=np.float64)


def extract_features(layout: DatasetLayout, params: dict[str, Any], *,
                     numba_cache_dir: str | os.PathLike = NUMBA_CACHE) -> dict[str, Any]:
    """Extract features of every indexed sample that is new or changed; write JSON, table and index.

    Parameters
    ----------
    layout : the dataset.
    params : the validated parameter tree (``features.*`` is used).
    numba_cache_dir : numba's cache folder for librosa, used when audio is
        extracted (relative paths are relative to the working directory).

    Returns
    -------
    dict : ``total``, ``ok``, ``failed``, ``extracted`` (this run), ``reused``,
        ``removed`` (stale JSON deleted), ``columns``, ``failures``
        (``[[id, reason], ...]``), ``flags`` (count per flag) and ``table`` (relative path).

    Raises
    ------
    MissingInput : the dataset has no sample index yet.

    Example
    -------
    >>> report = extract_features(DatasetLayout.from_params(params), params)  # doctest: +SKIP
    >>> ids, columns, X = load_feature_table(layout)  # doctest: +SKIP
    """
    opts = params["features"]
    samples, repeated = read_samples(layout)
    out_dir = layout.features_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    store = OutputStore(out_dir, about="features stage cache: a sample's JSON is kept while its key and sha256 match")
    keys = {kind: feature_key(kind, params) for kind in KINDS}
    status: dict[str, dict[str, Any]] = {}
    pending: list[dict[str, Any]] = []
    # Rows of reused records, kept so each JSON is parsed once per run.
    rows: dict[str, tuple[np.ndarray, str, list[str]]] = {}
    for sample in samples:
        problem = _problem(layout, sample)
        if problem:
            status[str(sample.get("id"))] = {"status": "failed", "reason": problem, "flags": []}
            continue
        path = out_dir / f"{sample['id']}.json"
        if store.reusable(sample["id"], _cache_key(sample, keys), path) is None:
            pending.append(sample)
        else:
            record = read_json(path)
            rows[sample["id"]] = (_row(record), record["kind"], record["flags"])
    reused = len(rows)

    n_workers = resolve_jobs(opts["n_jobs"])
    n_audio = sum(1 for s in pending if s["kind"] == "audio")
    if n_audio:
        # Before any worker exists: they inherit the cache folder and, when
        # several could compile at once, find librosa already compiled.
        prepare_numba(numba_cache_dir, warm_up=min(n_workers, n_audio) > 1)
    tasks = ((str(layout.abs(s["path"])), s["kind"], s["sha256"], opts["audio_sample_rate"], opts["max_audio_s"])
             for s in pending)
    with store:
        for index, outcome in supervised_map(
            _extract_one, tasks, n_jobs=n_workers, timeout_s=opts["timeout_s"],
            desc="features", total=len(pending), relative_to=[layout.root],
        ):
            sample = pending[index]
            if outcome.ok:
                text = dumps_json({"id": sample["id"], "kind": sample["kind"], "sha256": sample["sha256"],
                                   "feature_key": keys[sample["kind"]],
                                   "feature_version": CODE_VERSIONS[sample["kind"]], **outcome.value})
                data = text.encode("utf-8")
                store.put(sample["id"], _cache_key(sample, keys), sha256_bytes(data))
                atomic_write_bytes(out_dir / f"{sample['id']}.json", data)
                # The table is built from what was written, exactly as a later run would read it.
                record = json.loads(text)
                rows[sample["id"]] = (_row(record), record["kind"], record["flags"])
            else:
                status[sample["id"]] = {"status": "failed", "reason": outcome.reason, "flags": []}

    wanted = {s["id"] for s in samples if str(s.get("id")) not in status}
    store.finish(wanted)
    removed = store.sweep(f"{sample_id}.json" for sample_id in wanted)

    ok_ids = sorted(wanted)
    X = np.zeros((len(ok_ids), len(TABLE_COLUMNS)), dtype=np.float64)
    kinds: Counter[str] = Counter()
    flag_counts: Counter[str] = Counter()
    for row, sample_id in enumerate(ok_ids):
        X[row], kind, flags = rows.pop(sample_id)
        kinds[kind] += 1
        flag_counts.update(flags)
        status[sample_id] = {"status": "ok", "reason": None, "flags": flags}
    if not np.isfinite(X).all():  # extractors replace non-finite values; this guards the table itself
        raise RuntimeError("feature table holds NaN or inf; this is a bug in the extractors")
    write_npz(table_path(layout), {
        "ids": np.array(ok_ids, dtype=str), "columns": np.array(TABLE_COLUMNS, dtype=str), "X": X,
    })
    failures = sorted([i, s["reason"]] for i, s in status.items() if s["status"] == "failed")
    summary = {
        "total": len(samples), "ok": len(ok_ids), "failed": len(failures),
        "ok_midi": kinds["midi"], "ok_audio": kinds["audio"],
        "flagged": sum(1 for i in ok_ids if status[i]["flags"]),
        "flags": dict(sorted(flag_counts.items())), "repeated_ids": repeated,
        "columns": len(TABLE_COLUMNS), "table": layout.rel(table_path(layout)),
    }
    write_json(layout.index("features"), {
        "columns": list(TABLE_COLUMNS),
        "samples": dict(sorted(status.items())),
        "summary": summary,
    })
    return {**summary, "extracted": len(pending), "reused": reused, "removed": removed, "failures": failures}
