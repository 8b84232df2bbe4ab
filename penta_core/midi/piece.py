"""A MIDI file as paired notes in numpy arrays, read and written byte for byte.

:class:`MidiPiece` pairs note-on and note-off messages into notes held in
numpy arrays and keeps every other event (tempo, programs, controllers,
SysEx, meta text) verbatim, so an edited piece differs from its source only
by the edits made. Times stay in ticks throughout; seconds come from the
tempo map (:meth:`MidiPiece.tempo_map`). It lives apart from the transforms
because it is the MIDI file model they edit, not a transform: reading and
writing Standard MIDI Files byte for byte is one concept, augmenting them
another. The byte-level reader and writer live in :mod:`.smf_read` and
:mod:`.smf_write`; mido reads what the fast reader leaves to it and encodes
messages a transform replaced.
"""
from __future__ import annotations

import io
import itertools
import operator
from pathlib import Path
from typing import Any

import mido
import numpy as np

from penta_core.midi.smf_read import Proto, Track, Unusual, channel_item, read_smf
from penta_core.midi.smf_write import MAX_VLQ as MAX_VLQ  # re-exported: the writer's limit, where callers look
from penta_core.midi.smf_write import encode_file_events, encode_files
from penta_core.midi.tempo import TempoMap

DRUM_CHANNEL = 9  # General MIDI percussion (channel 10, counted from 1)

_NOTE_FIELDS = (
    "track", "channel", "pitch", "start", "end", "velocity",
    "off_velocity", "off_is_note_on", "on_seq", "off_seq", "program",
)


class _Event:
    """A non-note event kept verbatim, at an absolute tick.

    ``kind`` is mido's message type. An event read by the fast reader holds
    the bytes the writer writes for it (``raw``) and a decoded prototype; its
    mido message is made when first asked for. Reading ``msg`` hands out a
    message the caller may edit, so the event then forgets its bytes and the
    writer encodes the message; assigning ``msg`` replaces the event's content.
    """

    __slots__ = ("_msg", "_proto", "kind", "raw", "seq", "tick")

    def __init__(self, tick: int, seq: int, msg: mido.Message | mido.MetaMessage | None = None, *,
                 kind: str | None = None, raw: bytes | None = None, proto: Proto | None = None) -> None:
        self.tick = tick
        self.seq = seq
        self._msg = msg
        self._proto = proto
        self.raw = raw  # with a message: the bytes it encodes to, when the caller knows them
        self.kind = msg.type if msg is not None else kind

    @property
    def msg(self) -> mido.Message | mido.MetaMessage:
        if self._msg is None:
            cls, attributes = self._proto
            msg = _new_message(cls)
            vars(msg).update(attributes)
            self._msg = msg
        self.raw = None
        return self._msg

    @msg.setter
    def msg(self, msg: mido.Message | mido.MetaMessage) -> None:
        self._msg, self._proto, self.raw, self.kind = msg, None, None, msg.type

    def shared(self) -> _Event:
        """A new event of the same tick, position and content (the message, if made, is shared)."""
        e = _new_message(_Event)
        e.tick, e.seq, e.kind, e.raw = self.tick, self.seq, self.kind, self.raw
        e._msg, e._proto = self._msg, self._proto
        return e

    def _peek(self) -> mido.Message | mido.MetaMessage:
        """The message, made if need be, without handing it out (the bytes stay valid)."""
        if self._msg is not None:
            return self._msg
        cls, attributes = self._proto
        msg = _new_message(cls)
        vars(msg).update(attributes)
        return msg

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Event):
            return NotImplemented
        return (self.tick, self.seq, self._peek()) == (other.tick, other.seq, other._peek())

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"_Event(tick={self.tick}, seq={self.seq}, msg={self._peek()!r})"

    def tempo(self) -> int:
        """Microseconds per quarter note of a ``set_tempo`` event, without making its message."""
        raw = self.raw
        if raw is not None and len(raw) == 6:
            return (raw[3] << 16) | (raw[4] << 8) | raw[5]
        return self._peek().tempo


_new_message = object.__new__
_EVENT_ORDER = operator.attrgetter("tick", "seq")


def _split_track(items: list[tuple[int, Any]]) -> Track:
    """A :class:`Track` from ``(delta, item)`` pairs, item a ``(status, note, velocity)`` tuple or a message."""
    deltas: list[int] = []
    notes: list[int] = []
    others: list[tuple[int, Any]] = []
    for seq, (delta, item) in enumerate(items):
        deltas.append(delta)
        if item.__class__ is tuple:
            notes.extend((seq, *item))
        else:
            others.append((seq, item))
    return Track(deltas, notes, others)


