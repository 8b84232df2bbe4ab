"""sha256 of a file, read in blocks."""
from __future__ import annotations

import hashlib
from pathlib import Path

from penta_core.core.errors import InputError

BLOCK = 1 << 20


class ChecksumMismatch(InputError):
    """A fetched file's sha256 is not the one the params pin."""


def sha256_file(path: str | Path) -> str:
    """The hex sha256 of the bytes of ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: str | Path, expected: str | None, what: str) -> str:
    """The sha256 of ``path``; raise :class:`ChecksumMismatch` when ``expected`` is given and differs."""
    actual = sha256_file(path)
    if expected is not None and actual != expected:
        raise ChecksumMismatch(f"{what}: sha256 mismatch: expected {expected}, got {actual}; "
                               "nothing was extracted (if the upstream changed on purpose, set the new sha256)")
    return actual


