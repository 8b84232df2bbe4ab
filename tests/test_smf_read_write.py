"""The SMF reader and writer of MidiPiece (midi/smf_read.py, midi/smf_write.py) against the mido path.

The mido path is the reference: mido reads the file (what ``from_bytes``
falls back to for anything unusual) and the event-by-event encoder writes
it through mido messages. On real files (POP909, Groove, Slakh, the example
dataset, music21's corpus), on random event soups and on damaged files, the
fast path must give the same notes, the same events, the same bytes and the
same errors.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import mido
import numpy as np
import pytest
from helpers import REPO
from test_midi_piece_bytes import edited, random_piece_bytes

from penta_core.midi import piece as piece_module
from penta_core.midi.piece import MidiPiece
from penta_core.midi.smf_read import Unusual
from penta_core.midi.smf_write import encode_file, encode_file_events, encode_files


def real_files() -> list[Path]:
    files = sorted((REPO / "tests" / "fixtures").rglob("*.mid"))
    files += sorted((REPO / "datasets" / "examples").rglob("*.mid"))
    try:
        import music21
    except ImportError:
        return files
    return files + sorted(Path(music21.__file__).parent.rglob("*.mid"))


def through_mido(data: bytes, monkeypatch) -> MidiPiece:
    def refuse(data):
        raise Unusual("forced")

    with monkeypatch.context() as m:
        m.setattr(piece_module, "read_smf", refuse)
        return MidiPiece.from_bytes(data)


def same_piece(a: MidiPiece, b: MidiPiece) -> bool:
    return (a.ticks_per_beat == b.ticks_per_beat and a.file_type == b.file_type
            and all(np.array_equal(a.notes[k], b.notes[k]) and a.notes[k].dtype == b.notes[k].dtype for k in a.notes)
            and [[(e.tick, e.seq, e.kind, e._peek()) for e in t] for t in a.events]
            == [[(e.tick, e.seq, e.kind, e._peek()) for e in t] for t in b.events])


def reference_bytes(piece: MidiPiece) -> bytes:
    """The file written event by event through mido messages."""
    copy = piece.copy()
    return encode_file_events(copy.file_type, copy.ticks_per_beat, copy.events, copy.notes)


def test_real_files_read_as_mido_reads_them_and_write_as_mido_writes_them(monkeypatch):
    files = real_files()
    assert len(files) >= 40
    for path in files:
        data = path.read_bytes()
        fast, slow = MidiPiece.from_bytes(data), through_mido(data, monkeypatch)
        assert same_piece(fast, slow), path.name
        assert fast.to_bytes() == reference_bytes(slow), path.name
        assert edited(fast.copy()).to_bytes() == reference_bytes(edited(slow.copy())), path.name


def test_a_written_file_reads_back_to_the_same_piece():
    for path in real_files()[:30]:
        piece = MidiPiece.from_bytes(path.read_bytes())
        data = piece.to_bytes()
        again = MidiPiece.from_bytes(data)
        assert again.to_bytes() == data
        for name in ("pitch", "start", "end", "velocity", "channel", "track", "program"):
            assert np.array_equal(np.sort(again.notes[name]), np.sort(piece.notes[name])), (path.name, name)


def test_random_event_soups_read_and_write_as_through_mido(monkeypatch):
    rng = np.random.default_rng(3)
    for _ in range(40):
        data = random_piece_bytes(rng)
        fast, slow = MidiPiece.from_bytes(data), through_mido(data, monkeypatch)
        assert same_piece(fast, slow)
        assert fast.to_bytes() == reference_bytes(slow)


def test_damaged_files_give_the_errors_of_the_mido_path(monkeypatch):
    rng = np.random.default_rng(5)
    sources = [p.read_bytes() for p in real_files()[:12]]
    outcomes = set()
    for n in range(300):
        data = bytearray(sources[n % len(sources)])
        if n % 3 == 0:
            data = data[:int(rng.integers(0, len(data)))]
        elif n % 3 == 1:
            data[int(rng.integers(14, len(data)))] = int(rng.choice([0xF0, 0xFF, 0xF7, 0xF2, 0xA0, 0x80, 0xC3]))
        else:
            del data[int(rng.integers(14, len(data)))]
        results = []
        for read in (MidiPiece.from_bytes, lambda d: through_mido(d, monkeypatch)):
            try:
                piece = read(bytes(data))
            except Exception as err:
                results.append(f"{type(err).__name__}: {err}")
            else:
                results.append(hashlib.sha256(piece.to_bytes()).hexdigest())
        assert results[0] == results[1], n
        outcomes.add(results[0].split(":")[0])
    assert "ValueError" in outcomes and len(outcomes) > 2  # refused files and read ones both seen


def test_reading_a_message_hands_out_one_the_writer_then_encodes():
    path = real_files()[0]
    piece = MidiPiece.from_bytes(path.read_bytes())
    tempo = next(e for kept in piece.events for e in kept if e.kind == "set_tempo")
    before = piece.to_bytes()
    tempo.msg.tempo = tempo.tempo() + 1  # editing the handed-out message in place reaches the file
    assert piece.to_bytes() != before
    tempo.msg = mido.MetaMessage("set_tempo", tempo=tempo.tempo() - 1)
    assert piece.to_bytes() == before


def test_several_files_encoded_at_once_give_each_file_its_own_bytes():
    pieces = [MidiPiece.from_bytes(p.read_bytes()) for p in real_files()[:20]]
    pieces += [edited(p.copy()) for p in pieces[:5]]
    assert MidiPiece.to_bytes_many(pieces) == [p.to_bytes() for p in pieces]
    assert encode_files([]) == []


def test_a_file_the_array_encoder_declines_does_not_fail_the_others():
    pieces = [MidiPiece.from_bytes(p.read_bytes()) for p in real_files()[:3]]
    pieces[1].notes["start"][0] = -5  # a negative tick: the event encoder decides what to write
    found = encode_files([(p.file_type, p.ticks_per_beat, p.events, p.notes) for p in pieces])
    assert found[1] is None and found[0] == pieces[0].to_bytes() and found[2] == pieces[2].to_bytes()
    assert MidiPiece.to_bytes_many(pieces)[1] == reference_bytes(pieces[1])
    assert encode_file(pieces[0].file_type, pieces[0].ticks_per_beat, pieces[0].events, pieces[0].notes) \
        == found[0]


def test_a_track_without_events_or_notes_is_written_like_the_reference():
    piece = MidiPiece(480, 1, {k: v[:0] for k, v in MidiPiece.from_bytes(real_files()[0].read_bytes()).notes.items()},
                      [[], []])
    assert piece.to_bytes() == reference_bytes(piece)


@pytest.mark.parametrize("data", [b"", b"MThd", b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x04"])
def test_truncated_headers_are_refused_as_the_mido_path_refuses_them(data, monkeypatch):
    with pytest.raises(ValueError) as fast:
        MidiPiece.from_bytes(data)
    with pytest.raises(ValueError) as slow:
        through_mido(data, monkeypatch)
    assert str(fast.value) == str(slow.value)
