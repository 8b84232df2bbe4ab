"""A Standard MIDI File writer specialised for :class:`~penta_core.midi.piece.MidiPiece`.

Two encoders give the same bytes:

* :func:`encode_file` encodes every track of a file in one pass of array
  operations: one row per kept event and per note-on and note-off, sorted by
  (track, tick, priority, original position), deltas as variable-length
  quantities, running status, each row's payload copied into place. Kept
  events contribute the bytes the reader recorded for them (their *raw*
  bytes), so no mido message is built or encoded unless a transform
  replaced it.
* :func:`encode_track_events` builds one track event by event through mido
  (the reference, and the path for anything :func:`encode_file` declines:
  a negative tick, a value that does not fit a byte, a delta beyond
  :data:`MAX_VLQ`, a message mido cannot encode), so every error is the
  one it always was.

Events at one tick keep their original order, except that note-offs come
first so that a note ending where the next one of the same pitch begins is
never read as ending the new note; ``end_of_track`` is written once, last,
where the source had it.
"""
from __future__ import annotations

import operator
import struct
from typing import Any

import numpy as np

MAX_VLQ = 0x0FFFFFFF  # four bytes: the largest delta time or length a MIDI file can hold
END_OF_TRACK = b"\xff\x2f\x00"
_ONE_BYTE = [bytes((v,)) for v in range(128)]
_ROW_ORDER = operator.itemgetter(0, 1, 2)
_NOTE_FIELDS = ("track", "channel", "pitch", "start", "end", "velocity", "off_velocity", "on_seq", "off_seq",
                "off_is_note_on")


def vlq(value: int) -> bytes:
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


def message_bytes(msg: Any) -> bytes:
    """The bytes the writer writes for a mido message (without its delta)."""
    if msg.is_meta:
        return bytes(msg.bytes())
    if msg.type == "sysex":
        return b"\xf0" + vlq(len(msg.data) + 1) + bytes(msg.data) + b"\xf7"
    return bytes(msg.bytes())


# -- the reference: one track, event by event ----------------------------------------------
def encode_track_events(kept: list, notes: dict[str, np.ndarray]) -> bytes:
    """The body of one track (without its chunk header), built event by event through mido messages."""
    rows: list[tuple[int, int, int, Any]] = []
    end_of_track = 0
    for e in kept:
        if e.kind == "end_of_track":  # written once, last, where the source had it
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
        body += _ONE_BYTE[delta] if 0 <= delta < 0x80 else vlq(delta)
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
            body += b"\xf0" + vlq(len(item.data) + 1) + bytes(item.data) + b"\xf7"
            running = None
        else:
            encoded = item.bytes()
            body += bytes(encoded[1:] if encoded[0] == running else encoded)
            running = encoded[0] if encoded[0] < 0xF0 else None
    body += vlq(max(end_of_track - previous, 0)) + END_OF_TRACK
    return bytes(body)


def encode_file_events(file_type: int, tpq: int, events: list[list], notes: dict[str, np.ndarray]) -> bytes:
    """A whole file through :func:`encode_track_events`, track by track."""
    by_track = np.argsort(notes["track"], kind="stable")
    bounds = np.searchsorted(notes["track"][by_track], np.arange(len(events) + 1)).tolist()
    out = [b"MThd" + struct.pack(">IHHH", 6, file_type, len(events), tpq)]
    for t_index, kept in enumerate(events):
        idx = by_track[bounds[t_index]:bounds[t_index + 1]]
        body = encode_track_events(kept, {name: notes[name][idx] for name in _NOTE_FIELDS})
        out += [b"MTrk", struct.pack(">I", len(body)), body]
    return b"".join(out)


# -- the whole file in array operations ---------------------------------------------------------
def _kept_rows(events: list[list], tracks: list[int], ticks: list[int], seqs: list[int], raws: list[bytes],
               ends: list[int], base: int) -> bool:
    """Append track (``base`` + index), tick, seq and bytes of every kept event but ``end_of_track``,
    and the end-of-track tick of each track; False when a replaced message does not encode."""
    for t_index, kept in enumerate(events, start=base):
        end_of_track = 0
        count = len(raws)
        for e in kept:
            if e.kind == "end_of_track":
                end_of_track = max(end_of_track, e.tick)
                continue
            raw = e.raw
            if raw is None:
                try:
                    raw = message_bytes(e.msg)
                except ValueError:  # the reference encoder reports it, where it always did
                    return False
            ticks.append(e.tick)
            seqs.append(e.seq)
            raws.append(raw)
        tracks += [t_index] * (len(raws) - count)
        ends.append(end_of_track)
    return True


