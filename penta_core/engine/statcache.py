"""File hashes remembered by stat, so a file nobody touched is not read again to be verified.

A stage that reuses its earlier shards checks that each still holds the bytes
its catalogue names. Hashing them all at every run costs about 0.1 s per
100 MB here (``benchmarks/shard_verify.py``): little at 10,000 sources, tens
of seconds per stage for Lakh MIDI's 1.9 million variants (19 GB). A
:class:`HashCache` keeps, per file, ``[size, mtime_ns, ctime_ns, inode,
sha256]`` as seen when the file was written or last hashed; a file
whose stat is unchanged is taken to hold those bytes. It is git's index rule,
with git's answer to its blind spot (an edit within the timestamp tick of the
file system right after the entry was made): entries whose times are that
recent (:data:`RACY_WINDOW_NS`) are marked racy and hashed again next time.
The status-change time, which no user call can set back, and the inode catch
an edit that restores the modification time, and a ``dvc checkout`` that puts
a file back (a new inode).

The cache is a cache, not an output: it holds times and inodes that differ
between two checkouts of the same data, so it lives in the dataset's
``.cache/`` (ignored by git, outside every DVC output), and a missing or
unreadable one only means hashing everything once.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from penta_core.core.io import atomic_write_text, sha256_file

# Above the 1–2 s timestamp granularity of FAT, HFS+ and ext3; ext4, XFS, btrfs and tmpfs keep nanoseconds.
RACY_WINDOW_NS = 2_000_000_000
FORMAT = 1
IGNORE_SELF = "# penta_core's local records of earlier runs: a cache, not part of any dataset version\n*\n"

StatKey = list  # [size, mtime_ns, ctime_ns, inode, sha256], and a trailing 1 when racy


def stat_key(st: os.stat_result, sha: str) -> StatKey:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, sha]


def is_stat_key(value: Any) -> bool:
    # The shape only: an entry holding other values never equals a stat, so it is never used.
    return type(value) is list and len(value) in (5, 6)


def same_stat(entry: StatKey, st: os.stat_result) -> bool:
    return (entry[0] == st.st_size and entry[1] == st.st_mtime_ns and entry[2] == st.st_ctime_ns
            and entry[3] == st.st_ino)


def ignore_in_git(folder: Path) -> None:
    """Keep a ``.cache`` folder out of git (it describes this checkout, not the dataset)."""
    ignore = folder / ".gitignore"
    if not ignore.exists():
        atomic_write_text(ignore, IGNORE_SELF)


class HashCache:
    """The remembered sha256 of the files below one folder, kept in the JSON file ``path``.

    Parameters
    ----------
    path : where the cache lives (outside every output), or ``None`` to remember only during this run.
    base : the folder; files are remembered by their path relative to it (by name when ``None``).
    started_ns : when this run began (``time.time_ns()``); files changed within
        :data:`RACY_WINDOW_NS` before it are remembered as racy.

    Example
    -------
    >>> hashes = HashCache(layout.cache_dir / "hashes" / "augmented.json")  # doctest: +SKIP
    >>> hashes.sha256(folder / "midi-0123.tar")  # hashed once, then from the stat  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike | None, base: Path | None = None,
                 started_ns: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.base = base
        self.started_ns = time.time_ns() if started_ns is None else started_ns
        self.entries: dict[str, StatKey] = {}
        self.dirty = False
        self.hashed = 0  # files read this run (how it went; never written to an output)
        if self.path is not None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if data.get("format") == FORMAT:
                    self.entries = {k: v for k, v in data["files"].items()
                                    if isinstance(k, str) and is_stat_key(v)}
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
                self.entries = {}

    def sha256(self, file: Path) -> str:
        """The sha256 of ``file``: remembered when its stat is unchanged (and not racy), else read now."""
        st = os.stat(file)
        entry = self.entries.get(self._name(file))
        if entry is not None and len(entry) == 5 and same_stat(entry, st):
            return entry[4]
        sha = sha256_file(file)
        self.hashed += 1
        self.remember(file, sha, st)
        return sha

    def remember(self, file: Path, sha: str, st: os.stat_result | None = None) -> None:
        """Note that ``file`` (as it is now, or as ``st`` saw it) holds the bytes hashing to ``sha``."""
        st = st or os.stat(file)
        entry = stat_key(st, sha)
        if max(st.st_mtime_ns, st.st_ctime_ns) >= self.started_ns - RACY_WINDOW_NS:
            entry.append(1)  # racy: may change again within the same timestamp tick
        name = self._name(file)
        if self.entries.get(name) != entry:
            self.entries[name] = entry
            self.dirty = True

    def _name(self, file: Path) -> str:
        return file.relative_to(self.base).as_posix() if self.base is not None else file.name

    def save(self, keep: Iterable[str] | None = None) -> None:
        """Forget files not in ``keep`` (names as remembered), then write the cache atomically if it changed."""
        if keep is not None:
            keep = set(keep)
            for name in [n for n in self.entries if n not in keep]:
                del self.entries[name]
                self.dirty = True
        if self.path is None or not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ignore_in_git(self.path.parent)
        text = json.dumps({"about": "penta_core hash cache: see penta_core/engine/statcache.py", "format": FORMAT,
                           "files": dict(sorted(self.entries.items()))}, separators=(",", ":"))
        atomic_write_text(self.path, text + "\n")
        self.dirty = False
