"""The ``penta_core`` modules a stage script can import, found by reading the source (lazy imports included)."""
from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO

PACKAGE = "penta_core"


def module_file(name: str) -> Path | None:
    """The file of module or package ``name`` inside the repository, if there is one."""
    base = REPO.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(path: Path, module: str) -> set[str]:
    """Every module name ``path`` imports anywhere in its body (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            # ``from package import module`` imports the module too.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_closure(script: Path) -> set[Path]:
    """Files of every ``penta_core`` module reachable from ``script``, with the ``__init__`` of each package."""
    found: set[Path] = set()
    todo = [(script, "__main__")]
    while todo:
        path, module = todo.pop()
        for name in _imported_names(path, module):
            if name != PACKAGE and not name.startswith(PACKAGE + "."):
                continue
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                prefix = ".".join(parts[:depth])
                file = module_file(prefix)
                if file is not None and file not in found:
                    found.add(file)
                    todo.append((file, prefix))
    return found
