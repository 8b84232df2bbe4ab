"""`import.pack: true`: originals packed in tar shards give the dataset an unpacked import gives.

The same MIDI sources are built twice in process, once with one file per
original and once packed; everything downstream must agree, and switching between the
two modes must leave what a clean import in the new mode writes.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from helpers import REPO, tree_digest

from penta_core.cli import load_step
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.features.table import load_feature_table
from penta_core.sources.importer import import_sources
from penta_core.store.materialize import materialize

EXAMPLES = REPO / "datasets" / "examples"
STEPS = ("create", "import", "annotate", "augment", "features", "families", "manifest", "splits", "validate")
LOCATION = ("path", "shard", "member")


def _params(root: Path, src: Path, pack: bool) -> dict:
    one = {"n_jobs": 1}
    return resolve({"dataset": {"name": "ds", "root": str(root), "source_dir": str(src)},
                    "import": {**one, "pack": pack}, "features": one, "families": one,
                    "augment": {**one, "multiplier": 1}, "synthesize": {"count": 0}})


def _build(root: Path, src: Path, pack: bool) -> DatasetLayout:
    params = _params(root, src, pack)
    layout = DatasetLayout.from_params(params)
    for step in STEPS:
        load_step(step)(params, layout)
    return layout


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """Two example pieces per emotion folder, and a duplicate under another label (MIDI only: fast)."""
    src = tmp_path_factory.mktemp("pack") / "src"
    for folder in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        (src / folder.name).mkdir(parents=True)
        for path in sorted(folder.glob("*.mid"))[:2]:
            shutil.copy(path, src / folder.name / path.name)
    first = sorted((src / "happy").glob("*.mid"))[0]
    (src / "joy").mkdir()
    shutil.copy(first, src / "joy" / "same_piece.mid")
    return src


@pytest.fixture(scope="module")
def imports(src, tmp_path_factory) -> tuple[Path, DatasetLayout, DatasetLayout]:
    """``src`` and a WAV, imported (only) one file per original and packed."""
    base = tmp_path_factory.mktemp("imports")
    both = base / "src"
    shutil.copytree(src, both)
    wav = sorted(EXAMPLES.glob("*/*.wav"))[0]
    shutil.copy(wav, both / wav.parent.name / wav.name)
    layouts = []
    for name, pack in (("files", False), ("packed", True)):
        params = _params(base / name, both, pack)
        layouts.append(DatasetLayout.from_params(params))
        import_sources(both, layouts[-1], params)
    return both, *layouts


@pytest.fixture(scope="module")
def builds(src, tmp_path_factory) -> tuple[DatasetLayout, DatasetLayout]:
    base = tmp_path_factory.mktemp("builds")
    return _build(base / "files", src, pack=False), _build(base / "packed", src, pack=True)


def _without_location(samples: list[dict]) -> list[dict]:
    return [{k: v for k, v in s.items() if k not in LOCATION} for s in samples]


def test_packed_originals_live_in_shards_and_unpack_to_the_files_an_unpacked_import_writes(imports, tmp_path):
    _, files, packed = imports
    assert sorted({p.suffix for p in (packed.root / "raw" / "midi").iterdir()}) == [".json", ".tar"]
    assert sorted({p.suffix for p in (packed.root / "raw" / "audio").iterdir()}) == [".json", ".tar"]
    imported = read_json(packed.index("imported"))["samples"]
    assert {s["kind"] for s in imported} == {"midi", "audio"}
    assert all("shard" in s and "member" in s and "path" not in s for s in imported)
    assert {s["member"] for s in imported} == {s["path"].split("/", 2)[2] for s in
                                               read_json(files.index("imported"))["samples"]}
    materialize(packed, imported, tmp_path / "out")
    assert tree_digest(tmp_path / "out" / "raw") == tree_digest(files.root / "raw")


def test_every_stage_after_import_agrees_with_the_unpacked_build(builds):
    files, packed = builds
    a, b = read_json(files.manifest)["samples"], read_json(packed.manifest)["samples"]
    assert _without_location(a) == _without_location(b)
    assert {s["label"] for s in a} >= {"happy", "sad", "calm", "angry"}
    assert any(s["origin"] == "augmented" for s in b)
    ids_a, cols_a, X_a = load_feature_table(files)
    ids_b, cols_b, X_b = load_feature_table(packed)
    assert (ids_a, cols_a) == (ids_b, cols_b) and (X_a == X_b).all()
    variants = [read_json(layout.index("augmented"))["samples"] for layout in (files, packed)]
    assert variants[0] and variants[0] == variants[1]  # same shards: the variants do not depend on the mode
    assert read_json(files.index("families")) == read_json(packed.index("families"))
    for split in ("train", "val", "test"):
        assert (files.root / "splits" / f"{split}.txt").read_bytes() == \
            (packed.root / "splits" / f"{split}.txt").read_bytes()
    checks = [read_json(layout.metrics_dir / "validation.json") for layout in (files, packed)]
    assert checks[0] == checks[1]
    assert {k: n for k, n in checks[1]["quality_counts"].items() if k != "unlabelled"} == \
        {"missing": 0, "sha256_mismatch": 0, "unparsable": 0}  # every packed original read back and parsed


def _import_outputs(layout: DatasetLayout) -> dict[str, object]:
    return {"imported": hashlib.sha256(layout.index("imported").read_bytes()).hexdigest(),
            "raw": tree_digest(layout.root / "raw")}


def test_switching_modes_leaves_what_a_clean_import_in_the_new_mode_writes(imports, tmp_path):
    both, files, packed = imports
    work = tmp_path / "switch"
    shutil.copytree(files.root.parent, work)
    layout = DatasetLayout(work / "ds")
    import_sources(both, layout, _params(work, both, pack=True))
    assert _import_outputs(layout) == _import_outputs(packed)
    import_sources(both, layout, _params(work, both, pack=False))
    assert _import_outputs(layout) == _import_outputs(files)


def test_an_unchanged_packed_rerun_rewrites_no_shard(imports, tmp_path):
    both, _, packed = imports
    work = tmp_path / "again"
    shutil.copytree(packed.root.parent, work)
    layout = DatasetLayout(work / "ds")
    shards = {p: p.stat().st_ino for p in (layout.root / "raw").rglob("*.tar")}
    report = import_sources(both, layout, _params(work, both, pack=True))
    assert (report.copied, report.kept) == (0, len(read_json(layout.index("imported"))["samples"]))
    assert {p: p.stat().st_ino for p in (layout.root / "raw").rglob("*.tar")} == shards
    assert _import_outputs(layout) == _import_outputs(packed)
