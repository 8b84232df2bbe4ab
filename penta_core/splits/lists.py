"""The split lists on disk: ``splits/<name>.txt``, one sample id per line, sorted."""
from __future__ import annotations

from typing import Any

from penta_core.core.io import atomic_write_text
from penta_core.core.layout import DatasetLayout

SPLITS = ("train", "val", "test")


def write_splits(layout: DatasetLayout, splits: dict[str, Any]) -> None:
    """``splits/<name>.txt``: one sample id per line, sorted."""
    layout.splits_dir.mkdir(parents=True, exist_ok=True)
    for name in SPLITS:
        atomic_write_text(layout.splits_dir / f"{name}.txt", "".join(f"{i}\n" for i in splits[name]))


def read_splits(layout: DatasetLayout) -> dict[str, list[str]]:
    return {name: (layout.splits_dir / f"{name}.txt").read_text().split() for name in SPLITS}