def _note_tuple(msg) -> tuple[int, int, int] | None:
    if msg.type == "note_on":
        return (0x90 | msg.channel, msg.note, msg.velocity)
    if msg.type == "note_off":
        return (0x80 | msg.channel, msg.note, msg.velocity)
    return None


def _event(tick: int, seq: int, item: Any) -> _Event:
    """An event from what a reader gave: a ``(kind, raw, prototype)`` triple or a mido message."""
    if item.__class__ is tuple:
        kind, raw, proto = item
        e = _new_message(_Event)
        e.tick, e.seq, e.kind, e.raw, e._msg, e._proto = tick, seq, kind, raw, None, proto
        return e
    return _Event(tick, seq, item)


def _program_change(item: Any) -> tuple[int, int] | None:
    """``(channel, program)`` of a program change, else None."""
    if item.__class__ is tuple:
        if item[0] != "program_change":
            return None
        raw = item[1]
        return raw[0] & 0x0F, raw[1]
    if item.type != "program_change":
        return None
    return item.channel, item.program


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
            file_type, tpq, tracks = read_smf(data)
        except Unusual:
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
    def _from_tracks(cls, file_type: int, tpq: int, tracks: list[Track]) -> MidiPiece:
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
        flat = np.fromiter(itertools.chain.from_iterable(t.notes for t in tracks), dtype=np.int64,
                           count=4 * sum(counts))
        seq, status, pitch, velocity = flat.reshape(-1, 4).T
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
                change = _program_change(item)
                if change is not None:
                    first_program.setdefault(change[0], change[1])
                    changes.append((((t_index * 16 + change[0]) << 32) | at, change[1]))
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
            events.append([_event(tick_of[at], at, item) for at, item in t.others])
        odd = np.flatnonzero(lonely | dangling)
        for i in odd.tolist():  # unpaired note messages stay plain events, as in the source
            # A dangling note-on has a velocity above 0, so its status is a note-on's either way.
            item = channel_item(bytes((int(status[i]), int(pitch[i]), int(velocity[i]))))
            events[int(track[i])].append(_event(int(tick[i]), int(seq[i]), item))
        for t_index in set(track[odd].tolist()):
            events[t_index].sort(key=_EVENT_ORDER)
        order = np.lexsort((notes["on_seq"], notes["start"], notes["track"]))
        notes = {name: array[order] for name, array in notes.items()}
        return cls(tpq, file_type, notes, events)

    def to_bytes(self) -> bytes:
        """Serialise deterministically: equal pieces give identical bytes.

        Events at one tick keep their original order, except that note-offs
        come first so that a note ending where the next one of the same pitch
        begins is never read as ending the new note. The whole file is
        encoded in one pass of array operations (:func:`.smf_write.encode_file`);
        what that declines (a negative tick, a value beyond a byte, a delta
        beyond the MIDI maximum) goes through the event by event encoder,
        which writes it or raises as it always did.
        """
        return MidiPiece.to_bytes_many([self])[0]

    @staticmethod
    def to_bytes_many(pieces: list[MidiPiece]) -> list[bytes]:
        """``[p.to_bytes() for p in pieces]`` in one pass of array operations (cheaper per piece).

        Raises what the first piece that cannot be written raises in :meth:`to_bytes`.
        """
        found = encode_files([(p.file_type, p.ticks_per_beat, p.events, p.notes) for p in pieces])
        return [data if data is not None
                else encode_file_events(p.file_type, p.ticks_per_beat, p.events, p.notes)
                for p, data in zip(pieces, found, strict=True)]

    def copy(self) -> MidiPiece:
        """An independent copy.

        Messages are shared: transforms never mutate a message, they replace
        it with an edited copy, so edits to the copy never reach the original.
        """
        return MidiPiece(
            self.ticks_per_beat, self.file_type,
            {name: array.copy() for name, array in self.notes.items()},
            [[e.shared() for e in kept] for kept in self.events],
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
                 for e in kept if e.kind == "set_tempo"]
        found.sort(key=lambda r: r[:3])
        return [r[3] for r in found]

    def tempo_map(self, events: list[_Event] | None = None) -> TempoMap:
        """The tick ↔ seconds map of the piece, from the tempo events of every track.

        ``events``: :meth:`tempo_events`, when the caller already has them.
        """
        if events is None:
            events = self.tempo_events()
        return TempoMap([e.tick for e in events], [e.tempo() for e in events], self.ticks_per_beat)

    def keep_notes(self, mask: np.ndarray) -> None:
        self.notes = {name: array[mask] for name, array in self.notes.items()}
