"""Every note of a MIDI file as flat arrays in ticks, with its tempo map, metre and track names.

What the target models read: the chord recogniser, the melody extractor
and the example writers work on these arrays and convert ticks to seconds
through the file's own tempo map (:mod:`penta_core.midi.tempo`), so a chord
or a melody note lands where a player would sound it. Reading goes through
symusic (about 40 times faster than pairing messages with
:class:`~penta_core.midi.piece.MidiPiece`, which stays the object the
transforms edit); tempo events that share a tick are ordered as the file
orders them, as the feature extractor does.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from penta_core.midi.tempo import TempoMap, same_tick_conflict, smf_tempo_events


@dataclass(frozen=True)
class Notes:
    """The notes of one MIDI file, one entry per note in every array (sorted by onset, then pitch).

    Attributes
    ----------
    tpq : ticks per quarter note.
    start, end : onset and offset in ticks (int64, ``end >= start``).
    pitch, velocity : MIDI numbers (int64).
    track : index into ``track_names`` of the track holding the note.
    drum : the note is percussion (its pitch names a drum, not a pitch).
    track_names : one name per track (``""`` when the file names none).
    tempo : the file's tempo map (ticks ↔ seconds).
    time_signatures : ``(tick, numerator, denominator)`` of each time-signature event.
    """

    tpq: int
    start: np.ndarray
    end: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    track: np.ndarray
    drum: np.ndarray
    track_names: tuple[str, ...]
    tempo: TempoMap
    time_signatures: tuple[tuple[int, int, int], ...]

    @property
    def size(self) -> int:
        return int(self.pitch.size)

    def seconds(self, ticks: np.ndarray | float) -> np.ndarray:
        """Seconds from the start of the file at each tick (through the tempo map)."""
        return self.tempo.seconds(ticks)

    def subset(self, mask: np.ndarray) -> Notes:
        """The notes where ``mask`` is true; tracks, tempo and metre unchanged."""
        return Notes(self.tpq, self.start[mask], self.end[mask], self.pitch[mask], self.velocity[mask],
                     self.track[mask], self.drum[mask], self.track_names, self.tempo, self.time_signatures)

    def pitched(self) -> Notes:
        """The notes that are not percussion."""
        return self.subset(~self.drum)


def read_notes(source: bytes | str | os.PathLike) -> Notes:
    """Read the notes of a Standard MIDI File (bytes or a path).

    Parameters
    ----------
    source : the file's bytes, or its path.

    Returns
    -------
    Notes

    Raises
    ------
    ValueError : the bytes are not a MIDI file symusic can read, or use SMPTE time.

    Example
    -------
    >>> notes = read_notes("datasets/examples/happy/happy_01.mid")  # doctest: +SKIP
    >>> notes.seconds(notes.start[:3])  # doctest: +SKIP
    """
    import symusic

    data = bytes(source) if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    try:
        score = symusic.Score.from_midi(data)
    except Exception as err:  # symusic raises plain RuntimeErrors for every kind of malformed file
        raise ValueError(f"MIDI does not parse: {' '.join(str(err).split())[:160]}") from None
    tpq = int(score.ticks_per_quarter)
    if tpq <= 0 or tpq >= 0x8000:
        raise ValueError(f"unsupported MIDI time division {tpq} (SMPTE timing)")
    tempos = score.tempos.numpy()
    ticks, mspq = tempos["time"], tempos["mspq"]
    if same_tick_conflict(ticks, mspq):
        with contextlib.suppress(ValueError):  # symusic read what the walker cannot: keep symusic's order
            ticks, mspq = smf_tempo_events(data)
    tempo = TempoMap(ticks, mspq, tpq)
    sigs = score.time_signatures.numpy()
    signatures = tuple((int(t), int(n), int(d)) for t, n, d in
                       zip(sigs["time"].tolist(), sigs["numerator"].tolist(), sigs["denominator"].tolist()))
    parts, names, counts, drums = [], [], [], []
    for track in score.tracks:
        names.append(str(track.name))
        arrays = track.notes.numpy()
        parts.append(arrays)
        counts.append(len(arrays["time"]))
        drums.append(bool(track.is_drum))

    def column(name: str) -> np.ndarray:
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([p[name] for p in parts]).astype(np.int64)

    start = np.maximum(column("time"), 0)
    end = start + np.maximum(column("duration"), 0)
    pitch, velocity = column("pitch"), column("velocity")
    track = np.repeat(np.arange(len(parts), dtype=np.int64), counts)
    drum = np.repeat(np.array(drums, dtype=bool), counts)
    order = np.lexsort((track, pitch, start))
    return Notes(tpq, start[order], end[order], pitch[order], velocity[order], track[order], drum[order],
                 tuple(names), tempo, signatures)
