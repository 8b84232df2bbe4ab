"""Two dataset versions compared sample by sample: added, removed, relabelled, moved, features changed.

``dvc diff`` compares files; once samples live in shards that says little. This
reads each version's manifest, split lists and feature table from a git
revision of the project (through DVC's file system, so data only in the cache
or on a remote is read from there) or from the workspace, and compares them
by sample id.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from penta_core.core.errors import InputError
from penta_core.splits.lists import SPLITS

WORKSPACE = "workspace"


@dataclass
class Version:
    """What one version holds, by sample id."""

    name: str
    dataset: str
    labels: dict[str, str | None] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    splits: dict[str, str] = field(default_factory=dict)
    features: dict[str, str] = field(default_factory=dict)  # id → digest of its feature row


class _Files:
    """Read files of the project at a revision (``None``: the workspace)."""

    def __init__(self, repo: Path, rev: str | None) -> None:
        self.repo, self.rev = repo, rev
        self.fs = None
        if rev is not None:
            from dvc.api import DVCFileSystem

            try:
                self.fs = DVCFileSystem(str(repo), rev=rev)
            except Exception as err:  # dvc raises its own error types for a bad revision
                raise InputError(f"cannot read revision {rev!r} of {repo}: {err}") from None

    def read(self, path: str) -> bytes | None:
        try:
            if self.fs is None:
                return (self.repo / path).read_bytes()
            with self.fs.open(path, "rb") as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except Exception as err:  # DVC's own errors: the data is in no cache or remote it can reach
            raise self._unreachable(path, err) from None

    def listdir(self, path: str) -> list[str]:
        try:
            if self.fs is None:
                return sorted(p.name for p in (self.repo / path).iterdir())
            return sorted(PurePosixPath(p).name for p in self.fs.ls(path, detail=False))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except Exception as err:
            raise self._unreachable(path, err) from None

    def _unreachable(self, path: str, err: Exception) -> InputError:
        return InputError(f"{self.rev}: cannot read {path} ({type(err).__name__}): its data is neither in the "
                          f"local DVC cache nor on a reachable remote; run `dvc fetch --rev {self.rev}` or "
                          "`dvc pull` there first")


def _dataset_path(files: _Files, dataset: str | None) -> str:
    if dataset:
        return dataset
    text = files.read("params.yaml")
    params = yaml.safe_load(text) if text else {}
    section = (params or {}).get("dataset") or {}
    return f"{section.get('root', 'datasets')}/{section.get('name', 'emotion_dataset_v1')}"


def _row_digest(row) -> str:
    return hashlib.sha256(row.tobytes()).hexdigest()[:16]


def _features(files: _Files, dataset: str) -> dict[str, str]:
    import numpy as np

    found: dict[str, str] = {}
    folder = f"{dataset}/processed/features"
    for name in files.listdir(folder):
        if name.startswith("features-") and name.endswith(".parquet"):
            import pyarrow.parquet as pq

            table = pq.ParquetFile(io.BytesIO(files.read(f"{folder}/{name}") or b"")).read()
            from penta_core.features.parts import META_COLUMNS

            columns = [c for c in table.column_names if c not in META_COLUMNS]
            X = np.column_stack([table.column(c).to_numpy() for c in columns]) if columns else None
            for i, sample_id in enumerate(table.column("id").to_pylist()):
                found.setdefault(sample_id, _row_digest(X[i]) if X is not None else "")
    legacy = files.read(f"{dataset}/processed/features.npz")
    if not found and legacy:
        with np.load(io.BytesIO(legacy), allow_pickle=False) as data:
            for sample_id, row in zip(data["ids"], data["X"], strict=True):
                found[str(sample_id)] = _row_digest(np.asarray(row, dtype=np.float64))
    return found


def load_version(repo: str | Path, rev: str | None, dataset: str | None = None) -> Version:
    """The samples, labels, splits and feature rows of one version.

    Parameters
    ----------
    repo : the project folder (a git + DVC repository).
    rev : a git revision (tag, branch, commit); ``None`` reads the workspace.
    dataset : the dataset folder relative to ``repo``; default from that revision's ``params.yaml``.
    """
    files = _Files(Path(repo), rev)
    where = _dataset_path(files, dataset)
    text = files.read(f"{where}/manifest.json")
    if text is None:
        raise InputError(f"{rev or WORKSPACE}: no {where}/manifest.json (was that version built?)")
    manifest = json.loads(text)
    version = Version(rev or WORKSPACE, where)
    for sample in manifest["samples"]:
        version.labels[sample["id"]] = sample.get("label")
        version.origins[sample["id"]] = sample.get("origin", "")
    for split in SPLITS:
        for sample_id in (files.read(f"{where}/splits/{split}.txt") or b"").decode().split():
            version.splits[sample_id] = split
    version.features = _features(files, where)
    return version


def diff_versions(old: Version, new: Version) -> dict[str, Any]:
    """What changed from ``old`` to ``new``, sample by sample (sorted lists, counts)."""
    before, after = set(old.labels), set(new.labels)
    common = sorted(before & after)
    relabelled = [{"id": i, "old": old.labels[i], "new": new.labels[i]} for i in common
                  if old.labels[i] != new.labels[i]]
    moved = [{"id": i, "old": old.splits.get(i), "new": new.splits.get(i)} for i in common
             if old.splits.get(i) != new.splits.get(i)]
    changed = [i for i in common if i in old.features and i in new.features and old.features[i] != new.features[i]]
    result = {
        "old": old.name, "new": new.name, "dataset": new.dataset,
        "added": [{"id": i, "origin": new.origins[i], "label": new.labels[i]} for i in sorted(after - before)],
        "removed": [{"id": i, "origin": old.origins[i], "label": old.labels[i]} for i in sorted(before - after)],
        "relabelled": relabelled, "moved": moved, "features_changed": changed,
    }
    result["counts"] = {
        "old_samples": len(before), "new_samples": len(after),
        **{k: len(result[k]) for k in ("added", "removed", "relabelled", "moved", "features_changed")},
    }
    return result


def diff_lines(result: dict[str, Any], limit: int = 10) -> list[str]:
    """The diff as text for a terminal."""
    c = result["counts"]
    lines = [f"{result['dataset']}: {result['old']} → {result['new']}",
             f"samples: {c['old_samples']} → {c['new_samples']} (+{c['added']} added, -{c['removed']} removed)"]

    def by(entries: list[dict[str, Any]], key: str) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(Counter(str(e[key]) for e in entries).items()))

    if result["added"]:
        lines.append(f"  added by origin: {by(result['added'], 'origin')}")
    if result["removed"]:
        lines.append(f"  removed by origin: {by(result['removed'], 'origin')}")
    lines.append(f"relabelled: {c['relabelled']}")
    lines += [f"  {e['id']}: {e['old']} → {e['new']}" for e in result["relabelled"][:limit]]
    moves = Counter(f"{e['old'] or 'none'} → {e['new'] or 'none'}" for e in result["moved"])
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(moves.items()))
    lines.append(f"moved between splits: {c['moved']}" + (f" ({detail})" if moves else ""))
    lines.append(f"features changed: {c['features_changed']}")
    lines += [f"  {i}" for i in result["features_changed"][:limit]]
    return lines
