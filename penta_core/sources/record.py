"""The import record: what earlier imports learnt about each source file, so a re-run checks only what changed.

Checking a file (parsing a MIDI, decoding a whole audio file) is the import's
expensive part, and its verdict is a function of the file's bytes, its name
(the extension; a decoder's message names the file) and the rules: the
checking code, the libraries it calls and ``import.silence_dbfs``. The record
keeps, in ``<dataset>/.cache/import.json``:

* ``sources``: relative source path → ``[size, mtime_ns, ctime_ns, inode, sha256]``
  as seen before the file was read. A file whose stat is unchanged is taken to
  hold the recorded bytes without being read.
* ``verdicts``: ``"<sha256>/<file name>"`` → ``{"info": {...}}`` (audio: and ``"condition"``) or
  ``{"reason": "..."}``. A file whose stat changed (touched, copied, restored,
  moved to another folder) is hashed in the parent, and a known verdict for
  those bytes under that name is reused; only new content goes to a worker.
* ``copies``: path of a raw copy → the same stat list, for the copy the import
  wrote (or found holding the right bytes), so an unchanged copy is neither
  read nor rewritten.
* ``normalised``: ``"<source sha256>/<normalisation fingerprint>"`` → what normalising
  those bytes gave (``wav``, ``sha256``, ``size``, ``info``, ``normalised``), when
  ``import.edge_silence``, ``import.channels`` or ``import.sample_rate`` ask for it
  (:mod:`penta_core.sources.normalise`): with the copy's stat, an unchanged source
  under unchanged params is neither read nor normalised again, and other params
  (another fingerprint) normalise it anew.
* ``outputs``: for ``index/imported.json`` and ``quarantine.json``, the hash of
  their content in compact JSON and of the text written, a copy of which is
  kept beside the record: pretty-printing 10,000 samples costs more than the
  rest of a re-run, and the same content gives the same text.

Only a checker's own verdict is recorded. A time-out or a crash of the worker
depends on the machine's load, ``import.timeout_s`` and, for a native parser
reading past its buffer, on the heap; a file that could not be read depends on
its permissions. Those files are checked again at every import, like new ones.

The record is a cache, not an output: it holds stat data (times, inodes) that
differ between two checkouts of the same data, so it lives beside the outputs
DVC tracks, never inside them, and ignores itself in git. A record that is
missing, unreadable, of another format or made under other rules counts as
empty: the import then checks everything, as a clean build does.

The known blind spot of stat caches is an edit that keeps the size and puts
the modification time back. The status-change time (``ctime``, which no user
call can set back) and the inode are in the key to catch that too; what is
left is an edit within the timestamp granularity of the file system right
after the file was recorded. Entries whose times are that recent
(:data:`RACY_WINDOW_NS`) are marked racy and hashed again at the next import,
as git does for its index. ``import.verify: hash`` trusts no stat and hashes
every source at every import.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import stat
from pathlib import Path
from typing import Any

from penta_core.core.io import atomic_write_bytes, atomic_write_text, dumps_json, sha256_bytes, sha256_file
from penta_core.engine.fingerprint import library_versions, source_digest
from penta_core.engine.statcache import RACY_WINDOW_NS, StatKey, ignore_in_git, is_stat_key, same_stat, stat_key
from penta_core.sources.checks import CONDITION

FORMAT = 1
_LIBRARIES = ("symusic", "soundfile", "numpy")

_OUTPUTS = ("imported.json", "quarantine.json")
_NORMALISED = {"wav", "sha256", "size", "info", "normalised"}
_COPY_MODE = stat.S_IFREG | 0o644  # what atomic_write_bytes makes: a regular file, rw-r--r--


def rules_fingerprint(silence_dbfs: float) -> str:
    """Hash of everything besides a file's bytes and name that decides its verdict.

    ``import.max_duration_s`` and ``import.max_file_mb`` are not in it: they are
    applied to the recorded duration and the current size at every import.
    ``import.timeout_s`` is not either: time-outs are never recorded.
    """
    return sha256_bytes(dumps_json({
        "format": FORMAT,
        "code": source_digest(["penta_core.sources.checks"]),
        "libraries": library_versions(_LIBRARIES),
        "silence_dbfs": float(silence_dbfs),
    }).encode("utf-8"))[:16]


def _is_verdict(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if "reason" in value:
        return len(value) == 1 and isinstance(value["reason"], str)
    # An audio file's verdict also holds its condition (clipping, DC offset, edge silence).
    if not set(value) <= {"info", CONDITION} or (CONDITION in value and not isinstance(value[CONDITION], dict)):
        return False
    info = value.get("info")
    if not (isinstance(info, dict) and type(info.get("size")) is int):
        return False
    duration = info.get("duration_s")
    return type(duration) in (int, float) and math.isfinite(duration)  # json reads NaN; no output may hold it


class ImportRecord:
    """The record of one dataset's imports, loaded from ``path`` (see the module's docstring).

    Parameters
    ----------
    path : the record's file, ``<dataset>/.cache/import.json``.
    rules : :func:`rules_fingerprint` of this import; sources and verdicts made
        under other rules are dropped, copies are kept (they depend on bytes alone).
    started_ns : ``time.time_ns()`` before the source folder was walked; a file
        changed less than :data:`RACY_WINDOW_NS` before it is recorded as racy.
    trust_stat : ``False`` (``import.verify: hash``) hashes every source.

    Example
    -------
    >>> record = ImportRecord(layout.import_record, rules_fingerprint(-80.0), time.time_ns())  # doctest: +SKIP
    >>> sha = record.sha_of(rel, path, st)  # None: new content, check it in a worker  # doctest: +SKIP
    >>> verdict = record.verdict(sha, name) if sha else None  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, rules: str, started_ns: int, *, trust_stat: bool = True):
        self.path = Path(path)
        self.rules = rules
        self.started_ns = started_ns
        self.trust_stat = trust_stat
        self.sources: dict[str, StatKey] = {}
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.copies: dict[str, StatKey] = {}
        self.outputs: dict[str, dict[str, str]] = {}
        self.normalised: dict[str, dict[str, Any]] = {}
        self.dirty = True  # until what is on disk is known to equal what is held
        self._load()
        self._names = {key[65:] for key in self.verdicts}

    def _load(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
            if data.get("format") != FORMAT:
                return
            self.copies = {k: v for k, v in data["copies"].items() if isinstance(k, str) and is_stat_key(v)}
            self.outputs = {k: v for k, v in data["outputs"].items()
                            if k in _OUTPUTS and isinstance(v, dict) and set(v) == {"key", "sha256"}}
            # Keyed by the normalisation's own fingerprint (code, libraries, params), not the check's rules.
            self.normalised = {k: v for k, v in data.get("normalised", {}).items()
                               if isinstance(k, str) and isinstance(v, dict) and set(v) == _NORMALISED}
            if data.get("rules") == self.rules:
                self.sources = {k: v for k, v in data["sources"].items() if isinstance(k, str) and is_stat_key(v)}
                self.verdicts = {k: v for k, v in data["verdicts"].items()
                                 if isinstance(k, str) and len(k) > 65 and k[64] == "/" and _is_verdict(v)}
                tables = ("sources", "verdicts", "copies", "outputs", "normalised")
                self.dirty = any(len(getattr(self, t)) != len(data.get(t, {})) for t in tables)  # an entry was dropped
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            # Unreadable: check everything.
            self.sources, self.verdicts, self.copies, self.outputs, self.normalised = {}, {}, {}, {}, {}

    # -- sources and verdicts ------------------------------------------------------------------

    def sha_of(self, rel: str, path: str | os.PathLike, st: os.stat_result) -> str | None:
        """The sha256 of source ``rel`` when it can be had without a worker, else ``None``.

        From the record when the stat is the recorded one (and not racy); else by
        hashing the file here, but only when a verdict for its name is known, the
        one case where the hash can spare a check.
        """
        recorded = self._recorded(rel, st)
        if recorded is not None or rel.rpartition("/")[2] not in self._names:
            return recorded
        try:
            return self._hash(rel, path, st)
        except OSError:
            return None  # the worker meets the same error and reports it

    def hash_of(self, rel: str, path: str | os.PathLike) -> str:
        """The sha256 of file ``rel``: from the record when its stat is the recorded one, else by hashing it.

        Raises ``OSError`` when the file cannot be read.
        """
        st = os.stat(path)
        return self._recorded(rel, st) or self._hash(rel, path, st)

    def _recorded(self, rel: str, st: os.stat_result) -> str | None:
        entry = self.sources.get(rel)
        if self.trust_stat and entry is not None and len(entry) == 5 and same_stat(entry, st):
            return entry[4]
        return None

    def _hash(self, rel: str, path: str | os.PathLike, st: os.stat_result) -> str:
        sha = sha256_file(path)
        self.remember_source(rel, st, sha)
        return sha

    def remember_source(self, rel: str, st: os.stat_result, sha: str) -> None:
        """Record that source ``rel``, when its stat was ``st``, held the bytes hashing to ``sha``."""
        entry = stat_key(st, sha)
        if max(st.st_mtime_ns, st.st_ctime_ns) >= self.started_ns - RACY_WINDOW_NS:
            entry.append(1)  # racy: may have changed again within the same timestamp tick
        if self.sources.get(rel) != entry:
            self.sources[rel] = entry
            self.dirty = True

    def verdict(self, sha: str, name: str) -> dict[str, Any] | None:
        """``{"info": ...}`` or ``{"reason": ...}`` recorded for these bytes under this file name."""
        return self.verdicts.get(f"{sha}/{name}")

    def remember_verdict(self, sha: str, name: str, verdict: dict[str, Any]) -> None:
        key = f"{sha}/{name}"
        if self.verdicts.get(key) != verdict:
            self.verdicts[key] = verdict
            self._names.add(name)
            self.dirty = True

    # -- raw copies ----------------------------------------------------------------------------

    def holds_copy(self, rel: str, path: str | os.PathLike, sha: str, size: int) -> bool:
        """Whether ``path`` (``rel`` in the dataset) already is the copy a write would make.

        A regular file with the size and the mode :func:`~penta_core.core.io.atomic_write_bytes`
        gives, and the recorded stat, or else bytes that hash to ``sha``. A link is never
        taken for a copy.
        """
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if st.st_mode != _COPY_MODE or st.st_size != size:
            return False
        entry = self.copies.get(rel)
        if entry is not None and entry[4] == sha and same_stat(entry, st):
            return True
        try:
            if sha256_file(path) != sha:
                return False
        except OSError:
            return False
        self.remember_copy(rel, path, sha, st)
        return True

    def remember_copy(self, rel: str, path: str | os.PathLike, sha: str, st: os.stat_result | None = None) -> None:
        """Record the copy at ``path`` as holding ``sha``; nothing when it cannot be stat'ed."""
        try:
            entry = stat_key(st or os.lstat(path), sha)
        except OSError:
            return
        if self.copies.get(rel) != entry:
            self.copies[rel] = entry
            self.dirty = True

    # -- normalised audio ------------------------------------------------------------------------

    def normalised_of(self, key: str) -> dict[str, Any] | None:
        """What normalising the source behind ``key`` (``"<sha256>/<fingerprint>"``) gave, if recorded."""
        return self.normalised.get(key)

    def remember_normalised(self, key: str, result: dict[str, Any]) -> None:
        entry = {k: result[k] for k in _NORMALISED}
        if self.normalised.get(key) != entry:
            self.normalised[key] = entry
            self.dirty = True

    # -- outputs -------------------------------------------------------------------------------

    def write_json(self, path: str | os.PathLike, obj: Any) -> None:
        """:func:`~penta_core.core.io.write_json` of ``obj`` to ``path``, one of the import's JSON outputs.

        When ``obj`` is what the last import wrote there (its compact JSON, which the C
        encoder makes in a fraction of the time of the indented text, hashes the same), the
        text kept from then is written again instead of being made anew.
        """
        path = Path(path)
        compact = json.dumps(obj, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        # The writer is part of the key: a change of dumps_json (or of Python's json) writes anew.
        writer = f"{source_digest(['penta_core.core.io'])} {platform.python_version()}\n"
        key = sha256_bytes((writer + compact).encode("utf-8"))
        kept = self.path.parent / f"import-{path.name}"
        entry = self.outputs.get(path.name)
        if entry is not None and entry["key"] == key:
            try:
                data = kept.read_bytes()
            except OSError:
                data = b""
            if sha256_bytes(data) == entry["sha256"]:
                atomic_write_bytes(path, data)
                return
        data = dumps_json(obj).encode("utf-8")
        atomic_write_bytes(path, data)
        with contextlib.suppress(OSError):
            self._ignore_self()
            atomic_write_bytes(kept, data)
            self.outputs[path.name] = {"key": key, "sha256": sha256_bytes(data)}
            self.dirty = True

    # -- saving --------------------------------------------------------------------------------

    def finish(self, sources: set[str], copies: set[str], normalised: set[str] = frozenset()) -> None:
        """Keep only the entries of the current ``sources``, raw ``copies`` and ``normalised`` keys, with their
        verdicts; save."""
        keys = {f"{entry[4]}/{rel.rpartition('/')[2]}" for rel, entry in self.sources.items() if rel in sources}
        for table, keep in ((self.sources, sources), (self.copies, copies), (self.verdicts, keys),
                            (self.normalised, normalised)):
            stale = [key for key in table if key not in keep]
            for key in stale:
                del table[key]
            self.dirty = self.dirty or bool(stale)
        self.save()

    def save(self) -> None:
        """Write the record atomically when it differs from what was loaded; a record is never required."""
        if not self.dirty:
            return
        self._ignore_self()
        text = json.dumps({"about": "penta_core import record: see penta_core/sources/record.py",
                           "format": FORMAT, "rules": self.rules, "sources": self.sources,
                           "verdicts": self.verdicts, "copies": self.copies, "outputs": self.outputs,
                           "normalised": self.normalised},
                          ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        atomic_write_text(self.path, text + "\n")
        self.dirty = False

    def _ignore_self(self) -> None:
        ignore_in_git(self.path.parent)

    def save_quietly(self) -> None:
        """:meth:`save` on the way out of a failed run: the run's own error matters more."""
        with contextlib.suppress(OSError, ValueError):
            self.save()
