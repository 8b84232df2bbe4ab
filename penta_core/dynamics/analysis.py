"""Dynamics of one piece: per-note level and position, phrases with their curve and slope, expression, articulation.

- Level: the local dynamic level, a Gaussian-smoothed velocity envelope over
  the pitched notes (drums apart, they have their own), ``sigma_beats`` wide.
- Phrases: spans of the pitched parts (of the drums in a drums-only file)
  separated by a rest of at least ``gap_beats``, cut every ``max_bars`` bars; each with its velocity curve
  normalised to 0–1 and its slope in velocity steps per beat (a least-squares
  line through its notes: positive is a crescendo).
- Expression: CC11 × CC7 in force at each onset, 0–1 (1 where a file sends neither).
- Attack and release proxies, 0–1: attack is the velocity's share of 127;
  release is how much of the gap to the next onset of the same track the
  note fills, its end held by the sustain pedal (1 legato, near 0 staccato).
- Performed or step-entered: a file whose velocities barely vary (a
  standard deviation under ``min_velocity_std`` or fewer than 4 values) is
  step-entered: a dynamics model learns nothing from it. Its timing is
  recorded beside: performed when a quarter of its onsets or more sit over
  1/100 beat off the grid :mod:`penta_core.groove.timing` finds (a file
  can be played in and quantized, keeping its velocities).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from penta_core.dynamics.roles import ROLES, note_roles
from penta_core.groove.meter import meter_map
from penta_core.groove.timing import analyse_groove
from penta_core.midi.controls import EXPRESSION, MODULATION, SUSTAIN, VOLUME, Controls
from penta_core.midi.notes import Notes

MIN_DISTINCT_VELOCITIES = 4
OFF_GRID_BEATS = 0.01  # an onset further than this off its grid position was not quantized
MIN_OFF_GRID_SHARE = 0.25  # with this share of onsets off the grid, the timing is a player's


@dataclass(frozen=True)
class Phrase:
    """One phrase: its notes (positions into the piece's notes), span and slope."""

    index: np.ndarray
    start_s: float
    end_s: float
    slope: float  # velocity steps per beat
    curve: np.ndarray  # the phrase's velocities normalised to 0-1, in onset order


@dataclass(frozen=True)
class Dynamics:
    """Per note (all arrays share the notes' order) and per phrase."""

    onset_s: np.ndarray
    velocity: np.ndarray
    bar: np.ndarray
    beat: np.ndarray  # position in the bar, quarter notes
    phrase: np.ndarray  # the phrase of each note (-1: drums beside pitched parts, in no phrase)
    phrase_position: np.ndarray  # 0 at the phrase's first onset, 1 at its last
    level: np.ndarray
    role: np.ndarray
    expression: np.ndarray
    attack: np.ndarray
    release: np.ndarray
    sustained: np.ndarray  # the note's end is held by the sustain pedal
    phrases: list[Phrase]
    expressive: bool
    timing_performed: bool
    velocity_std: float
    curves: dict[str, dict[int, list[list[float]]]]

    @property
    def size(self) -> int:
        return int(self.velocity.size)


def smoothed_level(beats: np.ndarray, velocity: np.ndarray, sigma_beats: float) -> np.ndarray:
    """The Gaussian-weighted mean velocity around each note (``sigma_beats`` wide)."""
    if beats.size == 0:
        return np.zeros(0)
    if sigma_beats <= 0:
        return velocity.astype(np.float64)
    weights = np.exp(-0.5 * ((beats[:, None] - beats[None, :]) / sigma_beats) ** 2)
    return weights @ velocity / weights.sum(axis=1)


def phrase_spans(start: np.ndarray, end: np.ndarray, bar: np.ndarray, tpq: int, gap_beats: float,
                 max_bars: int) -> np.ndarray:
    """The phrase number of each note (notes sorted by onset): a new phrase after a rest or every ``max_bars``."""
    if start.size == 0:
        return np.zeros(0, dtype=np.int64)
    reach = np.maximum.accumulate(end)
    rest = np.concatenate(([False], start[1:] - reach[:-1] >= gap_beats * tpq))
    out = np.zeros(start.size, dtype=np.int64)
    number = -1
    first_bar = None
    for i in range(start.size):
        if i == 0 or rest[i] or bar[i] - first_bar >= max_bars:
            number += 1
            first_bar = bar[i]
        out[i] = number
    return out


def is_expressive(velocity: np.ndarray, min_std: float) -> tuple[bool, float]:
    """Whether velocities vary as a player's do, and their standard deviation."""
    std = float(velocity.std()) if velocity.size else 0.0
    return bool(std >= min_std and np.unique(velocity).size >= MIN_DISTINCT_VELOCITIES), std


def _curves(controls: Controls, notes: Notes) -> dict[str, dict[int, list[list[float]]]]:
    names = {VOLUME: "cc7", EXPRESSION: "cc11", SUSTAIN: "cc64", MODULATION: "cc1"}
    return {names[c]: {t: [[float(s), v / 127] for s, v in zip(notes.seconds(times).tolist(), values.tolist())]
                       for t, (times, values) in sorted(controls.events.get(c, {}).items())}
            for c in names if c in controls.events}


def analyse_dynamics(notes: Notes, controls: Controls, *, sigma_beats: float = 2.0, gap_beats: float = 1.0,
                     max_bars: int = 4, min_velocity_std: float = 3.0) -> Dynamics:
    """Levels, roles, phrases, expression and articulation of every note of ``notes``.

    Parameters
    ----------
    notes, controls : from :func:`~penta_core.midi.notes.read_notes` and
        :func:`~penta_core.midi.controls.read_controls` of one file.
    sigma_beats : width of the level's smoothing.
    gap_beats : a rest this long (no pitched note sounding) ends a phrase.
    max_bars : the longest phrase, in bars.
    min_velocity_std : below it, the file counts as step-entered.

    Raises
    ------
    ValueError : the file holds no notes.
    """
    if notes.size == 0:
        raise ValueError("no notes: no dynamics to measure")
    tpq = notes.tpq
    start = notes.start.astype(np.float64)
    beats = start / tpq
    bar, bar_start, _ = meter_map(notes.time_signatures, tpq).locate(start)
    velocity = notes.velocity.astype(np.float64)
    role = note_roles(notes)
    level = np.zeros(notes.size)
    for drums in (False, True):
        mask = notes.drum == drums
        level[mask] = smoothed_level(beats[mask], velocity[mask], sigma_beats)
    pitched = np.flatnonzero(~notes.drum)
    # Phrases follow the pitched parts; a drums-only file is phrased on its drums.
    phrased = pitched if pitched.size else np.arange(notes.size)
    phrase = np.full(notes.size, -1, dtype=np.int64)
    phrase[phrased] = phrase_spans(notes.start[phrased], notes.end[phrased], bar[phrased], tpq, gap_beats, max_bars)
    position = np.zeros(notes.size)
    phrases = []
    for number in range(int(phrase.max()) + 1):
        idx = np.flatnonzero(phrase == number)
        span = beats[idx[-1]] - beats[idx[0]]
        position[idx] = (beats[idx] - beats[idx[0]]) / span if span > 0 else 0.0
        v = velocity[idx]
        slope = float(np.polyfit(beats[idx] - beats[idx[0]], v, 1)[0]) if span > 0 and idx.size > 1 else 0.0
        lo, hi = v.min(), v.max()
        curve = (v - lo) / (hi - lo) if hi > lo else np.full(v.size, 0.5)
        phrases.append(Phrase(idx, float(notes.seconds(start[idx[0]])),
                              float(notes.seconds(notes.end[idx].max())), slope, curve))
    volume = controls.value_at(VOLUME, notes.track, notes.start, 127)
    expression = controls.value_at(EXPRESSION, notes.track, notes.start, 127) * volume / 127 / 127
    held_to = np.maximum(controls.sustain_up_after(notes.track, notes.end), notes.end)
    sustained = held_to > notes.end
    release = np.ones(notes.size)
    for t in np.unique(notes.track).tolist():
        idx = np.flatnonzero(notes.track == t)
        onsets = np.unique(notes.start[idx])
        following = np.searchsorted(onsets, notes.start[idx], side="right")
        has_next = following < onsets.size
        gap = np.where(has_next, onsets[np.minimum(following, onsets.size - 1)] - notes.start[idx], 0)
        sounding = held_to[idx] - notes.start[idx]
        release[idx] = np.where(has_next & (gap > 0), np.clip(sounding / np.maximum(gap, 1), 0, 1), 1.0)
    expressive, std = is_expressive(velocity[~notes.drum] if pitched.size else velocity, min_velocity_std)
    off_grid = float((np.abs(analyse_groove(notes).offset_beats) > OFF_GRID_BEATS).mean())
    return Dynamics(notes.seconds(start), velocity, bar, (start - bar_start) / tpq, phrase, position, level, role,
                    expression, velocity / 127, release, sustained, phrases, expressive,
                    off_grid >= MIN_OFF_GRID_SHARE, std,
                    _curves(controls, notes))


__all__ = ["ROLES", "Dynamics", "Phrase", "analyse_dynamics"]
