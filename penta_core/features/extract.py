"""Stage `features`: every sample of the dataset → one row of the feature table, in Parquet parts.

Samples come from the index files earlier stages wrote (``index/imported.json``,
``index/augmented.json``, ``index/synthetic.json``), as plain files or as
members of shards. Each is extracted in a supervised worker process (a
crashing parser fails one sample, never the stage); the rows go to
``processed/features/features-<digest>.parquet`` (:mod:`penta_core.features.parts`),
about a thousand samples per part, a sample's family in one part.

The stage is incremental: each row keeps the sample's ``sha256`` and the
``feature_key`` of its kind (hash of the feature code version and of the
parameters that change values for that kind); a row whose both still match
is reused, anything else is extracted again, and a part is rewritten only
when one of its rows changed. DVC keeps the folder between runs
(``persist: true``). ``index/features.json`` (status per sample) is rebuilt
on every run, so an incremental run and a clean run write the same bytes.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

from penta_core.core.errors import MissingInput
from penta_core.core.io import StreamedDict, write_json_streamed
from penta_core.core.json_stream import MemberStream
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs as resolve_jobs
from penta_core.engine.executor import parallel_map
from penta_core.engine.fingerprint import source_digest
from penta_core.engine.numba_cache import NUMBA_CACHE, prepare_numba
from penta_core.engine.parallel import start_method_for
from penta_core.features import audio as audio_features
from penta_core.features import midi as midi_features
from penta_core.features.parts import PartSync, Row, canonical_details, iter_parts
from penta_core.store.access import SampleLocator, is_packed, read_where, where_as_file

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


# Where the MIDI columns sit in a table row.
_MIDI_AT = np.array([TABLE_COLUMNS.index(c) for c in midi_features.MIDI_COLUMNS])
_IS_MIDI, _IS_AUDIO = TABLE_COLUMNS.index("is_midi"), TABLE_COLUMNS.index("is_audio")


def _extract_one(task: tuple[str, str, int, float, tuple]) -> tuple[np.ndarray, list[str], str, str]:
    """Worker entry point: ``(kind, sha256, sample_rate, max_audio_s, where)`` → the sample's stored row.

    ``where`` is ``(path,)`` for a plain file or ``(shard, offset, size, name)``
    for a shard member. The bytes are hashed as they are read so the stored
    features always belong to the content the index names.

    Returns ``(x, flags, mode, details)``: the float64 row in :data:`TABLE_COLUMNS`
    order, the sorted flags, the mode name and the details as canonical JSON,
    what the table keeps of the extractor's record (a vector and a string pickle
    to the parent in a fraction of the time a dict of every column takes).
    """
    kind, sha, sample_rate, max_audio_s, where = task
    data = read_where(where)
    if hashlib.sha256(data).hexdigest() != sha:
        raise ValueError("file content differs from the sha256 in its index; rerun the stage that wrote it")
    if kind == "midi":
        vector, mode, flags, details = midi_features.midi_feature_vector(data)
        x = np.zeros(len(TABLE_COLUMNS))
        x[_IS_MIDI] = 1.0
        x[_MIDI_AT] = vector
        return x, flags, str(mode), canonical_details(details)
    # The audio decoders want a file: a shard member is copied out for the time of its extraction.
    with where_as_file(where, data) as path:
        record = audio_features.extract_audio_features(path, sample_rate=sample_rate, max_audio_s=max_audio_s)
    return (_row(record, kind), list(record["flags"]), str(record["features"].get("mode", "")),
            canonical_details(record["details"]))


# What the stage reads of an index entry: what to extract, from which bytes, and the part it goes to.
# The rest (sources, info, transforms: most of an entry) is read past, not held.
SAMPLE_FIELDS = ("id", "kind", "sha256", "group", "path", "shard", "member")


def read_samples(layout: DatasetLayout) -> tuple[list[dict[str, Any]], list[str]]:
    """Samples of every existing index file, in index order, each with its ``SAMPLE_FIELDS`` only;
    second item lists repeated ids."""
    found = [layout.index(step) for step in INDEX_STEPS if layout.index(step).exists()]
    if not found:
        raise MissingInput(
            f"no sample index in {layout.index_dir} (expected one of "
            + ", ".join(f"{s}.json" for s in INDEX_STEPS) + "); run the import stage first"
        )
    samples, seen, repeated = [], set(), []
    for path in found:
        for sample in MemberStream(path, "samples"):
            sample_id = str(sample.get("id"))
            if sample_id in seen:
                repeated.append(sample_id)
                continue
            seen.add(sample_id)
            samples.append({k: sample[k] for k in SAMPLE_FIELDS if k in sample})
    return samples, sorted(repeated)


def _problem(layout: DatasetLayout, sample: dict[str, Any], locate: SampleLocator) -> str | None:
    if not (isinstance(sample.get("id"), str) and _SAFE_ID.fullmatch(sample["id"])):
        return f"sample id {sample.get('id')!r} cannot name a file"
    if sample.get("kind") not in KINDS:
        return f"unknown sample kind {sample.get('kind')!r} (expected midi or audio)"
    if not sample.get("sha256"):
        return "index entry has no sha256"
    if is_packed(sample):
        try:
            locate.member_location(sample["shard"], sample["member"])
        except FileNotFoundError as err:
            return f"shard member missing: {err}"
        return None
    if not isinstance(sample.get("path"), str):
        return "index entry has no path"
    if not layout.abs(sample["path"]).is_file():
        return f"file missing: {sample['path']}"
    return None


def _row(record: dict[str, Any], kind: str) -> np.ndarray:
    values = dict(record["features"])
    values["is_midi"] = 1.0 if kind == "midi" else 0.0
    values["is_audio"] = 1.0 if kind == "audio" else 0.0
    return np.array([float(values.get(c, 0.0)) for c in TABLE_COLUMNS], dtype=np.float64)


def extract_features(layout: DatasetLayout, params: dict[str, Any], *,
                     numba_cache_dir: str | os.PathLike = NUMBA_CACHE) -> dict[str, Any]:
    """Extract features of every indexed sample that is new or changed; write the parts and the index.

    Parameters
    ----------
    layout : the dataset.
    params : the validated parameter tree (``features.*`` is used).
    numba_cache_dir : numba's cache folder for librosa, used when audio is
        extracted (relative paths are relative to the working directory).

    Returns
    -------
    dict : ``total``, ``ok``, ``failed``, ``extracted`` (this run), ``reused``,
        ``parts_written`` and ``removed`` (stale parts deleted), ``columns``,
        ``failures`` (``[[id, reason], ...]``), ``flags`` (count per flag) and
        ``table`` (the parts' folder, relative).

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
    keys = {kind: feature_key(kind, params) for kind in KINDS}
    # Each sample's status: the flags of a row (one shared tuple for the many without), or why it failed.
    ok_flags: dict[str, tuple[str, ...]] = {}
    failed: dict[str, str] = {}
    kinds: Counter[str] = Counter()
    wanted: list[dict[str, Any]] = []
    # The stage holds the dataset's lock: no shard changes while it runs, so each one's catalogue is read once.
    locate = SampleLocator(layout)
    for sample in samples:
        problem = _problem(layout, sample, locate)
        if problem:
            failed[str(sample.get("id"))] = problem
        else:
            wanted.append(sample)
    total = len(samples)
    del samples

    def row_of(sample: dict[str, Any], flags: list[str], mode: str, details: str, x: np.ndarray) -> Row:
        ok_flags[sample["id"]] = tuple(flags) if flags else ()
        kinds[sample["kind"]] += 1
        return Row(sample["id"], str(sample.get("group") or sample["id"]), sample["kind"], sample["sha256"],
                   keys[sample["kind"]], flags, mode, details, x)

    sync = PartSync(out_dir, TABLE_COLUMNS, ((s["id"], str(s.get("group") or s["id"])) for s in wanted))
    with sync:
        # A row is reused when one stored for the sample (a journal of a killed run may hold a
        # second) was computed from the same content under the same feature key. The previous
        # table is read a part at a time, so it is never whole in memory.
        wanted_at = {s["id"]: n for n, s in enumerate(wanted)}
        reused_at: set[int] = set()
        for old in iter_parts(out_dir, TABLE_COLUMNS):
            for i, sample_id in enumerate(old.ids):
                n = wanted_at.get(sample_id)
                if n is None or n in reused_at:
                    continue
                sample = wanted[n]
                if (old.sha256[i], old.feature_keys[i], old.kinds[i]) == (sample["sha256"], keys[sample["kind"]],
                                                                          sample["kind"]):
                    sync.put(row_of(sample, list(old.flags[i]), old.modes[i], old.details[i], old.X[i].copy()))
                    reused_at.add(n)
            del old
        # Extracted in the parts' order (group, then id), so each part is written, and its rows let go,
        # as soon as its last sample is done, instead of every part waiting for the variants at the end.
        pending = sorted((s for n, s in enumerate(wanted) if n not in reused_at),
                         key=lambda s: (str(s.get("group") or s["id"]), s["id"]))
        reused, extracted = len(reused_at), len(pending)
        del wanted_at, reused_at

        n_workers = resolve_jobs(opts["n_jobs"])
        n_audio = sum(1 for s in pending if s["kind"] == "audio")
        if n_audio:
            # Before any worker exists: they inherit the cache folder and, when
            # several could compile at once, find librosa already compiled.
            prepare_numba(numba_cache_dir, warm_up=min(n_workers, n_audio) > 1)
        tasks = ((s["kind"], s["sha256"], opts["audio_sample_rate"], opts["max_audio_s"], locate.where(s))
                 for s in pending)
        for index, outcome in parallel_map(
            _extract_one, tasks, n_jobs=n_workers, timeout_s=opts["timeout_s"],
            desc="features", total=len(pending), relative_to=[layout.root], engine=params.get("engine"),
            start_method=start_method_for(s["kind"] for s in pending),
        ):
            sample = pending[index]
            if outcome.ok:
                x, flags, mode, details = outcome.value
                if not np.isfinite(x).all():  # extractors replace non-finite values; this guards the table itself
                    raise RuntimeError(f"features of {sample['id']} hold NaN or inf; this is a bug in the extractors")
                sync.put(row_of(sample, flags, mode, details, x))
            else:
                failed[sample["id"]] = outcome.reason
                sync.drop(sample["id"])
    written, removed = sync.finish()

    n_parts = len(sync.keep)
    del sync, wanted, pending
    flag_counts: Counter[str] = Counter(f for flags in ok_flags.values() for f in flags)
    failures = sorted([i, reason] for i, reason in failed.items())
    summary = {
        "total": total, "ok": len(ok_flags), "failed": len(failures),
        "ok_midi": kinds["midi"], "ok_audio": kinds["audio"],
        "flagged": sum(1 for flags in ok_flags.values() if flags),
        "flags": dict(sorted(flag_counts.items())), "repeated_ids": repeated,
        "columns": len(TABLE_COLUMNS), "table": layout.rel(out_dir),
        "parts": n_parts,
    }

    def statuses() -> Iterator[tuple[str, dict[str, Any]]]:
        for sample_id in sorted(itertools.chain(ok_flags, failed)):
            flags = ok_flags.get(sample_id)
            yield sample_id, ({"status": "ok", "reason": None, "flags": list(flags)} if flags is not None
                              else {"status": "failed", "reason": failed[sample_id], "flags": []})

    write_json_streamed(layout.index("features"), {
        "columns": list(TABLE_COLUMNS),
        "samples": StreamedDict(statuses()),
        "summary": summary,
    })
    return {**summary, "extracted": extracted, "reused": reused, "parts_written": written, "removed": removed,
            "failures": failures}
