"""Fetch every source ``dataset.source(s)`` names into ``<dataset>/sources/<name>/``, all or nothing.

Each source is a local folder (copied as it is, links kept for the import to
judge), a local file or a download (``http(s)://``, ``s3://``, ``kaggle://``).
A file's sha256 is checked before anything is extracted; an archive is
extracted by :func:`penta_core.fetch.extract.extract_archive`, any other file
is kept under its own name. Everything is built in a staging folder and
swapped in at the end, so a failure leaves the previous ``sources/`` as it was.

A labels file named by URL (``annotate.labels.path``) is downloaded beside the
sources, to ``sources/.labels/<file name>``, where the annotate stage reads it.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from penta_core.core.errors import InputError, MissingInput
from penta_core.core.io import write_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import scheme_of, source_entries, source_name
from penta_core.fetch.checksum import ChecksumMismatch, check_sha256, sha256_file
from penta_core.fetch.download import download_http, download_kaggle, download_s3
from penta_core.fetch.extract import Limits, archive_kind, extract_archive


@dataclass
class FetchReport:
    sources: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, Any] | None = None
    # How this run got there (printed only): sources downloaded now, not reused from the download cache.
    downloaded: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sources": self.sources, "labels": self.labels}


def folder_digest(folder: Path) -> str:
    """sha256 over the sorted relative paths and contents of the files below ``folder``: a folder's pin."""
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        line = f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)}\n"
        digest.update(line.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _obtain(url: str, sha256: str | None, layout: DatasetLayout, fetch: dict[str, Any],
            report: FetchReport) -> Path:
    """A local path holding the source's bytes (a download is verified on arrival)."""
    scheme = scheme_of(url)
    if scheme is None:
        path = Path(url)
        if not path.exists():
            raise MissingInput(f"source '{url}' does not exist; set dataset.source(s) to a folder, an archive or a URL")
        return path
    assert sha256 is not None  # the params check requires it for every download
    dest = layout.downloads_dir / sha256
    if scheme in ("http", "https"):
        fresh = download_http(url, dest, sha256, fetch["retries"], fetch["timeout_s"])
    elif scheme == "s3":
        fresh = download_s3(url, dest, sha256, fetch["timeout_s"])
    else:
        fresh = download_kaggle(url, dest, sha256)
    if fresh:
        report.downloaded.append(url)
    return dest


def _fetch_one(entry: dict[str, Any], target: Path, layout: DatasetLayout, fetch: dict[str, Any],
               report: FetchReport) -> dict[str, Any]:
    url, pinned = entry["url"], entry.get("sha256")
    path = _obtain(url, pinned, layout, fetch, report)
    record: dict[str, Any] = {"name": target.name, "url": url}
    if path.is_dir():
        digest = folder_digest(path)
        if pinned is not None and digest != pinned:
            raise InputError(f"{url}: folder sha256 mismatch: expected {pinned}, got {digest}; nothing was copied")
        shutil.copytree(path, target, symlinks=True)
        record.update(kind="folder", sha256=digest, files=sum(1 for p in target.rglob("*") if p.is_file()))
        return record
    try:
        record["sha256"] = check_sha256(path, pinned, url)  # before one byte is extracted
    except ChecksumMismatch:
        if path.parent == layout.downloads_dir:
            path.unlink()  # a kept download changed on disk: the next run downloads it again
        raise
    if archive_kind(path) is not None:
        shown = re.split(r"[?#]", url)[0].rstrip("/").rpartition("/")[2] or url
        extracted = extract_archive(path, target, Limits.from_params(fetch), shown)
        record.update(kind="archive", **extracted.as_dict())
    else:
        target.mkdir(parents=True)
        name = re.split(r"[?#]", url)[0].rstrip("/").rpartition("/")[2] or target.name
        shutil.copyfile(path, target / name)
        record.update(kind="file", files=1, bytes=path.stat().st_size)
    return record


def _swap_in(staging: Path, folder: Path, old: Path) -> None:
    """Put ``staging`` in the place of ``folder`` with renames only (the old one is deleted last)."""
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def fetch_sources(params: dict[str, Any], layout: DatasetLayout) -> FetchReport:
    """Fetch, verify and extract every source into ``layout.sources_dir``; write ``metrics/sources.json``.

    Parameters
    ----------
    params : the validated parameter tree (``dataset.source(s)``, ``fetch.*``, ``annotate.labels``).
    layout : the dataset whose ``sources/`` folder is rebuilt.

    Returns
    -------
    FetchReport : per source its kind, sha256 and counts (the metrics file), and what was downloaded now.

    Raises
    ------
    ChecksumMismatch, UnsafeArchive, DownloadFailed, MissingInput, MissingTool : one line; ``sources/``
        keeps its previous content and nothing is extracted.
    """
    report = FetchReport()
    staging, old = layout.cache_dir / "fetch-staging", layout.cache_dir / "fetch-old"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for entry in source_entries(params):
            report.sources.append(_fetch_one(entry, staging / source_name(entry), layout, params["fetch"], report))
        labels = params["annotate"]["labels"]
        if labels is not None and scheme_of(labels["path"]) is not None:
            dest = layout.downloads_dir / labels["sha256"]
            if download_http(labels["path"], dest, labels["sha256"], params["fetch"]["retries"],
                             params["fetch"]["timeout_s"]):
                report.downloaded.append(labels["path"])
            rel = layout.fetched_labels(labels["path"]).relative_to(layout.sources_dir)
            (staging / rel).parent.mkdir(parents=True)
            shutil.copyfile(dest, staging / rel)
            report.labels = {"url": labels["path"], "sha256": labels["sha256"], "path": f"sources/{rel.as_posix()}"}
        _swap_in(staging, layout.sources_dir, old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_json(layout.metrics_dir / "sources.json", report.as_dict())
    return report
