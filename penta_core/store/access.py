"""Read a sample's bytes wherever it lives: a plain file under the dataset, or a member of a shard."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.store.tar_shard import read_member


@lru_cache(maxsize=256)
def _catalogue(sidecar: str, mtime_ns: int) -> dict[str, tuple[int, int]]:
    record = read_json(sidecar)
    return {m["name"]: (m["offset"], m["size"]) for m in record["members"]}


def shard_catalogue(shard: str | os.PathLike) -> dict[str, tuple[int, int]]:
    """``{member: (offset, size)}`` of every member of ``shard``, from the catalogue beside it.

    Raises
    ------
    FileNotFoundError : the catalogue is missing or cannot be read.
    """
    shard = Path(shard)
    sidecar = shard.with_suffix(".json")
    try:
        return _catalogue(str(sidecar), sidecar.stat().st_mtime_ns)
    except (OSError, ValueError, KeyError) as err:
        raise FileNotFoundError(f"no readable catalogue beside shard {shard.name}: {err}") from None


def member_location(shard: Path, member: str) -> tuple[int, int]:
    """``(offset, size)`` of ``member`` in ``shard``, from the shard's catalogue."""
    where = shard_catalogue(shard)
    if member not in where:
        raise FileNotFoundError(f"shard {shard.name} holds no member {member}")
    return where[member]


class SampleLocator:
    """:func:`member_location` and :func:`sample_where` for every sample of a run, each shard looked up once.

    Those functions check the shard's catalogue on disk at every call (a
    ``stat`` and a few paths, tens of µs a sample); a stage that locates all
    of a dataset's samples while it holds the dataset's lock, so that no
    shard changes meanwhile, asks this instead. Same answers, same errors.

    Example
    -------
    >>> locate = SampleLocator(layout)  # doctest: +SKIP
    >>> locate.where(sample)  # doctest: +SKIP
    ('/data/ds/processed/variants/variants-0a1b.tar', 1536, 812, 'happy/a.v1.mid')
    """

    def __init__(self, layout: DatasetLayout) -> None:
        self.layout = layout
        # shard as the index names it -> (absolute path text, its catalogue or why it has none)
        self._shards: dict[str, tuple[str, str, dict[str, tuple[int, int]] | str]] = {}

    def _shard(self, rel: str) -> tuple[str, str, dict[str, tuple[int, int]] | str]:
        found = self._shards.get(rel)
        if found is None:
            shard = self.layout.abs(rel)
            try:
                catalogue: dict[str, tuple[int, int]] | str = shard_catalogue(shard)
            except FileNotFoundError as err:
                catalogue = str(err)
            found = self._shards[rel] = (str(shard), shard.name, catalogue)
        return found

    def member_location(self, rel: str, member: str) -> tuple[int, int]:
        """:func:`member_location` of ``member`` in the shard at ``rel`` (relative to the dataset)."""
        _, name, catalogue = self._shard(rel)
        if isinstance(catalogue, str):
            raise FileNotFoundError(catalogue)
        if member not in catalogue:
            raise FileNotFoundError(f"shard {name} holds no member {member}")
        return catalogue[member]

    def where(self, sample: dict[str, Any]) -> tuple:
        """:func:`sample_where` of ``sample``."""
        if is_packed(sample):
            return (self._shard(sample["shard"])[0], *self.member_location(sample["shard"], sample["member"]),
                    sample["member"])
        return (str(self.layout.abs(sample["path"])),)


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


def sample_path(sample: dict[str, Any]) -> str:
    """The path a sample has as a plain file: its own, or its shard's folder joined with its member.

    A packed original ``raw/midi/midi-<digest>.tar`` member ``happy/a.mid`` is
    ``raw/midi/happy/a.mid``, where it lies when originals are not packed.
    """
    if is_packed(sample):
        return (PurePosixPath(sample["shard"]).parent / sample["member"]).as_posix()
    return sample["path"]


def sample_where(layout: DatasetLayout, sample: dict[str, Any]) -> tuple:
    """What a worker needs to read a sample without the dataset's catalogues.

    ``(path,)`` for a plain file, ``(shard path, offset, size, member name)`` for a member.
    """
    if is_packed(sample):
        shard = layout.abs(sample["shard"])
        return (str(shard), *member_location(shard, sample["member"]), sample["member"])
    return (str(layout.abs(sample["path"])),)


def read_where(where: tuple) -> bytes:
    """The bytes :func:`sample_where` points at."""
    return Path(where[0]).read_bytes() if len(where) == 1 else read_member(where[0], where[1], where[2])


@contextlib.contextmanager
def where_as_file(where: tuple, data: bytes) -> Iterator[str]:
    """A file path holding ``data`` for decoders that want one: the file itself, or a temporary copy of a member."""
    if len(where) == 1:
        yield where[0]
        return
    with tempfile.NamedTemporaryFile(suffix=PurePosixPath(where[3]).suffix) as handle:
        handle.write(data)
        handle.flush()
        yield handle.name
