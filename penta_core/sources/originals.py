"""Where imported originals go: one browsable file each under ``raw/<kind>/``, or packed in tar shards.

``import.pack: false`` (the default) copies each original to
``raw/<kind>/<path relative to the source>``, keeping its folders.
``import.pack: true`` puts them, about a thousand MIDI files or 48 audio
files to a shard, in ``raw/<kind>/<kind>-<digest>.tar`` with a catalogue beside
each (:mod:`penta_core.store.shards`); each member is named by the same
relative path, so ``tar -xf`` or ``penta-dataset --materialize`` gives back
the unpacked layout, byte for byte. Switching between the two leaves exactly
what a clean import in the new mode writes.

Both read each source once, check its bytes against the sha256 its check
found, and report a file that went away or changed in between as quarantined.

With audio normalisation (:mod:`penta_core.sources.normalise`), each audio
copy (or packed member) is made in a worker from its source instead: a WAV
(``raw/audio/<path>.wav``) or, when nothing needed doing, the source's bytes.
The record keeps what normalising each source under the current params gave,
so a copy that still holds it is neither read nor made again.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from penta_core.core.io import sha256_bytes
from penta_core.core.layout import DatasetLayout
from penta_core.engine.incremental import sweep
from penta_core.engine.parallel import supervised_map
from penta_core.sources.durable_batch import DurableBatch
from penta_core.sources.normalise import Normalisation, normalise_file, wav_names
from penta_core.sources.record import ImportRecord
from penta_core.store.shards import SAMPLES_PER_SHARD, Member, ShardStore, describe


@dataclass(frozen=True)
class Original:
    """A checked, deduplicated source file to store: its content hash, first relative path, path and kind."""

    sha: str
    rel: str
    path: str
    kind: str
    size: int


def _read(original: Original) -> tuple[bytes | None, str | None]:
    """The source's bytes, or the reason it cannot be stored any more."""
    try:
        with open(original.path, "rb") as handle:
            data = handle.read()
    except OSError as err:  # deleted or locked between its check and its copy
        return None, f"file went away while it was being imported: {err.strerror or err}"
    if sha256_bytes(data) != original.sha:
        return None, "file changed while it was being imported"
    return data, None


def copy_originals(originals: list[Original], layout: DatasetLayout, record: ImportRecord,
                   norm: Normalisation | None = None, n_jobs: int = 1, timeout_s: float | None = None,
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, str], int, int]:
    """Copy each original to ``raw/<kind>/<rel>`` unless the copy is already there.

    With ``norm``, audio originals are normalised instead (in ``n_jobs`` workers,
    ``timeout_s`` each), see the module docstring.

    Returns
    -------
    located, failed, copied, kept : sha → ``{"path"}`` (normalised audio: also
        ``sha256``, ``info`` and ``normalised``); sha → reason for those not
        stored; copies written; copies that already held the right bytes.
    """
    located: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    copied = kept = 0
    plain = [o for o in originals if norm is None or o.kind != "audio"]
    # Each kind's folder once: layout.rel resolves both paths (a few lstat calls), once per file was
    # a tenth of a clean import's own work.
    folders = {kind: (os.fspath(layout.raw_dir(kind)), layout.rel(layout.raw_dir(kind)))
               for kind in ("midi", "audio")}
    places = {o.sha: (f"{folders[o.kind][0]}/{o.rel}", f"{folders[o.kind][1]}/{o.rel}") for o in plain}

    def written(sha: str) -> None:
        nonlocal copied
        dest, dest_rel = places[sha]
        record.remember_copy(dest_rel, dest, sha)
        located[sha] = {"path": dest_rel}
        copied += 1

    # The copy's path is longer than the source's when the dataset folder is; only that is the
    # file's fault (the batch reports it). Anything else (a full disk) stops the stage.
    with DurableBatch(written, failed.__setitem__) as batch:
        for original in plain:
            dest, dest_rel = places[original.sha]
            if record.holds_copy(dest_rel, dest, original.sha, original.size):
                kept += 1
                located[original.sha] = {"path": dest_rel}
                continue
            data, reason = _read(original)
            if data is None:
                failed[original.sha] = reason or "unreadable"
            else:
                batch.add(dest, data, original.sha)
    keep = {"midi": set(), "audio": set()}
    for o in plain:
        if o.sha in located:
            keep[o.kind].add(o.rel)
    if norm is not None:
        done, norm_failed, written, held = _normalise(
            [o for o in originals if o.kind == "audio"], layout, record, norm, n_jobs, timeout_s)
        located.update(done)
        failed.update(norm_failed)
        copied, kept = copied + written, kept + held
        prefix = layout.rel(layout.raw_dir("audio")) + "/"
        keep["audio"] |= {entry["path"][len(prefix):] for entry in done.values()}
    for kind in ("midi", "audio"):
        _prune(layout.raw_dir(kind), keep[kind])
    return located, failed, copied, kept


