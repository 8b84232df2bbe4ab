"""Write the exports of a version, redoing only the splits (and formats) whose records changed.

``export/export.json`` is the catalogue: the classes, the feature columns,
and per file its format, split, sha256, size, sample count and the key it
was made under (a hash of the split's records, the format's params, the
code that writes it and the libraries that shape its bytes). A file is kept
while its key matches and its bytes still hash to the catalogue's sha256;
otherwise the split is written again in that format, and a file whose new
bytes equal the old ones is left untouched. Files no current export owns
are deleted, so an incremental run ends with the files of a clean one.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from penta_core.core.io import TMP_PREFIX, atomic_write_bytes, dumps_json, read_json, sha256_file
from penta_core.core.layout import DatasetLayout
from penta_core.engine.fingerprint import library_versions, source_digest
from penta_core.engine.incremental import cache_key, sweep
from penta_core.engine.statcache import HashCache
from penta_core.export import lmdb_store, parquet, webdataset
from penta_core.export.arrow_memory import system_memory_pool
from penta_core.export.card import card_text
from penta_core.export.records import ExportPlan, plan_export
from penta_core.splits.lists import SPLITS

FORMATS = ("parquet", "webdataset", "lmdb")
CATALOGUE = "export.json"
CARD = "README.md"
# Modules and libraries whose change may change an export's bytes.
CODE = ("penta_core.export.records", "penta_core.export.parquet", "penta_core.export.webdataset",
        "penta_core.export.lmdb_store", "penta_core.export.sample_reader", "penta_core.store.access",
        "penta_core.store.tar_shard")
LIBRARIES = {"parquet": ("pyarrow", "numpy", "soundfile"), "webdataset": ("numpy", "soundfile"),
             "lmdb": ("lmdb", "numpy", "soundfile")}


def export_dir(layout: DatasetLayout) -> Path:
    return layout.root / "export"


def _key(fmt: str, split: str, plan: ExportPlan, params: dict[str, Any]) -> str:
    opts = params["export"]
    fmt_params = {"parquet": {"audio": opts["audio"], "workers_multiple": opts["workers_multiple"]},
                  "webdataset": {"seed": params["seed"], "shard_mb": opts["shard_mb"],
                                 "workers_multiple": opts["workers_multiple"]},
                  "lmdb": {}}[fmt]
    return cache_key({"format": fmt, "split": split, "records": plan.split_digest(split), "params": fmt_params,
                      "code": source_digest(CODE), "libraries": library_versions(LIBRARIES[fmt])})


def _intact(folder: Path, files: dict[str, dict[str, Any]], hashes: HashCache) -> bool:
    for name, entry in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != entry["size"] or hashes.sha256(path) != entry["sha256"]:
            return False
    return True


def _commit(tmp: Path, dest: Path) -> bool:
    """Move the finished ``tmp`` to ``dest`` unless ``dest`` holds the same bytes; whether it was written."""
    if dest.is_file() and dest.stat().st_size == tmp.stat().st_size and sha256_file(dest) == sha256_file(tmp):
        tmp.unlink()
        return False
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)
    return True


def _via_temp(dest: Path, make: Callable[[Path], Any]) -> tuple[Any, bool]:
    """Call ``make(tmp)`` on a fresh temporary path beside ``dest``, then :func:`_commit` it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TMP_PREFIX, dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # the writers create the file themselves (LMDB refuses an existing empty one)
    try:
        result = make(tmp)
        return result, _commit(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_bytes(dest: Path, data: bytes) -> bool:
    if dest.is_file() and dest.stat().st_size == len(data) and dest.read_bytes() == data:
        return False
    atomic_write_bytes(dest, data)
    return True


def _build(fmt: str, split: str, layout: DatasetLayout, plan: ExportPlan, params: dict[str, Any],
           folder: Path, hashes: HashCache) -> tuple[dict[str, dict[str, Any]], int]:
    """Write one split in one format; return its catalogue entries and how many files were written."""
    opts = params["export"]
    files: dict[str, dict[str, Any]] = {}
    written = 0
    if fmt == "parquet":
        name = f"{split}.parquet"
        sizes, wrote = _via_temp(folder / name, lambda tmp: parquet.write_split(
            layout, plan, split, tmp, audio_mode=opts["audio"], multiple=opts["workers_multiple"]))
        files[name] = {"samples": plan.count(split), "row_groups": sizes}
        written += wrote
    elif fmt == "webdataset":
        shards = webdataset.plan_split(plan, split, seed=params["seed"], shard_mb=opts["shard_mb"],
                                       multiple=opts["workers_multiple"])
        for index, members in enumerate(shards):
            name = f"{webdataset.FOLDER}/{webdataset.shard_name(split, index)}"
            _, wrote = _via_temp(folder / name, lambda tmp, members=members: webdataset.write_shard(
                layout, plan, split, members, tmp))
            written += wrote
            files[name] = {"samples": len(members)}
    else:
        name = f"{split}.lmdb"
        count, wrote = _via_temp(folder / name, lambda tmp: lmdb_store.write_split(layout, plan, split, tmp))
        files[name] = {"samples": count}
        written += wrote
    for name, entry in files.items():
        path = folder / name
        entry.update({"sha256": hashes.sha256(path), "size": path.stat().st_size})
    return files, written


def export_dataset(layout: DatasetLayout, params: dict[str, Any]) -> dict[str, Any]:
    """Bring ``export/`` up to date with the version at ``layout``.

    Parameters
    ----------
    layout : a built dataset (manifest, split lists, feature table).
    params : validated params (``seed``, ``split.*``, ``export.*``).

    Returns
    -------
    dict : ``rebuilt`` and ``kept`` ``(format, split)`` pairs, ``files_written``, ``removed``
        (stale files deleted), ``counts`` (samples per split) and ``folder``.
    """
    folder = export_dir(layout)
    # Unchanged exports are verified by stat, not read again (hundreds of MB at scale).
    hashes = HashCache(layout.hash_cache(folder, "export"), base=folder)
    with system_memory_pool(), plan_export(layout) as plan:
        return _export(layout, params, plan, folder, hashes)


def _export(layout: DatasetLayout, params: dict[str, Any], plan: ExportPlan, folder: Path,
            hashes: HashCache) -> dict[str, Any]:
    old = read_catalogue(folder).get("exports", {})
    exports: dict[str, dict[str, Any]] = {}
    rebuilt, kept, written = [], [], 0
    formats = [f for f in FORMATS if f in params["export"]["formats"]]
    for fmt in formats:
        exports[fmt] = {}
        for split in SPLITS:
            key = _key(fmt, split, plan, params)
            previous = old.get(fmt, {}).get(split, {})
            if previous.get("key") == key and _intact(folder, previous.get("files", {}), hashes):
                exports[fmt][split] = previous
                kept.append((fmt, split))
                continue
            files, wrote = _build(fmt, split, layout, plan, params, folder, hashes)
            exports[fmt][split] = {"key": key, "files": files}
            written += wrote
            rebuilt.append((fmt, split))
    catalogue = {
        "classes": plan.classes,
        "feature_columns": plan.columns,
        "formats": formats,
        "splits": {split: {"samples": plan.count(split)} for split in SPLITS},
        "exports": exports,
    }
    _write_bytes(folder / CATALOGUE, dumps_json(catalogue).encode("utf-8"))
    _write_bytes(folder / CARD, card_text(layout, plan, params, catalogue).encode("utf-8"))
    owned = {name for per_split in exports.values() for entry in per_split.values() for name in entry["files"]}
    removed = sweep(folder, owned | {CATALOGUE, CARD})
    hashes.save(owned)
    return {"rebuilt": rebuilt, "kept": kept, "files_written": written, "removed": removed,
            "counts": {split: plan.count(split) for split in SPLITS}, "folder": folder}


def read_catalogue(folder: str | os.PathLike) -> dict[str, Any]:
    """``export.json`` of the export folder ``folder``; empty when it is missing or unreadable."""
    path = Path(folder) / CATALOGUE
    try:
        return read_json(path) if path.is_file() else {}
    except ValueError:  # torn or edited: every export is made again
        return {}
