"""Shared test helpers: the repository path, MIDI and audio builders, project copies and subprocess runs.

MIDI comes three ways, each for what a test states: ``write_midi`` (a
one-track file of notes in seconds, through pretty_midi), ``make_score`` and
its note helpers (music in beats, through symusic, for known-answer feature
tests) and ``build_midi`` (exact ticks, channels and tempo events, through
mido, for note-by-note augmentation checks). The reliability fuzzer keeps its
own writer on purpose: it must be able to write illegal files.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import soundfile as sf
import symusic

REPO = Path(__file__).resolve().parents[1]

NoteSpec = tuple[float, float, int, int]  # (start beat, length in beats, pitch, velocity)

MAJOR_TRIADS = {"C": (60, 64, 67), "F": (65, 69, 72), "G": (67, 71, 74)}


def make_score(
    parts: Sequence[tuple[int, bool, Iterable[NoteSpec]]],
    *,
    tpq: int = 480,
    tempos: Sequence[tuple[float, float]] = ((0, 120.0),),
    time_signatures: Sequence[tuple[float, int, int]] = ((0, 4, 4),),
) -> symusic.Score:
    """A tick-based score; ``parts`` are ``(program, is_drum, notes)``, tempos ``(beat, bpm)``."""
    score = symusic.Score(tpq)
    for beat, bpm in tempos:
        score.tempos.append(symusic.Tempo(round(beat * tpq), float(bpm)))
    for beat, num, den in time_signatures:
        score.time_signatures.append(symusic.TimeSignature(round(beat * tpq), num, den))
    for index, (program, is_drum, notes) in enumerate(parts):
        track = symusic.Track(f"part{index}", program, is_drum)
        for start, length, pitch, velocity in notes:
            track.notes.append(symusic.Note(round(start * tpq), round(length * tpq), pitch, velocity))
        score.tracks.append(track)
    return score


def write(score: symusic.Score, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(score.dumps_midi())
    return path


def chord_notes(start: float, length: float, pitches: Iterable[int], velocity: int = 90) -> list[NoteSpec]:
    return [(start, length, p, velocity) for p in pitches]


def progression(chords: Sequence[Sequence[int]], beats_each: float = 4.0) -> list[NoteSpec]:
    notes: list[NoteSpec] = []
    for i, pitches in enumerate(chords):
        notes += chord_notes(i * beats_each, beats_each, pitches)
    return notes


def drum_groove(bars: int) -> list[NoteSpec]:
    """Rock beat in 4/4: kick on 1 and 3, snare on 2 and 4, closed hi-hat on every eighth."""
    notes: list[NoteSpec] = []
    for bar in range(bars):
        base = bar * 4
        notes += [(base + b, 0.25, 36, 110) for b in (0, 2)]
        notes += [(base + b, 0.25, 38, 100) for b in (1, 3)]
        notes += [(base + e / 2, 0.25, 42, 80) for e in range(8)]
    return notes


def write_midi(path: Path, pitches=(60, 64, 67), start=0.0, step=0.5, tempo=120.0, program=0,
               velocity=90, length=None) -> Path:
    """A one-track MIDI file with one note per pitch, one every ``step`` s, each ``length`` s (default ``step``)."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    inst = pretty_midi.Instrument(program=program)
    for i, pitch in enumerate(pitches):
        inst.notes.append(pretty_midi.Note(velocity, pitch, start + i * step,
                                            start + i * step + (step if length is None else length)))
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


def dataset_files(root: Path) -> dict[str, str]:
    """:func:`tree_digest` of a dataset folder without its local state: what a version holds.

    Left out: ``.penta.lock`` (the pid of the last writer) and ``.cache/`` (records of
    earlier runs, such as the import record, keyed by file times and inodes).
    """
    return {path: digest for path, digest in tree_digest(root).items()
            if path != ".penta.lock" and not path.startswith(".cache/")}


def build_midi(tracks, tempos=((0, 500_000),), tpq=480, file_type=1, programs=None) -> bytes:
    """Bytes of a MIDI file. ``tracks``: lists of ``(start, end, pitch, velocity, channel)`` in ticks."""
    mid = mido.MidiFile(type=file_type, ticks_per_beat=tpq)
    conductor = [(tick, 0, mido.MetaMessage("set_tempo", tempo=tempo)) for tick, tempo in tempos]
    mid.tracks.append(_track(conductor))
    for index, notes in enumerate(tracks):
        events = []
        if programs is not None:
            events.append((0, -1, mido.Message("program_change", channel=notes[0][4], program=programs[index])))
        for start, end, pitch, velocity, channel in notes:
            events.append((start, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
            events.append((end, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
        mid.tracks.append(_track(events))
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def _track(events) -> mido.MidiTrack:
    track, previous = mido.MidiTrack(), 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - previous))
        previous = tick
    return track


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


def run(cmd: list[str], cwd: Path, check: bool = True, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, **kw)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result