def _normalise(originals: list[Original], layout: DatasetLayout, record: ImportRecord, norm: Normalisation,
               n_jobs: int, timeout_s: float | None) -> tuple[dict[str, dict[str, Any]], dict[str, str], int, int]:
    """The audio half of :func:`copy_originals` under ``norm``."""
    folder = layout.raw_dir("audio")
    base, shown = os.fspath(folder), layout.rel(folder)
    wav = wav_names([o.rel for o in originals])
    fingerprint = norm.fingerprint()
    located: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    todo: list[Original] = []
    kept = 0

    def place(original: Original, result: dict[str, Any]) -> None:
        rel = wav[original.rel] if result["wav"] else original.rel
        located[original.sha] = {"path": f"{shown}/{rel}", "sha256": result["sha256"],
                                 "info": result["info"], "normalised": result["normalised"]}

    for original in originals:
        result = record.normalised_of(f"{original.sha}/{fingerprint}")
        if result is not None:
            rel = wav[original.rel] if result["wav"] else original.rel
            if record.holds_copy(f"{shown}/{rel}", f"{base}/{rel}", result["sha256"], result["size"]):
                place(original, result)
                kept += 1
                continue
        todo.append(original)
    tasks = ((o.path, o.sha, f"{base}/{o.rel}", f"{base}/{wav[o.rel]}", (norm.trim, norm.mono, norm.sample_rate))
             for o in todo)
    written = 0
    for original, result in _run_normalise(todo, tasks, record, fingerprint, failed, n_jobs, timeout_s):
        rel = wav[original.rel] if result["wav"] else original.rel
        record.remember_copy(f"{shown}/{rel}", f"{base}/{rel}", result["sha256"])
        place(original, result)
        written += 1
    return located, failed, written, kept


def _run_normalise(todo: list[Original], tasks: Iterable[tuple], record: ImportRecord, fingerprint: str,
                   failed: dict[str, str], n_jobs: int, timeout_s: float) -> Iterator[tuple[Original, dict[str, Any]]]:
    """Normalise ``todo`` in workers; yield each original that worked with its result, remembered in ``record``.

    A source that failed (or crashed or hung its worker) goes into ``failed`` with its one-line reason.
    Always the local pool, whatever ``engine.executor`` says: the workers write their WAVs into the
    dataset's staging folder, which a Dask worker must never do (README, *Engine*).
    """
    for position, outcome in supervised_map(normalise_file, tasks, n_jobs=n_jobs, timeout_s=timeout_s,
                                            desc="normalise", total=len(todo)):
        original = todo[position]
        result = outcome.value if outcome.ok else {"reason": outcome.reason or "normalisation failed"}
        if "reason" in result:
            failed[original.sha] = result["reason"]
            continue
        record.remember_normalised(f"{original.sha}/{fingerprint}", result)
        yield original, result


