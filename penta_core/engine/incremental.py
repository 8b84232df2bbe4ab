"""Incremental outputs: the key an output is made under, and the sweep of what no longer belongs.

The augment, features, synthesize and families stages keep their outputs
between runs (DVC ``persist: true``), packed in shards and parts that record,
per output, the key it was made under (:func:`cache_key`: a hash of
everything that decides its bytes: the input's sha256, the parameters, the
code and library fingerprints). :func:`sweep` deletes every file no current
output owns, leftover temp files of killed writes included, so an
incremental run ends with the same files as a clean one.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from penta_core.core.io import sha256_bytes


def cache_key(parts: dict[str, Any]) -> str:
    """sha256 of the compact canonical JSON of ``parts``: everything that decides one output's bytes.

    Example
    -------
    >>> cache_key({"seed": 42, "sha256": "ab"}) == cache_key({"sha256": "ab", "seed": 42})
    True
    """
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return sha256_bytes(text.encode("utf-8"))


def sweep(folder: str | os.PathLike, keep: Iterable[str]) -> int:
    """Delete every file below ``folder`` that ``keep`` does not name; remove emptied folders.

    Parameters
    ----------
    folder : the outputs' folder (nothing happens when it does not exist).
    keep : paths relative to ``folder``, with forward slashes. Leftover
        ``.penta-tmp-*`` files of killed writes are never in it, so they go too.

    Returns
    -------
    int : the number of files (and links) deleted.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    keep = set(keep)
    removed = 0
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file() or path.is_symlink():
            if path.relative_to(folder).as_posix() not in keep:  # no resolve(): links stay links
                path.unlink()
                removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed
