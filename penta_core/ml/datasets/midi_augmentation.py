"""MIDI augmentation: small transforms with recorded parameters.

Each transform follows the audiomentations pattern: the constructor takes
``[min, max]`` ranges and validates them, :meth:`randomize_parameters` draws
the values for one variant from a :class:`numpy.random.Generator` passed in
and keeps them in ``.parameters``, and :meth:`apply` applies exactly those
values. :class:`MIDIAugmenter` chains the five transforms and returns the
variant together with the record of what was applied (the ``transform``
entry of the manifest).

A file is edited through :class:`MidiPiece`, which pairs note-on and
note-off messages into notes held in numpy arrays and keeps every other
event (tempo, programs, controllers, SysEx, meta text) verbatim, so a
variant differs from its parent only by the transforms applied.
Times stay in ticks throughout; seconds are derived from the tempo map.
"""
from __future__ import annotations

import io
import math
import struct
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import mido
import numpy as np

DRUM_CHANNEL = 9  # General MIDI percussion (channel 10, counted from 1)
DEFAULT_TEMPO = 500_000  # microseconds per quarter note until the first set_tempo (120 bpm)
MAX_TEMPO = 0xFFFFFF  # a set_tempo event holds 24 bits

# Approximate sounding ranges (MIDI note numbers) of the 16 General MIDI
# program families, eight programs each. Transposition may not push a part
# beyond the union of this range and the part's own original span: a part
# already written outside its instrument's range is never refused.
GM_FAMILY_RANGES: tuple[tuple[int, int], ...] = (
    (21, 108),  # piano
    (36, 108),  # chromatic percussion
    (24, 108),  # organ
    (40, 88),   # guitar
    (28, 67),   # bass
    (23, 103),  # strings (contrabass to violin, harp)
    (28, 103),  # ensemble
    (28, 84),   # brass
    (34, 94),   # reed
    (60, 108),  # pipe
    (21, 108),  # synth lead
    (21, 108),  # synth pad
    (21, 108),  # synth effects
    (36, 96),   # ethnic
    (24, 108),  # percussive
    (0, 127),   # sound effects
)

_NOTE_FIELDS = (
    "track", "channel", "pitch", "start", "end", "velocity",
    "off_velocity", "off_is_note_on", "on_seq", "off_seq", "program",
)


