"""A MIDI file as paired notes in numpy arrays, and its fast reader and writer.

:class:`MidiPiece` pairs note-on and note-off messages into notes held in
numpy arrays and keeps every other event (tempo, programs, controllers,
SysEx, meta text) verbatim, so an edited piece differs from its source only
by the edits made. Times stay in ticks throughout; seconds come from the
tempo map (:meth:`MidiPiece.tempo_map`). It lives apart from the transforms
because it is the MIDI file model they edit, not a transform: reading and
writing Standard MIDI Files byte for byte is one concept, augmenting them
another.
"""
from __future__ import annotations

import io
import struct
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido
import numpy as np

from penta_core.midi.tempo import TempoMap

DRUM_CHANNEL = 9  # General MIDI percussion (channel 10, counted from 1)

_NOTE_FIELDS = (
    "track", "channel", "pitch", "start", "end", "velocity",
    "off_velocity", "off_is_note_on", "on_seq", "off_seq", "program",
)


@dataclass
class _Event:
    """A non-note event kept verbatim, at an absolute tick."""

    tick: int
    seq: int
    msg: mido.Message | mido.MetaMessage


class MidiPiece:
    """A MIDI file as paired notes (numpy arrays) plus every other event verbatim.

    Note-on/note-off pairs are matched first-in first-out per track, channel
    and pitch. Unmatched note messages stay in ``events`` untouched except for
    pitch and velocity (transposition and velocity scaling reach them too).

    Attributes
    ----------
    ticks_per_beat : int
    file_type : int (0, 1 or 2)
    notes : dict of equal-length numpy arrays: ``track``, ``channel``,
        ``pitch``, ``start``, ``end`` (ticks), ``velocity``, ``off_velocity``,
        ``off_is_note_on`` (the note ended with a velocity-0 note-on),
        ``on_seq``/``off_seq`` (original positions, for a stable order) and
        ``program`` (the program playing the note).
    events : one list of :class:`_Event` per track.
    """

    def __init__(self, ticks_per_beat: int, file_type: int, notes: dict[str, np.ndarray],
                 events: list[list[_Event]]) -> None:
        self.ticks_per_beat = ticks_per_beat
        self.file_type = file_type
        self.notes = notes
        self.events = events

    # -- reading and writing -------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes) -> MidiPiece:
        """Parse Standard MIDI File bytes.

        A fast reader handles the usual content (notes, controllers, meta
        events, SysEx); anything unusual is left to mido's reader, so both
        paths accept and refuse the same files.

        Raises
        ------
        ValueError : the file does not parse or uses SMPTE time division.
        """
        try:
            file_type, tpq, tracks = _read_smf(data)
        except _Unusual:
            try:
                mid = mido.MidiFile(file=io.BytesIO(data))
            except Exception as err:  # mido raises several types for malformed data
                raise ValueError(f"MIDI does not parse: {' '.join(str(err).split())[:160]}") from None
            file_type, tpq = mid.type, mid.ticks_per_beat
            # Kept messages carry time 0: ticks live in the events, not in the messages.
            tracks = [[(msg.time, _note_tuple(msg) or msg.copy(time=0)) for msg in track] for track in mid.tracks]
        if tpq <= 0 or tpq >= 0x8000:
            raise ValueError(f"unsupported MIDI time division {tpq} (SMPTE timing)")
        return cls._from_tracks(file_type, tpq, tracks)

    @classmethod
    def from_file(cls, path: str | Path) -> MidiPiece:
        return cls.from_bytes(Path(path).read_bytes())

    @classmethod
    def _from_tracks(cls, file_type: int, tpq: int, tracks: list[list[tuple[int, Any]]]) -> MidiPiece:
        """Pair notes; ``tracks`` hold ``(delta, item)``, item a ``(status, note, velocity)``
        tuple for note-on/off messages and a mido message for anything else."""
        cols: dict[str, list[int]] = {name: [] for name in _NOTE_FIELDS}
        events: list[list[_Event]] = []
        first_program: dict[int, int] = {}
        for track in tracks:
            for _, item in track:
                if not isinstance(item, tuple) and item.type == "program_change":
                    first_program.setdefault(item.channel, item.program)
        for t_index, track in enumerate(tracks):
            kept: list[_Event] = []
            open_notes: dict[tuple[int, int], deque] = {}
            program: dict[int, int] = {}
            tick = 0
            for seq, (delta, item) in enumerate(track):
                tick += delta
                if isinstance(item, tuple):
                    status, note, velocity = item
                    channel, is_on = status & 0x0F, status & 0xF0 == 0x90
                    if is_on and velocity > 0:
                        prog = program.get(channel, first_program.get(channel, 0))
                        open_notes.setdefault((channel, note), deque()).append((tick, seq, velocity, prog))
                        continue
                    queue = open_notes.get((channel, note))
                    if queue:
                        start, on_seq, on_velocity, prog = queue.popleft()
                        for name, value in (
                            ("track", t_index), ("channel", channel), ("pitch", note),
                            ("start", start), ("end", tick), ("velocity", on_velocity),
                            ("off_velocity", velocity), ("off_is_note_on", is_on),
                            ("on_seq", on_seq), ("off_seq", seq), ("program", prog),
                        ):
                            cols[name].append(value)
                        continue
                    kept.append(_Event(tick, seq, mido.Message.from_bytes(list(item))))
                    continue
                if item.type == "program_change":
                    program[item.channel] = item.program
                kept.append(_Event(tick, seq, item))
            # A note-on never switched off stays a plain event, as in the source.
            for (channel, note), queue in open_notes.items():
                for start, seq, velocity, _ in queue:
                    kept.append(_Event(start, seq, mido.Message("note_on", channel=channel, note=note,
                                                                velocity=velocity)))
            kept.sort(key=lambda e: (e.tick, e.seq))
            events.append(kept)
        notes = {name: np.asarray(values, dtype=bool if name == "off_is_note_on" else np.int64)
                 for name, values in cols.items()}
        order = np.lexsort((notes["on_seq"], notes["start"], notes["track"]))
        notes = {name: array[order] for name, array in notes.items()}
        return cls(tpq, file_type, notes, events)

    def to_bytes(self) -> bytes:
        """Serialise deterministically: equal pieces give identical bytes.

        Events at one tick keep their original order, except that note-offs
        come first so that a note ending where the next one of the same pitch
        begins is never read as ending the new note. Notes are encoded
        directly (mido's per-message objects and checks cost more than the
        transforms); other events use mido's own encoding.
        """
        n = self.notes
        by_track = np.argsort(n["track"], kind="stable")
        bounds = np.searchsorted(n["track"][by_track], np.arange(len(self.events) + 1))
        out = bytearray(b"MThd" + struct.pack(">IHHH", 6, self.file_type, len(self.events), self.ticks_per_beat))
        for t_index, kept in enumerate(self.events):
            rows: list[tuple[int, int, int, Any]] = []
            end_of_track = 0
            for e in kept:
                if e.msg.type == "end_of_track":  # written once, last, where the source had it
                    end_of_track = max(end_of_track, e.tick)
                else:
                    rows.append((e.tick, 1, e.seq, e.msg))
            idx = by_track[bounds[t_index]:bounds[t_index + 1]]
            channel, pitch = n["channel"][idx].tolist(), n["pitch"][idx].tolist()
            start, end = n["start"][idx].tolist(), n["end"][idx].tolist()
            velocity, off_velocity = n["velocity"][idx].tolist(), n["off_velocity"][idx].tolist()
            on_seq, off_seq = n["on_seq"][idx].tolist(), n["off_seq"][idx].tolist()
            off_status = np.where(n["off_is_note_on"][idx], 0x90, 0x80).tolist()
            for j in range(len(idx)):
                rows.append((start[j], 1, on_seq[j], (0x90 | channel[j], pitch[j], velocity[j])))
                # A zero-length note keeps its off after its on (same priority, later seq).
                rows.append((end[j], 0 if end[j] > start[j] else 1, off_seq[j],
                             (off_status[j] | channel[j], pitch[j], off_velocity[j])))
            rows.sort(key=lambda r: (r[0], r[1], r[2]))
            body = bytearray()
            previous, running = 0, None
            for tick, _, _, item in rows:
                body += _vlq(tick - previous)
                previous = tick
                if isinstance(item, tuple):
                    if item[0] == running:
                        body += bytes(item[1:])
                    else:
                        body += bytes(item)
                        running = item[0]
                    continue
                if item.is_meta:
                    body += bytes(item.bytes())
                    running = None
                elif item.type == "sysex":
                    body += b"\xf0" + _vlq(len(item.data) + 1) + bytes(item.data) + b"\xf7"
                    running = None
                else:
                    encoded = item.bytes()
                    body += bytes(encoded[1:] if encoded[0] == running else encoded)
                    running = encoded[0] if encoded[0] < 0xF0 else None
            body += _vlq(max(end_of_track - previous, 0)) + b"\xff\x2f\x00"
            out += b"MTrk" + struct.pack(">I", len(body)) + body
        return bytes(out)

    def copy(self) -> MidiPiece:
        """An independent copy.

        Messages are shared: transforms never mutate a message, they replace
        it with an edited copy, so edits to the copy never reach the original.
        """
        return MidiPiece(
            self.ticks_per_beat, self.file_type,
            {name: array.copy() for name, array in self.notes.items()},
            [[_Event(e.tick, e.seq, e.msg) for e in kept] for kept in self.events],
        )

    # -- queries --------------------------------------------------------------
    @property
    def n_notes(self) -> int:
        return int(self.notes["pitch"].size)

    def tempo_events(self) -> list[_Event]:
        """``set_tempo`` events of every track, in playing order.

        Players honour a tempo change in any track, so the tempo map is built
        from all of them (not only from the first track).
        """
        found = [(e.tick, t, e.seq, e) for t, kept in enumerate(self.events)
                 for e in kept if e.msg.type == "set_tempo"]
        found.sort(key=lambda r: r[:3])
        return [r[3] for r in found]

    def tempo_map(self) -> TempoMap:
        """The tick ↔ seconds map of the piece, from the tempo events of every track."""
        events = self.tempo_events()
        return TempoMap(np.array([e.tick for e in events], dtype=np.int64),
                        np.array([e.msg.tempo for e in events], dtype=np.int64), self.ticks_per_beat)

    def keep_notes(self, mask: np.ndarray) -> None:
        self.notes = {name: array[mask] for name, array in self.notes.items()}


