"""The dataset folder: one place that names every path inside it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# The folders every dataset holds, relative to the dataset folder.
STRUCTURE_DIRS = (
    "raw/midi",
    "raw/audio",
    "raw/synthetic",
    "processed/features",
    "processed/augmented",
    "annotations",
    "splits",
)


@dataclass(frozen=True)
class DatasetLayout:
    """Paths of one dataset version, ``<root>/<name>/``."""

    root: Path

    @classmethod
    def from_params(cls, params: dict) -> DatasetLayout:
        return cls(Path(params["dataset"]["root"]) / params["dataset"]["name"])

    @property
    def name(self) -> str:
        return self.root.name

    def rel(self, path: str | Path) -> str:
        """``path`` relative to the dataset folder, with forward slashes."""
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def abs(self, rel_path: str) -> Path:
        return self.root / rel_path

    config = property(lambda self: self.root / "config.json")
    manifest = property(lambda self: self.root / "manifest.json")
    quarantine = property(lambda self: self.root / "quarantine.json")
    lock = property(lambda self: self.root / ".penta.lock")
    # Local records of earlier runs (stat data, never part of a version): outside every DVC output.
    cache_dir = property(lambda self: self.root / ".cache")
    import_record = property(lambda self: self.root / ".cache" / "import.json")
    # Sources named by dataset.source(s), fetched, verified and extracted (the fetch stage's output).
    sources_dir = property(lambda self: self.root / "sources")
    downloads_dir = property(lambda self: self.root / ".cache" / "downloads")
    raw_midi = property(lambda self: self.root / "raw" / "midi")
    raw_audio = property(lambda self: self.root / "raw" / "audio")
    raw_synthetic = property(lambda self: self.root / "raw" / "synthetic")
    features_dir = property(lambda self: self.root / "processed" / "features")
    augmented_dir = property(lambda self: self.root / "processed" / "augmented")
    annotations_dir = property(lambda self: self.root / "annotations")
    splits_dir = property(lambda self: self.root / "splits")
    index_dir = property(lambda self: self.root / "index")
    metrics_dir = property(lambda self: self.root / "metrics")

    def index(self, step: str) -> Path:
        """Per-stage record of what a stage produced (``index/<step>.json``)."""
        return self.index_dir / f"{step}.json"

    def fetched_labels(self, url: str) -> Path:
        """Where the fetch stage keeps a labels file ``annotate.labels.path`` names by URL."""
        base = re.split(r"[?#]", url)[0].rstrip("/").rpartition("/")[2] or "labels"
        return self.sources_dir / ".labels" / re.sub(r"[^A-Za-z0-9_.-]", "_", base)

    def hash_cache(self, folder: Path, prefix: str) -> Path:
        """Where the sha256 of the ``prefix`` shards in ``folder`` are remembered by stat (``engine/statcache``)."""
        return self.cache_dir / "hashes" / f"{self.rel(folder).replace('/', '.')}.{prefix}.json"

    def raw_dir(self, kind: str) -> Path:
        return {"midi": self.raw_midi, "audio": self.raw_audio}[kind]

    def missing_dirs(self) -> list[str]:
        return [d for d in STRUCTURE_DIRS if not (self.root / d).is_dir()]
