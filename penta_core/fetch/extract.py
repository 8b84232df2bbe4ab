"""Safe extraction of .zip and .tar(.gz) archives: every member is checked before one byte is written.

Refused, with the reason, for the whole archive: a member whose path escapes
the target folder (absolute, ``..``, a drive letter), a symbolic or hard link
whose target lies outside it, and a zip bomb (more members than
``fetch.max_files``, more bytes than ``fetch.max_total_mb``, or an expansion
above ``fetch.max_ratio`` times the archive's size). Sizes an archive declares
are checked first and the bytes actually written are counted again, since a
member can lie about its size. Links that stay inside are not followed: they
are skipped and counted. Names that are not valid UTF-8 are written as their
bytes and quarantined by the import, as any such file is.
"""
from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from penta_core.core.errors import InputError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
COPY_BLOCK = 1 << 20


class UnsafeArchive(InputError):
    """An archive would write outside its folder, or expand beyond the limits."""


@dataclass(frozen=True)
class Limits:
    max_total_bytes: int
    max_files: int
    max_ratio: float

    @classmethod
    def from_params(cls, fetch: dict) -> Limits:
        return cls(int(fetch["max_total_mb"] * 2**20), int(fetch["max_files"]), float(fetch["max_ratio"]))


@dataclass
class Extracted:
    """What one archive held: files written, their bytes, links and special entries skipped, the expansion."""
    files: int = 0
    bytes: int = 0
    links_skipped: int = 0
    special_skipped: int = 0
    ratio: float = 0.0

    def as_dict(self) -> dict:
        return {"files": self.files, "bytes": self.bytes, "links_skipped": self.links_skipped,
                "special_skipped": self.special_skipped, "ratio": round(self.ratio, 3)}


def archive_kind(path: str | Path) -> str | None:
    """``'zip'`` or ``'tar'`` from the content (any compression tar reads), else ``None``."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except OSError:
        return None
    return None


def _safe_name(name: str) -> str | None:
    """``name`` as a clean relative POSIX path, or ``None`` when it would leave the folder."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _inside(link_dir: str, target: str) -> bool:
    """Whether a link in ``link_dir`` (relative) pointing at ``target`` stays inside the folder."""
    if target.startswith("/") or (len(target) > 1 and target[1] == ":"):
        return False
    joined = posixpath.normpath(posixpath.join(link_dir, target.replace("\\", "/")))
    return joined != ".." and not joined.startswith("../") and not joined.startswith("/")


def _refuse(shown: str, reason: str) -> UnsafeArchive:
    return UnsafeArchive(f"archive '{shown}' refused: {reason}; nothing was extracted")


def _check_totals(size: int, shown: str, count: int, total: int, limits: Limits) -> float:
    """The expansion ratio so far; refuse the archive as soon as a limit is passed.

    Called after each member: the totals only grow, so the verdict is the one the whole
    listing would give, and a compressed tar bomb is not decompressed past the limit to learn it.
    """
    if count > limits.max_files:
        raise _refuse(shown, f"{count} members, above fetch.max_files = {limits.max_files}")
    if total > limits.max_total_bytes:
        raise _refuse(shown, f"{total / 2**20:.1f} MB uncompressed, above fetch.max_total_mb = "
                               f"{limits.max_total_bytes / 2**20:g}")
    ratio = total / max(size, 1)
    if ratio > limits.max_ratio:
        raise _refuse(shown, f"expands {ratio:.0f} times its size, above fetch.max_ratio = {limits.max_ratio:g} "
                               "(a zip bomb?)")
    return ratio


def _copy_counted(src: IO[bytes], dest: Path, budget: list[int], shown: str, limits: Limits) -> int:
    written = 0
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        out = open(dest, "xb")  # noqa: SIM115  (closed below; "x": a member named twice is refused, not merged)
    except OSError as err:
        raise _refuse(shown, f"member '{dest.name}' cannot be written ({err.strerror}: named twice, "
                               "or a file and a folder alike?)") from None
    with out:
        while block := src.read(COPY_BLOCK):
            written += len(block)
            budget[0] -= len(block)
            if budget[0] < 0:
                raise _refuse(shown, "members hold more bytes than they declare, above fetch.max_total_mb = "
                                       f"{limits.max_total_bytes / 2**20:g}")
            out.write(block)
    return written


