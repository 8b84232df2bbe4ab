"""Import: copy every valid MIDI and audio file of a source folder into a dataset.

Folders are kept (``raw/<kind>/<path relative to source_dir>``, or that path as
a shard member with ``import.pack``; :mod:`penta_core.sources.originals`) so
labels can be read from folder names later. Files are deduplicated by content hash, never
by name; a file that fails its check goes to ``quarantine.json`` with a reason.
Source files are only ever read. With ``import.edge_silence: trim``,
``import.channels: mono`` or ``import.sample_rate``, audio copies are
normalised (:mod:`penta_core.sources.normalise`) and their samples record the
source's ``source_sha256`` and what was ``normalised``.

Incremental: the import record (:mod:`penta_core.sources.record`) holds what
earlier imports found, so only new or changed files are checked in workers,
and a raw copy that already holds the right bytes is left alone. The outputs
are the same bytes a clean import writes.
"""
from __future__ import annotations

import contextlib
import errno
import gc
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from penta_core.core.errors import InputError
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs as resolve_jobs
from penta_core.core.steps import check_source_dir
from penta_core.engine.executor import parallel_map
from penta_core.engine.parallel import start_method_for
from penta_core.harmony.sidecars import is_sidecar
from penta_core.sources.checks import CONDITION, check_source, kind_for
from penta_core.sources.normalise import Normalisation
from penta_core.sources.originals import Original, copy_originals, pack_originals
from penta_core.sources.record import ImportRecord, rules_fingerprint

# Tables that ship beside a collection's music (EMOPIA's, VGMIDI's label CSVs, Groove MIDI's info.csv):
# read by the annotate stage when annotate.labels names one, never imported as music.
LABEL_TABLE_SUFFIXES = (".csv", ".tsv", ".json")

# A file that passed the pre-checks: (relative path, path, its stat before any read, kind).
Candidate = tuple[str, str, os.stat_result, str]


@dataclass
class ImportReport:
    samples: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    scanned: int = 0
    # How this run got there; never written to an output, which must not depend on earlier runs.
    checked: int = 0  # files sent to a worker
    reused: int = 0  # files whose verdict came from the import record
    copied: int = 0  # raw copies (or packed members) written
    kept: int = 0  # raw copies (or packed members) that already held the right bytes
    annotation_files: int = 0  # chord/key files beside the music (.lab, .jams, POP909's): left to the targets stage
    label_tables: int = 0  # .csv, .tsv, .json beside the music: left to the annotate stage (annotate.labels)
    # Those files, each with its sha256, in the index: the stages that read them depend on the index,
    # so DVC need not walk the whole source folder once more for each of them.
    side_files: list[dict[str, str]] = field(default_factory=list)
    conditions: dict[str, dict[str, float]] = field(default_factory=dict)  # audio source path → its condition

    def summary(self) -> dict[str, int]:
        by_kind = {k: sum(1 for s in self.samples if s["kind"] == k) for k in ("midi", "audio")}
        return {
            "files_scanned": self.scanned,
            "imported": len(self.samples),
            "imported_midi": by_kind["midi"],
            "imported_audio": by_kind["audio"],
            "duplicate_files": sum(len(d["sources"]) - 1 for d in self.duplicates),
            "quarantined": len(self.quarantined),
        }


