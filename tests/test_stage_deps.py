"""Every stage depends on its code through its closure file, and that file is exactly its script's import closure."""
from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml
from stage_imports import REPO, import_closure

from penta_core.engine.code_closure import closure_record, stage_scripts, write_closures

STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
DATA_STAGES = sorted(name for name in STAGES if name != "code")


def _paths(entries: list) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in entries]


@pytest.mark.parametrize("name", DATA_STAGES)
def test_a_stage_depends_on_its_code_only_through_its_closure_file(name):
    code = [d for d in _paths(STAGES[name]["deps"]) if d.startswith(("penta_core", "stages/"))]
    assert code == [f"stages/closures/{name}.json"]


@pytest.mark.parametrize("name", DATA_STAGES)
def test_the_committed_closure_lists_exactly_the_modules_the_script_imports_with_their_digests(name):
    """Fails when code changed and ``dvc repro code`` was not run before committing (like a stale dvc.lock)."""
    script = REPO / re.fullmatch(r"python (stages/\w+\.py)", STAGES[name]["cmd"]).group(1)
    committed = json.loads((REPO / "stages" / "closures" / f"{name}.json").read_text(encoding="utf-8"))
    needed = {p.relative_to(REPO).as_posix() for p in import_closure(script) | {script}}
    assert set(committed["files"]) == needed, f"stage {name}: run `dvc repro code`"
    assert committed == closure_record(script, REPO), f"stage {name}: a module changed; run `dvc repro code`"


def test_the_code_stage_writes_one_closure_per_stage_and_reads_every_script_and_the_package():
    code = STAGES["code"]
    assert _paths(code["outs"]) == [f"stages/closures/{name}.json" for name in STAGES if name != "code"]
    assert all(out[next(iter(out))] == {"cache": False} for out in code["outs"])
    scripts = [re.fullmatch(r"python (stages/\w+\.py)", STAGES[name]["cmd"]).group(1) for name in STAGES]
    assert sorted(_paths(code["deps"])) == sorted([*scripts, "penta_core"])
    assert set(stage_scripts(REPO / "dvc.yaml")) == set(DATA_STAGES)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A copy of the package, the scripts and dvc.yaml, with its closures written."""
    root = tmp_path_factory.mktemp("code")
    shutil.copytree(REPO / "penta_core", root / "penta_core",
                    ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copytree(REPO / "stages", root / "stages", ignore=shutil.ignore_patterns("closures"))
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    write_closures(root)
    return root


def _closures(root) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in sorted((root / "stages" / "closures").glob("*.json"))}


@pytest.mark.parametrize(("module", "expected"), [
    ("penta_core/splits/assign.py", {"splits"}),
    ("penta_core/augment/midi.py", {"augment"}),
    ("penta_core/features/table.py", {"targets", "validate", "baseline", "export"}),
])
def test_editing_a_module_changes_exactly_the_closures_of_the_stages_that_import_it(scratch, module, expected):
    before = _closures(scratch)
    path = scratch / module
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# edited\n")
        write_closures(scratch)
        after = _closures(scratch)
        assert {name for name in before if before[name] != after[name]} == expected
    finally:
        path.write_bytes(original)
        write_closures(scratch)
    assert _closures(scratch) == before


def test_a_new_import_adds_the_module_to_the_closure(scratch):
    script = scratch / "stages" / "manifest.py"
    original = script.read_bytes()
    try:
        script.write_bytes(original + b"\nfrom penta_core.splits import assign  # noqa\n")
        write_closures(scratch)
        files = json.loads((scratch / "stages" / "closures" / "manifest.json").read_text())["files"]
        assert "penta_core/splits/assign.py" in files
    finally:
        script.write_bytes(original)
        write_closures(scratch)


def test_a_module_that_is_not_python_fails_in_one_line_naming_it(scratch):
    path = scratch / "penta_core" / "splits" / "assign.py"
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\ndef broken(:\n")
        with pytest.raises(ValueError, match=r"^penta_core/splits/assign\.py:\d+: .*stage \w+ imports$"):
            write_closures(scratch)
    finally:
        path.write_bytes(original)


def test_closure_follows_lazy_imports_inside_functions(tmp_path):
    script = tmp_path / "lazy.py"
    script.write_text("def run():\n    try:\n        pass\n    finally:\n"
                      "        from penta_core.splits.groups import assign_groups\n")
    found = {p.relative_to(REPO).as_posix() for p in import_closure(script)}
    assert {"penta_core/__init__.py", "penta_core/splits/__init__.py", "penta_core/splits/groups.py"} <= found


def test_closure_follows_from_package_import_module(tmp_path):
    script = tmp_path / "pkg.py"
    script.write_text("from penta_core.features import table\n")
    found = {p.relative_to(REPO).as_posix() for p in import_closure(script)}
    assert "penta_core/features/table.py" in found and "penta_core/features/midi.py" not in found


def test_closure_follows_relative_imports_inside_the_package():
    found = {p.relative_to(REPO).as_posix() for p in import_closure(REPO / "stages" / "splits.py")}
    assert {"penta_core/splits/stage.py", "penta_core/core/io.py"} <= found


def test_the_closure_of_a_removed_stage_is_deleted(scratch):
    stale = scratch / "stages" / "closures" / "retired.json"
    stale.write_text("{}\n")
    write_closures(scratch)
    assert not stale.exists() and (scratch / "stages" / "closures" / "splits.json").exists()


def test_a_wrapped_stage_command_still_names_its_script(tmp_path):
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n"
        "  code:\n    cmd: python stages/code.py\n"
        "  splits:\n    cmd: python .bench/cpu.py splits python stages/splits.py --verbose\n"
        "  notes:\n    cmd: echo done\n")
    assert stage_scripts(tmp_path / "dvc.yaml") == {"splits": tmp_path / "stages" / "splits.py"}
