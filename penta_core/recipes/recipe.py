"""What a dataset recipe declares (one small module per corpus, like lhotse's recipes and mirdata's indexes)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """One public corpus: its archive layout, labels, families, licence and published split.

    Attributes
    ----------
    name : the value of ``dataset.recipe``.
    title : the corpus, as its authors name it.
    homepage : where the archive and its terms are published.
    licence : a Hugging Face licence id for the export's card (``export.license``); check the terms at ``homepage``.
    layout : glob patterns (below the fetched source folder) every genuine archive matches: the contract test
        builds a small archive in this layout.
    labels : the ``annotate.labels`` entry the corpus needs (its ``path`` a glob below the imported folder), or
        ``None`` when its files carry no emotion labels.
    group_by : the ``split.group_by`` regex whose group names a family (clips of one song, versions of one
        piece), or ``None``.
    published : the ``split.published`` entry of the corpus's own split (a table and its columns, a table
        per split, or ``folders``), or ``None`` when it publishes none; ``split.strategy: published`` uses it.
    families : the ``split.families`` entry (a table whose key columns name a family), or ``None``.
    """
    name: str
    title: str
    homepage: str
    licence: str
    layout: tuple[str, ...]
    labels: dict[str, Any] | None = None
    group_by: str | None = None
    published: dict[str, Any] | None = None
    families: dict[str, Any] | None = None
