"""Shared fixtures: small MIDI/audio writers, params pointing at a temp dataset, real MIDI from music21."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from penta_core.core.layout import DatasetLayout
from penta_core.core.params import resolve

REPO = Path(__file__).resolve().parents[1]
# One numba cache for the whole suite (as `make test` sets it): librosa compiled
# anew in every temporary working folder would cost tens of seconds each time.
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))


def write_midi(path: Path, pitches=(60, 64, 67), start=0.0, step=0.5, tempo=120.0, program=0) -> Path:
    """A one-track MIDI file with one note per pitch, one after another."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    inst = pretty_midi.Instrument(program=program)
    for i, pitch in enumerate(pitches):
        inst.notes.append(pretty_midi.Note(90, pitch, start + i * step, start + (i + 1) * step))
    midi.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.write(str(path))
    return path


def write_tone(path: Path, freq=440.0, seconds=0.5, sr=16000, amplitude=0.5, fmt=None) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr, format=fmt)
    return path


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path → sha256 (and mode) of every file below ``folder``, links not followed."""
    digest = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if path.is_symlink():
                digest[path.relative_to(folder).as_posix()] = "link:" + os.readlink(path)
                continue
            data = path.read_bytes() if os.access(path, os.R_OK) else b"<unreadable>"
            digest[path.relative_to(folder).as_posix()] = hashlib.sha256(data).hexdigest() + oct(path.stat().st_mode)
    return digest


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


def project_copy(dest: Path) -> Path:
    """A git + DVC repo at ``dest`` holding this project's pipeline and example data."""
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", ".pytest_cache",
                                    ".hypothesis", ".numba_cache", "benchmarks", "tests")
    shutil.copytree(REPO, dest, ignore=ignore)
    for built in (dest / "datasets").iterdir():
        if built.is_dir() and built.name != "examples":
            shutil.rmtree(built)
    for leftover in ("dvc.lock",):
        (dest / leftover).unlink(missing_ok=True)
    shutil.rmtree(dest / ".dvc" / "cache", ignore_errors=True)
    shutil.rmtree(dest / ".dvc" / "tmp", ignore_errors=True)
    run(["git", "init", "-q"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-qm", "pipeline"], dest)
    return dest


@pytest.fixture(scope="session")
def clean_builds(tmp_path_factory) -> list[Path]:
    """Two independent clean `dvc repro` runs of the embedded example with the shipped params."""
    repos = []
    for name in ("first", "second"):
        repo = project_copy(tmp_path_factory.mktemp(name) / "repo")
        run(["dvc", "repro"], repo)
        repos.append(repo)
    return repos


def run(cmd: list[str], cwd: Path, check: bool = True, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, **kw)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result
