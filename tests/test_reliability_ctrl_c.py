"""Ctrl-C during a stage or a `penta-dataset` run: one line, exit status 130, and a rerun finishes.

The signal goes to the whole process group, as a terminal sends it, so the
pool's workers receive it too: they must stay quiet and the parent must stop
them. Each run extracts features of a few hundred generated MIDI files with
two workers, long enough to be interrupted in the middle.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO
from reliability_helpers import mthd, mtrk, notes_body, temp_files

from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve
from penta_core.core.stage_runner import EXIT_INTERRUPTED, INTERRUPTED
from penta_core.features.parts import read_parts
from penta_core.sources.importer import import_sources

pytestmark = pytest.mark.slow

N_FILES = 300
PARAMS = "dataset:\n  name: ds\nfeatures:\n  n_jobs: 2\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A working folder holding params.yaml and a dataset whose import is done."""
    work = tmp_path_factory.mktemp("ctrl_c")
    src = work / "src"
    for i in range(N_FILES):
        pitches = [36 + (i * 7 + k * 5) % 60 for k in range(1500)]  # long enough to stop halfway
        path = src / f"song{i:03d}.mid"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(mthd(0, 1, 480) + mtrk(notes_body(pitches, ticks=120 + i % 7)))
    params = resolve({"dataset": {"name": "ds", "root": str(work / "datasets")}, "import": {"n_jobs": 2}})
    assert len(import_sources(src, DatasetLayout.from_params(params), params).samples) == N_FILES
    (work / "params.yaml").write_text(PARAMS)
    return work


@pytest.fixture
def work(template, tmp_path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "work"))


# Loaded by every process of the run (workers too) through PYTHONPATH: each MIDI extraction
# takes 20 ms more, so a run lasts seconds however fast the extractor and the machine are.
SLOW_EXTRACTION = """
import importlib.abc, importlib.util, sys, time

class _Slow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "penta_core.features.midi":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            extract = module.extract_midi_features

            def slow(*args, **kwargs):
                time.sleep(0.02)
                return extract(*args, **kwargs)
            module.extract_midi_features = slow
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _Slow())
"""


@pytest.fixture(scope="module")
def slow_hook(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("slow_hook")
    (folder / "sitecustomize.py").write_text(SLOW_EXTRACTION)
    return folder


def _env(hook: Path | None = None) -> dict[str, str]:
    # Rows are saved every 50 ms, so the test sees progress long before the run ends.
    env = {**os.environ, "NUMBA_CACHE_DIR": str(REPO / ".numba_cache"), "PENTA_SAVE_INTERVAL_S": "0.05"}
    if hook is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(hook), env.get("PYTHONPATH")) if p)
    return env


def _default_sigint() -> None:
    # A shell without job control starts background commands (`pytest ... &`) with SIGINT
    # ignored, and children inherit that: the run the test interrupts must take Ctrl-C as a
    # terminal's foreground command does.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(cmd: list[str], cwd: Path, hook: Path) -> subprocess.Popen:
    # A process group of its own, so the Ctrl-C below reaches the run and its workers only.
    return subprocess.Popen(cmd, cwd=cwd, env=_env(hook), start_new_session=True, preexec_fn=_default_sigint,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(proc: subprocess.Popen, condition, what: str, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert proc.poll() is None, f"the run ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {what} after {limit_s:g} s"
        time.sleep(0.02)


def _workers(pid: int) -> list[int]:
    """Pool workers among the children of ``pid``: spawned interpreters, or forked copies (MIDI-only work)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    found = []
    for child in children:
        try:
            line = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in line or line == command:
                found.append(int(child))
        except OSError:
            continue
    return found


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (zombies waiting to be reaped do not count)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(entry.name))
    return alive


def _ctrl_c(proc: subprocess.Popen) -> tuple[str, str]:
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the whole foreground group
    out, err = proc.communicate(timeout=120)
    deadline = time.monotonic() + 30
    while _alive_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive_in_group(proc.pid) == [], "a worker outlived the interrupted run"
    return out, err


def _assert_one_quiet_line(returncode: int, out: str, err: str) -> None:
    assert returncode == EXIT_INTERRUPTED == 130, (out, err)
    assert err == INTERRUPTED + "\n"
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_ctrl_c_mid_extraction_in_a_stage_script_is_one_line_and_the_rerun_resumes(work, slow_hook, executor):
    # dask: a LocalCluster, whose scheduler thread, nannies and workers the group's Ctrl-C reaches too.
    if executor == "dask":
        pytest.importorskip("distributed")
        (work / "params.yaml").write_text(PARAMS + "engine:\n  executor: dask\n")
    features = work / "datasets" / "ds" / "processed" / "features"

    def extracted() -> int:  # rows saved so far: finished parts and the journal of unfinished ones
        return len(read_parts(features).ids)

    proc = _start([sys.executable, str(REPO / "stages" / "features.py")], work, slow_hook)
    _wait_for(proc, lambda: extracted() >= 5, "5 extracted samples")
    out, err = _ctrl_c(proc)
    _assert_one_quiet_line(proc.returncode, out, err)
    done = extracted()
    assert 5 <= done < N_FILES
    assert temp_files(work / "datasets") == []

    rerun = subprocess.run([sys.executable, str(REPO / "stages" / "features.py")], cwd=work, env=_env(),
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"features: {N_FILES} of {N_FILES} samples" in rerun.stdout
    assert f"{N_FILES - done} extracted, {done} reused" in rerun.stdout


def test_ctrl_c_while_the_cli_starts_its_workers_is_one_line_and_the_rerun_completes(work, slow_hook):
    cmd = [sys.executable, "-m", "penta_core.cli", "--extract-features", "--dataset", "ds"]
    proc = _start(cmd, work, slow_hook)
    # Spawned workers spend their first seconds importing librosa, forked ones (this MIDI-only
    # work) start at once: the signal must not reach them there either.
    _wait_for(proc, lambda: _workers(proc.pid), "worker process")
    out, err = _ctrl_c(proc)
    _assert_one_quiet_line(proc.returncode, out, err)

    rerun = subprocess.run(cmd, cwd=work, env=_env(), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"features: {N_FILES} of {N_FILES} samples" in rerun.stdout
