"""Labels from a table beside the data (``annotate.labels``): file → label, or file → valence/arousal.

The table is a CSV, a TSV (``.tsv``, or tabs in the header) or JSON (a list of
objects with the same columns). A row names its file by relative path, file
name or stem; a sample's source path is matched from its longest tail to its
stem, so ``midi/Q1_a.mid``, ``Q1_a.mid`` and ``Q1_a`` all find
``vgmidi/midi/Q1_a.mid``. A key two rows give different values is ambiguous
and dropped (counted). Valence/arousal numbers (signed, 0 neutral) map to a
vocabulary label by quadrant (the label whose synonym is ``q1`` … ``q4``) or
to the nearest label in valence/arousal space.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from penta_core.annotate.vocabulary import Label, Vocabulary
from penta_core.core.errors import ConfigError
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import scheme_of
from penta_core.core.steps import import_folder
from penta_core.tables.rows import Agreed, find_table, normal_key, read_rows, require_columns

# Quadrant of (valence >= 0, arousal >= 0) → the vocabulary word naming it (Russell's circumplex, as EMOPIA).
QUADRANTS = {(True, True): "q1", (False, True): "q2", (False, False): "q3", (True, False): "q4"}


@dataclass(frozen=True)
class Entry:
    """What the table says of one file: a label, with the valence/arousal it gave (or the label's)."""
    label: Label
    valence: float
    arousal: float
    key: str


@dataclass
class LabelMap:
    entries: dict[str, Entry]
    path: str
    rows: int
    ambiguous: int = 0
    unknown_values: dict[str, int] = field(default_factory=dict)

    def lookup(self, rel_path: str) -> Entry | None:
        """The entry of the longest tail of ``rel_path`` the table names (with or without extension), or its stem."""
        parts = rel_path.split("/")
        for i in range(len(parts)):
            tail = "/".join(parts[i:])
            stem_tail = tail.rsplit(".", 1)[0] if "." in parts[-1] else tail
            for key in (tail, stem_tail):
                if key in self.entries:
                    return self.entries[key]
        return None


def va_label(valence: float, arousal: float, vocab: Vocabulary, mapping: str) -> Label | None:
    """The vocabulary label for a valence/arousal pair, by ``'quadrant'`` or ``'nearest'``."""
    if mapping == "quadrant":
        return vocab.lookup(QUADRANTS[(valence >= 0, arousal >= 0)])
    if not vocab.labels:
        return None
    return min(vocab.labels.values(), key=lambda lb: (math.hypot(lb.valence - valence, lb.arousal - arousal), lb.name))


def labels_path(spec: dict[str, Any], params: dict[str, Any], layout: DatasetLayout) -> Path:
    """The labels file: fetched (a URL); a glob below the imported folder; else relative to it, else to the project."""
    given = spec["path"]
    if scheme_of(given) is not None:
        path = layout.fetched_labels(given)
        if not path.is_file():
            raise ConfigError(f"annotate.labels: {given} has not been fetched; run the fetch stage first")
        return path
    return find_table(given, import_folder(params, layout), "annotate.labels")


def load_label_map(spec: dict[str, Any], path: Path, vocab: Vocabulary) -> LabelMap:
    """Read the table at ``path`` with the columns ``spec`` (``annotate.labels``) names.

    Raises
    ------
    ConfigError : the table lacks a named column, or a valence/arousal cell is not a number.
    """
    file_col = spec.get("file_column", "file")
    label_col = spec.get("label_column")
    va_cols = (spec.get("valence_column"), spec.get("arousal_column"))
    mapping = spec.get("va_mapping", "quadrant")
    if mapping == "quadrant" and label_col is None and any(vocab.lookup(q) is None for q in QUADRANTS.values()):
        raise ConfigError("annotate.labels: va_mapping quadrant needs labels named q1..q4 in the vocabulary "
                          "(as synonyms); set va_mapping: nearest")
    rows = read_rows(path, "annotate.labels")
    require_columns(rows, [file_col, *([label_col] if label_col else va_cols)], path, "annotate.labels")
    table = LabelMap({}, str(path), len(rows))
    agreed = Agreed()
    for number, row in enumerate(rows, start=2):
        key = normal_key(str(row.get(file_col) or ""))
        if not key:
            continue
        if label_col:
            value = str(row.get(label_col) or "").strip()
            if value and spec.get("label_format"):
                value = spec["label_format"].replace("{}", value)  # EMOPIA's quadrant 1 → q1
            label = vocab.lookup(value) if value else None
            entry = Entry(label, label.valence, label.arousal, key) if label else None
        else:
            try:
                valence, arousal = float(row[va_cols[0]]), float(row[va_cols[1]])
            except (TypeError, ValueError):
                raise ConfigError(f"annotate.labels: {path} row {number}: valence/arousal "
                                  f"{row.get(va_cols[0])!r}, {row.get(va_cols[1])!r} are not numbers") from None
            value = f"{valence:g},{arousal:g}"
            label = va_label(valence, arousal, vocab, mapping)
            entry = Entry(label, valence, arousal, key) if label else None
        if entry is None:
            table.unknown_values[value] = table.unknown_values.get(value, 0) + 1
            continue
        agreed.add(key, entry)
    table.entries = agreed.entries()
    table.ambiguous = agreed.ambiguous()
    return table
