"""Shared fixtures: small MIDI/audio writers, params pointing at a temp dataset, real MIDI from music21."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import REPO, project_copy, run

from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve

# One numba cache for the whole suite (as `make test` sets it): librosa compiled
# anew in every temporary working folder would cost tens of seconds each time.
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))


@pytest.fixture
def params(tmp_path):
    """Validated params whose dataset lives in ``tmp_path/datasets/test_ds``; one worker."""
    return resolve({
        "dataset": {"name": "test_ds", "root": str(tmp_path / "datasets"), "source_dir": str(tmp_path / "src")},
        "import": {"n_jobs": 1},
    })


@pytest.fixture
def layout(params):
    return DatasetLayout.from_params(params)


@pytest.fixture(scope="session")
def music21_midi_files() -> list[Path]:
    """The small real MIDI files that ship inside music21's test folders."""
    music21 = pytest.importorskip("music21")
    files = sorted(Path(music21.__file__).parent.glob("midi/testPrimitive/*.mid"))
    if not files:
        pytest.skip("music21 ships no MIDI test files in this version")
    return files


@pytest.fixture(scope="session")
def clean_builds(tmp_path_factory) -> list[Path]:
    """Two independent clean `dvc repro` runs of the embedded example with the shipped params."""
    repos = []
    for name in ("first", "second"):
        repo = project_copy(tmp_path_factory.mktemp(name) / "repo")
        run(["dvc", "repro"], repo)
        repos.append(repo)
    return repos


@pytest.fixture(scope="session")
def exported(clean_builds, tmp_path_factory) -> Path:
    """A copy of the first clean build's dataset, exported again in every format, with small shards.

    The build's own ``export/`` (the shipped params: Parquet and WebDataset) stays in
    ``clean_builds[0]``; this copy adds LMDB (when the lmdb package is installed) and
    cuts WebDataset shards of 0.25 MB, so a split spans many shards.
    """
    import importlib.util
    import shutil

    from penta_core.core.params import load_params
    from penta_core.export.build import export_dataset

    root = tmp_path_factory.mktemp("exported") / "emotion_dataset_v1"
    shutil.copytree(clean_builds[0] / "datasets" / "emotion_dataset_v1", root)
    formats = ["parquet", "webdataset"] + (["lmdb"] if importlib.util.find_spec("lmdb") else [])
    params = load_params(clean_builds[0] / "params.yaml", {
        "dataset": {"root": str(root.parent)}, "export": {"formats": formats, "shard_mb": 0.25}})
    export_dataset(DatasetLayout(root), params)
    return root
