"""Every stage's code dependencies in dvc.yaml are exactly the import closure of its script."""
from __future__ import annotations

import re

import pytest
import yaml
from stage_imports import REPO, import_closure

STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def _code_deps(stage: dict) -> list[str]:
    return [d for d in stage["deps"] if isinstance(d, str) and d.startswith(("penta_core", "stages/"))]


def _covered(deps: list[str]) -> set:
    files = set()
    for dep in deps:
        path = REPO / dep
        files.update(path.rglob("*.py") if path.is_dir() else [path])
    return {f for f in files if "__pycache__" not in f.parts}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_lists_every_module_its_script_imports(name):
    stage = STAGES[name]
    script = re.fullmatch(r"python (stages/\w+\.py)", stage["cmd"]).group(1)
    needed = import_closure(REPO / script) | {REPO / script}
    missing = sorted(p.relative_to(REPO).as_posix() for p in needed - _covered(_code_deps(stage)))
    assert not missing, f"stage {name}: dvc.yaml deps miss {', '.join(missing)}"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_lists_no_module_its_script_never_imports(name):
    stage = STAGES[name]
    script = re.fullmatch(r"python (stages/\w+\.py)", stage["cmd"]).group(1)
    needed = import_closure(REPO / script) | {REPO / script}
    extra = sorted(p.relative_to(REPO).as_posix() for p in _covered(_code_deps(stage)) - needed)
    assert not extra, f"stage {name}: dvc.yaml deps list {', '.join(extra)}, which it never imports (needless reruns)"


def test_closure_follows_lazy_imports_inside_functions(tmp_path):
    script = tmp_path / "lazy.py"
    script.write_text("def run():\n    from penta_core.splits.groups import assign_groups\n")
    found = {p.relative_to(REPO).as_posix() for p in import_closure(script)}
    assert {"penta_core/__init__.py", "penta_core/splits/__init__.py", "penta_core/splits/groups.py"} <= found


def test_closure_follows_from_package_import_module(tmp_path):
    script = tmp_path / "pkg.py"
    script.write_text("from penta_core.features import table\n")
    found = {p.relative_to(REPO).as_posix() for p in import_closure(script)}
    assert "penta_core/features/table.py" in found and "penta_core/features/midi.py" not in found
