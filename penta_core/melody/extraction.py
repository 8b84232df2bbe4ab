"""Melody extraction judged by the notes: which track carries the tune, or which notes of a shared track.

Track names and programs are not read. Each non-drum track with at least
:data:`MIN_TRACK_NOTES` notes is scored on what makes a sung or lead line:

- **coverage**: the share of the piece's span during which the track sounds
  (a melody runs through the song; fills and counter-lines come and go);
- **polyphony**: how many of its own notes sound at each of its onsets
  (a tune is one note at a time, an accompaniment three or four);
- **leaps**: the share of steps between consecutive notes wider than a fifth;
- **register**: a track whose mean pitch lies below :data:`LOW_REGISTER` (a
  bass line, also one note at a time) loses a point per octave below.

``score = coverage - 3 * (polyphony - 1) - leaps - octaves below the register``.
The best track is the melody when it is nearly monophonic (polyphony at most
:data:`SHARED_POLYPHONY`); otherwise melody and accompaniment share it (a
piano part, or a one-track file) and the melody is taken from it by a
skyline with continuity (:func:`continuous_skyline`).

On POP909 with track names removed the MELODY track is picked in all 22
files of the fixtures (note F1 1.000), where the track of the highest mean
pitch is right in 5 and a pitch-minus-polyphony score in at most 14
(``benchmarks/melody_extraction.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from penta_core.midi.notes import Notes

MIN_TRACK_NOTES = 8
LOW_REGISTER = 58.0  # MIDI pitch (B-flat 3): lead lines sit above, bass lines below
POLYPHONY_WEIGHT = 3.0
SHARED_POLYPHONY = 1.3  # above this the chosen track holds accompaniment too
# Continuity: a skyline note this far (semitones) from the median of its neighbours breaks the line.
CONTOUR_NEIGHBOURS = 4
CONTOUR_SEMITONES = 7


@dataclass(frozen=True)
class TrackStats:
    """What :func:`track_stats` measures of one track."""

    track: int
    n_notes: int
    mean_pitch: float
    polyphony: float
    coverage: float
    leaps: float

    @property
    def score(self) -> float:
        register = max(0.0, LOW_REGISTER - self.mean_pitch) / 12.0
        return self.coverage - POLYPHONY_WEIGHT * (self.polyphony - 1.0) - self.leaps - register


@dataclass(frozen=True)
class Melody:
    """The melody of one file.

    Attributes
    ----------
    index : positions in the :class:`Notes` of the melody notes, in onset order (one note per onset).
    end : each melody note's end in ticks (cut at the next melody onset, so the line is monophonic).
    track : the track the melody came from, or ``None`` when no track qualified.
    method : ``track`` (a track of its own), ``skyline`` (taken from a shared track) or ``none``.
    """

    index: np.ndarray
    end: np.ndarray
    track: int | None
    method: str

    @property
    def size(self) -> int:
        return int(self.index.size)


def _coverage(start: np.ndarray, end: np.ndarray) -> float:
    """Ticks during which at least one of the notes sounds (``start`` sorted)."""
    if start.size == 0:
        return 0.0
    reach = np.maximum.accumulate(end)
    gaps = np.maximum(start[1:] - reach[:-1], 0)
    return float(reach[-1] - start[0] - gaps.sum())


def track_stats(notes: Notes) -> list[TrackStats]:
    """:class:`TrackStats` of every non-drum track with at least :data:`MIN_TRACK_NOTES` notes."""
    pitched = ~notes.drum
    if not pitched.any():
        return []
    span = float(notes.end[pitched].max() - notes.start[pitched].min()) or 1.0
    out = []
    for track in np.unique(notes.track[pitched]).tolist():
        mask = pitched & (notes.track == track)
        if mask.sum() < MIN_TRACK_NOTES:
            continue
        start, end, pitch = notes.start[mask], notes.end[mask], notes.pitch[mask]  # sorted by onset
        ended = np.sort(end)
        sounding = np.searchsorted(start, start, side="right") - np.searchsorted(ended, start, side="right")
        steps = np.abs(np.diff(pitch))
        out.append(TrackStats(
            track=track, n_notes=int(mask.sum()), mean_pitch=float(pitch.mean()),
            polyphony=float(sounding.mean()), coverage=_coverage(start, end) / span,
            leaps=float((steps > 7).mean()) if steps.size else 1.0,
        ))
    return out


def top_line(start: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Positions of the highest note at each distinct onset (``start`` sorted, then ``pitch``)."""
    if start.size == 0:
        return np.zeros(0, dtype=np.int64)
    last = np.ones(start.size, dtype=bool)
    last[:-1] = start[1:] != start[:-1]
    return np.flatnonzero(last)  # notes are sorted by onset then pitch: the last of an onset is the highest