def walk_source(source_dir: Path) -> Iterator[tuple[str, str | None, str | None]]:
    """Yield ``(relative path, absolute path, problem)`` for every file below ``source_dir``.

    Symbolic links are followed once: a folder reached again from inside itself
    (a link loop) or through a second link is reported instead of walked again.
    Entries come sorted by relative path so every run sees the same order.
    """
    visited: set[tuple[int, int]] = set()
    found: list[tuple[str, str | None, str | None]] = []

    def visit(folder: str | Path, rel: str, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            stat = os.stat(folder)
        except OSError as err:
            found.append((rel or ".", None, f"folder cannot be read: {err.strerror}"))
            return
        key = (stat.st_dev, stat.st_ino)
        if key in ancestors:
            found.append((rel, None, "symbolic link loop: folder already visited"))
            return
        if key in visited:
            found.append((rel, None, "second link to a folder already imported through another path"))
            return
        visited.add(key)
        ancestors = ancestors | {key}
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            found.append((rel or ".", None, f"folder cannot be read: {err.strerror}"))
            return
        for entry in entries:
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            shown = os.fsencode(child_rel).decode("utf-8", "backslashreplace")
            if shown != child_rel:
                # Bytes that are not UTF-8 come back as lone surrogates, which no JSON
                # output can hold: the whole import used to die writing quarantine.json.
                found.append((shown, None, "name is not valid UTF-8; rename it to import it"))
                continue
            path = entry.path  # a string: a re-run walks every source, and pathlib costs more than the stat
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                is_file = entry.is_file(follow_symlinks=True)
            except OSError as err:
                found.append((child_rel, None, f"cannot be read: {err.strerror}"))
                continue
            if is_dir:
                visit(path, child_rel, ancestors)
            elif is_file:
                found.append((child_rel, path, None))
            elif entry.is_symlink() and not os.path.exists(path):  # a link to a pipe or device is not broken
                found.append((child_rel, None, "broken symbolic link"))
            else:
                found.append((child_rel, None, "not a regular file"))

    visit(source_dir, "", frozenset())
    found.sort(key=lambda item: item[0])
    yield from found


def _precheck(rel: str, path: str, kind: str | None, max_bytes: int) -> tuple[str | None, os.stat_result | None]:
    """``(reason, None)`` for a file rejected without opening it, else ``(None, its stat)``."""
    if kind is None:
        name = Path(rel).name
        if name.startswith("."):
            return f"not a music file (hidden file {name})", None
        suffix = Path(rel).suffix.lower() or "no extension"
        return f"unsupported file type ({suffix}); expected .mid, .midi, .wav, .flac, .ogg or .mp3", None
    st = os.stat(path)
    size = st.st_size
    if size == 0:
        return "empty file", None
    if size > max_bytes:
        return f"file is {size / 2**20:.1f} MB, above the limit import.max_file_mb = {max_bytes / 2**20:g}", None
    if not os.access(path, os.R_OK):
        return "permission denied", None
    return None, st


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while the import builds its records.

    A re-run of 10,000 unchanged sources allocates a few hundred thousand dicts
    and lists (the record, the samples), none in a reference cycle; the collector
    scanning them again and again took a quarter of its time. Reference counting
    still frees everything as usual, and the collector runs again afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _without_paths(reason: str, folders: list[str]) -> str:
    """``reason`` with the source folder's absolute path cut out, so it reads the same on every machine."""
    for folder in folders:
        reason = reason.replace(folder, "")
    return reason


def import_sources(source_dir: str | Path, layout: DatasetLayout, params: dict[str, Any]) -> ImportReport:
    """Import ``source_dir`` into ``layout``; write raw files, ``index/imported.json``, ``quarantine.json``.

    Also updates the import record (``layout.import_record``), which only decides
    how much work a run does, never what it writes.

    Parameters
    ----------
    source_dir : the folder to import, read recursively.
    layout : the dataset being built.
    params : the validated parameter tree (``import.*`` limits and ``import.verify`` are used).

    Returns
    -------
    ImportReport : imported samples, quarantined files and collapsed duplicates; and
        files checked or reused, copies written or kept (for the stage to print).

    Raises
    ------
    MissingInput : ``source_dir`` does not exist.
    InputError : ``source_dir`` is a file, or holds nothing valid.
    """
    source = check_source_dir(source_dir)
    with _cyclic_gc_paused():
        report = _import(source, layout, params["import"], params.get("engine"))
    if not report.samples:
        raise InputError(
            f"no valid MIDI or audio file found in '{source}' "
            f"({len(report.quarantined)} quarantined, see {layout.quarantine})"
        )
    return report


def _import(source: Path, layout: DatasetLayout, opts: dict[str, Any], engine: dict[str, Any] | None = None
            ) -> ImportReport:
    """The import of :func:`import_sources` once its source folder is known to be one."""
    max_bytes = int(opts["max_file_mb"] * 2**20)
    record = ImportRecord(layout.import_record, rules_fingerprint(opts["silence_dbfs"]), time.time_ns(),
                          trust_stat=opts["verify"] != "hash")
    report = ImportReport()
    candidates: list[Candidate] = []
    for rel, path, problem in walk_source(source):
        if problem is None and kind_for(rel) is None and is_sidecar(rel):
            problem = _side_file(rel, path, "annotation", record, report)  # for the targets stage
        elif problem is None and rel.lower().endswith(LABEL_TABLE_SUFFIXES):
            problem = _side_file(rel, path, "label_table", record, report)  # for annotate.labels
        if problem == "":
            continue
        report.scanned += 1
        st = kind = None
        if problem is None:
            kind = kind_for(rel)
            try:
                problem, st = _precheck(rel, path, kind, max_bytes)
            except OSError as err:
                problem = f"cannot be read: {err.strerror or errno.errorcode.get(err.errno, err)}"
        if problem:
            report.quarantined.append({"path": rel, "reason": problem})
        else:
            candidates.append((rel, path, st, kind))
    try:
        _import_candidates(candidates, source, layout, opts, record, report, engine)
    except BaseException:
        record.save_quietly()  # what was learnt stays true: a Ctrl-C keeps the checks done so far
        raise
    for kind in ("midi", "audio"):
        layout.raw_dir(kind).mkdir(parents=True, exist_ok=True)  # an empty kind is still an output
    report.samples.sort(key=lambda s: s["id"])
    report.quarantined.sort(key=lambda q: q["path"])
    report.duplicates.sort(key=lambda d: d["sample"])
    record.write_json(layout.quarantine, {"count": len(report.quarantined), "files": report.quarantined})
    record.write_json(layout.index("imported"), {
        "samples": report.samples,
        "duplicates": report.duplicates,
        "side_files": sorted(report.side_files, key=lambda f: f["path"]),
        "summary": report.summary(),
    })
    norm = Normalisation.from_params(opts)
    record.finish({c[0] for c in candidates} | {f["path"] for f in report.side_files},
                  {s["path"] for s in report.samples if "path" in s},
                  {f"{s['source_sha256']}/{norm.fingerprint()}" for s in report.samples if "source_sha256" in s}
                  if norm is not None else set())
    return report


def _side_file(rel: str, path: str, kind: str, record: ImportRecord, report: ImportReport) -> str | None:
    """Note a file that lies beside the music (its sha256 from the record or read now): ``""``, or why not."""
    try:
        sha = record.hash_of(rel, path)
    except OSError as err:
        return f"cannot be read: {err.strerror or errno.errorcode.get(err.errno, err)}"
    report.side_files.append({"path": rel, "kind": kind, "sha256": sha})
    if kind == "annotation":
        report.annotation_files += 1
    else:
        report.label_tables += 1
    return ""


def _import_candidates(candidates: list[Candidate], source: Path, layout: DatasetLayout,
                       opts: dict[str, Any], record: ImportRecord, report: ImportReport,
                       engine: dict[str, Any] | None = None) -> None:
    """Check the candidates (in workers, unless the record knows their verdict), store the valid ones, prune."""
    pack = bool(opts["pack"])
    verdicts: dict[int, tuple[str, dict[str, Any]]] = {}  # candidate index → (sha256, verdict)
    to_check: list[int] = []
    for index, (rel, path, st, _) in enumerate(candidates):
        sha = record.sha_of(rel, path, st)
        verdict = record.verdict(sha, rel.rpartition("/")[2]) if sha else None
        if verdict is None:
            to_check.append(index)
        else:
            verdicts[index] = (sha, verdict)
            report.reused += 1

    folders = sorted({f"{os.fspath(source)}/", f"{os.path.realpath(source)}/"}, key=len, reverse=True)
    tasks = ((candidates[i][1], candidates[i][3], opts["silence_dbfs"]) for i in to_check)
    for position, outcome in parallel_map(
        check_source, tasks, n_jobs=resolve_jobs(opts["n_jobs"]), timeout_s=opts["timeout_s"],
        desc="import", total=len(to_check), relative_to=[source], engine=engine,
        start_method=start_method_for(candidates[i][3] for i in to_check),
    ):
        index = to_check[position]
        report.checked += 1
        rel, _, st, _ = candidates[index]
        if not outcome.ok:  # unreadable, crashed or timed out: not the content's fault, so not recorded
            report.quarantined.append({"path": rel, "reason": outcome.reason or "rejected"})
            continue
        sha = outcome.value.pop("sha256")
        verdict = outcome.value
        if "reason" in verdict:
            verdict = {"reason": _without_paths(verdict["reason"], folders)}
        record.remember_source(rel, st, sha)
        record.remember_verdict(sha, rel.rpartition("/")[2], verdict)
        verdicts[index] = (sha, verdict)

    checked: dict[int, tuple[str, dict[str, Any]]] = {}
    for index, (sha, verdict) in verdicts.items():
        rel = candidates[index][0]
        if "reason" in verdict:
            report.quarantined.append({"path": rel, "reason": verdict["reason"]})
        elif verdict["info"]["duration_s"] > opts["max_duration_s"]:
            report.quarantined.append({"path": rel, "reason": (
                f"lasts {verdict['info']['duration_s']:.0f} s, above the limit "
                f"import.max_duration_s = {opts['max_duration_s']:g}")})
        else:
            checked[index] = (sha, verdict["info"])
            if CONDITION in verdict:
                report.conditions[rel] = verdict[CONDITION]

    by_hash: dict[str, list[int]] = {}
    for index in sorted(checked):
        by_hash.setdefault(checked[index][0], []).append(index)
    originals = [Original(sha, candidates[indices[0]][0], candidates[indices[0]][1], candidates[indices[0]][3],
                          checked[indices[0]][1]["size"]) for sha, indices in by_hash.items()]
    if pack:
        located, failed, report.copied, report.kept = pack_originals(
            originals, layout, record, Normalisation.from_params(opts), resolve_jobs(opts["n_jobs"]),
            opts["timeout_s"])
    else:
        located, failed, report.copied, report.kept = copy_originals(
            originals, layout, record, Normalisation.from_params(opts), resolve_jobs(opts["n_jobs"]),
            opts["timeout_s"])
    for original in originals:
        if original.sha in failed:
            report.quarantined.append({"path": original.rel, "reason": failed[original.sha]})
            continue
        sources = [candidates[i][0] for i in by_hash[original.sha]]
        where = dict(located[original.sha])
        normalised = where.pop("normalised", None)
        sample = {
            "id": original.sha[:16],  # of the source's bytes: ids stay put when the normalisation changes
            **where,
            "kind": original.kind,
            "origin": "imported",
            "group": original.sha[:16],
            "sha256": where.get("sha256", original.sha),  # of the bytes in the dataset
            "source": original.rel,
            "sources": sources,
            "info": where.get("info", dict(checked[by_hash[original.sha][0]][1])),
        }
        if normalised is not None:
            sample["source_sha256"] = original.sha
            sample["normalised"] = normalised
        report.samples.append(sample)
        if len(sources) > 1:
            report.duplicates.append({"sample": sample["id"], "kept": original.rel, "sources": sources})
