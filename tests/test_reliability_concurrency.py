"""Two writers on one dataset folder: the second refuses at once, in one line, and writes nothing."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import write_midi
from reliability_helpers import hook_env, temp_files

from penta_core import cli
from penta_core.cli import load_step
from penta_core.core.io import sha256_bytes
from penta_core.core.layout import DatasetLayout
from penta_core.core.locking import dataset_lock
from penta_core.core.stage_runner import run_stage
from penta_core.store.access import sample_bytes

CONSOLE_SCRIPT = str(Path(sys.executable).parent / "penta-dataset")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("import:\n  n_jobs: 1\n")
    return tmp_path


def _wait_for_holder(lock: Path, holder: subprocess.Popen, limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while not (lock.exists() and lock.read_text().strip() == str(holder.pid)):
        assert holder.poll() is None, "the first run ended before it could be met"
        assert time.monotonic() < deadline, "the first run never took the dataset lock"
        time.sleep(0.02)


@pytest.mark.slow
def test_a_second_penta_dataset_run_refuses_at_once_naming_the_holder_and_never_interleaves(workdir):
    for i in range(30):
        write_midi(workdir / "first" / "happy" / f"a{i:02d}.mid", pitches=(60 + i, 50))
        write_midi(workdir / "second" / "sad" / f"b{i:02d}.mid", pitches=(20 + i, 90))
    root = workdir / "datasets" / "emo"
    # Every atomic write of the first run takes 50 ms longer: it holds the dataset for seconds.
    env = hook_env(workdir / "hooks", str(root) + "/", delay_s=0.05)
    first = subprocess.Popen([CONSOLE_SCRIPT, "--import-dir", "first", "--dataset", "emo"], cwd=workdir, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_holder(root / ".penta.lock", first)
    started = time.monotonic()
    second = subprocess.run([CONSOLE_SCRIPT, "--import-dir", "second", "--dataset", "emo"], cwd=workdir,
                            capture_output=True, text=True, timeout=120)
    refused_in = time.monotonic() - started
    still_running = first.poll() is None
    _out, err = first.communicate(timeout=300)

    assert still_running, "the first run was over before the second was refused"
    assert second.returncode == 1
    assert second.stderr == (f"error: dataset 'datasets/emo' is in use by another penta-dataset run "
                             f"(pid {first.pid}); wait for it to finish and run again\n")
    assert second.stdout == ""
    assert refused_in < 30  # refused, not queued behind the first
    assert first.returncode == 0, err
    # Only the first run's data, complete and matching its checksums.
    manifest = json.loads((root / "manifest.json").read_text())
    assert sorted(s["source"] for s in manifest["samples"]) == [f"happy/a{i:02d}.mid" for i in range(30)]
    for sample in manifest["samples"]:
        assert sha256_bytes(sample_bytes(DatasetLayout(root), sample)) == sample["sha256"]
    assert not (root / "raw" / "midi" / "sad").exists()
    assert json.loads((root / "config.json").read_text())["params"]["dataset"]["source_dir"] == "first"
    assert temp_files(root) == []


def test_a_dvc_stage_refuses_a_dataset_held_by_a_penta_dataset_run_in_one_line(workdir, capsys):
    root = workdir / "datasets" / "emo"
    (workdir / "params.yaml").write_text("dataset:\n  name: emo\nimport:\n  n_jobs: 1\n")
    with dataset_lock(root):
        assert run_stage(load_step("create"), "params.yaml") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is in use by another penta-dataset run" in err
    assert not (root / "config.json").exists()


HOLDER = """
import sys, time
from penta_core.core.locking import dataset_lock
with dataset_lock(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(600)
"""


def test_the_lock_of_a_killed_run_is_released_with_it(workdir, capsys):
    root = workdir / "datasets" / "emo"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert cli.main(["--create", "--dataset", "emo"]) == 1
        assert f"(pid {holder.pid})" in capsys.readouterr().err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (root / ".penta.lock").read_text().strip() == str(holder.pid)  # the stale file stays...
    assert cli.main(["--create", "--dataset", "emo"]) == 0  # ...but holds no lock once its owner is gone
