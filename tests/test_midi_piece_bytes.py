"""MidiPiece reads and writes the same bytes as before its reader and writer were made fast.

The digests were computed with the per-event implementation (commit c5e6022)
before any change: each file is read, written back (``to_bytes``), and also
written after an edit of every note (pitch, start, end, velocity), so both
the unedited round trip and the note encoder are pinned byte for byte.
"""
from __future__ import annotations

import hashlib
import io
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


def random_piece_bytes(rng: np.random.Generator) -> bytes:
    """A file of random raw events: overlapping and unpaired notes, controllers, programs, SysEx, meta."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    for _ in range(int(rng.integers(1, 4))):
        track = mido.MidiTrack()
        for _ in range(int(rng.integers(0, 300))):
            delta = int(rng.choice([0, 0, 1, 100, 480, int(rng.integers(0, 3_000_000))]))
            channel, note, kind = int(rng.choice([0, 3, 9])), int(rng.integers(60, 64)), rng.random()
            if kind < 0.45:
                msg = mido.Message("note_on", channel=channel, note=note, velocity=int(rng.integers(1, 128)))
            elif kind < 0.75:
                msg = mido.Message("note_off", channel=channel, note=note, velocity=int(rng.integers(0, 128)))
            elif kind < 0.85:
                msg = mido.Message("note_on", channel=channel, note=note, velocity=0)
            elif kind < 0.9:
                msg = mido.Message("control_change", channel=channel, control=7, value=int(rng.integers(0, 128)))
            elif kind < 0.93:
                msg = mido.Message("program_change", channel=channel, program=int(rng.integers(0, 128)))
            elif kind < 0.96:
                msg = mido.MetaMessage("text", text="x" * int(rng.integers(0, 200)))
            else:
                msg = mido.Message("sysex", data=[1, 2, 3])
            track.append(msg.copy(time=delta))
        mid.tracks.append(track)
    out = io.BytesIO()
    mid.save(file=out)
    return out.getvalue()


def test_the_array_encoder_writes_what_the_event_encoder_writes():
    from penta_core.midi.smf_write import encode_file, encode_file_events

    rng = np.random.default_rng(0)
    for _ in range(60):
        piece = MidiPiece.from_bytes(random_piece_bytes(rng))
        if rng.random() < 0.5:
            edited(piece)
        fast = encode_file(piece.file_type, piece.ticks_per_beat, piece.events, piece.notes)
        assert fast == encode_file_events(piece.file_type, piece.ticks_per_beat, piece.copy().events, piece.notes)
