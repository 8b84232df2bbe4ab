"""A Standard MIDI File reader specialised for :class:`~penta_core.midi.piece.MidiPiece`.

It reads what mido would read, event for event, without building a mido
message per event: note messages become four integers, and every other
event keeps the bytes the writer will write for it (its *raw* bytes) with a
shared decoded prototype, so a message object is made only when someone asks
for it (:attr:`penta_core.midi.piece._Event.msg`). Each distinct meta, SysEx
or channel event is decoded by mido once and remembered, so the values are
mido's own and the errors too: a payload mido refuses raises what it raised.

Anything beyond well-formed channel, meta and SysEx events in well-formed
chunks raises :class:`Unusual`; the caller then reads the file with mido,
which accepts or refuses it as it always did.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import mido

from penta_core.midi.smf_write import vlq

# kind (mido's message type), raw bytes as written (None: encode the message when writing), prototype
Proto = tuple[type, dict[str, Any]]


class Unusual(Exception):
    """Content the fast reader leaves to mido (which then accepts or refuses it)."""


@dataclass(slots=True)
class Track:
    """One track as read: a delta per event, note messages flat, the other events."""

    deltas: list[int]  # ticks since the previous event, for every event
    notes: list[int]  # seq, status, note, velocity of each note-on/off message, one after another
    # (seq, item) of every other event: item is (kind, raw bytes or None, prototype) from this reader,
    # or a mido message when mido read the file.
    others: list[tuple[int, Any]]


_DATA_LENGTH = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_CACHE_LIMIT = 1 << 16
# Decoded events by their bytes in the file: (kind, raw bytes as the writer writes them, prototype).
_CHANNEL: dict[bytes, tuple[str, bytes, Proto]] = {}
_META: dict[bytes, tuple[str, bytes | None, Proto]] = {}
_SYSEX: dict[bytes, tuple[str, bytes, Proto]] = {}


def read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    """A variable-length quantity at ``pos``: ``(value, position after it)``."""
    value = 0
    for _ in range(4):
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos
    raise Unusual("variable-length number longer than 4 bytes")


def channel_item(raw: bytes) -> tuple[str, bytes, Proto]:
    """``(kind, raw, prototype)`` of a channel message (status byte and data bytes, each data byte < 0x80)."""
    found = _CHANNEL.get(raw)
    if found is None:
        msg = mido.Message.from_bytes(list(raw))
        found = (msg.type, raw, (mido.Message, vars(msg)))
        if len(_CHANNEL) < _CACHE_LIMIT:
            _CHANNEL[raw] = found
    return found


def _meta_item(key: bytes, meta_type: int, payload: bytes) -> tuple[str, bytes | None, Proto]:
    from mido.midifiles.meta import build_meta_message

    msg = build_meta_message(meta_type, list(payload), 0)  # raises what mido raises for a bad payload
    try:
        raw = bytes(msg.bytes())
    except Exception:  # a value mido cannot write back: the writer encodes the message and fails there, as before
        raw = None
    found = (msg.type, raw, (type(msg), vars(msg)))
    if len(_META) < _CACHE_LIMIT:
        _META[key] = found
    return found


def _sysex_item(payload: bytes) -> tuple[str, bytes, Proto]:
    found = _SYSEX.get(payload)
    if found is None:
        msg = mido.Message("sysex", data=list(payload))  # ValueError (caught as Unusual) on a byte > 0x7F
        found = ("sysex", b"\xf0" + vlq(len(payload) + 1) + payload + b"\xf7", (mido.Message, vars(msg)))
        if len(_SYSEX) < _CACHE_LIMIT:
            _SYSEX[payload] = found
    return found


def read_smf(data: bytes) -> tuple[int, int, list[Track]]:
    """``(type, ticks per beat, tracks)`` as mido would read them, without mido's per-message cost.

    Raises
    ------
    Unusual : anything beyond well-formed channel, meta and SysEx events in well-formed chunks.
    Whatever mido raises for a meta payload it refuses (as reading through mido did).
    """
    try:
        if data[:4] != b"MThd":
            raise Unusual("no MThd")
        size = struct.unpack(">I", data[4:8])[0]
        if size < 6:
            raise Unusual("short header")
        file_type, n_tracks, tpq = struct.unpack(">hhh", data[8:14])
        pos = 8 + size
        tracks = []
        meta_cache, channel_cache = _META, _CHANNEL
        for _ in range(n_tracks):
            if data[pos:pos + 4] != b"MTrk":
                raise Unusual("no MTrk")
            length = struct.unpack(">I", data[pos + 4:pos + 8])[0]
            pos += 8
            end = pos + length
            if end > len(data):
                raise Unusual("truncated track")
            deltas: list[int] = []
            notes: list[int] = []
            others: list[tuple[int, Any]] = []
            add_delta, add_note, add_other = deltas.append, notes.extend, others.append
            running = None
            seq = -1
            while pos < end:
                seq += 1
                delta = data[pos]
                pos += 1
                if delta >= 0x80:  # most deltas fit in one byte
                    delta, pos = read_vlq(data, pos - 1)
                add_delta(delta)
                status = data[pos]
                if status < 0x80:  # running status: the byte is data
                    if running is None:
                        raise Unusual("running status without a status")
                    status = running
                else:
                    pos += 1
                if status < 0xA0:  # note-off or note-on: the bulk of a file
                    note, velocity = data[pos], data[pos + 1]
                    pos += 2
                    if note > 0x7F or velocity > 0x7F:
                        raise Unusual("bad data byte")
                    running = status
                    add_note((seq, status, note, velocity))
                    continue
                if status == 0xFF:
                    start = pos
                    n, pos = read_vlq(data, pos + 1)
                    pos += n
                    key = data[start:pos]
                    item = meta_cache.get(key)
                    if item is None:
                        item = _meta_item(key, data[start], data[pos - n:pos])
                    add_other((seq, item))
                    continue
                if status == 0xF0:
                    n, pos = read_vlq(data, pos)
                    payload = data[pos:pos + n]
                    pos += n
                    if payload[-1:] == b"\xf7":
                        payload = payload[:-1]
                    add_other((seq, _sysex_item(payload)))
                    running = None
                    continue
                n = _DATA_LENGTH.get(status & 0xF0)
                if n is None:
                    raise Unusual(f"status byte {status:#x}")
                raw = bytes((status,)) + data[pos:pos + n]
                pos += n
                if len(raw) <= n or max(raw[1:]) > 0x7F:
                    raise Unusual("bad data byte")
                running = status
                item = channel_cache.get(raw)
                add_other((seq, item if item is not None else channel_item(raw)))
            if pos != end:
                raise Unusual("event runs past its track")
            tracks.append(Track(deltas, notes, others))
        return file_type, tpq, tracks
    except (IndexError, struct.error, ValueError, TypeError, KeyError) as err:
        raise Unusual(str(err)) from None
