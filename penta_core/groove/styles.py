"""A piece's groove style: from a Groove MIDI Dataset ``info.csv`` in its folders, else from folder names.

``info.csv`` (columns drummer, session, id, style, bpm, beat_type,
time_signature, midi_filename, …, split; ``style`` such as ``funk/groove1``)
may lie in any folder above the file, naming it by its path relative to
that folder; its row wins. Otherwise the innermost folder that names a style
through the ``groovepredictor`` vocabulary gives it. Either way the style
passes through the vocabulary, so ``Hip-Hop`` and ``hiphop`` are one label.
"""
from __future__ import annotations

import csv
import functools
import io
from pathlib import Path, PurePosixPath
from typing import Any

from penta_core.annotate.vocabulary import Vocabulary
from penta_core.harmony.sidecars import GROOVE_INFO as INFO_CSV

UNKNOWN = "unknown"
_INFO_FIELDS = ("drummer", "style", "bpm", "beat_type", "time_signature", "split")


def info_rows(text: str, where: str) -> dict[str, dict[str, str]]:
    """Rows of an ``info.csv`` by ``midi_filename`` (``ValueError`` naming the file when a column is missing)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("midi_filename", "style") if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{where}: no {', '.join(missing)} column")
    return {PurePosixPath(row["midi_filename"]).as_posix(): row for row in reader if row.get("midi_filename")}


@functools.lru_cache(maxsize=16)
def _rows_of(path: str, mtime_ns: int) -> dict[str, dict[str, str]]:
    """An ``info.csv`` read once per version of it (a dataset's table names every take: one read, not one a take)."""
    return info_rows(Path(path).read_text(encoding="utf-8"), path)


def info_row(source: Path, root: Path) -> tuple[dict[str, str], str] | None:
    """The ``info.csv`` row naming ``source`` in a folder from ``source``'s up to ``root``, and that file's name."""
    root = root.resolve()
    folder = source.resolve().parent
    while True:
        found = folder / INFO_CSV
        if found.is_file():
            rows = _rows_of(str(found), found.stat().st_mtime_ns)
            row = rows.get(source.resolve().relative_to(folder).as_posix())
            if row is not None:
                return row, found.relative_to(root).as_posix() if root in found.parents else found.name
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def style_of(source: str, source_dir: Path, vocab: Vocabulary) -> dict[str, Any]:
    """``{"style", "style_source", "info"}`` of a source path relative to ``source_dir``.

    ``style_source``: the info.csv read, ``folder`` or ``none``; ``info``: its row's drummer, bpm, metre, split.
    """
    found = info_row(source_dir / source, source_dir)
    if found is not None:
        row, name = found
        word = row["style"].split("/")[0]
        label = vocab.lookup(word)
        return {"style": label.name if label else UNKNOWN, "style_source": name,
                "info": {k: row.get(k, "") for k in _INFO_FIELDS}}
    label, _ = vocab.label_for_path(PurePosixPath(source).as_posix())
    if label is not None:
        return {"style": label.name, "style_source": "folder", "info": {}}
    return {"style": UNKNOWN, "style_source": "none", "info": {}}
