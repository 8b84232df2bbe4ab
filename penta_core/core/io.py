"""Atomic, deterministic file output and content hashing.

Every file the pipeline writes goes through :func:`atomic_write_bytes`: the
bytes land in a temporary file in the destination folder and are renamed into
place, so a killed process leaves either the old file or the new one, never a
half-written one.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from penta_core.core.errors import OutputError

TMP_PREFIX = ".penta-tmp-"
# Failures the user fixes outside the program (permissions, a read-only or full
# disk); any other OSError is left as it is for the caller to judge.
_UNWRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT})


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then rename).

    Raises
    ------
    OutputError : the folder cannot be written (permission denied, read-only or full disk);
        its ``errno`` is the system's.
    """
    return atomic_write_with(path, lambda handle: handle.write(data))


def atomic_write_with(path: str | os.PathLike, fill: Callable[[BinaryIO], Any]) -> Path:
    """:func:`atomic_write_bytes` of what ``fill(handle)`` writes to the temporary file's handle.

    For a large file made in pieces, so it is never one ``bytes`` in memory.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    except OSError as err:
        if (wrapped := output_error(err, path)) is not None:
            raise wrapped from err
        raise
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and (wrapped := output_error(err, path)) is not None:
            raise wrapped from err
        raise
    return path


def output_error(err: OSError, path: str | os.PathLike) -> OutputError | None:
    """``err`` as an :class:`OutputError` naming ``path`` when the user can fix it, else ``None``."""
    if err.errno not in _UNWRITABLE:
        return None
    wrapped = OutputError(f"cannot write '{os.fspath(path)}': {err.strerror or err}; "
                          "free space or fix the folder's permissions and run again")
    wrapped.errno = err.errno
    return wrapped


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


# A nested container whose one-line form fits in this many characters is written on one
# line, and so is every item of a list (one sample, one member, one failure a line): small
# files read like indented JSON, large ones one record a line. Python's json indents in pure
# Python; the one-line parts go through its C encoder, twice as fast on a large manifest.
INLINE_WIDTH = 100
_COMPACT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return _COMPACT.encode(key)
    whole = _COMPACT.encode({key: 0})  # non-string keys become strings exactly as json does it
    return whole[1:whole.rindex(": ")]


class StreamedList:
    """A list whose items come from an iterable as they are written (:func:`write_json_streamed`).

    Written exactly as the list of the same items, one item a line; the items are never all held.
    """

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


class StreamedDict:
    """An object whose ``(key, value)`` pairs come from an iterable, in ascending key order, as they
    are written (:func:`write_json_streamed`): the bytes of the dict of the same pairs."""

    def __init__(self, pairs: Iterable[tuple[str, Any]]) -> None:
        self.items = pairs


class Deferred:
    """A value computed when the writer reaches it: e.g. a summary of a :class:`StreamedList`
    that sorts after it (keys are written in sorted order)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def _dump_streamed(obj: StreamedList | StreamedDict, depth: int, in_list: bool, out: list[str]) -> None:
    # A container of fewer than INLINE_WIDTH / 3 items may fit on one line: those are held and written
    # as _dump writes them; a longer one never fits and goes one item a line as the items come.
    items = iter(obj.items)
    head = list(itertools.islice(items, INLINE_WIDTH // 3 + 1))
    is_dict = isinstance(obj, StreamedDict)
    if in_list or len(head) <= INLINE_WIDTH // 3:
        _dump(dict(head) if is_dict else [*head, *items], depth, in_list, out)  # items: left only if in_list
        return
    pad, end = "  " * (depth + 1), "  " * depth
    out.append("{\n" if is_dict else "[\n")
    last = None
    for i, item in enumerate(itertools.chain(head, items)):
        out.append(f",\n{pad}" if i else pad)
        if is_dict:
            key, value = item
            if i and not last < key:  # dumps_json writes a dict's items sorted
                raise ValueError(f"StreamedDict: key {key!r} after {last!r} (keys must ascend)")
            last = key
            out.append(f"{_key_text(key)}: ")
            _dump(value, depth + 1, False, out)
        else:
            _dump(item, depth + 1, True, out)
    out.append(f"\n{end}}}" if is_dict else f"\n{end}]")


def _dump(obj: Any, depth: int, in_list: bool, out: list[str]) -> None:
    if isinstance(obj, Deferred):
        obj = obj.make()
    if isinstance(obj, StreamedList | StreamedDict):
        _dump_streamed(obj, depth, in_list, out)
        return
    if not isinstance(obj, dict | list | tuple) or not obj:
        out.append(_COMPACT.encode(obj))
        return
    # A container of n items is at least 3n characters on one line ("[1, 2]"): one that cannot fit
    # is not encoded just to measure it (the samples list of a manifest would be one 23 MB string).
    if depth and (in_list or 3 * len(obj) <= INLINE_WIDTH):
        text = _COMPACT.encode(obj)
        if in_list or len(text) <= INLINE_WIDTH:
            out.append(text)
            return
    pad, end = "  " * (depth + 1), "  " * depth
    if isinstance(obj, dict):
        out.append("{\n")
        for i, (key, value) in enumerate(sorted(obj.items())):
            out.append(f",\n{pad}{_key_text(key)}: " if i else f"{pad}{_key_text(key)}: ")
            _dump(value, depth + 1, False, out)
        out.append(f"\n{end}}}")
        return
    out.append("[\n")
    for i, value in enumerate(obj):
        out.append(f",\n{pad}" if i else pad)
        _dump(value, depth + 1, True, out)
    out.append(f"\n{end}]")


def dumps_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, UTF-8, two-space indent, trailing newline.

    A nested container that fits in ``INLINE_WIDTH`` characters, and every item
    of a list, is written on one line, so a manifest reads (and diffs) one
    sample a line.

    >>> samples = [{"id": f"sample_{i:02d}", "label": "happy", "tags": [1, 2]} for i in range(3)]
    >>> print(dumps_json({"samples": samples, "n": {"x": 1}}), end="")
    {
      "n": {"x": 1},
      "samples": [
        {"id": "sample_00", "label": "happy", "tags": [1, 2]},
        {"id": "sample_01", "label": "happy", "tags": [1, 2]},
        {"id": "sample_02", "label": "happy", "tags": [1, 2]}
      ]
    }
    """
    out: list[str] = []
    _dump(obj, 0, False, out)
    out.append("\n")
    return "".join(out)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, dumps_json(obj))


class _PieceWriter:
    """Takes :func:`_dump`'s pieces and writes them out in blocks, instead of collecting them."""

    def __init__(self, handle: BinaryIO, block: int = 1 << 20) -> None:
        self.handle, self.block, self.pieces, self.size = handle, block, [], 0

    def append(self, piece: str) -> None:
        self.pieces.append(piece)
        self.size += len(piece)
        if self.size >= self.block:
            self.flush()

    def flush(self) -> None:
        self.handle.write("".join(self.pieces).encode("utf-8"))
        self.pieces, self.size = [], 0


def write_json_streamed(path: str | os.PathLike, obj: Any) -> Path:
    """:func:`write_json`'s bytes, written a block at a time: a large manifest is never one string in memory.

    ``obj`` may hold :class:`StreamedList`, :class:`StreamedDict` and :class:`Deferred` values,
    written as the list, object and value they stand for; their items are never all in memory either.
    """
    def fill(handle: BinaryIO) -> None:
        out = _PieceWriter(handle)
        _dump(obj, 0, False, out)  # type: ignore[arg-type]
        out.append("\n")
        out.flush()

    return atomic_write_with(path, fill)


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
