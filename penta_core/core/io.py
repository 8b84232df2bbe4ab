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
import json
import os
import tempfile
from pathlib import Path
from typing import Any

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
            handle.write(data)
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


def dumps_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, UTF-8, trailing newline."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, dumps_json(obj))


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
