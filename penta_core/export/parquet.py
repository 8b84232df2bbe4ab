"""``export/<split>.parquet``: one row per sample, readable by pyarrow, pandas and Hugging Face ``datasets``.

Columns: the record fields (:data:`~penta_core.export.records.META_FIELDS`;
``transform`` as JSON text), ``features`` (a fixed-size list of float64, one
value per feature column, null when extraction failed), ``midi`` (the MIDI
file's bytes, null for audio) and ``audio`` (``{bytes, path}``, the layout
of Hugging Face's ``Audio`` feature: FLAC bytes, or with ``export.audio:
path`` the sample's place in the dataset folder; null for MIDI). The file's
metadata names the feature columns and the classes (``penta_core`` key) and
declares ``label_id`` a ``ClassLabel`` for ``datasets`` (``huggingface``
key). Rows follow the split list (sorted by id), in row groups of equal
row counts whose number is a multiple of ``export.workers_multiple``, so
loader workers can share a file by row groups.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from penta_core.core.layout import DatasetLayout
from penta_core.export.records import ExportPlan, ExportSample, payload
from penta_core.store.access import sample_location

ROWS_PER_GROUP = 1000
# A row group is built in memory before it is written: this bounds the memory, and a reader's unit of work.
BYTES_PER_GROUP = 64 << 20


def group_sizes(n_rows: int, n_bytes: int, multiple: int) -> list[int]:
    """Rows per row group: the fewest groups (a multiple of ``multiple``) within the row and byte limits,
    equal to one row, never empty.

    Example
    -------
    >>> group_sizes(10, 100, 4)
    [3, 3, 2, 2]
    """
    if n_rows == 0:
        return []
    needed = max(1, math.ceil(n_rows / ROWS_PER_GROUP), math.ceil(n_bytes / BYTES_PER_GROUP))
    count = min(n_rows, multiple * math.ceil(needed / multiple))
    base, extra = divmod(n_rows, count)
    return [base + 1] * extra + [base] * (count - extra)


def schema(plan: ExportPlan):
    import pyarrow as pa

    hf_features = {
        "id": {"dtype": "string", "_type": "Value"}, "split": {"dtype": "string", "_type": "Value"},
        "kind": {"dtype": "string", "_type": "Value"}, "origin": {"dtype": "string", "_type": "Value"},
        "label": {"dtype": "string", "_type": "Value"},
        "label_id": {"names": plan.classes, "_type": "ClassLabel"},
        "valence": {"dtype": "float64", "_type": "Value"}, "arousal": {"dtype": "float64", "_type": "Value"},
        "group": {"dtype": "string", "_type": "Value"}, "parent": {"dtype": "string", "_type": "Value"},
        "transform": {"dtype": "string", "_type": "Value"}, "sha256": {"dtype": "string", "_type": "Value"},
        "features_status": {"dtype": "string", "_type": "Value"},
        "features": {"feature": {"dtype": "float64", "_type": "Value"}, "length": len(plan.columns),
                     "_type": "Sequence"},
        "midi": {"dtype": "binary", "_type": "Value"},
        # Not declared Audio: decoding would need torchcodec; `cast_column("audio", Audio())` opts in.
        "audio": {"bytes": {"dtype": "binary", "_type": "Value"}, "path": {"dtype": "string", "_type": "Value"}},
    }
    metadata = {
        b"penta_core": json.dumps({"classes": plan.classes, "feature_columns": plan.columns},
                                  separators=(",", ":")).encode(),
        b"huggingface": json.dumps({"info": {"features": hf_features}}, separators=(",", ":")).encode(),
    }
    return pa.schema([
        ("id", pa.string()), ("split", pa.string()), ("kind", pa.string()), ("origin", pa.string()),
        ("label", pa.string()), ("label_id", pa.int64()), ("valence", pa.float64()), ("arousal", pa.float64()),
        ("group", pa.string()), ("parent", pa.string()), ("transform", pa.string()), ("sha256", pa.string()),
        ("features_status", pa.string()),
        ("features", pa.list_(pa.float64(), len(plan.columns))),
        ("midi", pa.binary()),
        ("audio", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ], metadata=metadata)


def _table(layout: DatasetLayout, plan: ExportPlan, rows: list[ExportSample], audio_mode: str):
    import pyarrow as pa

    target = schema(plan)
    width = len(plan.columns)
    columns: dict[str, Any] = {name: [s.meta[name] for s in rows] for name in target.names
                               if name not in ("transform", "features", "midi", "audio")}
    columns["transform"] = [json.dumps(s.meta["transform"], sort_keys=True, separators=(",", ":"))
                            if s.meta["transform"] is not None else None for s in rows]
    flat = np.concatenate([s.features if s.features is not None else np.zeros(width) for s in rows]) \
        if rows else np.zeros(0)
    mask = np.array([s.features is None for s in rows], dtype=bool)
    columns["features"] = pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float64()), width,
                                                            mask=pa.array(mask, pa.bool_()))
    midi, audio = [], []
    for sample in rows:
        if sample.kind == "midi":
            midi.append(payload(plan.reader, sample))
            audio.append(None)
        else:
            midi.append(None)
            audio.append({"bytes": payload(plan.reader, sample), "path": None} if audio_mode == "bytes"
                         else {"bytes": None, "path": sample_location(sample.entry)})
    columns["midi"] = midi
    columns["audio"] = audio
    arrays = [columns[name] if isinstance(columns[name], pa.Array) else pa.array(columns[name], field.type)
              for name, field in zip(target.names, target, strict=True)]
    return pa.Table.from_arrays(arrays, schema=target)


def write_split(layout: DatasetLayout, plan: ExportPlan, split: str, path: Path, *, audio_mode: str,
                multiple: int) -> list[int]:
    """Write ``split`` to ``path`` (a temporary file the caller renames); return the rows per row group."""
    import pyarrow.parquet as pq

    n_rows = plan.count(split)
    sizes = group_sizes(n_rows, plan.approx_bytes(split), multiple)
    with pq.ParquetWriter(path, schema(plan), compression="zstd", write_statistics=True) as writer:
        start = 0
        for size in sizes:  # one row group's records (and bytes) at a time
            writer.write_table(_table(layout, plan, plan.records(split, range(start, start + size)), audio_mode),
                               row_group_size=max(size, 1))
            start += size
        if not n_rows:
            writer.write_table(_table(layout, plan, [], audio_mode))
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())
    return sizes
