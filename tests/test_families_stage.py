"""The families stage: incremental fingerprints, index/families.json, and families in the manifest and groups."""
from __future__ import annotations

import shutil
from pathlib import Path

import symusic

from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.families import stage as families_stage
from penta_core.manifest.build import build_manifest
from penta_core.manifest.load import load_manifest
from penta_core.sources.importer import import_sources

POP909 = Path(__file__).parent / "fixtures" / "pop909"


def _params(tmp_path: Path, name: str) -> dict:
    return resolve({
        "dataset": {"name": name, "root": str(tmp_path / "datasets"), "source_dir": str(tmp_path / "src")},
        "import": {"n_jobs": 1}, "families": {"n_jobs": 1},
    })


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "happy").mkdir(parents=True)
    (src / "sad").mkdir(parents=True)
    shutil.copy(POP909 / "001" / "001.mid", src / "happy" / "001.mid")
    shutil.copy(POP909 / "001" / "versions" / "001-v1.mid", src / "sad" / "001-v1.mid")
    shutil.copy(POP909 / "002" / "002.mid", src / "happy" / "002.mid")
    score = symusic.Score(str(POP909 / "003" / "003.mid"))
    score.shift_pitch(2, inplace=True)
    score.dump_midi(str(src / "sad" / "003-up2.mid"))
    shutil.copy(POP909 / "003" / "003.mid", src / "happy" / "003.mid")
    return src


def _build(tmp_path: Path, name: str) -> tuple[dict, DatasetLayout, list[str]]:
    params = _params(tmp_path, name)
    layout = DatasetLayout.from_params(params)
    import_sources(Path(params["dataset"]["source_dir"]), layout, params)
    lines = families_stage.run(params, layout)
    return params, layout, lines


def test_families_stage_joins_copies_and_the_manifest_groups_them(tmp_path):
    _source(tmp_path)
    params, layout, _ = _build(tmp_path, "ds")
    manifest = build_manifest(layout, params)
    by_source = {s["source"]: s for s in load_manifest(layout)["samples"]}
    assert by_source["happy/001.mid"]["group"] == by_source["sad/001-v1.mid"]["group"]
    assert by_source["happy/003.mid"]["group"] == by_source["sad/003-up2.mid"]["group"]
    assert by_source["happy/002.mid"]["group"] != by_source["happy/001.mid"]["group"]
    link = by_source["sad/003-up2.mid"]["family_link"]
    assert link["with"] == by_source["happy/003.mid"]["id"]
    assert link["reason"] == "midi-normalised"
    assert by_source["sad/001-v1.mid"]["family_link"]["reason"] == "midi-melody"
    assert "family_link" not in by_source["happy/002.mid"]
    assert manifest["summary"]["families"] == 3


def test_second_run_reuses_fingerprints_and_writes_the_same_index(tmp_path):
    _source(tmp_path)
    params, layout, _ = _build(tmp_path, "ds")
    first = layout.index("families").read_bytes()
    lines = families_stage.run(params, layout)
    assert "fingerprinted 0, reused 5" in lines[0]
    assert layout.index("families").read_bytes() == first


def test_incremental_build_equals_a_clean_build(tmp_path):
    src = _source(tmp_path)
    kept = src / "happy" / "002.mid"
    moved = tmp_path / "later.mid"
    shutil.move(kept, moved)
    params, layout, _ = _build(tmp_path, "grown")
    shutil.move(moved, kept)
    import_sources(src, layout, params)
    families_stage.run(params, layout)
    _, clean, _ = _build(tmp_path, "clean")
    assert layout.index("families").read_bytes() == clean.index("families").read_bytes()
    cache = families_stage.fingerprints_dir
    assert sorted(p.name for p in cache(layout).iterdir()) == sorted(p.name for p in cache(clean).iterdir())


def test_detect_false_leaves_every_file_alone(tmp_path):
    _source(tmp_path)
    params = resolve({**_params(tmp_path, "off"), "families": {"detect": False, "n_jobs": 1}})
    layout = DatasetLayout.from_params(params)
    import_sources(Path(params["dataset"]["source_dir"]), layout, params)
    families_stage.run(params, layout)
    assert read_json(layout.index("families"))["samples"] == {}
