"""What an export holds: per split, one record per sample, built from the version's own files.

A record joins what the manifest says about a sample (label, valence and
arousal, group, origin, parent, transform, sha256), its row of the feature
table, and the sample's bytes: MIDI as stored, audio as FLAC (a FLAC sample
keeps its bytes; WAV, OGG and MP3 are re-encoded losslessly from what they
decode to). Every format writes the same records, in the order and with the
fields documented here, so a trainer can move between formats freely.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from penta_core.core.errors import InputError, MissingInput
from penta_core.core.io import read_json, sha256_bytes
from penta_core.core.layout import DatasetLayout
from penta_core.export.record_file import RecordFile
from penta_core.export.sample_reader import SampleReader
from penta_core.features.table import FeatureRowsFile
from penta_core.manifest.load import iter_samples
from penta_core.splits.lists import SPLITS, read_splits
from penta_core.store.access import is_packed, sample_location

# The split names a dataset hub expects (``validation``, not ``val``), used in the card's configs.
HUB_SPLITS = {"train": "train", "val": "validation", "test": "test"}
# Suffix of the sample's bytes in every format: MIDI as stored, audio always FLAC.
SUFFIX = {"midi": "mid", "audio": "flac"}
# Fields of a record's JSON part, in the order the Parquet columns take.
META_FIELDS = ("id", "split", "kind", "origin", "label", "label_id", "valence", "arousal", "group", "parent",
               "transform", "sha256", "features_status")
# json.dumps with options builds an encoder per call; these are built once (same options, same bytes).
_DIGEST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_RECORD_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True)
class ExportSample:
    """One sample of one split, everything but its bytes (read on demand by :func:`payload`)."""

    meta: dict[str, Any]
    features: np.ndarray | None  # float64, one value per feature column; None when extraction failed
    entry: dict[str, Any]  # where the bytes are: the manifest entry's "path", or its "shard" and "member"

    @property
    def id(self) -> str:
        return self.meta["id"]

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    def digest(self) -> str:
        """Hash of everything the sample contributes to an export but its bytes (named by ``sha256``)."""
        h = hashlib.sha256(_DIGEST_JSON.encode(self.meta).encode("utf-8"))
        h.update(b"\0" if self.features is None else self.features.astype("<f8").tobytes())
        return h.hexdigest()


# Records built at once while a split is read or written: bounds what a writer holds besides its own output.
BATCH = 1000


@dataclass
class SplitStats:
    """What the card and the catalogue say about a split, counted while its records were planned."""

    count: int
    digest: str
    labels: Counter
    origins: Counter
    kinds: Counter
    no_features: int


class ExportPlan:
    """The records of every split, built on demand, and what they share: class names and feature columns.

    The manifest is read once, by :func:`plan_export`: the dozen fields a
    record takes from each exported sample's entry are kept in a
    :class:`~penta_core.export.record_file.RecordFile` on disk, with its row
    of the feature table; a record is read back when a writer asks for it
    (:meth:`records`), so the export holds a batch of records at a time, not
    the version. The samples' bytes come through :attr:`reader`. Close the
    plan (or use it as a context manager) to drop its temporary files and the
    open shards.
    """

    def __init__(self, layout: DatasetLayout, classes: list[str], features: FeatureRowsFile,
                 ids: dict[str, list[str]], kept: RecordFile, numbers: dict[str, np.ndarray]) -> None:
        self.layout = layout
        self.classes = classes
        self.columns = list(features.columns)
        self.ids = ids
        self._features, self._kept, self._numbers = features, kept, numbers
        self._class_id = {name: i for i, name in enumerate(classes)}
        self._approx: dict[str, int] = {}
        self.stats: dict[str, SplitStats] = {}
        self.reader = SampleReader(layout)
        try:
            self.stats = {split: self._stats(split) for split in ids}
        except BaseException:
            self.close()
            raise

    def count(self, split: str) -> int:
        return len(self.ids[split])

    def split_digest(self, split: str) -> str:
        """Hash of a split's records (not its bytes: those are named by each record's sha256)."""
        return self.stats[split].digest

    def records(self, split: str, indices: Iterable[int]) -> list[ExportSample]:
        """The records at ``indices`` of the split's list, in that order."""
        numbers = self._numbers[split]
        return [self._sample(split, kept) for kept in self._kept.read([int(numbers[int(i)]) for i in indices])]

    def _sample(self, split: str, kept: tuple) -> ExportSample:
        """The record of ``split`` made of what :func:`kept_fields` kept of the sample."""
        sid, kind, origin, label, valence, arousal, group, parent, transform, sha256, row, where = kept
        meta = {
            "id": sid, "split": split, "kind": kind, "origin": origin, "label": label,
            "label_id": self._class_id[label] if label is not None else -1,
            "valence": valence, "arousal": arousal, "group": group, "parent": parent, "transform": transform,
            "sha256": sha256, "features_status": "ok" if row >= 0 else "missing",
        }
        entry = {"path": where[0]} if len(where) == 1 else {"shard": where[0], "member": where[1]}
        return ExportSample(meta, self._features.row(row) if row >= 0 else None, entry)

    def iter_records(self, split: str, order: Iterable[int] | None = None) -> Iterator[ExportSample]:
        """The split's records in ``order`` (indices into its list; list order when ``None``), a batch at a time."""
        order = range(self.count(split)) if order is None else order
        batch: list[int] = []
        for i in order:
            batch.append(i)
            if len(batch) == BATCH:
                yield from self.records(split, batch)
                batch = []
        yield from self.records(split, batch)

    def approx_bytes(self, split: str, per_sample: int = 0) -> int:
        """The split's samples' sizes as stored (:func:`approx_size`), plus ``per_sample`` each."""
        if split not in self._approx:
            self._approx[split] = sum(approx_size(self.reader, s) for s in self.iter_records(split))
        return self._approx[split] + per_sample * self.count(split)

    def _stats(self, split: str) -> SplitStats:
        h = hashlib.sha256(json.dumps([self.classes, self.columns]).encode("utf-8"))
        labels: Counter = Counter()
        origins: Counter = Counter()
        kinds: Counter = Counter()
        no_features = 0
        size: int | None = 0  # the samples' sizes, while every one can be found (else counted again when needed)
        for sample in self.iter_records(split):
            h.update(sample.digest().encode("ascii"))
            if size is not None:
                try:
                    size += approx_size(self.reader, sample)
                except MissingInput:
                    size = None
            labels[sample.meta["label"]] += 1
            origins[sample.meta["origin"]] += 1
            kinds[sample.kind] += 1
            no_features += sample.features is None
        if size is not None:
            self._approx[split] = size
        return SplitStats(self.count(split), h.hexdigest(), labels, origins, kinds, no_features)

    def close(self) -> None:
        self._features.close()
        self._kept.close()
        self.reader.close()

    def __enter__(self) -> ExportPlan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def class_names(layout: DatasetLayout, labels: Iterable[str | None]) -> list[str]:
    """The label vocabulary of the target model, in its own order, then any other label found (sorted).

    The vocabulary comes from the annotate stage's record, so ``label_id`` stays
    the same for a label across versions whatever labels a version happens to hold.
    """
    path = layout.index("annotated")
    names = list(read_json(path).get("summary", {}).get("labels", [])) if path.exists() else []
    extra = sorted({label for label in labels if label is not None} - set(names))
    return names + extra


