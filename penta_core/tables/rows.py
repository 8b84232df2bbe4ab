"""Tables that ship beside a corpus (CSV, TSV, JSON): read them, find them, match their rows to files.

Shared by the labels table (``annotate.labels``), the published split
(``split.published``) and the family table (``split.families``). A row names its
file by relative path, file name or stem; a sample's source path is matched from
its longest tail to its stem, so ``midi/a.mid``, ``a.mid`` and ``a`` all find
``vgmidi/midi/a.mid``.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from penta_core.core.errors import ConfigError


def read_rows(path: Path, what: str) -> list[dict[str, Any]]:
    """The rows of a CSV, a TSV (``.tsv``, or tabs in the header) or a JSON list of objects.

    ``what`` names the parameter in an error (``annotate.labels``, ``split.published``).
    """
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{what}: {path} is not valid JSON ({err})") from None
        if not (isinstance(rows, list) and all(isinstance(r, dict) for r in rows)):
            raise ConfigError(f"{what}: {path} must hold a list of objects, one per file")
        return rows
    first = text.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() == ".tsv" or "\t" in first else ","
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def require_columns(rows: list[dict[str, Any]], columns: list[str], path: Path, what: str) -> None:
    """Fail naming the columns the table lacks (and those it has)."""
    if rows:
        missing = [c for c in columns if c not in rows[0]]
        if missing:
            raise ConfigError(f"{what}: {path} has no column {', '.join(missing)} "
                              f"(it has {', '.join(map(str, rows[0]))})")


def normal_key(value: str) -> str:
    """A row's file cell as a key: forward slashes, no leading ``./`` or ``/``."""
    key = value.strip().replace("\\", "/")
    while key.startswith(("./", "/")):
        key = key[1:] if key.startswith("/") else key[2:]
    return key


def tail_keys(rel_path: str) -> Iterator[str]:
    """The keys a row may name ``rel_path`` by, longest tail first, each with and without its extension."""
    parts = rel_path.split("/")
    for i in range(len(parts)):
        tail = "/".join(parts[i:])
        yield tail
        if "." in parts[-1]:
            yield tail.rsplit(".", 1)[0]


def lookup(entries: dict[str, Any], rel_path: str) -> Any | None:
    """The entry of the longest tail of ``rel_path`` that ``entries`` names, or ``None``."""
    for key in tail_keys(rel_path):
        if key in entries:
            return entries[key]
    return None


class Agreed:
    """What rows say about each file, trusting a file only while every row naming it agrees.

    >>> agreed = Agreed(); agreed.add("a.mid", "train"); agreed.add("b.mid", "test"); agreed.add("b.mid", "val")
    >>> agreed.entries(), agreed.ambiguous()
    ({'a.mid': 'train'}, 1)
    """

    def __init__(self) -> None:
        self._seen: dict[str, Any] = {}

    def add(self, key: str, value: Any) -> None:
        if key in self._seen and self._seen[key] != value:
            self._seen[key] = None  # two rows disagree about one file: neither is trusted
        else:
            self._seen.setdefault(key, value)

    def entries(self) -> dict[str, Any]:
        """Each file every row agreed on, with what they said."""
        return {k: v for k, v in self._seen.items() if v is not None}

    def ambiguous(self) -> int:
        """How many files rows disagreed about (left out of :meth:`entries`)."""
        return sum(1 for v in self._seen.values() if v is None)


def find_table(given: str, folder: Path, what: str) -> Path:
    """A table named by ``given``: a glob below ``folder`` (one match), else a path relative to it, else to the project.

    Raises
    ------
    ConfigError : the glob matches no file or several, or the path is in neither place.
    """
    if any(c in given for c in "*?["):  # a recipe's pattern: the archive's own folder name is not known ahead
        found = sorted(p for p in folder.glob(given) if p.is_file())
        if len(found) != 1:
            raise ConfigError(f"{what}: '{given}' matches {len(found)} files in {folder}, expected one"
                              + (f" ({', '.join(p.relative_to(folder).as_posix() for p in found[:5])})"
                                 if found else ""))
        return found[0]
    for path in (folder / given, Path(given)):
        if path.is_file():
            return path
    raise ConfigError(f"{what}: '{given}' is neither in {folder} nor in the project folder")