def check_range(name: str, value: Sequence[float], *, lo: float | None = None,
                hi: float | None = None, open_lo: bool = False) -> tuple[float, float]:
    """Validate a ``[min, max]`` range; raise ``ValueError`` naming ``name``.

    Parameters
    ----------
    name : the parameter name used in the message, e.g. ``"time_stretch"``.
    value : a pair of finite numbers with ``min <= max``.
    lo, hi : optional bounds both ends must respect.
    open_lo : ``lo`` itself is excluded.

    Returns
    -------
    tuple of float : ``(min, max)``.
    """
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a [min, max] pair of numbers, got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name} must hold finite numbers, got {value!r}")
    if low > high:
        raise ValueError(f"{name}: min ({low:g}) must not exceed max ({high:g})")
    if lo is not None and (low <= lo if open_lo else low < lo):
        raise ValueError(f"{name} must be {'>' if open_lo else '>='} {lo:g}, got min {low:g}")
    if hi is not None and high > hi:
        raise ValueError(f"{name} must be <= {hi:g}, got max {high:g}")
    return low, high


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
    def from_bytes(cls, data: bytes) -> "MidiPiece":
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
    def from_file(cls, path: str | Path) -> "MidiPiece":
        return cls.from_bytes(Path(path).read_bytes())

    @classmethod
    def _from_tracks(cls, file_type: int, tpq: int, tracks: list[list[tuple[int, Any]]]) -> "MidiPiece":
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

    def copy(self) -> "MidiPiece":
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

    def tempo_map(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Breakpoints of the tick→seconds map.

        Returns
        -------
        ticks, seconds, tempos : arrays; from ``ticks[k]`` (at ``seconds[k]``)
            on, each tick lasts ``tempos[k] / (1e6 * ticks_per_beat)`` seconds.
        """
        ticks, tempos = [0], [DEFAULT_TEMPO]
        for event in self.tempo_events():
            if event.tick == ticks[-1]:
                tempos[-1] = event.msg.tempo  # the last change at one tick wins
            else:
                ticks.append(event.tick)
                tempos.append(event.msg.tempo)
        t = np.asarray(ticks, dtype=np.float64)
        tau = np.asarray(tempos, dtype=np.float64)
        scale = tau / (1e6 * self.ticks_per_beat)
        seconds = np.concatenate(([0.0], np.cumsum(np.diff(t) * scale[:-1])))
        return t, seconds, tau

    def seconds_at(self, ticks: np.ndarray) -> np.ndarray:
        """Seconds from the start of the piece at each tick (real tempo map)."""
        t, s, tau = self.tempo_map()
        ticks = np.asarray(ticks, dtype=np.float64)
        k = np.clip(np.searchsorted(t, ticks, side="right") - 1, 0, None)
        return s[k] + (ticks - t[k]) * tau[k] / (1e6 * self.ticks_per_beat)

    def ticks_at(self, seconds: np.ndarray) -> np.ndarray:
        """Fractional tick at each time in seconds (inverse of :meth:`seconds_at`)."""
        t, s, tau = self.tempo_map()
        seconds = np.asarray(seconds, dtype=np.float64)
        k = np.clip(np.searchsorted(s, seconds, side="right") - 1, 0, None)
        return t[k] + (seconds - s[k]) * (1e6 * self.ticks_per_beat) / tau[k]

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


# -- transforms ---------------------------------------------------------------
class MIDITransform:
    """Base class: ``randomize_parameters`` then ``apply``; ``parameters`` holds the draw.

    ``record()`` gives the one value that goes into the manifest under ``name``.
    """

    name: str = ""

    def __init__(self) -> None:
        self.parameters: dict[str, Any] = {}

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def apply(self, piece: MidiPiece) -> MidiPiece:
        """Apply the drawn parameters to ``piece`` in place and return it."""
        raise NotImplementedError

    def record(self) -> Any:
        return self.parameters[self.name]

    def __call__(self, piece: MidiPiece, rng: np.random.Generator) -> MidiPiece:
        self.randomize_parameters(piece, rng)
        return self.apply(piece)


class Transpose(MIDITransform):
    """Shift every non-drum note by a whole number of semitones.

    An offset that would push a note out of 0-127, or a part beyond the
    playable range of its General MIDI family (widened to the part's own
    span), is never used: the offset is drawn among the legal ones in the
    range, and when none is legal the legal offset nearest the range is used.
    The recorded value is always the offset actually applied.

    Parameters
    ----------
    min_semitones, max_semitones : inclusive range; integers inside it are drawn.

    Example
    -------
    >>> t = Transpose(-2, 2)
    >>> t.randomize_parameters(piece, np.random.default_rng(0))  # doctest: +SKIP
    >>> t.apply(piece); t.parameters["transpose_semitones"]  # doctest: +SKIP
    """

    name = "transpose_semitones"

    def __init__(self, min_semitones: float = -5, max_semitones: float = 6) -> None:
        super().__init__()
        low, high = check_range("transpose_semitones", (min_semitones, max_semitones), lo=-127, hi=127)
        self.low, self.high = math.ceil(low), math.floor(high)
        if self.low > self.high:
            raise ValueError(f"transpose_semitones: [{low:g}, {high:g}] holds no whole number of semitones")

    @staticmethod
    def legal_offsets(piece: MidiPiece) -> tuple[int, int]:
        """Smallest and largest offset that keeps every part playable (0 is always legal)."""
        n = piece.notes
        pitched = n["channel"] != DRUM_CHANNEL
        lowest, highest = -127, 127
        families = n["program"][pitched] // 8
        pitches = n["pitch"][pitched]
        for family in np.unique(families).tolist():
            sel = pitches[families == family]
            fam_lo, fam_hi = GM_FAMILY_RANGES[family]
            lo, hi = min(fam_lo, int(sel.min())), max(fam_hi, int(sel.max()))
            lowest = max(lowest, lo - int(sel.min()))
            highest = min(highest, hi - int(sel.max()))
        for kept in piece.events:  # unmatched note messages and poly aftertouch
            for e in kept:
                if e.msg.type in ("note_on", "note_off", "polytouch") and e.msg.channel != DRUM_CHANNEL:
                    lowest = max(lowest, -e.msg.note)
                    highest = min(highest, 127 - e.msg.note)
        return lowest, highest

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        lowest, highest = self.legal_offsets(piece)
        lo, hi = max(self.low, lowest), min(self.high, highest)
        if lo <= hi:
            offset = int(rng.integers(lo, hi + 1))
        else:  # nothing in the range is playable: the nearest legal offset
            offset = highest if self.low > highest else lowest
        self.parameters = {self.name: offset}

    def apply(self, piece: MidiPiece) -> MidiPiece:
        offset = self.parameters[self.name]
        if offset == 0:
            return piece
        n = piece.notes
        pitched = n["channel"] != DRUM_CHANNEL
        n["pitch"] = np.where(pitched, n["pitch"] + offset, n["pitch"])
        for kept in piece.events:
            for e in kept:
                if e.msg.type in ("note_on", "note_off", "polytouch") and e.msg.channel != DRUM_CHANNEL:
                    e.msg = e.msg.copy(note=e.msg.note + offset)
        return piece


class TimeStretch(MIDITransform):
    """Scale every onset and duration in seconds by a factor, through the tempo map.

    Ticks do not move (bars and beats stay where they were); every tempo
    event is multiplied by the factor, and a tempo event is added at tick 0
    when the piece relies on the default 120 bpm. ``factor > 1`` is slower.
    Tempo events hold whole microseconds, so the recorded factor is the one
    that the first tempo actually received; a factor that would overflow the
    24-bit tempo field is lowered to the largest that fits.

    Parameters
    ----------
    min_factor, max_factor : duration factor range, both > 0.
    """

    name = "time_stretch"

    def __init__(self, min_factor: float = 0.9, max_factor: float = 1.1) -> None:
        super().__init__()
        self.low, self.high = check_range("time_stretch", (min_factor, max_factor), lo=0, open_lo=True)

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        factor = float(rng.uniform(self.low, self.high))
        tempos = [e.msg.tempo for e in piece.tempo_events()] or [DEFAULT_TEMPO]
        first = float(piece.tempo_map()[2][0])
        factor = min(factor, MAX_TEMPO / max(max(tempos), DEFAULT_TEMPO))
        # The first tempo is an integer after scaling; record the factor it got.
        self.parameters = {self.name: float(max(1, round(first * factor)) / first)}

    def apply(self, piece: MidiPiece) -> MidiPiece:
        factor = self.parameters[self.name]
        if factor == 1.0:
            return piece
        has_tick0 = False
        for kept in piece.events:
            for e in kept:
                if e.msg.type == "set_tempo":
                    has_tick0 |= e.tick == 0
                    e.msg = e.msg.copy(tempo=min(MAX_TEMPO, max(1, round(e.msg.tempo * factor))))
        if not has_tick0:
            if not piece.events:
                piece.events.append([])
            tempo = mido.MetaMessage("set_tempo", tempo=round(DEFAULT_TEMPO * factor))
            piece.events[0].insert(0, _Event(0, -1, tempo))
        return piece


class VelocityScale(MIDITransform):
    """Multiply note-on velocities by a factor, rounded and clamped to 1-127.

    The lower clamp is 1, not 0: a velocity-0 note-on would end the note.

    Parameters
    ----------
    min_scale, max_scale : factor range, both > 0.
    """

    name = "velocity_scale"

    def __init__(self, min_scale: float = 0.8, max_scale: float = 1.2) -> None:
        super().__init__()
        self.low, self.high = check_range("velocity_scale", (min_scale, max_scale), lo=0, open_lo=True)

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        self.parameters = {self.name: float(rng.uniform(self.low, self.high))}

    def apply(self, piece: MidiPiece) -> MidiPiece:
        scale = self.parameters[self.name]
        if scale == 1.0:
            return piece
        n = piece.notes
        n["velocity"] = np.clip(np.rint(n["velocity"] * scale), 1, 127).astype(np.int64)
        for kept in piece.events:
            for e in kept:
                if e.msg.type == "note_on" and e.msg.velocity > 0:
                    e.msg = e.msg.copy(velocity=int(min(127, max(1, round(e.msg.velocity * scale)))))
        return piece


class NoteDropout(MIDITransform):
    """Remove a fraction of the notes, never all of them.

    A probability ``p`` is drawn from the range and ``round(p * n)`` notes
    (at most ``n - 1``) are removed, chosen uniformly. The recorded value is
    the fraction actually removed.

    Parameters
    ----------
    min_fraction, max_fraction : range inside [0, 1).
    """

    name = "note_dropout"

    def __init__(self, min_fraction: float = 0.0, max_fraction: float = 0.1) -> None:
        super().__init__()
        self.low, self.high = check_range("note_dropout", (min_fraction, max_fraction), lo=0, hi=1)
        if self.high >= 1:
            raise ValueError(f"note_dropout must be < 1 (some notes must remain), got max {self.high:g}")

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        p = float(rng.uniform(self.low, self.high))
        n = piece.n_notes
        count = min(int(round(p * n)), max(n - 1, 0))
        drop = np.sort(rng.choice(n, size=count, replace=False)) if count else np.zeros(0, np.int64)
        self.parameters = {self.name: count / n if n else 0.0, "probability": p, "dropped": drop}

    def apply(self, piece: MidiPiece) -> MidiPiece:
        drop = self.parameters["dropped"]
        if drop.size:
            mask = np.ones(piece.n_notes, dtype=bool)
            mask[drop] = False
            piece.keep_notes(mask)
        return piece


class TimingJitter(MIDITransform):
    """Move each note by its own random offset, at most ``bound`` milliseconds.

    Every offset is relative to the note's own onset, so errors never
    accumulate along the piece. Milliseconds become ticks through the real
    tempo map at that point, rounding toward the original onset so the bound
    holds exactly. A note keeps its length in ticks. Notes of one pitch on one
    channel keep their order (each may move at most halfway to its
    neighbour), notes sounding together at one tick move together, and when
    a moved note would still be sounding at the next onset of its pitch it is
    shortened to end there: read back, a note-off never cuts a later note.

    Parameters
    ----------
    min_ms, max_ms : range of the bound, in milliseconds (>= 0).
    """

    name = "timing_jitter_ms"

    def __init__(self, min_ms: float = 0.0, max_ms: float = 15.0) -> None:
        super().__init__()
        self.low, self.high = check_range("timing_jitter_ms", (min_ms, max_ms), lo=0)

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        bound = float(rng.uniform(self.low, self.high))
        offsets = rng.uniform(-bound, bound, size=piece.n_notes)
        self.parameters = {self.name: bound, "offsets_ms": offsets}

    def apply(self, piece: MidiPiece) -> MidiPiece:
        bound = self.parameters[self.name]
        offsets = self.parameters["offsets_ms"]
        n = piece.notes
        if bound == 0.0 or piece.n_notes == 0:
            return piece
        if offsets.size != piece.n_notes:
            raise ValueError("timing jitter drawn for a different piece (note count changed)")
        start, end = n["start"], n["end"]
        horizon = int(start.max()) + 1
        voice = n["channel"] * 128 + n["pitch"]
        # One entry per (channel, pitch, onset): notes doubled at one tick move as one.
        keys, first, inverse = np.unique(voice * horizon + start, return_index=True, return_inverse=True)
        u_voice, u_start = keys // horizon, keys % horizon
        target = piece.ticks_at(piece.seconds_at(u_start) + offsets[first] / 1000.0)
        moved = np.where(target >= u_start, np.floor(target), np.ceil(target)).astype(np.int64)
        lo, hi = np.zeros_like(u_start), np.full_like(u_start, np.iinfo(np.int64).max)
        same = u_voice[1:] == u_voice[:-1]
        gap = u_start[1:] - u_start[:-1]
        # Split the gap between neighbouring onsets: order is kept, no two meet.
        hi[:-1] = np.where(same, u_start[:-1] + (gap - 1) // 2, hi[:-1])
        lo[1:] = np.where(same, u_start[1:] - gap // 2, lo[1:])
        new_start = np.clip(moved, lo, hi)
        nxt = np.full_like(new_start, np.iinfo(np.int64).max)
        nxt[:-1] = np.where(same, new_start[1:], nxt[:-1])
        shift = new_start[inverse] - start
        n["start"] = start + shift
        n["end"] = np.minimum(end + shift, nxt[inverse])
        return piece


# -- the augmenter --------------------------------------------------------------
class MIDIAugmenter:
    """Chain of the five MIDI transforms, applied in a fixed order.

    Order: transpose, time stretch, velocity scaling, note dropout, timing
    jitter (last, so milliseconds are measured on the final tempo map and
    only on the notes that remain).

    Parameters
    ----------
    transpose_semitones, time_stretch, velocity_scale, timing_jitter_ms, note_dropout :
        ``[min, max]`` ranges, as under ``augment.midi`` in ``params.yaml``.

    Example
    -------
    >>> aug = MIDIAugmenter(transpose_semitones=(-2, 2))
    >>> data, record = aug.augment_bytes(midi_bytes, np.random.default_rng([42, 7, 1]))  # doctest: +SKIP
    >>> sorted(record)  # doctest: +SKIP
    ['note_dropout', 'time_stretch', 'timing_jitter_ms', 'transpose_semitones', 'velocity_scale']
    """

    def __init__(self, transpose_semitones: Sequence[float] = (-5, 6),
                 time_stretch: Sequence[float] = (0.9, 1.1),
                 velocity_scale: Sequence[float] = (0.8, 1.2),
                 timing_jitter_ms: Sequence[float] = (0.0, 15.0),
                 note_dropout: Sequence[float] = (0.0, 0.1)) -> None:
        self.transforms: list[MIDITransform] = [
            Transpose(*range_pair("transpose_semitones", transpose_semitones)),
            TimeStretch(*range_pair("time_stretch", time_stretch)),
            VelocityScale(*range_pair("velocity_scale", velocity_scale)),
            NoteDropout(*range_pair("note_dropout", note_dropout)),
            TimingJitter(*range_pair("timing_jitter_ms", timing_jitter_ms)),
        ]

    @classmethod
    def from_params(cls, ranges: dict[str, Sequence[float]]) -> "MIDIAugmenter":
        """Build from the ``augment.midi`` block of the parameters."""
        return cls(**ranges)

    def augment(self, piece: MidiPiece, rng: np.random.Generator) -> tuple[MidiPiece, dict[str, Any]]:
        """One variant of ``piece`` (left unchanged) and the values applied.

        Parameters
        ----------
        piece : the parent.
        rng : the variant's own generator; every random draw comes from it.

        Returns
        -------
        (MidiPiece, dict) : the variant and ``{transform name: value applied}``.
        """
        variant = piece.copy()
        record: dict[str, Any] = {}
        for transform in self.transforms:
            transform(variant, rng)
            record[transform.name] = transform.record()
        return variant, record

    def augment_bytes(self, data: bytes, rng: np.random.Generator) -> tuple[bytes, dict[str, Any]]:
        """:meth:`augment` on MIDI file bytes; returns the variant's bytes."""
        variant, record = self.augment(MidiPiece.from_bytes(data), rng)
        return variant.to_bytes(), record


_ONE_BYTE = [bytes((v,)) for v in range(128)]


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    if value < 0x80:
        return _ONE_BYTE[value]
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def range_pair(name: str, value: Sequence[float]) -> tuple[float, float]:
    """``(min, max)`` from a two-item sequence; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, (str, bytes)) or len(value) != 2:
        raise ValueError(f"{name} must be a [min, max] pair, got {value!r}")
    return value[0], value[1]
