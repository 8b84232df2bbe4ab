"""MIDI augmentation: small transforms with recorded parameters.

Each transform follows the pattern of :mod:`.transform`: the constructor
takes the ``[min, max]`` range of its registered parameter and validates it,
:meth:`randomize_parameters` draws the values for one variant from a
:class:`numpy.random.Generator` passed in and keeps them in ``.parameters``,
and :meth:`apply` applies exactly those values. :class:`MIDIAugmenter`
chains the transforms declared in :mod:`.registry` and returns the variant
together with the record of what was applied (the ``transform`` entry of the
manifest).

A file is edited through :class:`~penta_core.midi.piece.MidiPiece` (notes in
numpy arrays, every other event verbatim), so a variant differs from its
parent only by the transforms applied.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mido
import numpy as np

from penta_core.augment.transform import Transform, build_chain
from penta_core.midi.piece import DRUM_CHANNEL, MidiPiece, _Event
from penta_core.midi.tempo import DEFAULT_MSPQ, MAX_MSPQ

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


_FAMILY_LOW = np.array([lo for lo, _ in GM_FAMILY_RANGES], dtype=np.int64)
_FAMILY_HIGH = np.array([hi for _, hi in GM_FAMILY_RANGES], dtype=np.int64)
_FAR = int(np.iinfo(np.int64).max)  # a bound that never binds (np.iinfo costs microseconds a call)


# -- events other than paired notes ------------------------------------------------------
# Transforms replace an event they edit (``kept[i] = ...``), never assign to it, so a variant
# may share its parent's unedited event objects.
_NOTE_KINDS = ("note_on", "note_off", "polytouch")


def _keyed_events(piece: MidiPiece, kinds: tuple[str, ...] = _NOTE_KINDS) -> list[tuple[list, int, _Event]]:
    """``(track's event list, index, event)`` of every kept event of ``kinds`` (read from the kind, not the message)."""
    return [(kept, i, e) for kept in piece.events for i, e in enumerate(kept) if e.kind in kinds]


def _channel_and_note(e: _Event) -> tuple[int, int]:
    raw = e.raw
    if raw is not None:
        return raw[0] & 0x0F, raw[1]
    msg = e._peek()
    return msg.channel, msg.note


def _tempo_event(e: _Event, tempo: int) -> _Event:
    """``e`` with its tempo replaced: the message mido's ``copy(tempo=...)`` gives, and its bytes.

    ``tempo`` is within 1 and :data:`MAX_MSPQ` (the caller clamps it), which is all mido's copy
    would check, so the message is made from the original's attributes directly.
    """
    original = e._peek()
    msg = _new_object(type(original))
    attributes = vars(msg)
    attributes.update(vars(original))
    attributes["tempo"] = tempo
    return _Event(e.tick, e.seq, msg, raw=b"\xff\x51\x03" + tempo.to_bytes(3, "big"))


_new_object = object.__new__


# -- transforms ---------------------------------------------------------------
class MIDITransform(Transform):
    """Base class of the MIDI transforms: ``randomize_parameters`` then ``apply``."""

    kind = "midi"

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def apply(self, piece: MidiPiece) -> MidiPiece:
        """Apply the drawn parameters to ``piece`` in place and return it."""
        raise NotImplementedError

    def __call__(self, piece: MidiPiece, rng: np.random.Generator) -> MidiPiece:
        self.randomize_parameters(piece, rng)
        return self.apply(piece)

    def apply_many(self, pieces: list[MidiPiece], drawn: list[dict[str, Any]]) -> None:
        """Apply to each piece, in place, the parameters drawn for it (``parameters`` after its draw).

        The same as :meth:`apply` on each in turn; a transform whose per-call
        cost dominates may do them in one pass. ``parameters`` ends as the last
        piece's.
        """
        for piece, parameters in zip(pieces, drawn, strict=True):
            self.parameters = parameters
            self.apply(piece)


class Transpose(MIDITransform):
    """Shift every non-drum note by a whole number of semitones.

    An offset that would push a note out of 0-127, or a part beyond the
    playable range of its General MIDI family (widened to the part's own
    span), is never used: the offset is drawn among the legal ones in the
    range, and when none is legal the legal offset nearest the range is used.
    The recorded value is always the offset actually applied.

    Parameters
    ----------
    minimum, maximum : inclusive range of whole semitones.

    Example
    -------
    >>> t = Transpose(-2, 2)
    >>> t.randomize_parameters(piece, np.random.default_rng(0))  # doctest: +SKIP
    >>> t.apply(piece); t.parameters["transpose_semitones"]  # doctest: +SKIP
    """

    name = "transpose_semitones"

    @staticmethod
    def legal_offsets(piece: MidiPiece) -> tuple[int, int]:
        """Smallest and largest offset that keeps every part playable (0 is always legal)."""
        n = piece.notes
        pitched = n["channel"] != DRUM_CHANNEL
        lowest, highest = -127, 127
        families = n["program"][pitched] // 8
        pitches = n["pitch"][pitched]
        if pitches.size:
            # Per family present: its lowest and highest pitch, the range widened to them, the room left.
            # A family x pitch table of the notes present gives both in a few calls (ufunc.at costs more).
            table = np.bincount(families * 128 + pitches, minlength=16 * 128).reshape(16, 128) > 0
            present = table.any(axis=1)
            table = table[present]
            low, high = table.argmax(axis=1), 127 - table[:, ::-1].argmax(axis=1)
            lowest = max(lowest, int((np.minimum(_FAMILY_LOW[present], low) - low).max()))
            highest = min(highest, int((np.maximum(_FAMILY_HIGH[present], high) - high).min()))
        for _, _, e in _keyed_events(piece):  # unmatched note messages and poly aftertouch
            channel, note = _channel_and_note(e)
            if channel != DRUM_CHANNEL:
                lowest = max(lowest, -note)
                highest = min(highest, 127 - note)
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
        for kept, i, e in _keyed_events(piece):
            channel, note = _channel_and_note(e)
            if channel != DRUM_CHANNEL:
                kept[i] = _Event(e.tick, e.seq, e._peek().copy(note=note + offset))
        return piece


class DurationScale(MIDITransform):
    """Multiply every onset and duration in seconds by a factor, through the tempo map.

    Ticks do not move (bars and beats stay where they were); every tempo
    event is multiplied by the factor, and a tempo event is added at tick 0
    when the piece relies on the default 120 bpm. ``factor > 1`` is slower.
    Tempo events hold whole microseconds, so the recorded factor is the one
    that the first tempo actually received; a factor that would overflow the
    24-bit tempo field is lowered to the largest that fits.

    Parameters
    ----------
    minimum, maximum : range of the duration factor (> 1 lasts longer).
    """

    name = "duration_factor"

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        factor = float(rng.uniform(self.low, self.high))
        events = piece.tempo_events()
        tempos = [e.tempo() for e in events]
        # The tempo map's first tempo, without building the map: the last event at tick 0 (events are in
        # playing order), else the default; a non-positive tempo reads as the default.
        at_zero = [tempo for e, tempo in zip(events, tempos, strict=True) if e.tick <= 0]
        first = float(at_zero[-1] if at_zero and at_zero[-1] > 0 else DEFAULT_MSPQ)
        factor = min(factor, MAX_MSPQ / max([*tempos, DEFAULT_MSPQ]))
        # The first tempo is an integer after scaling; record the factor it got.
        self.parameters = {self.name: float(max(1, round(first * factor)) / first)}

    def apply(self, piece: MidiPiece) -> MidiPiece:
        factor = self.parameters[self.name]
        if factor == 1.0:
            return piece
        has_tick0 = False
        for kept in piece.events:
            for i, e in enumerate(kept):
                if e.kind == "set_tempo":
                    has_tick0 |= e.tick == 0
                    kept[i] = _tempo_event(e, min(MAX_MSPQ, max(1, round(e.tempo() * factor))))
        if not has_tick0:
            if not piece.events:
                piece.events.append([])
            tempo = round(DEFAULT_MSPQ * factor)
            msg = mido.MetaMessage("set_tempo", tempo=tempo)
            piece.events[0].insert(0, _Event(0, -1, msg, raw=b"\xff\x51\x03" + tempo.to_bytes(3, "big")))
        return piece


class VelocityScale(MIDITransform):
    """Multiply note-on velocities by a factor, rounded and clamped to 1-127.

    The lower clamp is 1, not 0: a velocity-0 note-on would end the note.

    Parameters
    ----------
    minimum, maximum : range of the factor.
    """

    name = "velocity_scale"

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        self.parameters = {self.name: float(rng.uniform(self.low, self.high))}

    def apply(self, piece: MidiPiece) -> MidiPiece:
        scale = self.parameters[self.name]
        if scale == 1.0:
            return piece
        n = piece.notes
        # np.clip's values, without its wrapper (an errstate context per call)
        n["velocity"] = np.minimum(np.maximum(np.rint(n["velocity"] * scale), 1), 127).astype(np.int64)
        for kept, i, e in _keyed_events(piece, ("note_on",)):
            velocity = e.raw[2] if e.raw is not None else e._peek().velocity
            if velocity > 0:
                kept[i] = _Event(e.tick, e.seq, e._peek().copy(velocity=int(min(127, max(1, round(velocity * scale))))))
        return piece


class NoteDropout(MIDITransform):
    """Remove a fraction of the notes, never all of them.

    A probability ``p`` is drawn from the range and ``round(p * n)`` notes
    (at most ``n - 1``) are removed, chosen uniformly. The recorded value is
    the fraction actually removed.

    Parameters
    ----------
    minimum, maximum : range of the probability.
    """

    name = "note_dropout"

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        p = float(rng.uniform(self.low, self.high))
        n = piece.n_notes
        count = min(round(p * n), max(n - 1, 0))
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
    minimum, maximum : range of the bound, in milliseconds.
    """

    name = "timing_jitter_ms"

    def randomize_parameters(self, piece: MidiPiece, rng: np.random.Generator) -> None:
        bound = float(rng.uniform(self.low, self.high))
        offsets = rng.uniform(-bound, bound, size=piece.n_notes)
        self.parameters = {self.name: bound, "offsets_ms": offsets}

    def apply(self, piece: MidiPiece) -> MidiPiece:
        self.apply_many([piece], [self.parameters])
        return piece

    def apply_many(self, pieces: list[MidiPiece], drawn: list[dict[str, Any]]) -> None:
        """:meth:`apply` on several pieces (a parent's variants) in one pass of array operations."""
        moving, offsets = [], []
        for piece, parameters in zip(pieces, drawn, strict=True):
            if parameters[self.name] == 0.0 or piece.n_notes == 0:
                continue
            if parameters["offsets_ms"].size != piece.n_notes:
                raise ValueError("timing jitter drawn for a different piece (note count changed)")
            moving.append(piece)
            offsets.append(parameters["offsets_ms"])
        if moving:
            _jitter(moving, offsets)
        if drawn:
            self.parameters = drawn[-1]


def _jitter(pieces: list[MidiPiece], offsets: list[np.ndarray]) -> None:
    """Move every note of each piece by its offset in milliseconds (see :class:`TimingJitter`), in place.

    All pieces go through one pass: their notes are stacked with the piece's
    index as the most significant part of every key, so no two pieces'
    notes are ever neighbours, and each piece's tempo map converts its own.
    """
    count = len(pieces)
    notes = [p.notes for p in pieces]
    if count == 1:
        start, end, offset = notes[0]["start"], notes[0]["end"], offsets[0]
        voice = notes[0]["channel"] * 128 + notes[0]["pitch"]
    else:
        start, end, channel, pitch = (np.concatenate([n[name] for n in notes])
                                      for name in ("start", "end", "channel", "pitch"))
        offset = np.concatenate(offsets)
        sizes = [n["start"].size for n in notes]
        voice = (np.repeat(np.arange(count) * 16, sizes) + channel) * 128 + pitch
    horizon = int(start.max()) + 1
    if count > 1 and count * 2048 * horizon >= 1 << 62:  # keys would overflow: one piece at a time
        for piece, piece_offsets in zip(pieces, offsets, strict=True):
            _jitter([piece], [piece_offsets])
        return
    # One entry per (piece, channel, pitch, onset): notes doubled at one tick move as one. This is
    # np.unique(..., return_index=True, return_inverse=True) spelled out (the same stable sort),
    # without its per-call overhead.
    key = voice * horizon + start
    order = key.argsort(kind="stable")
    ordered = key[order]
    new_key = np.empty(ordered.size, dtype=bool)
    new_key[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new_key[1:])
    keys, first = ordered[new_key], order[new_key]
    inverse = np.empty(ordered.size, dtype=np.intp)
    inverse[order] = np.cumsum(new_key) - 1
    u_voice, u_start = np.divmod(keys, horizon)
    shift_s = offset[first] / 1000.0
    maps = [p.tempo_map() for p in pieces]
    if count == 1:
        target = maps[0].ticks(maps[0].seconds(u_start) + shift_s)
    elif all(m.times.size == 1 for m in maps):
        # TempoMap.seconds and .ticks of one tempo each, the same operations elementwise
        per_tick = np.array([m.sec_per_tick[0] for m in maps])[u_voice >> 11]
        target = (u_start * per_tick + 0.0 + shift_s) / per_tick + 0.0
    else:
        bounds = np.searchsorted(u_voice >> 11, np.arange(count + 1)).tolist()
        target = np.empty(u_start.size)
        for k, tempo in enumerate(maps):
            at = slice(bounds[k], bounds[k + 1])
            target[at] = tempo.ticks(tempo.seconds(u_start[at]) + shift_s[at])
    moved = np.where(target >= u_start, np.floor(target), np.ceil(target)).astype(np.int64)
    same = u_voice[1:] == u_voice[:-1]
    gap = np.diff(u_start)
    # Split the gap between neighbouring onsets: order is kept, no two meet.
    far = _FAR
    lo, hi = np.empty_like(u_start), np.empty_like(u_start)
    lo[0], hi[-1] = 0, far
    np.copyto(hi[:-1], np.where(same, u_start[:-1] + (gap - 1) // 2, far))
    np.copyto(lo[1:], np.where(same, u_start[1:] - gap // 2, 0))
    new_start = np.minimum(np.maximum(moved, lo), hi)  # np.clip, for integers, without its wrapper
    nxt = np.empty_like(new_start)
    nxt[-1] = far
    np.copyto(nxt[:-1], np.where(same, new_start[1:], far))
    moved_start = new_start[inverse]
    moved_end = np.minimum(end + (moved_start - start), nxt[inverse])
    if count == 1:
        notes[0]["start"], notes[0]["end"] = moved_start, moved_end
        return
    bounds = np.cumsum([0, *sizes]).tolist()
    for k, n in enumerate(notes):
        n["start"], n["end"] = moved_start[bounds[k]:bounds[k + 1]], moved_end[bounds[k]:bounds[k + 1]]


# -- the augmenter --------------------------------------------------------------
class MIDIAugmenter:
    """Chain of the MIDI transforms declared in :mod:`.registry`, in its order.

    Order: transpose, duration factor, velocity scaling, note dropout, timing
    jitter (last, so milliseconds are measured on the final tempo map and
    only on the notes that remain).

    Parameters
    ----------
    **ranges : ``name=[min, max]`` per transform, as under ``augment.midi`` in
        ``params.yaml``; a transform left out takes its default range.

    Example
    -------
    >>> aug = MIDIAugmenter(transpose_semitones=(-2, 2))
    >>> data, record = aug.augment_bytes(midi_bytes, np.random.default_rng([42, 7, 1]))  # doctest: +SKIP
    >>> sorted(record)  # doctest: +SKIP
    ['duration_factor', 'note_dropout', 'timing_jitter_ms', 'transpose_semitones', 'velocity_scale']
    """

    def __init__(self, **ranges: Sequence[float]) -> None:
        self.transforms = build_chain("midi", ranges)

    @classmethod
    def from_params(cls, ranges: dict[str, Sequence[float]]) -> MIDIAugmenter:
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

    def augment_many(self, piece: MidiPiece, rngs: list[np.random.Generator]
                     ) -> list[tuple[MidiPiece, dict[str, Any]]]:
        """``[augment(piece, rng) for rng in rngs]``, each transform applied to all variants at once.

        Each variant draws from its own generator in the same order as in
        :meth:`augment`, so variants and records are the same; a transform
        with a costly apply (:meth:`TimingJitter.apply_many`) does them in one
        pass of array operations.
        """
        variants = [piece.copy() for _ in rngs]
        records: list[dict[str, Any]] = [{} for _ in rngs]
        for transform in self.transforms:
            drawn = []
            for variant, rng, record in zip(variants, rngs, records, strict=True):
                transform.randomize_parameters(variant, rng)
                drawn.append(transform.parameters)
                record[transform.name] = transform.record()
            if drawn:
                transform.apply_many(variants, drawn)
        return list(zip(variants, records, strict=True))

    def augment_bytes(self, data: bytes, rng: np.random.Generator) -> tuple[bytes, dict[str, Any]]:
        """:meth:`augment` on MIDI file bytes; returns the variant's bytes."""
        variant, record = self.augment(MidiPiece.from_bytes(data), rng)
        return variant.to_bytes(), record