def pack_originals(originals: list[Original], layout: DatasetLayout, record: ImportRecord | None = None,
                   norm: Normalisation | None = None, n_jobs: int = 1, timeout_s: float | None = None,
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, str], int, int]:
    """Pack the originals into shards per kind, reusing every shard whose members did not change.

    With ``norm`` (and the ``record``), audio members are the normalised files: those whose result
    the record does not know are normalised first, in workers, into ``.cache/normalise/`` (their
    names, ``.wav`` or not, must be known before the store is synced); a member the shards lack
    whose result is known is normalised again when it is packed. The staging folder is emptied.

    Returns
    -------
    located, failed, written, reused : sha → ``{"shard", "member", "sha256"}`` (normalised
        audio: also ``info`` and ``normalised``); sha → reason for those not stored; members
        read from the source this run; members kept from the shards already there.
    """
    located: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    written = reused = 0
    staging = layout.cache_dir / "normalise"
    try:
        for kind in ("midi", "audio"):
            folder = layout.raw_dir(kind)
            mine = {o.sha[:16]: o for o in originals if o.kind == kind}
            made: dict[str, dict[str, Any]] = {}
            staged: dict[str, str] = {}
            if kind == "audio" and norm is not None and record is not None:
                made, staged, norm_failed = _stage_normalised(list(mine.values()), record, norm, staging,
                                                              n_jobs, timeout_s)
                failed.update(norm_failed)
                mine = {sid: o for sid, o in mine.items() if o.sha not in norm_failed}
            wav = wav_names([o.rel for o in mine.values()]) if made else {}
            names = {sid: wav[o.rel] if sid in made and made[sid]["wav"] else o.rel for sid, o in mine.items()}
            store = ShardStore(folder, kind, groups_per_shard=SAMPLES_PER_SHARD[kind],
                               max_members=4 * SAMPLES_PER_SHARD[kind], hashes=layout.hash_cache(folder, kind))
            sync = store.begin(Member(sid, names[sid], sid, made[sid]["sha256"] if sid in made else o.sha)
                               for sid, o in mine.items())
            reused += len(sync.reused)
            for member in sync.missing:
                original = mine[member.id]
                if member.id in made:
                    data, reason = _normalised_bytes(original, made[member.id], staged.get(member.id), norm,
                                                     staging)
                else:
                    data, reason = _read(original)
                if data is None:
                    failed[original.sha] = reason or "unreadable"
                    sync.drop([member.id])
                else:
                    sync.put(member.id, data)
                    written += 1
            stored = sync.finish()
            sweep(folder, sync.files())  # the loose copies of an unpacked import go too
            shown = layout.rel(folder)
            for sid, member in stored.items():
                located[mine[sid].sha] = describe(member, shown)
                if sid in made:
                    located[mine[sid].sha].update(info=made[sid]["info"], normalised=made[sid]["normalised"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return located, failed, written, reused


def _stage_normalised(originals: list[Original], record: ImportRecord, norm: Normalisation, staging: Path,
                      n_jobs: int, timeout_s: float | None
                      ) -> tuple[dict[str, dict[str, Any]], dict[str, str], dict[str, str]]:
    """Each audio original's normalisation result (sid → entry): from the record, else made now into ``staging``.

    Returns the results, the staged files (sid → path) and the failures (sha → reason).
    """
    fingerprint = norm.fingerprint()
    made: dict[str, dict[str, Any]] = {}
    todo: list[Original] = []
    for original in originals:
        known = record.normalised_of(f"{original.sha}/{fingerprint}")
        if known is not None:
            made[original.sha[:16]] = known
        else:
            todo.append(original)
    staging.mkdir(parents=True, exist_ok=True)
    params = (norm.trim, norm.mono, norm.sample_rate)
    tasks = ((o.path, o.sha, *(os.fspath(staging / o.sha[:16]),) * 2, params) for o in todo)
    staged: dict[str, str] = {}
    failed: dict[str, str] = {}
    for original, result in _run_normalise(todo, tasks, record, fingerprint, failed, n_jobs, timeout_s):
        made[original.sha[:16]] = result
        staged[original.sha[:16]] = os.fspath(staging / original.sha[:16])
    return made, staged, failed


def _normalised_bytes(original: Original, entry: dict[str, Any], staged: str | None, norm: Normalisation | None,
                      staging: Path) -> tuple[bytes | None, str | None]:
    """The normalised bytes of ``original`` for its shard: staged this run, else normalised again here."""
    if staged is None:
        assert norm is not None
        staging.mkdir(parents=True, exist_ok=True)
        staged = os.fspath(staging / original.sha[:16])
        result = normalise_file((original.path, original.sha, staged, staged, (norm.trim, norm.mono,
                                                                               norm.sample_rate)))
        if "reason" in result:
            return None, result["reason"]
    with open(staged, "rb") as handle:
        data = handle.read()
    if sha256_bytes(data) != entry["sha256"]:
        return None, "normalising the file again gave other bytes than recorded"
    return data, None


def _prune(folder: os.PathLike, keep: set[str]) -> None:
    """Delete every file and link below ``folder`` but ``keep`` (relative paths), and emptied folders.

    The raw folders persist between runs (so unchanged copies are not rewritten):
    this is what makes them hold exactly what a clean import writes, leftover
    temp files of a killed run and the shards of a packed import included. One
    ``scandir`` per folder: a re-run visits every copy.
    """
    def visit(path: str, prefix: str) -> bool:
        try:
            with os.scandir(path) as found:
                entries = list(found)
        except FileNotFoundError:
            return False
        left = len(entries)
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if visit(entry.path, rel + "/"):
                    os.rmdir(entry.path)
                    left -= 1
            elif rel not in keep and (entry.is_symlink() or entry.is_file()):
                os.unlink(entry.path)
                left -= 1
        return left == 0

    visit(os.fspath(folder), "")
