"""Read a sample's bytes wherever it lives: a plain file under the dataset, or a member of a shard."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.store.tar_shard import read_member


@lru_cache(maxsize=256)
def _catalogue(sidecar: str, mtime_ns: int) -> dict[str, tuple[int, int]]:
    record = read_json(sidecar)
    return {m["name"]: (m["offset"], m["size"]) for m in record["members"]}


def member_location(shard: Path, member: str) -> tuple[int, int]:
    """``(offset, size)`` of ``member`` in ``shard``, from the shard's catalogue."""
    sidecar = shard.with_suffix(".json")
    try:
        where = _catalogue(str(sidecar), sidecar.stat().st_mtime_ns)
    except (OSError, ValueError, KeyError) as err:
        raise FileNotFoundError(f"no readable catalogue beside shard {shard.name}: {err}") from None
    if member not in where:
        raise FileNotFoundError(f"shard {shard.name} holds no member {member}")
    return where[member]


def is_packed(sample: dict[str, Any]) -> bool:
    return "shard" in sample


def sample_bytes(layout: DatasetLayout, sample: dict[str, Any]) -> bytes:
    """The bytes of ``sample`` (a manifest or index entry) of the dataset at ``layout``.

    Example
    -------
    >>> data = sample_bytes(layout, manifest["samples"][0])  # doctest: +SKIP
    """
    if is_packed(sample):
        shard = layout.abs(sample["shard"])
        offset, size = member_location(shard, sample["member"])
        return read_member(shard, offset, size)
    return layout.abs(sample["path"]).read_bytes()


def sample_exists(layout: DatasetLayout, sample: dict[str, Any]) -> bool:
    """Whether the sample's file, or its shard and member, are there."""
    if is_packed(sample):
        try:
            member_location(layout.abs(sample["shard"]), sample["member"])
        except FileNotFoundError:
            return False
        return layout.abs(sample["shard"]).is_file()
    return layout.abs(sample["path"]).is_file()


def sample_location(sample: dict[str, Any]) -> str:
    """Where a sample lives, for people and for matching: its path, or ``<shard>/<member>`` when packed.

    The suffix is the sample's own (``.mid``, ``.flac``) either way.
    """
    return f"{sample['shard']}/{sample['member']}" if is_packed(sample) else sample["path"]
