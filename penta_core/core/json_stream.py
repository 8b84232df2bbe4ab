"""Read one member of a large JSON object an item at a time, and check that items come sorted.

The index files (``index/*.json``) are one object whose ``"samples"`` member
holds an entry per sample: a list, or an object keyed by sample id. A stage
that merges several of them reads each member an item at a time
(:class:`MemberStream`) instead of parsing whole files, so what it holds does
not grow with the samples. Any valid JSON is read, whatever its layout; the
members before the one streamed are parsed (they are small in every index),
the ones after it are not read at all.

:class:`SortedLookup` answers "the value of key k" for keys asked in
ascending order by walking a stream sorted by key once: a merge join of two
files sorted by id, instead of a dict of one of them.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"
_CHUNK = 1 << 16


class NotSorted(ValueError):
    """Items were not in strictly ascending key order (or a key came twice)."""


class _Cursor:
    """A JSON text read in chunks, decoded a value at a time with the C decoder."""

    def __init__(self, handle: TextIO) -> None:
        self.handle, self.buf, self.pos, self.eof = handle, "", 0, False

    def _more(self, size: int = _CHUNK) -> bool:
        chunk = "" if self.eof else self.handle.read(size)
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _SPACE:
                self.pos += 1
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos:self.pos + 1]

    def take(self, expected: str) -> None:
        if self.peek() != expected:
            raise ValueError(f"JSON: expected {expected!r} at {self.buf[self.pos:self.pos + 40]!r}")
        self.pos += 1

    def value(self) -> Any:
        """The next whole value; more is read until it is complete (a number may go on past the chunk)."""
        self.peek()
        size = _CHUNK
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if not self._more(size):
                    raise
                size *= 2  # a large value is read in growing chunks, not re-decoded per 64 KB
                continue
            if end == len(self.buf) and self._more(size):
                continue
            self.pos = end
            return obj


class MemberStream:
    """The items of member ``key`` of the JSON object in ``path``, one at a time.

    ``found`` says whether the object has the member (``head`` holds the
    members before it, parsed). Iterating gives the items of a list, or the
    ``(key, value)`` pairs of an object, in file order; a member that is
    neither gives itself once. ``tail`` holds the members after it once the
    items have all been read. Iterate once.

    Example
    -------
    >>> stream = MemberStream("index/features.json", "samples")  # doctest: +SKIP
    >>> for sample_id, status in stream: ...  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, key: str) -> None:
        self._handle = open(path, encoding="utf-8")  # noqa: SIM115 (closed when the items run out)
        self._cursor = _Cursor(self._handle)
        self.head: dict[str, Any] = {}
        self.tail: dict[str, Any] = {}  # the members after ``key``, once its items have all been read
        self.found = False
        self.kind = ""
        try:
            self._cursor.take("{")
            while self._cursor.peek() not in ("}", ""):
                name = self._cursor.value()
                self._cursor.take(":")
                if name == key:
                    self.found, self.kind = True, self._cursor.peek()
                    break
                self.head[name] = self._cursor.value()
                if self._cursor.peek() == ",":
                    self._cursor.take(",")
        except BaseException:
            self.close()
            raise
        if not self.found:
            self.close()

    def close(self) -> None:
        self._handle.close()

    def __iter__(self) -> Iterator[Any]:
        if not self.found:
            return
        cursor = self._cursor
        try:
            if self.kind in ("[", "{"):
                close = "]" if self.kind == "[" else "}"
                cursor.take(self.kind)
                while cursor.peek() != close:
                    if self.kind == "[":
                        yield cursor.value()
                    else:
                        name = cursor.value()
                        cursor.take(":")
                        yield name, cursor.value()
                    if cursor.peek() == ",":
                        cursor.take(",")
                    elif cursor.peek() != close:
                        raise ValueError(f"JSON: expected ',' or {close!r} in {self._handle.name}")
                cursor.take(close)
            else:
                yield cursor.value()
            while cursor.peek() == ",":
                cursor.take(",")
                name = cursor.value()
                cursor.take(":")
                self.tail[name] = cursor.value()
        finally:
            self.close()


def read_head(path: str | Path, key: str) -> dict[str, Any]:
    """The JSON object in ``path`` without member ``key``, whose items are read past one at a time."""
    stream = MemberStream(path, key)
    for _ in stream:
        pass
    return {**stream.head, **stream.tail}


def ascending(items: Iterable[Any], key=lambda item: item[0], what: str = "items") -> Iterator[Any]:
    """``items`` unchanged, raising :class:`NotSorted` when a key is not greater than the one before."""
    last = None
    for n, item in enumerate(items):
        k = key(item)
        if n and not last < k:
            raise NotSorted(f"{what}: {k!r} comes after {last!r}")
        last = k
        yield item


class SortedLookup:
    """Values of a ``(key, value)`` stream sorted by key, looked up with keys in ascending order.

    Holds one pair. :meth:`get` with a key smaller than the last one asked
    raises :class:`NotSorted`, as does a stream that is not strictly ascending.

    Example
    -------
    >>> look = SortedLookup(iter([("a", 1), ("c", 3)]))
    >>> look.get("a"), look.get("b"), look.get("c"), look.get("d")
    (1, None, 3, None)
    """

    def __init__(self, pairs: Iterable[tuple[Any, Any]], what: str = "lookup") -> None:
        self._pairs = ascending(pairs, what=what)
        self._what = what
        self._asked = None
        self._current = next(self._pairs, None)
        self.empty = self._current is None

    def get(self, key: Any, default: Any = None) -> Any:
        if self._asked is not None and key < self._asked:
            raise NotSorted(f"{self._what}: asked for {key!r} after {self._asked!r}")
        self._asked = key
        while self._current is not None and self._current[0] < key:
            self._current = next(self._pairs, None)
        if self._current is not None and self._current[0] == key:
            return self._current[1]
        return default
