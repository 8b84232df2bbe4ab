"""Packed samples back as plain files: one sample, a split or the whole version, in a folder of your choice.

A plain sample keeps its path (``raw/midi/happy/a.mid``); a packed one goes
where its shard's folder and member name put it
(``processed/augmented/midi/happy/a_aug001.mid``), which is the layout the
dataset had before samples were packed. Every file is checked against the
sha256 the manifest records before it is written, and written atomically.
"""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from penta_core.core.errors import InputError
from penta_core.core.io import atomic_write_bytes, sha256_bytes
from penta_core.core.layout import DatasetLayout
from penta_core.store.access import sample_bytes, sample_path


def materialized_path(sample: dict[str, Any]) -> str:
    """Where ``sample`` goes below the target folder (relative, forward slashes)."""
    return sample_path(sample)


def materialize(layout: DatasetLayout, samples: list[dict[str, Any]], dest: str | os.PathLike) -> list[Path]:
    """Write each of ``samples`` (manifest or index entries) as a plain file below ``dest``.

    Parameters
    ----------
    layout : the dataset the samples belong to.
    samples : entries with ``sha256`` and either ``path`` or ``shard`` and ``member``.
    dest : the target folder (created when missing); existing files with the same bytes are left alone.

    Returns
    -------
    list of Path : the files, in the order of ``samples``.

    Raises
    ------
    InputError : a sample's bytes do not match its recorded sha256, or its path leaves ``dest``.

    Example
    -------
    >>> materialize(layout, [manifest_entry], "out")  # doctest: +SKIP
    [PosixPath('out/processed/augmented/midi/happy/a_aug001.mid')]
    """
    root = Path(dest)
    written = []
    for sample in samples:
        rel = PurePosixPath(materialized_path(sample))
        if rel.is_absolute() or ".." in rel.parts:
            raise InputError(f"sample {sample['id']}: its path {rel} would leave {root}")
        data = sample_bytes(layout, sample)
        if sha256_bytes(data) != sample["sha256"]:
            raise InputError(f"sample {sample['id']}: its bytes do not match the sha256 the manifest records; "
                             "rerun the stage that made it")
        target = root / rel
        if not (target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data):
            atomic_write_bytes(target, data)
        written.append(target)
    return written