def extract_archive(archive: str | Path, target: str | Path, limits: Limits, name: str | None = None) -> Extracted:
    """Extract ``archive`` into the new folder ``target`` after checking every member.

    Parameters
    ----------
    archive : a .zip, .tar, .tar.gz or .tgz file (recognised by content).
    target : a folder that must not exist yet; on a refusal it is removed again.
    limits : the zip-bomb limits (``fetch.*``).
    name : what messages call the archive (default: its file name).

    Returns
    -------
    Extracted : counts for the sanitize report.

    Raises
    ------
    UnsafeArchive : one line naming the archive and the reason; nothing is left in ``target``.

    Example
    -------
    >>> extract_archive("vgmidi.zip", "sources/vgmidi", Limits(2**32, 100_000, 200.0)).files  # doctest: +SKIP
    """
    archive, target = Path(archive), Path(target)
    kind = archive_kind(archive)
    if kind is None:
        raise InputError(f"'{archive.name}' is not a .zip or .tar archive")
    target.mkdir(parents=True)
    try:
        return (_extract_zip if kind == "zip" else _extract_tar)(archive, target, limits, name or archive.name)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _extract_zip(archive: Path, target: Path, limits: Limits, shown: str) -> Extracted:
    report = Extracted()
    size = archive.stat().st_size
    with zipfile.ZipFile(archive) as zf:
        plan: list[tuple[zipfile.ZipInfo, str]] = []
        total = 0
        for info in zf.infolist():
            name = _safe_name(info.filename)
            if name is None:
                raise _refuse(shown, f"member '{info.filename}' would be written outside the folder")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                if info.file_size > 4096:  # a link's target is a path, not a payload
                    raise _refuse(shown, f"member '{info.filename}' is a link of {info.file_size} bytes")
                link = zf.read(info).decode("utf-8", "replace")
                if not _inside(posixpath.dirname(name), link):
                    raise _refuse(shown, f"member '{info.filename}' is a link to '{link}', outside the folder")
                report.links_skipped += 1
                continue
            if info.is_dir():
                continue
            total += info.file_size
            plan.append((info, name))
            report.ratio = _check_totals(size, shown, len(plan), total, limits)
        budget = [limits.max_total_bytes]
        for info, name in plan:
            with zf.open(info) as src:
                report.bytes += _copy_counted(src, target / name, budget, shown, limits)
            report.files += 1
    return report


def _extract_tar(archive: Path, target: Path, limits: Limits, shown: str) -> Extracted:
    report = Extracted()
    size = archive.stat().st_size
    with tarfile.open(archive) as tf:
        plan: list[tuple[tarfile.TarInfo, str]] = []
        total = 0
        for info in tf:  # one member at a time: a bomb is refused before the rest is decompressed
            name = _safe_name(info.name)
            if name is None:
                raise _refuse(shown, f"member '{info.name}' would be written outside the folder")
            if info.issym() or info.islnk():
                # A hard link's target is a path from the archive's root; a symbolic link's, from its folder.
                base = posixpath.dirname(name) if info.issym() else ""
                if not _inside(base, info.linkname):
                    what = "symbolic" if info.issym() else "hard"
                    raise _refuse(shown, f"member '{info.name}' is a {what} link to '{info.linkname}', "
                                           "outside the folder")
                report.links_skipped += 1
                continue
            if info.isdir():
                continue
            if not info.isfile():
                report.special_skipped += 1  # devices, pipes: nothing an import could read
                continue
            total += info.size
            plan.append((info, name))
            report.ratio = _check_totals(size, shown, len(plan), total, limits)
        budget = [limits.max_total_bytes]
        for info, name in plan:
            src = tf.extractfile(info)
            if src is None:
                continue
            with src:
                report.bytes += _copy_counted(src, target / name, budget, shown, limits)
            os.chmod(target / name, 0o644)
            report.files += 1
    return report
