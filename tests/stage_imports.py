"""The ``penta_core`` modules a stage script can import, found by reading the source (lazy imports included)."""
from __future__ import annotations

from pathlib import Path

from helpers import REPO

from penta_core.engine.code_closure import import_closure as _closure


def import_closure(script: Path) -> set[Path]:
    """Files of every ``penta_core`` module reachable from ``script`` in this repository."""
    return _closure(script, REPO)