def kept_fields(entry: dict[str, Any], row: int) -> tuple:
    """What a record takes from a manifest entry: id, kind, origin, label, valence, arousal, group, parent,
    transform, sha256, the feature table's ``row`` (-1: none), and where its bytes are (a path, or a shard
    and a member)."""
    where = (entry["shard"], entry["member"]) if is_packed(entry) else (entry["path"],)
    return (entry["id"], entry["kind"], entry["origin"], entry.get("label"), entry.get("valence"),
            entry.get("arousal"), entry["group"], entry.get("parent"), entry.get("transform"), entry["sha256"],
            row, where)


def plan_export(layout: DatasetLayout) -> ExportPlan:
    """The records of each split of the built version at ``layout`` (an :class:`ExportPlan`; close it).

    Raises
    ------
    MissingInput : the manifest, the split lists or the feature table are missing.
    InputError : a split lists a sample the manifest does not hold, or an id that cannot name a file.
    """
    lists = read_splits(layout)
    features = FeatureRowsFile(layout)
    kept = RecordFile(layout.root)
    try:
        listed: dict[str, list[tuple[str, int]]] = {}  # id -> its places (split, index) in the split lists
        for split in SPLITS:
            for i, sid in enumerate(lists[split]):
                listed.setdefault(sid, []).append((split, i))
        numbers = {split: np.full(len(lists[split]), -1, np.int64) for split in SPLITS}
        labels: set[str | None] = set()
        for entry in iter_samples(layout):  # one pass over the manifest, a sample at a time
            labels.add(entry.get("label"))
            places = listed.get(entry["id"])
            if places is None:
                continue
            row = features.position(entry["id"])
            for split, i in places:  # an id the manifest holds twice: its last entry, as a dict of the samples
                numbers[split][i] = len(kept)
            kept.append(kept_fields(entry, -1 if row is None else row))
        del listed
        kept.seal()
        for split in SPLITS:
            for sid, number in zip(lists[split], numbers[split].tolist(), strict=True):
                if number < 0:
                    raise InputError(f"splits/{split}.txt lists {sid}, which manifest.json does not hold; "
                                     "run the splits stage again")
                if "." in sid or "/" in sid:
                    raise InputError(f"sample id {sid!r} holds '.' or '/', which WebDataset keys cannot")
        return ExportPlan(layout, class_names(layout, labels), features, {split: lists[split] for split in SPLITS},
                          kept, numbers)
    except BaseException:
        features.close()
        kept.close()
        raise


