"""Stream a split of an export as decoded training examples: seeded shuffles, exactly once per epoch.

A split is read in *units*: the WebDataset shards, the Parquet row groups,
or for LMDB each sample (random access is what LMDB is for). Each epoch the
units are permuted by ``(seed, epoch)``, the same permutation in every
worker, and dealt round-robin to the ``world_size * num_workers`` readers
(reader ``rank * num_workers + worker`` takes units ``i`` with
``i % readers == reader``), so every sample of the split is read by exactly
one reader once per epoch. A reader then shuffles what it reads through a
buffer of ``buffer_size`` samples seeded by ``(seed, epoch, reader)``;
LMDB units are single samples, so its order is a true global shuffle.

Example
-------
>>> stream = SplitStream("datasets/emotion_dataset_v1", "train", seed=0)  # doctest: +SKIP
>>> for epoch in range(10):  # doctest: +SKIP
...     stream.set_epoch(epoch)
...     for roll, features, label in stream: ...
"""
from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np

from penta_core.core.errors import MissingInput, ParamError
from penta_core.training.decode import AUDIO_DECODERS, MIDI_DECODERS, decode_audio, decode_midi

FORMATS = ("webdataset", "parquet", "lmdb")
SPLITS = ("train", "val", "test")
TARGETS = ("label_id", "label", "valence_arousal", "record")
_PARQUET_META = ("id", "split", "kind", "origin", "label", "label_id", "valence", "arousal", "group", "parent",
                 "transform", "sha256", "features_status")
T = TypeVar("T")


class Example(NamedTuple):
    """One training example: the decoded sample, its feature vector (``None`` if it has none) and its label."""

    sample: Any
    features: np.ndarray | None
    label: Any


def export_folder(source: str | Path) -> Path:
    """The export folder of a dataset folder (``<dataset>/export``), or ``source`` itself when it is one."""
    path = Path(source)
    for candidate in (path / "export", path):
        if (candidate / "export.json").is_file() or ((candidate / "README.md").is_file() and \
                any(candidate.glob("*.parquet"))):
            return candidate
    raise MissingInput(f"no export at '{path}': run `penta-dataset --export` (or `dvc repro`) in the project first")


def shuffle_buffer(items: Iterable[T], size: int, rng: np.random.Generator) -> Iterator[T]:
    """``items`` in a random order drawn with a buffer of ``size``: each output is a random pick among
    the next ``size`` items not yet given, so memory stays at ``size`` items.
    """
    buffer: list[T] = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        j = int(rng.integers(len(buffer)))
        yield buffer[j]
        buffer[j] = item
    rng.shuffle(buffer)  # type: ignore[arg-type]
    yield from buffer


_NPY_F8 = re.compile(rb"\{'descr': '<f8', 'fortran_order': False, 'shape': \((\d+),\), \}\s*\n")


def read_npy(data: bytes) -> np.ndarray:
    """An array from ``.npy`` bytes; the export's own (1-D little-endian float64) without ``numpy.load``'s cost."""
    if data[:8] == b"\x93NUMPY\x01\x00":
        length = int.from_bytes(data[8:10], "little")
        match = _NPY_F8.fullmatch(data, 10, 10 + length)
        if match is not None:
            return np.frombuffer(data, dtype="<f8", count=int(match.group(1)), offset=10 + length)
    return np.load(io.BytesIO(data), allow_pickle=False)


def _torch_worker() -> tuple[int, int]:
    """``(worker id, workers)`` inside a PyTorch DataLoader worker, else ``(0, 1)``; never imports torch."""
    if "torch" not in sys.modules:
        return 0, 1
    info = sys.modules["torch"].utils.data.get_worker_info()
    return (info.id, info.num_workers) if info is not None else (0, 1)