def encode_file(file_type: int, tpq: int, events: list[list], notes: dict[str, np.ndarray]) -> bytes | None:
    """The whole file in one pass of array operations, or None when the reference encoder must say.

    None when a tick is negative, a note value does not fit in a byte, a delta
    exceeds :data:`MAX_VLQ` or a replaced message does not encode: the
    reference then writes the file or raises its own error.
    """
    return encode_files([(file_type, tpq, events, notes)])[0]


def encode_files(files: list[tuple[int, int, list[list], dict[str, np.ndarray]]]) -> list[bytes | None]:
    """:func:`encode_file` of several files in one pass (array operations cost per call, not per file).

    Parameters
    ----------
    files : ``(file type, ticks per beat, events per track, notes)`` of each file.

    Returns
    -------
    list : each file's bytes, or None where :func:`encode_file` would give None
        (the files are then encoded again one by one, so one file's None is its own).
    """
    if not files:
        return []
    headers = [b"MThd" + struct.pack(">IHHH", 6, file_type, len(events), tpq)
               for file_type, tpq, events, _ in files]
    n_tracks_of = [len(f[2]) for f in files]
    n_tracks = sum(n_tracks_of)
    k_track: list[int] = []
    k_tick: list[int] = []
    k_seq: list[int] = []
    raws: list[bytes] = []
    ends: list[int] = []
    base = 0
    for _, _, events, _ in files:
        if not _kept_rows(events, k_track, k_tick, k_seq, raws, ends, base):
            return _one_by_one(files)
        base += len(events)
    track_base = np.cumsum([0, *n_tracks_of[:-1]])
    if len(files) == 1:
        notes = files[0][3]
        note_track = notes["track"]
    else:
        notes = {name: np.concatenate([f[3][name] for f in files]) for name in _NOTE_FIELDS if name != "track"}
        note_track = np.concatenate([f[3]["track"] + b for f, b in zip(files, track_base.tolist(), strict=True)])
    n_kept, n_notes = len(raws), note_track.size

    # Note payloads: (status, pitch, velocity) of each note-on then its note-off, interleaved.
    channel, pitch = notes["channel"], notes["pitch"]
    note_bytes = np.empty((n_notes, 2, 3), dtype=np.int64)
    note_bytes[:, 0, 0] = 0x90 | channel
    note_bytes[:, 1, 0] = np.where(notes["off_is_note_on"], 0x90, 0x80) | channel
    note_bytes[:, 0, 1] = note_bytes[:, 1, 1] = pitch
    note_bytes[:, 0, 2], note_bytes[:, 1, 2] = notes["velocity"], notes["off_velocity"]
    if n_notes and (note_bytes.min() < 0 or note_bytes.max() > 0xFF):
        return _one_by_one(files)
    kept_blob = b"".join(raws)
    payload = np.concatenate((np.frombuffer(kept_blob, dtype=np.uint8), note_bytes.astype(np.uint8).ravel()))

    n_rows = n_kept + 2 * n_notes
    plen = np.full(n_rows, 3, dtype=np.int64)
    pstart = np.empty(n_rows, dtype=np.int64)
    status = np.empty(n_rows, dtype=np.int64)
    if n_kept:
        plen[:n_kept] = np.fromiter(map(len, raws), dtype=np.int64, count=n_kept)
        pstart[:n_kept] = np.cumsum(plen[:n_kept]) - plen[:n_kept]
        first = payload[pstart[:n_kept]].astype(np.int64)
        status[:n_kept] = np.where(first < 0xF0, first, -1)  # meta, SysEx, system: no running status
    pstart[n_kept:] = np.arange(len(kept_blob), len(kept_blob) + 6 * n_notes, 3)
    status[n_kept:] = note_bytes[:, :, 0].ravel()

    def rows(kept_values: list, on: Any, off: Any) -> np.ndarray:
        out = np.empty(n_rows, dtype=np.int64)
        out[:n_kept] = kept_values
        out[n_kept::2] = on
        out[n_kept + 1::2] = off
        return out

    start, end = notes["start"], notes["end"]
    track = rows(k_track, note_track, note_track)
    tick = rows(k_tick, start, end)
    if n_rows and tick.min() < 0:
        return _one_by_one(files)
    seq = rows(k_seq, notes["on_seq"], notes["off_seq"])
    priority = rows([1] * n_kept, 1, end <= start)
    if n_rows and n_tracks < 1 << 9 and tick.max() < 1 << 33 and seq.min() >= -1 and seq.max() < (1 << 20) - 1:
        # (track, tick, priority, seq) packed in one integer: one stable sort instead of lexsort's four.
        order = np.argsort((((track << 33 | tick) << 1 | priority) << 20) | (seq + 1), kind="stable")
    else:
        order = np.lexsort((seq, priority, tick, track))
    track, tick, status, pstart, plen = track[order], tick[order], status[order], pstart[order], plen[order]

    first_row = np.ones(n_rows, dtype=bool)  # the first row of its track
    np.not_equal(track[1:], track[:-1], out=first_row[1:])
    delta = tick.copy()
    delta[1:] -= tick[:-1]
    delta[first_row] = tick[first_row]
    if n_rows and (delta.min() < 0 or delta.max() > MAX_VLQ):
        return _one_by_one(files)
    # Running status: a channel message's status byte is left out after one of the same status.
    skip = np.zeros(n_rows, dtype=np.int64)
    if n_rows > 1:
        skip[1:] = (status[1:] >= 0) & (status[1:] == status[:-1]) & ~first_row[1:]
    n_vlq = 1 + (delta >= 1 << 7) + (delta >= 1 << 14) + (delta >= 1 << 21)
    row_len = n_vlq + plen - skip

    # Per track: rows' bytes, then the end-of-track delta and event.
    rows_in = np.bincount(track, minlength=n_tracks)
    bytes_in = np.bincount(track, weights=row_len, minlength=n_tracks).astype(np.int64).tolist()
    last_tick = (tick[np.maximum(np.cumsum(rows_in) - 1, 0)] * (rows_in > 0)).tolist() if n_rows else [0] * n_tracks
    trailers = []
    for g in range(n_tracks):
        gap = max(ends[g] - last_tick[g], 0)
        if gap > MAX_VLQ:
            return _one_by_one(files)
        trailers.append(vlq(gap) + END_OF_TRACK)
    body = _row_bytes(payload, delta, n_vlq, pstart + skip, plen - skip) if n_rows else b""
    # Sorted by track first, the rows' bytes are every track's body one after another, files in order.
    out, at, g = [], 0, 0
    for f, header in enumerate(headers):
        parts = [header]
        for _ in range(n_tracks_of[f]):
            size, trailer = bytes_in[g], trailers[g]
            parts += [b"MTrk", struct.pack(">I", size + len(trailer)), body[at:at + size], trailer]
            at, g = at + size, g + 1
        out.append(b"".join(parts))
    return out