def approx_size(reader: SampleReader, sample: ExportSample) -> int:
    """The sample's size in bytes as stored (audio re-encoded to FLAC comes out about this size or smaller)."""
    entry = sample.entry
    try:
        return reader.size(entry)
    except OSError as err:
        raise MissingInput(f"sample {sample.id}: {sample_location(entry)} cannot be read ({err}); "
                           "run dvc checkout or the stage that made it") from None


def payload(reader: SampleReader, sample: ExportSample) -> bytes:
    """The bytes a format stores for ``sample`` (read by ``reader``, the plan's): MIDI as stored, audio as
    FLAC; checked against the manifest.

    Raises
    ------
    InputError : the bytes do not match the manifest's sha256.
    MissingInput : the sample's file or shard is gone.
    """
    try:
        data = reader.read(sample.entry)
    except (OSError, ValueError) as err:
        raise MissingInput(f"sample {sample.id}: {sample_location(sample.entry)} cannot be read ({err}); "
                           "run dvc checkout or the stage that made it") from None
    if sha256_bytes(data) != sample.meta["sha256"]:
        raise InputError(f"sample {sample.id}: its bytes do not match the sha256 the manifest records; "
                         "rerun the stage that made it")
    if sample.kind == "audio" and not data.startswith(b"fLaC"):
        data = to_flac(data)
    return data


def to_flac(data: bytes) -> bytes:
    """Audio bytes (WAV, OGG, MP3, ...) as FLAC, without loss of what they decode to.

    16-bit (and 8-bit) PCM stays 16-bit; anything finer (24/32-bit PCM, float,
    lossy codecs) becomes 24-bit, FLAC's finest common depth. Encoding is
    deterministic for a given libFLAC.
    """
    import soundfile as sf

    info = sf.info(io.BytesIO(data))
    exact = info.subtype in ("PCM_16", "PCM_S8", "PCM_U8")
    samples, rate = sf.read(io.BytesIO(data), dtype="int16" if exact else "float64", always_2d=True)
    if not exact:
        samples = np.clip(samples, -1.0, 1.0 - 2.0 ** -23)
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="FLAC", subtype="PCM_16" if exact else "PCM_24")
    return buffer.getvalue()


def record_json(sample: ExportSample) -> bytes:
    """The record's JSON part (every field of :data:`META_FIELDS`), compact, sorted keys, UTF-8."""
    return _RECORD_JSON.encode(sample.meta).encode("utf-8")


def features_npy(features: np.ndarray) -> bytes:
    """A feature vector as ``.npy`` bytes (float64, little-endian): ``numpy.load`` reads it back.

    The bytes ``numpy.save`` writes for a 1-D vector: its header (the same for
    every vector of a length), then the values.
    """
    values = np.ascontiguousarray(features, dtype="<f8")
    if values.ndim != 1:
        buffer = io.BytesIO()
        np.save(buffer, values, allow_pickle=False)
        return buffer.getvalue()
    return _npy_header(len(values)) + values.tobytes()


@lru_cache(maxsize=8)
def _npy_header(length: int) -> bytes:
    """What ``numpy.save`` writes before the values of a float64 vector of ``length`` values."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(length, dtype="<f8"), allow_pickle=False)
    return buffer.getvalue()[:buffer.tell() - 8 * length]


def order_key(seed: int, sample_id: str) -> int:
    """Where a sample falls in a split's shuffled order: a 64-bit hash of ``(seed, id)``.

    The order of existing samples never changes when others are added.
    """
    return int.from_bytes(hashlib.sha256(f"{seed}\0{sample_id}".encode()).digest()[:8], "big")