# -- a fast Standard MIDI File reader ------------------------------------------------
class _Unusual(Exception):
    """Content the fast reader leaves to mido (which then accepts or refuses it)."""


def _note_tuple(msg) -> tuple[int, int, int] | None:
    if msg.type == "note_on":
        return (0x90 | msg.channel, msg.note, msg.velocity)
    if msg.type == "note_off":
        return (0x80 | msg.channel, msg.note, msg.velocity)
    return None


_DATA_LENGTH = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}


def _read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos
    raise _Unusual("variable-length number longer than 4 bytes")


def _read_smf(data: bytes) -> tuple[int, int, list[list[tuple[int, Any]]]]:
    """``(type, ticks per beat, tracks)`` as mido would read them, without mido's per-message cost.

    Raises :class:`_Unusual` on anything beyond well-formed channel, meta and
    SysEx events in well-formed chunks.
    """
    from mido.midifiles.meta import build_meta_message

    try:
        if data[:4] != b"MThd":
            raise _Unusual("no MThd")
        size = struct.unpack(">I", data[4:8])[0]
        if size < 6:
            raise _Unusual("short header")
        file_type, n_tracks, tpq = struct.unpack(">hhh", data[8:14])
        pos = 8 + size
        tracks = []
        for _ in range(n_tracks):
            if data[pos:pos + 4] != b"MTrk":
                raise _Unusual("no MTrk")
            length = struct.unpack(">I", data[pos + 4:pos + 8])[0]
            pos += 8
            end = pos + length
            if end > len(data):
                raise _Unusual("truncated track")
            track: list[tuple[int, Any]] = []
            running = None
            while pos < end:
                if data[pos] < 0x80:  # most deltas fit in one byte
                    delta = data[pos]
                    pos += 1
                else:
                    delta, pos = _read_vlq(data, pos)
                status = data[pos]
                if status < 0x80:  # running status: the byte is data
                    if running is None:
                        raise _Unusual("running status without a status")
                    status = running
                else:
                    pos += 1
                kind = status & 0xF0
                if status == 0xFF:
                    meta_type = data[pos]
                    n, pos = _read_vlq(data, pos + 1)
                    payload = data[pos:pos + n]
                    pos += n
                    track.append((delta, build_meta_message(meta_type, list(payload), 0)))
                    continue
                if status == 0xF0:
                    n, pos = _read_vlq(data, pos)
                    payload = data[pos:pos + n]
                    pos += n
                    if payload[-1:] == b"\xf7":
                        payload = payload[:-1]
                    track.append((delta, mido.Message("sysex", data=list(payload))))
                    running = None
                    continue
                if kind not in _DATA_LENGTH:
                    raise _Unusual(f"status byte {status:#x}")
                n = _DATA_LENGTH[kind]
                body = data[pos:pos + n]
                pos += n
                if len(body) < n or max(body) > 0x7F:
                    raise _Unusual("bad data byte")
                running = status
                if kind in (0x80, 0x90):
                    track.append((delta, (status, body[0], body[1])))
                else:
                    track.append((delta, mido.Message.from_bytes([status, *body])))
            if pos != end:
                raise _Unusual("event runs past its track")
            tracks.append(track)
        return file_type, tpq, tracks
    except (IndexError, struct.error, ValueError, TypeError, KeyError) as err:
        raise _Unusual(str(err)) from None


# -- writer helpers --------------------------------------------------------------
_ONE_BYTE = [bytes((v,)) for v in range(128)]


MAX_VLQ = 0x0FFFFFFF  # four bytes: the largest delta time or length a MIDI file can hold


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last.

    Raises ``ValueError`` above :data:`MAX_VLQ` (a stretched huge delta, say):
    such a file would not read back, so the variant fails instead of being written.
    """
    if value < 0x80:
        return _ONE_BYTE[value]
    if value > MAX_VLQ:
        raise ValueError(f"delta time of {value} ticks exceeds the MIDI maximum of {MAX_VLQ}")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))
