"""The code a stage runs: its script's import closure inside ``penta_core``, one digest per file.

Each stage in ``dvc.yaml`` depends on one small file, ``stages/closures/<stage>.json``,
that the ``code`` stage writes: the stage script and every ``penta_core`` module the
script can import (lazy imports inside functions included, found by reading the
source), each with its sha256. Editing a module changes exactly the closure files of
the stages that import it, so exactly those stages rerun, as when each stage listed
its modules in ``dvc.yaml``; but ``dvc.lock`` holds one entry per stage instead of
one per module and stage (about 330 entries), and DVC reads and rewrites the whole
lock after every stage it runs.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import re
from pathlib import Path
from typing import Any

PACKAGE = "penta_core"


def module_file(root: Path, name: str) -> Path | None:
    """The file of module or package ``name`` under ``root``, if there is one."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


# The fields through which a statement holds other statements (an import is always a statement).
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _statements(tree: ast.AST) -> list[ast.AST]:
    """Every statement of ``tree`` at any depth (function and class bodies included), no expressions.

    Four times faster than :func:`ast.walk`, which also visits every expression node.
    """
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        for field in _BODIES:
            todo.extend(getattr(node, field, ()))
    return found


def imported_names(path: Path, module: str) -> frozenset[str]:
    """Every module name ``path`` (module ``module``) imports anywhere in its body, functions included."""
    return _names_in(path.read_bytes(), str(path), module, path.name == "__init__.py")


# Keyed by the source itself: the closures of all stages share most of their modules, and
# each is parsed once, while an edited file is parsed again.
@functools.lru_cache(maxsize=1024)
def _names_in(source: bytes, filename: str, module: str, is_package: bool) -> frozenset[str]:
    tree = ast.parse(source, filename=filename)
    names: set[str] = set()
    for node in _statements(tree):
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
    return frozenset(names)


def import_closure(script: Path, root: Path) -> set[Path]:
    """Files of every ``penta_core`` module reachable from ``script``, with each package's ``__init__``.

    Parameters
    ----------
    script : the stage script (any Python file).
    root : the folder holding the ``penta_core`` package.

    Example
    -------
    >>> import penta_core, pathlib
    >>> root = pathlib.Path(penta_core.__file__).parents[1]
    >>> closure = import_closure(root / "penta_core" / "engine" / "code_closure.py", root)
    >>> sorted(p.relative_to(root).as_posix() for p in closure)
    []
    """
    found: set[Path] = set()
    files: dict[str, Path | None] = {}  # module name -> file, looked up once per closure
    todo = [(script, "__main__")]
    while todo:
        path, module = todo.pop()
        for name in imported_names(path, module):
            if name != PACKAGE and not name.startswith(PACKAGE + "."):
                continue
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                prefix = ".".join(parts[:depth])
                if prefix not in files:
                    files[prefix] = module_file(root, prefix)
                file = files[prefix]
                if file is not None and file not in found:
                    found.add(file)
                    todo.append((file, prefix))
    return found


def closure_record(script: Path, root: Path) -> dict[str, Any]:
    """What ``stages/closures/<stage>.json`` holds: ``{"script", "files": {path: sha256}}``.

    Paths are relative to ``root`` (POSIX), so the record is the same in every checkout.
    """
    files = import_closure(script, root) | {script}
    return {
        "script": script.relative_to(root).as_posix(),
        "files": {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                  for p in sorted(files)},
    }


def stage_scripts(dvc_yaml: Path) -> dict[str, Path]:
    """Stage name → script, for every stage of ``dvc_yaml`` whose command runs a ``stages/<x>.py``.

    The ``code`` stage itself is left out: it depends on the whole package instead.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    stages = yaml.load(dvc_yaml.read_text(encoding="utf-8"), Loader=loader)["stages"]
    scripts = {}
    for name, spec in stages.items():
        command = spec.get("cmd", "") if isinstance(spec, dict) else ""
        # The first ``stages/<x>.py`` of the command: a wrapper in front of the script (a profiler,
        # the CPU recorder of benchmarks/_project.py) does not hide it.
        script = next((part for part in command.split() if re.fullmatch(r"stages/\w+\.py", part)), None)
        if name != "code" and script is not None:
            scripts[name] = dvc_yaml.parent / script
    return scripts


def write_closures(root: Path, out_dir: Path | None = None) -> list[str]:
    """Write ``<out_dir>/<stage>.json`` (:func:`closure_record`) for every stage of ``root/dvc.yaml``.

    Returns one line per stage for the console. A closure file of a stage that
    ``dvc.yaml`` no longer has is deleted.

    Raises
    ------
    ValueError : a module cannot be read as Python (names the file and line).
    """
    from penta_core.core.io import write_json

    out_dir = out_dir or root / "stages" / "closures"
    lines = []
    scripts = stage_scripts(root / "dvc.yaml")
    for name, script in sorted(scripts.items()):
        try:
            record = closure_record(script, root)
        except SyntaxError as err:
            where = Path(err.filename or script).resolve()
            shown = where.relative_to(root.resolve()).as_posix() if where.is_relative_to(root.resolve()) else where
            raise ValueError(f"{shown}:{err.lineno}: {err.msg}: cannot find the modules stage {name} imports"
                             ) from None
        write_json(out_dir / f"{name}.json", record)
        lines.append(f"{name}: {len(record['files'])} files")
    for stale in sorted(out_dir.glob("*.json")):  # the closure of a stage dvc.yaml no longer has
        if stale.stem not in scripts:
            stale.unlink()
    return lines
