"""Fingerprints of the code and libraries that decide an output's bytes.

The incremental stages (features, augment, synthesize) keep earlier outputs
and redo only what changed. Their cache keys include these fingerprints, so
editing a module that shapes an output, or upgrading a library that does,
redoes that work instead of keeping bytes a clean run would not produce.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from collections.abc import Iterable
from pathlib import Path


def source_digest(modules: Iterable[str]) -> str:
    """Hash of the source files of ``modules`` (dotted names), 16 hex digits.

    Example
    -------
    >>> len(source_digest(["penta_core.engine.seeding"]))
    16
    """
    digest = hashlib.sha256()
    for name in sorted(set(modules)):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"cannot fingerprint {name}: module not found")
        digest.update(name.encode() + b"\0" + Path(spec.origin).read_bytes())
    return digest.hexdigest()[:16]


def library_versions(packages: Iterable[str]) -> dict[str, str]:
    """Installed version of each package (``absent`` when it is not installed)."""
    versions = {}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions
