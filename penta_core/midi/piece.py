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
import operator
import struct
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


@dataclass(slots=True)
class _Event:
    """A non-note event kept verbatim, at an absolute tick."""

    tick: int
    seq: int
    msg: mido.Message | mido.MetaMessage


_EVENT_ORDER = operator.attrgetter("tick", "seq")


@dataclass(slots=True)
class _Track:
    """One track as read: a delta per event, note messages flat, the other events whole."""

    deltas: list[int]  # ticks since the previous event, for every event
    notes: list[int]  # seq, status, note, velocity of each note-on/off message, one after another
    others: list[tuple[int, Any]]  # (seq, mido message) of every other event


def _split_track(items: list[tuple[int, Any]]) -> _Track:
    """A :class:`_Track` from ``(delta, item)`` pairs, item a ``(status, note, velocity)`` tuple or a message."""
    deltas: list[int] = []
    notes: list[int] = []
    others: list[tuple[int, Any]] = []
    for seq, (delta, item) in enumerate(items):
        deltas.append(delta)
        if item.__class__ is tuple:
            notes.extend((seq, *item))
        else:
            others.append((seq, item))
    return _Track(deltas, notes, others)


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
            tracks = [_split_track([(msg.time, _note_tuple(msg) or msg.copy(time=0)) for msg in track])
                      for track in mid.tracks]
        if tpq <= 0 or tpq >= 0x8000:
            raise ValueError(f"unsupported MIDI time division {tpq} (SMPTE timing)")
        return cls._from_tracks(file_type, tpq, tracks)

    @classmethod
    def from_file(cls, path: str | Path) -> MidiPiece:
        return cls.from_bytes(Path(path).read_bytes())

    @classmethod
    def _from_tracks(cls, file_type: int, tpq: int, tracks: list[_Track]) -> MidiPiece:
        """Pair the note messages of every track into notes and keep every other event.

        Pairing is first-in first-out per track, channel and pitch, done for
        all notes at once: within one key, in file order, the queue of
        waiting note-ons is a running sum of +1 (note-on) and -1 (note-off)
        clamped at zero, so a note-off finds the queue empty exactly when it
        takes that sum to a new low; the k-th note-off that does not is the
        end of the key's k-th note-on.
        """
        n_events = [len(t.deltas) for t in tracks]
        event_base = np.zeros(len(tracks) + 1, dtype=np.int64)
        np.cumsum(n_events, out=event_base[1:])
        ticks = np.concatenate([np.cumsum(np.asarray(t.deltas, dtype=np.int64)) for t in tracks]) \
            if tracks else np.zeros(0, dtype=np.int64)
        counts = [len(t.notes) // 4 for t in tracks]
        flat = [v for t in tracks for v in t.notes]
        seq, status, pitch, velocity = np.array(flat, dtype=np.int64).reshape(-1, 4).T
        track = np.repeat(np.arange(len(tracks), dtype=np.int64), counts)
        tick = ticks[event_base[track] + seq]
        channel = status & 0x0F
        is_on = (status >= 0x90) & (velocity > 0)

        # Every note message in file order within its (track, channel, pitch) key.
        order = np.argsort(((track * 16 + channel) * 128 + pitch) << 32 | seq)
        group = ((track * 16 + channel) * 128 + pitch)[order]
        n = group.size
        new_key = np.ones(n, dtype=bool)
        np.not_equal(group[1:], group[:-1], out=new_key[1:])
        group_id = np.cumsum(new_key) - 1
        step = np.where(is_on[order], 1, -1)
        total = np.cumsum(step)
        queue_sum = total - (total - step)[new_key][group_id]  # running sum within the key
        # Lowest running sum so far within the key (and 0); later keys are pushed far below earlier ones
        # so that one accumulated minimum serves them all.
        far = group_id * (2 * n + 2)
        low = np.minimum(np.minimum.accumulate(queue_sum - far) + far, 0)
        low_before = np.zeros(n, dtype=np.int64)
        low_before[1:] = low[:-1]
        low_before[new_key] = 0
        unmatched_off = low < low_before  # found the queue empty
        on_at = np.flatnonzero(is_on[order])
        off_at = np.flatnonzero(~is_on[order] & ~unmatched_off)
        on_group, off_group = group[on_at], group[off_at]
        off_rank = np.arange(off_at.size) - np.searchsorted(off_group, off_group, side="left")
        pair_on = order[on_at[np.searchsorted(on_group, off_group, side="left") + off_rank]]
        pair_off = order[off_at]
        dangling = is_on.copy()  # note-ons never switched off
        dangling[pair_on] = False
        lonely = np.zeros(n, dtype=bool)  # note-offs with nothing to switch off
        lonely[order[unmatched_off]] = True

        # The program playing each note: the last change on its track and channel before its
        # note-on, else the channel's first change anywhere in the file, else 0.
        first_program: dict[int, int] = {}
        changes = []
        for t_index, t in enumerate(tracks):
            for at, item in t.others:
                if item.type == "program_change":
                    first_program.setdefault(item.channel, item.program)
                    changes.append((((t_index * 16 + item.channel) << 32) | at, item.program))
        program = np.array([first_program.get(c, 0) for c in range(16)], dtype=np.int64)[channel[pair_on]]
        if changes:
            changes.sort()
            change_key = np.array([c[0] for c in changes], dtype=np.int64)
            note_key = ((track[pair_on] * 16 + channel[pair_on]) << 32) | seq[pair_on]
            last = np.searchsorted(change_key, note_key) - 1
            found = (last >= 0) & ((change_key[last] >> 32) == (note_key >> 32))
            program[found] = np.array([c[1] for c in changes], dtype=np.int64)[last[found]]
        notes = {
            "track": track[pair_on], "channel": channel[pair_on], "pitch": pitch[pair_on],
            "start": tick[pair_on], "end": tick[pair_off], "velocity": velocity[pair_on],
            "off_velocity": velocity[pair_off], "off_is_note_on": status[pair_off] >= 0x90,
            "on_seq": seq[pair_on], "off_seq": seq[pair_off], "program": program,
        }

        events: list[list[_Event]] = []
        for t_index, t in enumerate(tracks):
            tick_of = ticks[event_base[t_index]:event_base[t_index + 1]].tolist()
            events.append([_Event(tick_of[at], at, item) for at, item in t.others])
        odd = np.flatnonzero(lonely | dangling)
        for i in odd.tolist():  # unpaired note messages stay plain events, as in the source
            if lonely[i]:
                msg = mido.Message.from_bytes([int(status[i]), int(pitch[i]), int(velocity[i])])
            else:
                msg = mido.Message("note_on", channel=int(channel[i]), note=int(pitch[i]), velocity=int(velocity[i]))
            events[int(track[i])].append(_Event(int(tick[i]), int(seq[i]), msg))
        for t_index in set(track[odd].tolist()):
            events[t_index].sort(key=_EVENT_ORDER)
        order = np.lexsort((notes["on_seq"], notes["start"], notes["track"]))
        notes = {name: array[order] for name, array in notes.items()}
        return cls(tpq, file_type, notes, events)

    def to_bytes(self) -> bytes:
        """Serialise deterministically: equal pieces give identical bytes.

        Events at one tick keep their original order, except that note-offs
        come first so that a note ending where the next one of the same pitch
        begins is never read as ending the new note. Notes are encoded
        directly (mido's per-message objects and checks cost more than the
        transforms); other events use mido's own encoding. A track of many
        events is ordered and encoded with array operations
        (:func:`_encode_track`), a short one event by event
        (:func:`_encode_track_events`); both give the same bytes.
        """
        n = self.notes
        by_track = np.argsort(n["track"], kind="stable")
        bounds = np.searchsorted(n["track"][by_track], np.arange(len(self.events) + 1)).tolist()
        out = [b"MThd" + struct.pack(">IHHH", 6, self.file_type, len(self.events), self.ticks_per_beat)]
        for t_index, kept in enumerate(self.events):
            idx = by_track[bounds[t_index]:bounds[t_index + 1]]
            notes = {name: n[name][idx] for name in _WRITTEN_FIELDS}
            body = None
            if idx.size >= _ARRAY_TRACK:
                body = _encode_track(kept, notes)
            if body is None:
                body = _encode_track_events(kept, notes)
            out += [b"MTrk", struct.pack(">I", len(body)), body]
        return b"".join(out)

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


def _channel_message(status: int, body: bytes) -> mido.Message:
    """``mido.Message.from_bytes([status, *body])``, from a cache of decoded attribute dicts.

    mido checks and decodes every message it builds; the same few controller
    and program messages recur throughout a file, so each distinct one is
    decoded by mido once and later copies get its attributes directly.
    """
    key = (status, body)
    attributes = _DECODED.get(key)
    if attributes is None:
        attributes = vars(mido.Message.from_bytes([status, *body]))
        if len(_DECODED) < _DECODED_LIMIT:
            _DECODED[key] = attributes
    msg = _new_message(mido.Message)
    vars(msg).update(attributes)
    return msg


_DECODED: dict[tuple[int, bytes], dict] = {}
_DECODED_LIMIT = 1 << 16
_new_message = object.__new__


def _read_smf(data: bytes) -> tuple[int, int, list[_Track]]:
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
                    delta, pos = _read_vlq(data, pos - 1)
                add_delta(delta)
                status = data[pos]
                if status < 0x80:  # running status: the byte is data
                    if running is None:
                        raise _Unusual("running status without a status")
                    status = running
                else:
                    pos += 1
                if status < 0xA0:  # note-off or note-on: the bulk of a file
                    note, velocity = data[pos], data[pos + 1]
                    pos += 2
                    if note > 0x7F or velocity > 0x7F:
                        raise _Unusual("bad data byte")
                    running = status
                    add_note((seq, status, note, velocity))
                    continue
                if status == 0xFF:
                    meta_type = data[pos]
                    n, pos = _read_vlq(data, pos + 1)
                    payload = data[pos:pos + n]
                    pos += n
                    add_other((seq, build_meta_message(meta_type, list(payload), 0)))
                    continue
                if status == 0xF0:
                    n, pos = _read_vlq(data, pos)
                    payload = data[pos:pos + n]
                    pos += n
                    if payload[-1:] == b"\xf7":
                        payload = payload[:-1]
                    add_other((seq, mido.Message("sysex", data=list(payload))))
                    running = None
                    continue
                n = _DATA_LENGTH.get(status & 0xF0)
                if n is None:
                    raise _Unusual(f"status byte {status:#x}")
                body = data[pos:pos + n]
                pos += n
                if len(body) < n or max(body) > 0x7F:
                    raise _Unusual("bad data byte")
                running = status
                add_other((seq, _channel_message(status, body)))
            if pos != end:
                raise _Unusual("event runs past its track")
            tracks.append(_Track(deltas, notes, others))
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


# -- the track encoders ---------------------------------------------------------------
_WRITTEN_FIELDS = ("channel", "pitch", "start", "end", "velocity", "off_velocity", "on_seq", "off_seq",
                   "off_is_note_on")
_ARRAY_TRACK = 128  # from this many notes on, a track is encoded with array operations (measured crossover)
_END_OF_TRACK = b"\xff\x2f\x00"
_ROW_ORDER = operator.itemgetter(0, 1, 2)


def _encode_track_events(kept: list[_Event], notes: dict[str, np.ndarray]) -> bytes:
    """The body of one track (without its chunk header), built event by event."""
    rows: list[tuple[int, int, int, Any]] = []
    end_of_track = 0
    for e in kept:
        if e.msg.type == "end_of_track":  # written once, last, where the source had it
            end_of_track = max(end_of_track, e.tick)
        else:
            rows.append((e.tick, 1, e.seq, e.msg))
    channel, pitch = notes["channel"], notes["pitch"]
    start, end = notes["start"], notes["end"]
    ons = zip((0x90 | channel).tolist(), pitch.tolist(), notes["velocity"].tolist(), strict=True)
    offs = zip((np.where(notes["off_is_note_on"], 0x90, 0x80) | channel).tolist(), pitch.tolist(),
               notes["off_velocity"].tolist(), strict=True)
    ones = [1] * channel.size
    rows += zip(start.tolist(), ones, notes["on_seq"].tolist(), ons, strict=True)
    # A zero-length note keeps its off after its on (same priority, later seq).
    rows += zip(end.tolist(), (end <= start).astype(np.int64).tolist(), notes["off_seq"].tolist(), offs, strict=True)
    rows.sort(key=_ROW_ORDER)
    body = bytearray()
    previous, running = 0, None
    for tick, _, _, item in rows:
        delta = tick - previous
        body += _ONE_BYTE[delta] if 0 <= delta < 0x80 else _vlq(delta)
        previous = tick
        if item.__class__ is tuple:
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
    body += _vlq(max(end_of_track - previous, 0)) + _END_OF_TRACK
    return bytes(body)


def _encode_track(kept: list[_Event], notes: dict[str, np.ndarray]) -> bytes | None:
    """:func:`_encode_track_events` with array operations: the same bytes, or None when it cannot say.

    Rows are every kept event (in list order) then each note's on and off;
    a stable sort by (tick, priority, seq) gives the writing order. Running
    status drops a channel message's status byte when the row before was a
    channel message with the same status. Meta, SysEx and system messages
    are copied in as the bytes mido encodes for them. None (so the event by
    event encoder runs and behaves as it always did) when a delta would be
    negative or a note value would not fit in a byte.
    """
    ticks, seqs, status, first, second, size, blobs = [], [], [], [], [], [], {}
    end_of_track = 0
    try:
        for e in kept:
            msg = e.msg
            kind = msg.type
            if kind == "end_of_track":
                end_of_track = max(end_of_track, e.tick)
                continue
            if msg.is_meta:
                blob = bytes(msg.bytes())
            elif kind == "sysex":
                blob = b"\xf0" + _vlq(len(msg.data) + 1) + bytes(msg.data) + b"\xf7"
            else:
                encoded = msg.bytes()
                if encoded[0] < 0xF0 and len(encoded) in (2, 3) and max(encoded) < 0x100:
                    ticks.append(e.tick)
                    seqs.append(e.seq)
                    status.append(encoded[0])
                    first.append(encoded[1])
                    second.append(encoded[-1])
                    size.append(len(encoded) - 1)
                    continue
                blob = bytes(encoded)
            blobs[len(ticks)] = blob
            ticks.append(e.tick)
            seqs.append(e.seq)
            status.append(-1)
            first.append(0)
            second.append(0)
            size.append(len(blob))
    except ValueError:  # a value that does not fit: the event by event encoder says which, where it always did
        return None
    n_kept, n_notes = len(ticks), notes["pitch"].size
    channel = notes["channel"]
    on_status = channel | 0x90
    off_status = channel | np.where(notes["off_is_note_on"], 0x90, 0x80)
    if n_notes and int(np.bitwise_or.reduce(on_status | off_status | notes["pitch"] | notes["velocity"]
                                            | notes["off_velocity"])) & ~0xFF:
        return None  # a value outside a byte (or negative)

    def rows(kept_values: list, on: np.ndarray, off: np.ndarray) -> np.ndarray:
        """Kept events' values, then each note's on and off value, interleaved."""
        out = np.empty(n_kept + 2 * n_notes, dtype=np.int64)
        out[:n_kept] = kept_values
        out[n_kept::2] = on
        out[n_kept + 1::2] = off
        return out

    tick = rows(ticks, notes["start"], notes["end"])
    order = np.lexsort((rows(seqs, notes["on_seq"], notes["off_seq"]),
                        rows([1] * n_kept, 1, notes["end"] <= notes["start"]), tick))
    tick = tick[order]
    if tick.size and tick[0] < 0:
        return None
    stat = rows(status, on_status, off_status)[order]
    pitch = notes["pitch"]
    data1 = rows(first, pitch, pitch)[order]
    data2 = rows(second, notes["velocity"], notes["off_velocity"])[order]
    length = rows(size, 2, 2)[order]

    delta = tick.copy()
    delta[1:] -= tick[:-1]
    if delta.size and delta.max() > MAX_VLQ:
        _vlq(int(delta[np.argmax(delta > MAX_VLQ)]))  # raises the encoder's own error
    n_vlq = 1 + (delta >= 1 << 7) + (delta >= 1 << 14) + (delta >= 1 << 21)
    channel_row = stat >= 0
    with_status = channel_row.copy()  # running status: no status byte after a channel message of the same status
    with_status[1:] &= stat[1:] != stat[:-1]
    # Each row as up to seven bytes (four of delta, status, two of data) and which of them it has;
    # the chosen bytes in row order are the track body, less meta and SysEx bytes, inserted after.
    grid = np.zeros((tick.size, 7), dtype=np.int64)
    has = np.zeros((tick.size, 7), dtype=bool)
    for k in range(4):
        shift = 7 * (n_vlq - 1 - k)
        grid[:, k] = (delta >> np.maximum(shift, 0)) & 0x7F | (shift > 0) << 7
        has[:, k] = shift >= 0
    grid[:, 4], grid[:, 5], grid[:, 6] = stat, data1, data2
    has[:, 4], has[:, 5] = with_status, channel_row
    has[:, 6] = channel_row & (length == 2)
    body = grid[has].astype(np.uint8).tobytes()
    if blobs:
        row_of = np.empty(order.size, dtype=np.int64)
        row_of[order] = np.arange(order.size)
        row_end = np.cumsum(np.count_nonzero(has, axis=1))  # body bytes up to the end of each row
        pieces, done = [], 0
        for row, blob in sorted((int(row_of[i]), blob) for i, blob in blobs.items()):
            split = int(row_end[row])  # a meta or SysEx row holds only its delta so far
            pieces += [body[done:split], blob]
            done = split
        body = b"".join([*pieces, body[done:]])
    last = int(tick[-1]) if tick.size else 0
    return body + _vlq(max(end_of_track - last, 0)) + _END_OF_TRACK