@dataclass
class SplitStream:
    """The examples of one split of an export, decoded, shuffled and shared out among readers.

    Parameters
    ----------
    source : a dataset folder (its ``export/`` is read) or an export folder.
    split : ``train``, ``val`` or ``test``.
    format : ``webdataset`` (default), ``parquet`` or ``lmdb``: which export to read.
    seed, epoch : the shuffles are a function of these (and the reader); see :meth:`set_epoch`.
    shuffle : False reads units and samples in stored order.
    buffer_size : samples held by the shuffle buffer (1 = units shuffled, samples in unit order).
    midi : ``pianoroll`` (default), ``score`` (symusic), ``pretty_midi`` or ``bytes``.
    fs : piano-roll frames per second.
    audio : ``array`` (float32, see ``sample_rate``, ``mono``) or ``bytes``.
    sample_rate : audio is resampled to this rate; ``None`` keeps each file's.
    mono : average audio channels.
    target : what ``label`` is: ``label_id`` (int), ``label`` (str), ``valence_arousal`` (float32 pair)
        or ``record`` (the sample's whole record).
    origins, kinds : keep only samples of these origins (``imported``, ``augmented``, ``synthetic``) or
        kinds (``midi``, ``audio``); ``None`` keeps all. ``origins=("imported", "synthetic")`` leaves
        out the offline variants, for a trainer that augments online instead.
    worker, num_workers : this reader among the loader's workers; ``None``: from PyTorch's worker info
        when running in a DataLoader worker, else the only one.
    rank, world_size : this process among distributed processes (each with ``num_workers`` workers).
    features_dtype : dtype of the feature vectors.
    """

    source: str | Path
    split: str = "train"
    format: str = "webdataset"
    seed: int = 0
    epoch: int = 0
    shuffle: bool = True
    buffer_size: int = 1000
    midi: str = "pianoroll"
    fs: float = 100.0
    audio: str = "array"
    sample_rate: int | None = 22050
    mono: bool = True
    target: str = "label_id"
    origins: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    worker: int | None = None
    num_workers: int | None = None
    rank: int = 0
    world_size: int = 1
    features_dtype: Any = np.float32
    folder: Path = field(init=False, repr=False)
    catalogue: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        choices = {"split": SPLITS, "format": FORMATS, "midi": MIDI_DECODERS, "audio": AUDIO_DECODERS,
                   "target": TARGETS}
        for name, options in choices.items():
            if getattr(self, name) not in options:
                raise ParamError(f"{name} must be one of {', '.join(options)}, got {getattr(self, name)!r}")
        for name in ("seed", "epoch", "buffer_size", "rank"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ParamError(f"{name} must be an integer >= 0, got {value!r}")
        if isinstance(self.world_size, bool) or not isinstance(self.world_size, int) or \
                not 0 <= self.rank < self.world_size:
            raise ParamError(f"rank must be in [0, world_size), got rank {self.rank!r} of {self.world_size!r}")
        if (self.worker is None) != (self.num_workers is None):
            raise ParamError("give worker and num_workers together, or neither")
        if self.num_workers is not None and not 0 <= self.worker < self.num_workers:
            raise ParamError(f"worker must be in [0, num_workers), got {self.worker!r} of {self.num_workers!r}")
        self.folder = export_folder(self.source)
        catalogue_path = self.folder / "export.json"
        self.catalogue = json.loads(catalogue_path.read_text(encoding="utf-8")) if catalogue_path.is_file() else {}
        if self.catalogue and self.format not in self.catalogue.get("exports", {}):
            raise MissingInput(f"{self.folder} holds no {self.format} export (export.formats: "
                               f"{', '.join(self.catalogue.get('formats', [])) or 'none'}); add it and run the "
                               "export again, or read another format")

    # -- what there is --------------------------------------------------------------------------

    @property
    def classes(self) -> list[str]:
        """Class names: ``label_id`` indexes this list."""
        return list(self.catalogue.get("classes", []))

    @property
    def feature_columns(self) -> list[str]:
        return list(self.catalogue.get("feature_columns", []))

    def __len__(self) -> int:
        """Samples in the split (all readers together, before the ``origins``/``kinds`` filters)."""
        if self.catalogue:
            return int(self.catalogue["splits"][self.split]["samples"])
        return sum(1 for _ in self.for_reader(0, 1).raw())

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffles of ``epoch`` from now on (call it at the start of each epoch)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ParamError(f"epoch must be an integer >= 0, got {epoch!r}")
        self.epoch = epoch

    def for_reader(self, worker: int, num_workers: int) -> SplitStream:
        """A copy reading only the share of loader worker ``worker`` of ``num_workers``."""
        return replace(self, worker=worker, num_workers=num_workers)

    def units(self) -> list[Any]:
        """The split's read units, in stored order (shard paths, ``(file, row group)`` pairs or ids)."""
        if self.format == "webdataset":
            files = self._files() if self.catalogue else \
                [p.relative_to(self.folder).as_posix()
                 for p in sorted((self.folder / "webdataset").glob(f"{self.split}-*.tar"))]
            return [self.folder / name for name in files]
        if self.format == "parquet":
            import pyarrow.parquet as pq

            path = self.folder / f"{self.split}.parquet"
            if not path.is_file():
                raise MissingInput(f"{path} does not exist; run the export with parquet in export.formats")
            return [(path, i) for i in range(pq.ParquetFile(path).num_row_groups)]
        from penta_core.export.lmdb_store import read_meta

        path = self.folder / f"{self.split}.lmdb"
        if not path.is_file():
            raise MissingInput(f"{path} does not exist; run the export with lmdb in export.formats")
        return [(path, sid) for sid in read_meta(path)["ids"]]

    def _files(self) -> list[str]:
        return sorted(self.catalogue["exports"][self.format][self.split]["files"])

    # -- reading ----------------------------------------------------------------------------------

    def reader(self) -> tuple[int, int]:
        """``(this reader, readers)``: position among ``world_size * num_workers`` readers."""
        worker, workers = (self.worker, self.num_workers) if self.num_workers is not None else _torch_worker()
        return self.rank * workers + worker, self.world_size * workers

    def my_units(self) -> list[Any]:
        """The units this reader reads this epoch, in the order it reads them."""
        units = self.units()
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(len(units))
            units = [units[i] for i in order]
        me, readers = self.reader()
        return units[me::readers]

    def raw(self) -> Iterator[dict[str, Any]]:
        """This reader's samples this epoch, undecoded: ``{"meta", "data", "path", "features"}``."""
        items = (item for item in self._read(self.my_units()) if self._wanted(item["meta"]))
        if self.shuffle and self.buffer_size > 1 and self.format != "lmdb":
            me, _ = self.reader()
            items = shuffle_buffer(items, self.buffer_size, np.random.default_rng([self.seed, self.epoch, me]))
        yield from items

    def records(self) -> Iterator[dict[str, Any]]:
        """This reader's samples this epoch, decoded: ``{"id", "meta", "sample", "features", "label"}``."""
        for item in self.raw():
            meta = item["meta"]
            yield {"id": meta["id"], "meta": meta, "sample": self._decode(item), "features": item["features"],
                   "label": self._target(meta)}

    def __iter__(self) -> Iterator[Example]:
        for record in self.records():
            yield Example(record["sample"], record["features"], record["label"])

    def _wanted(self, meta: dict[str, Any]) -> bool:
        return (self.origins is None or meta["origin"] in self.origins) and \
            (self.kinds is None or meta["kind"] in self.kinds)

    def _features(self, npy: bytes | None) -> np.ndarray | None:
        if npy is None:
            return None
        return read_npy(npy).astype(self.features_dtype)

    def _read(self, units: list[Any]) -> Iterator[dict[str, Any]]:
        if self.format == "lmdb":
            from penta_core.export.lmdb_store import iter_values

            if units:  # one file, opened once; a unit is one sample
                for sample in iter_values(units[0][0], [sid for _, sid in units]):
                    yield self._from_parts(sample)
            return
        if self.format == "webdataset":
            from penta_core.export.webdataset import iter_shard

            # With a filter, a sample is judged on its record and its bytes are skipped unread.
            keep = None if self.origins is None and self.kinds is None else \
                (lambda record: self._wanted(json.loads(record)))
            for unit in units:
                for sample in iter_shard(unit, keep):
                    yield self._from_parts(sample)
            return
        import pyarrow.parquet as pq

        opened: dict[Path, Any] = {}
        for path, index in units:
            if path not in opened:
                opened[path] = pq.ParquetFile(path)
            yield from self._read_row_group(opened[path], index)

    def _from_parts(self, parts: dict[str, Any]) -> dict[str, Any]:
        meta = json.loads(parts["json"])
        data = parts.get("mid", parts.get("flac"))
        return {"meta": meta, "data": data, "path": None, "features": self._features(parts.get("npy"))}

    def _read_row_group(self, parquet_file: Any, index: int) -> Iterator[dict[str, Any]]:
        # A kind filter spares reading (and decompressing) the other kind's byte column.
        skip = {kind for kind in ("midi", "audio") if self.kinds is not None and kind not in self.kinds}
        table = parquet_file.read_row_group(index, columns=[n for n in parquet_file.schema_arrow.names
                                                            if n not in skip])
        columns = {name: table.column(name).to_pylist() for name in _PARQUET_META}
        features = table.column("features").combine_chunks()
        present = features.is_valid().to_numpy(zero_copy_only=False)
        flat = features.flatten().to_numpy(zero_copy_only=False)
        matrix = flat.reshape(-1, features.type.list_size) if features.type.list_size else flat[:, None]
        # flatten() leaves out null rows: the i-th row's vector is the k-th valid one.
        row_of = np.arange(table.num_rows) if len(matrix) == table.num_rows else np.cumsum(present) - 1
        midi = table.column("midi").to_pylist() if "midi" not in skip else [None] * table.num_rows
        audio = table.column("audio").to_pylist() if "audio" not in skip else [None] * table.num_rows
        for i in range(table.num_rows):
            meta = {name: columns[name][i] for name in _PARQUET_META}
            if meta["transform"] is not None:
                meta["transform"] = json.loads(meta["transform"])
            vector = np.array(matrix[row_of[i]], dtype=self.features_dtype) if present[i] else None
            sound = audio[i] or {}
            yield {"meta": meta, "data": midi[i] if midi[i] is not None else sound.get("bytes"),
                   "path": sound.get("path"), "features": vector}

    def _decode(self, item: dict[str, Any]) -> Any:
        meta, data = item["meta"], item["data"]
        if data is None and item["path"] is not None:
            data = self._bytes_at(item["path"])
        if meta["kind"] == "midi":
            return decode_midi(data, as_=self.midi, fs=self.fs)
        return decode_audio(data, as_=self.audio, sample_rate=self.sample_rate, mono=self.mono)

    def _bytes_at(self, location: str) -> bytes:
        """Bytes of a sample exported by path (``export.audio: path``): a file, or ``<shard>.tar/<member>``."""
        root = self.folder.parent
        if ".tar/" in location:
            from penta_core.store.access import member_location
            from penta_core.store.tar_shard import read_member

            shard, member = location.split(".tar/", 1)
            offset, size = member_location(root / f"{shard}.tar", member)
            return read_member(root / f"{shard}.tar", offset, size)
        path = root / location
        if not path.is_file():
            raise MissingInput(f"{path} does not exist: an export made with export.audio: path reads audio "
                               "from its dataset folder; read it from there, or export with audio: bytes")
        return path.read_bytes()

    def _target(self, meta: dict[str, Any]) -> Any:
        if self.target == "label_id":
            return meta["label_id"]
        if self.target == "label":
            return meta["label"]
        if self.target == "valence_arousal":
            return np.array([meta["valence"], meta["arousal"]], dtype=np.float32)
        return meta