def _row_bytes(payload: np.ndarray, delta: np.ndarray, n_vlq: np.ndarray, start: np.ndarray,
               length: np.ndarray) -> bytes:
    """Every row's delta (``n_vlq`` bytes) then its ``length`` payload bytes from ``start``, in one gather."""
    n_rows = delta.size
    width = int(n_vlq.max())
    if width == 1:  # every delta below 128: its one byte is itself
        vlq_bytes = delta.astype(np.uint8)
    else:  # row r's VLQ in its first n_vlq[r] bytes: most significant 7 bits first, high bit on all but the last
        table = np.empty((n_rows, width), dtype=np.uint8)
        for k in range(width):
            rest = n_vlq - 1 - k
            table[:, k] = (delta >> 7 * np.maximum(rest, 0)) & 0x7F | (rest > 0) << 7
        vlq_bytes = table.ravel()
    # Two ragged pieces per row, in one gather from the payloads and the VLQ bytes side by side.
    piece_start = np.empty(2 * n_rows, dtype=np.int64)
    piece_start[0::2] = payload.size + width * np.arange(n_rows)
    piece_start[1::2] = start
    piece_len = np.empty(2 * n_rows, dtype=np.int64)
    piece_len[0::2] = n_vlq
    piece_len[1::2] = length
    piece_end = np.cumsum(piece_len)
    index = np.arange(int(piece_end[-1])) + np.repeat(piece_start - piece_end + piece_len, piece_len)
    return np.concatenate((payload, vlq_bytes))[index].tobytes()


def _one_by_one(files: list[tuple[int, int, list[list], dict[str, np.ndarray]]]) -> list[bytes | None]:
    """Each file alone: a file the array encoder declines gives None without failing the others."""
    if len(files) == 1:
        return [None]
    return [encode_files([f])[0] for f in files]
