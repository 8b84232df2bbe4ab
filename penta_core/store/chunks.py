"""Which samples share a shard: content-defined chunks over sorted groups.

A chunk starts at every group whose hash falls below a threshold, so where
chunks begin depends only on the group keys themselves, never on what else
is in the dataset. Adding or removing samples therefore changes only the
chunk they fall into (and splits or merges it at most), and a clean build
cuts exactly the chunks an incremental build does. A group (say a parent
and its variants) never straddles two chunks.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def starts_chunk(group: str, groups_per_chunk: float) -> bool:
    """Whether ``group`` opens a new chunk: true for about one group in ``groups_per_chunk``."""
    value = int.from_bytes(hashlib.sha256(group.encode("utf-8")).digest()[:8], "big")
    return value < 2**64 / max(groups_per_chunk, 1.0)


def chunk(items: Sequence[T], group_of: Callable[[T], str], *, groups_per_chunk: float,
          max_items: int) -> list[list[T]]:
    """Cut ``items`` (sorted so each group's items are adjacent) into chunks of whole groups.

    Parameters
    ----------
    items : sorted by group, then by id.
    group_of : the group key of an item.
    groups_per_chunk : mean number of groups per chunk.
    max_items : a chunk that would grow past this is cut at the next group
        boundary, so one unlucky run of hashes cannot make a giant shard.

    Returns
    -------
    list of lists : the chunks, in order.

    Example
    -------
    >>> [len(c) for c in chunk(list("aabbcc"), str, groups_per_chunk=1, max_items=10)]
    [2, 2, 2]
    """
    return list(iter_chunks(items, group_of, groups_per_chunk=groups_per_chunk, max_items=max_items))


def iter_chunks(items: Iterable[T], group_of: Callable[[T], str], *, groups_per_chunk: float,
                max_items: int) -> Iterator[list[T]]:
    """:func:`chunk` one chunk at a time: ``items`` is read as the chunks are taken, never all held."""
    current: list[T] = []
    previous: str | None = None
    for item in items:
        group = group_of(item)
        if group != previous:
            if previous is not None and group < previous:
                raise ValueError(f"items are not sorted by group: {group!r} after {previous!r}")
            if current and (starts_chunk(group, groups_per_chunk) or len(current) >= max_items):
                yield current
                current = []
            previous = group
        current.append(item)
    if current:
        yield current
