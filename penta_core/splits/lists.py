"""The split lists on disk: ``splits/<name>.txt`` (sample ids) and ``splits/groups.json`` (placements)."""
from __future__ import annotations

from typing import Any

from penta_core.core.errors import MissingInput
from penta_core.core.io import atomic_write_text, read_json, write_json
from penta_core.core.layout import DatasetLayout

SPLITS = ("train", "val", "test")
GROUPS_FILE = "groups.json"


def write_splits(layout: DatasetLayout, splits: dict[str, Any]) -> None:
    """``splits/<name>.txt``: one sample id per line, sorted."""
    layout.splits_dir.mkdir(parents=True, exist_ok=True)
    for name in SPLITS:
        atomic_write_text(layout.splits_dir / f"{name}.txt", "".join(f"{i}\n" for i in splits[name]))


def read_splits(layout: DatasetLayout) -> dict[str, list[str]]:
    """Split name → sample ids; :class:`MissingInput` when a list has not been written."""
    paths = {name: layout.splits_dir / f"{name}.txt" for name in SPLITS}
    for path in paths.values():
        if not path.is_file():
            raise MissingInput(f"{path} does not exist; run the splits step first")
    return {name: path.read_text().split() for name, path in paths.items()}


def read_previous_splits(layout: DatasetLayout) -> tuple[dict[str, list[str]], dict[str, Any]] | None:
    """The lists and placements a previous build left, or ``None`` when there are none."""
    if not all((layout.splits_dir / f"{name}.txt").is_file() for name in SPLITS):
        return None
    groups_path = layout.splits_dir / GROUPS_FILE
    return read_splits(layout), (read_json(groups_path).get("groups", {}) if groups_path.is_file() else {})


def write_placements(layout: DatasetLayout, strategy: str, placement: dict[str, Any]) -> None:
    """``splits/groups.json``: each group's label, weight, hash home and split."""
    groups = {g: {"label": p.label, "weight": p.weight, "home": p.home, "split": p.split}
              for g, p in sorted(placement.items())}
    write_json(layout.splits_dir / GROUPS_FILE, {"strategy": strategy, "groups": groups})
