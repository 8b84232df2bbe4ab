"""MidiPiece reads and writes the same bytes as before its reader and writer were made fast.

The digests were computed with the per-event implementation (commit c5e6022)
before any change: each file is read, written back (``to_bytes``), and also
written after an edit of every note (pitch, start, end, velocity), so both
the unedited round trip and the note encoder are pinned byte for byte.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO

from penta_core.midi.piece import MidiPiece

POP909 = REPO / "tests" / "fixtures" / "pop909"

# (round trip, edited) sha256 of single files.
FILE_DIGESTS = {
    "pop909/001/001.mid": ("26f6e9ad76bb0d8498aa25aa1e72907c20d4349687a9dd3ac10ec5a342865d97",
                           "1f6820eb6598b0ef72fe02a68505cee637e2644bc37bc74b3bed8267dd6f9f46"),
    "music21/test04.mid": ("a76fb60498e203c7410bd01946cfcff38aa40396dfd733eb3b3b7df834b1c0f6",
                           "5cb2267e9a062129f1ecca6948d361098b500c5a7e4d20a868d3eca54d0610a8"),
    "music21/test12.mid": ("878b8377a224c4c894c48d45683a79a224e0e1389502d77e438c44c96d827777",
                           "efb0c7bb3bee04a7c27ff669d05ccb2101a51f9320579a4c886cc408327dd29c"),
}
# sha256 over the sorted lines "<file name> <round trip sha256> <edited sha256>\n" of a whole folder.
GROUP_DIGESTS = {
    "pop909": (22, "2f6f082e0da5e771527fe7eb6bcd4a9b82f488b1db3a22679240d3e2f126cec8"),
    "music21": (23, "7ab09ba7124f64e308a5de0d7d1923786984ff8cfdff897db21bd9b554f1e20e"),
}


def music21_files() -> list[Path]:
    music21 = pytest.importorskip("music21")
    root = Path(music21.__file__).parent
    return sorted(root.glob("midi/testPrimitive/*.mid")) + sorted(root.glob("omr/*.mid"))


def group_files(group: str) -> list[Path]:
    return sorted(POP909.rglob("*.mid")) if group == "pop909" else music21_files()


def edited(piece: MidiPiece) -> MidiPiece:
    n = piece.notes
    n["pitch"] = np.clip(n["pitch"] + 3, 0, 127)
    n["start"] = n["start"] * 3 // 2
    n["end"] = n["end"] * 3 // 2 + 1
    n["velocity"] = np.clip(n["velocity"] - 7, 1, 127)
    return piece


def digests(path: Path) -> tuple[str, str]:
    piece = MidiPiece.from_bytes(path.read_bytes())
    return (hashlib.sha256(piece.to_bytes()).hexdigest(),
            hashlib.sha256(edited(piece.copy()).to_bytes()).hexdigest())


@pytest.mark.parametrize("name", sorted(FILE_DIGESTS))
def test_a_file_reads_and_writes_the_reference_bytes(name):
    group, file_name = name.split("/", 1)
    path = POP909 / file_name if group == "pop909" else next(p for p in music21_files() if p.name == file_name)
    assert digests(path) == FILE_DIGESTS[name]


@pytest.mark.parametrize("group", sorted(GROUP_DIGESTS))
def test_every_file_of_a_folder_reads_and_writes_the_reference_bytes(group):
    files = group_files(group)
    lines = sorted(f"{path.name} {' '.join(digests(path))}\n" for path in files)
    assert (len(files), hashlib.sha256("".join(lines).encode()).hexdigest()) == GROUP_DIGESTS[group]
