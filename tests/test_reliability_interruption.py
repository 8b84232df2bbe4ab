"""Killed and concurrent `dvc repro`: the next run ends byte-identical to a clean one.

A stage is SIGKILLed in the middle of an atomic write (after the bytes are
written, before the rename), together with DVC and the stage's workers, at
several points of the pipeline. Running `dvc repro` again must give the same
`dvc.lock` hashes and the same dataset files as a clean run, with no partial
file left, and the source folder untouched. A second `dvc repro` started while
one runs must be refused by DVC's lock and the first must finish intact; that
first run is also the clean build the others are compared with.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import dataset_files, project_copy, run, tree_digest
from reliability_helpers import hook_env, temp_files

from penta_core.core.io import sha256_bytes
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.store.access import sample_bytes
from penta_core.synth import pieces
from penta_core.synth.pieces import synthesize

pytestmark = pytest.mark.slow

DATASET = Path("datasets") / "emotion_dataset_v1"
# Smaller than the defaults so every stage runs in seconds; the same in every copy.
SMALL = {"augment": {"multiplier": 1}, "synthesize": {"count": 8}}
# (stage, folder it writes, the atomic write during which the run dies). Augment, synthesize and
# features pack their outputs: augment dies writing its second shard (the first shard and its
# catalogue are complete), synthesize and features while writing their first.
KILL_POINTS = [
    ("import", "raw/midi", 10),
    ("augment", "processed/augmented", 3),
    ("synthesize", "raw/synthetic", 1),
    ("features", "processed/features", 1),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """One snapshot of the project, copied for every run so all of them build the same thing."""
    repo = project_copy(tmp_path_factory.mktemp("template") / "repo")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for group, values in SMALL.items():
        params[group].update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", "small params"], repo)
    return repo


def _copy(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    return dest


def _lock_hashes(repo: Path) -> dict[str, str]:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {f"{stage}:{out['path']}": out.get("md5", "") for stage, spec in lock["stages"].items()
            for key in ("outs", "metrics") for out in spec.get(key, [])}


def _dataset_files(repo: Path) -> dict[str, str]:
    return dataset_files(repo / DATASET)  # without the lock's pid and the records of earlier runs


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(extra or os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def _start_repro(repo: Path, env: dict[str, str]) -> subprocess.Popen:
    # A session of its own: the kill takes DVC, the stage and its workers, as `kill -9 -<pgid>` would.
    return subprocess.Popen(["dvc", "repro"], cwd=repo, env=_env(env), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def clean(template, tmp_path_factory):
    """An uninterrupted build that a second `dvc repro` tried to join: what both runs did.

    Slow copies into raw/midi keep the first run inside its import stage for seconds,
    long enough for the second to meet it. The second must change nothing, so the first
    is also the clean build the interrupted runs are compared with.
    """
    repo = _copy(template, tmp_path_factory.mktemp("clean") / "repo")
    raw_midi = repo / DATASET / "raw" / "midi"
    first = _start_repro(repo, hook_env(tmp_path_factory.mktemp("hooks"), str(raw_midi) + "/", delay_s=0.1))
    deadline = time.monotonic() + 300
    while not raw_midi.is_dir() or not temp_files(raw_midi):
        assert first.poll() is None and time.monotonic() < deadline, "the first run ended before the second began"
        time.sleep(0.05)
    second = run(["dvc", "repro"], repo, check=False, timeout=300)
    first_was_running = first.poll() is None
    output, _ = first.communicate(timeout=900)
    assert first.returncode == 0, output
    order = [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")]
    return {"repo": repo, "second": second, "first_was_running": first_was_running, "order": order,
            "hashes": _lock_hashes(repo), "files": _dataset_files(repo)}


def test_repro_after_sigkill_mid_write_in_each_stage_is_byte_identical_to_a_clean_run(template, clean, tmp_path):
    repo = _copy(template, tmp_path / "repo")
    source = tree_digest(repo / "datasets" / "examples")
    hooks = tmp_path / "hooks"
    # In DVC's own order, so each killed run finishes the stages before the next kill point.
    for stage, folder, kill_at in sorted(KILL_POINTS, key=lambda point: clean["order"].index(point[0])):
        target = str(repo / DATASET / folder) + "/"
        proc = _start_repro(repo, hook_env(hooks, target, kill_at=kill_at))
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == -signal.SIGKILL, f"{stage}: the run was not killed\n{output}"
        assert f"Running stage '{stage}'" in output
        # Killed between write and rename: the partial file is there, under its temp name.
        assert (hooks / "writes.count").stat().st_size >= kill_at
        assert temp_files(repo / DATASET / folder), f"{stage}: no write was in flight when killed"
        assert tree_digest(repo / "datasets" / "examples") == source, f"{stage}: the source changed"

    result = run(["dvc", "repro"], repo)
    assert _lock_hashes(repo) == clean["hashes"]
    assert _dataset_files(repo) == clean["files"]
    assert temp_files(repo / DATASET) == []
    assert tree_digest(repo / "datasets" / "examples") == source
    assert "Data and pipelines are up to date." in run(["dvc", "status"], repo).stdout, result.stdout


def test_a_second_dvc_repro_is_refused_by_dvcs_lock_and_the_first_finishes_intact(clean):
    second, repo = clean["second"], clean["repo"]
    assert clean["first_was_running"], "the first run was over before the second was refused"
    assert second.returncode != 0
    # DVC refuses with its repository lock, or (while the first runs a stage command, when
    # DVC lets go of that lock) with the lock on the stage's files: either way, DVC's message.
    refusal = second.stderr + second.stdout
    assert ("Unable to acquire lock" in refusal
            or ("is busy, it is being" in refusal and ".dvc/tmp/rwlock" in refusal)), refusal
    assert "Running stage" not in second.stdout
    # The first run's outputs are complete and are what its dvc.lock says they are.
    assert "Data and pipelines are up to date." in run(["dvc", "status"], repo).stdout
    manifest = json.loads((repo / DATASET / "manifest.json").read_text())
    assert manifest["samples"]
    layout = DatasetLayout(repo / DATASET)
    for sample in manifest["samples"]:
        assert sha256_bytes(sample_bytes(layout, sample)) == sample["sha256"], sample["id"]
    assert temp_files(repo / DATASET) == []


def test_a_resumed_synthesize_writes_the_same_index_as_a_clean_one(tmp_path, monkeypatch):
    monkeypatch.setitem(pieces.SAMPLES_PER_SHARD, "midi", 1)  # about a piece per shard

    def build(name: str, interrupted: bool) -> tuple[bytes, dict[str, str]]:
        params = resolve({"dataset": {"name": name, "root": str(tmp_path)},
                          "synthesize": {"count": 4, "emotions": ["happy", "sad"], "n_jobs": 1}})
        layout = DatasetLayout.from_params(params)
        synthesize(layout, params)
        if interrupted:  # as a run killed before its last two shards were renamed into place
            shards = sorted(layout.raw_synthetic.glob("*.tar"))
            assert len(shards) >= 3
            for shard in shards[-2:]:
                shard.unlink()
            assert synthesize(layout, params)["generated"] >= 1
        return layout.index("synthetic").read_bytes(), tree_digest(layout.raw_synthetic)

    clean_index, clean_files = build("clean", interrupted=False)
    resumed_index, resumed_files = build("resumed", interrupted=True)
    assert resumed_files == clean_files
    assert resumed_index == clean_index