def skyline(notes: Notes, mask: np.ndarray | None = None) -> np.ndarray:
    """The plain skyline: at each onset the highest note, unless a higher note is still sounding.

    Returns positions in ``notes`` (onset order). For comparison with :func:`continuous_skyline`.
    """
    chosen = np.flatnonzero(~notes.drum if mask is None else mask & ~notes.drum)
    tops = chosen[top_line(notes.start[chosen], notes.pitch[chosen])]
    keep, ceiling_end, ceiling = [], -1, -1
    for i in tops.tolist():
        if notes.start[i] < ceiling_end and notes.pitch[i] < ceiling:
            continue
        keep.append(i)
        ceiling_end, ceiling = int(notes.end[i]), int(notes.pitch[i])
    return np.array(keep, dtype=np.int64)


def continuous_skyline(notes: Notes, mask: np.ndarray | None = None) -> np.ndarray:
    """The skyline with continuity: the plain skyline, less the notes that break the line's contour.

    A skyline note more than :data:`CONTOUR_SEMITONES` away from the median
    pitch of its :data:`CONTOUR_NEIGHBOURS` neighbours on each side is dropped:
    when the melody rests, the plain skyline takes the top of the
    accompaniment, which sits far from the tune it interrupts. On POP909 with
    the melody and piano merged into one track this raises the note F1 from
    0.77 to 0.79, with all three tracks merged from 0.67 to 0.70
    (``benchmarks/melody_extraction.py``).

    Returns positions in ``notes`` of the chosen notes, in onset order.
    """
    line = skyline(notes, mask)
    # The worst note goes first, then the rest are judged again: a run of accompaniment
    # notes must not pull the median away from the tune notes beside it.
    while line.size >= 2:
        deviation = np.abs(notes.pitch[line] - _neighbour_median(notes.pitch[line].astype(np.float64)))
        worst = int(np.argmax(deviation))
        if deviation[worst] <= CONTOUR_SEMITONES:
            break
        line = np.delete(line, worst)
    return line


def _neighbour_median(pitch: np.ndarray) -> np.ndarray:
    """The median pitch of each note's :data:`CONTOUR_NEIGHBOURS` neighbours on either side (itself excluded)."""
    k = CONTOUR_NEIGHBOURS
    padded = np.concatenate((np.full(k, np.nan), pitch, np.full(k, np.nan)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1).copy()
    windows[:, k] = np.nan
    return np.nanmedian(windows, axis=1)


def _monophonic(notes: Notes, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One note per onset (the highest) and ends cut at the next onset."""
    index = index[top_line(notes.start[index], notes.pitch[index])]
    end = notes.end[index].copy()
    if index.size > 1:
        end[:-1] = np.minimum(end[:-1], notes.start[index[1:]])
    return index, end


def extract_melody(notes: Notes) -> Melody:
    """The melody of ``notes``: the best track's notes, or a continuous skyline when that track is shared.

    Parameters
    ----------
    notes : the file's notes (:func:`~penta_core.midi.notes.read_notes`).

    Returns
    -------
    Melody : positions of the melody notes in ``notes``, their (monophonic) ends, the track and the method.

    Example
    -------
    >>> melody = extract_melody(read_notes("song.mid"))  # doctest: +SKIP
    >>> notes.pitch[melody.index][:8]  # doctest: +SKIP
    """
    stats = track_stats(notes)
    if not stats:
        return Melody(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), None, "none")
    best = max(stats, key=lambda s: (s.score, -s.track))
    mask = (notes.track == best.track) & ~notes.drum
    if best.polyphony <= SHARED_POLYPHONY:
        index, end = _monophonic(notes, np.flatnonzero(mask))
        return Melody(index, end, best.track, "track")
    index, end = _monophonic(notes, continuous_skyline(notes, mask))
    return Melody(index, end, best.track, "skyline")
