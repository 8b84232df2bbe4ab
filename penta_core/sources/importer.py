"""Import: copy every valid MIDI and audio file of a source folder into a dataset.

Folders are kept (``raw/<kind>/<path relative to source_dir>``) so labels can
be read from folder names later. Files are deduplicated by content hash, never
by name; a file that fails its check goes to ``quarantine.json`` with a reason.
Source files are only ever read.
"""
from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from penta_core.core.errors import InputError
from penta_core.core.io import atomic_write_bytes, sha256_bytes, write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import n_jobs as resolve_jobs
from penta_core.core.steps import check_source_dir
from penta_core.engine.parallel import supervised_map
from penta_core.sources.checks import check_file, kind_for


@dataclass
class ImportReport:
    samples: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    scanned: int = 0

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


def walk_source(source_dir: Path) -> Iterator[tuple[str, Path | None, str | None]]:
    """Yield ``(relative path, absolute path, problem)`` for every file below ``source_dir``.

    Symbolic links are followed once: a folder reached again from inside itself
    (a link loop) or through a second link is reported instead of walked again.
    Entries come sorted by relative path so every run sees the same order.
    """
    visited: set[tuple[int, int]] = set()
    found: list[tuple[str, Path | None, str | None]] = []

    def visit(folder: Path, rel: str, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            stat = folder.stat()
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
            path = Path(entry.path)
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
            elif entry.is_symlink() and not path.exists():  # a link to a pipe or device is not broken
                found.append((child_rel, None, "broken symbolic link"))
            else:
                found.append((child_rel, None, "not a regular file"))

    visit(source_dir, "", frozenset())
    found.sort(key=lambda item: item[0])
    yield from found


def _precheck(rel: str, path: Path, max_bytes: int) -> str | None:
    """Reasons found without opening the file; ``None`` when it may be checked."""
    name = Path(rel).name
    if kind_for(rel) is None:
        if name.startswith("."):
            return f"not a music file (hidden file {name})"
        suffix = Path(rel).suffix.lower() or "no extension"
        return f"unsupported file type ({suffix}); expected .mid, .midi, .wav, .flac, .ogg or .mp3"
    size = path.stat().st_size
    if size == 0:
        return "empty file"
    if size > max_bytes:
        return f"file is {size / 2**20:.1f} MB, above the limit import.max_file_mb = {max_bytes / 2**20:g}"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def _prune(layout: DatasetLayout, keep: set[Path]) -> None:
    """Delete raw files left by an earlier import that this one no longer holds."""
    for kind in ("midi", "audio"):
        folder = layout.raw_dir(kind)
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_file() and path not in keep:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def import_sources(source_dir: str | Path, layout: DatasetLayout, params: dict[str, Any]) -> ImportReport:
    """Import ``source_dir`` into ``layout``; write raw files, ``index/imported.json``, ``quarantine.json``.

    Parameters
    ----------
    source_dir : the folder to import, read recursively.
    layout : the dataset being built.
    params : the validated parameter tree (``import.*`` limits are used).

    Returns
    -------
    ImportReport : imported samples, quarantined files and collapsed duplicates.

    Raises
    ------
    MissingInput : ``source_dir`` does not exist.
    InputError : ``source_dir`` is a file, or holds nothing valid.
    """
    source = check_source_dir(source_dir)
    opts = params["import"]
    max_bytes = int(opts["max_file_mb"] * 2**20)
    report = ImportReport()
    candidates: list[tuple[str, Path]] = []
    for rel, path, problem in walk_source(source):
        report.scanned += 1
        if problem is None:
            try:
                problem = _precheck(rel, path, max_bytes)
            except OSError as err:
                problem = f"cannot be read: {err.strerror or errno.errorcode.get(err.errno, err)}"
        if problem:
            report.quarantined.append({"path": rel, "reason": problem})
        else:
            candidates.append((rel, path))

    tasks = ((str(path), kind_for(rel), opts["silence_dbfs"]) for rel, path in candidates)
    checked: dict[int, dict[str, Any]] = {}
    for index, outcome in supervised_map(
        check_file, tasks, n_jobs=resolve_jobs(opts["n_jobs"]), timeout_s=opts["timeout_s"],
        desc="import", total=len(candidates), relative_to=[source],
    ):
        if outcome.ok and outcome.value["duration_s"] > opts["max_duration_s"]:
            report.quarantined.append({"path": candidates[index][0], "reason": (
                f"lasts {outcome.value['duration_s']:.0f} s, above the limit "
                f"import.max_duration_s = {opts['max_duration_s']:g}")})
        elif outcome.ok:
            checked[index] = outcome.value
        else:
            reason = (outcome.reason or "rejected").removeprefix("Rejected: ")
            report.quarantined.append({"path": candidates[index][0], "reason": reason})

    by_hash: dict[str, list[int]] = {}
    for index in sorted(checked):
        by_hash.setdefault(checked[index]["sha256"], []).append(index)
    for sha, indices in by_hash.items():
        rel, path = candidates[indices[0]]
        info = checked[indices[0]]
        kind = kind_for(rel)
        try:
            data = path.read_bytes()
        except OSError as err:  # deleted or locked between its check and its copy
            report.quarantined.append({"path": rel, "reason": f"file went away while it was being imported: "
                                                              f"{err.strerror or err}"})
            continue
        if sha256_bytes(data) != sha:
            report.quarantined.append({"path": rel, "reason": "file changed while it was being imported"})
            continue
        dest = layout.raw_dir(kind) / rel
        try:
            atomic_write_bytes(dest, data)
        except OSError as err:
            # The copy's path is longer than the source's when the dataset folder is; only
            # that is the file's fault. Anything else (a full disk) must stop the stage.
            if err.errno != errno.ENAMETOOLONG:
                raise
            report.quarantined.append({"path": rel, "reason": "path too long to copy into the dataset folder"})
            continue
        sources = [candidates[i][0] for i in indices]
        sample = {
            "id": sha[:16],
            "path": layout.rel(dest),
            "kind": kind,
            "origin": "imported",
            "group": sha[:16],
            "sha256": sha,
            "source": rel,
            "sources": sources,
            "info": {k: v for k, v in info.items() if k != "sha256"},
        }
        report.samples.append(sample)
        if len(sources) > 1:
            report.duplicates.append({"sample": sample["id"], "kept": rel, "sources": sources})

    _prune(layout, {layout.abs(s["path"]) for s in report.samples})
    for kind in ("midi", "audio"):
        layout.raw_dir(kind).mkdir(parents=True, exist_ok=True)  # an empty kind is still an output
    report.samples.sort(key=lambda s: s["id"])
    report.quarantined.sort(key=lambda q: q["path"])
    report.duplicates.sort(key=lambda d: d["sample"])
    write_json(layout.quarantine, {"count": len(report.quarantined), "files": report.quarantined})
    write_json(layout.index("imported"), {
        "samples": report.samples,
        "duplicates": report.duplicates,
        "summary": report.summary(),
    })
    if not report.samples:
        raise InputError(
            f"no valid MIDI or audio file found in '{source}' "
            f"({len(report.quarantined)} quarantined, see {layout.quarantine})"
        )
    return report
