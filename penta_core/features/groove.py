"""Groove from onset positions in beats: swing, syncopation, microtiming, drum voices.

Positions come from MIDI ticks divided by ticks-per-quarter, so a beat here is
a quarter note whatever the tempo; seconds are only used where the unit is
seconds (microtiming in milliseconds, through the tempo map).
"""
from __future__ import annotations

import numpy as np

# Off-beat window (phase within the beat) for swing: straight eighths sit at
# 0.5, triplet swing at 0.667; sixteenths at 0.25 and 0.75 stay outside.
SWING_WINDOW = (0.42, 0.73)

# General MIDI percussion keys grouped into the voices a groove is described by.
DRUM_VOICES: dict[str, tuple[int, ...]] = {
    "kick": (35, 36),
    "snare": (37, 38, 39, 40),
    "hihat_closed": (42, 44),
    "hihat_open": (46,),
    "tom": (41, 43, 45, 47, 48, 50),
    "crash": (49, 52, 55, 57),
    "ride": (51, 53, 59),
}
DRUM_VOICE_NAMES = (*DRUM_VOICES, "other")


def _voice_lookup() -> np.ndarray:
    table = np.full(128, len(DRUM_VOICES), dtype=np.int64)  # "other"
    for index, keys in enumerate(DRUM_VOICES.values()):
        table[list(keys)] = index
    return table


_VOICE_OF_KEY = _voice_lookup()


def swing(onset_beats: np.ndarray) -> tuple[float, float]:
    """Swing ratio and the share of onsets that sit on an off-beat eighth.

    The ratio is long-to-short eighth duration, ``p / (1 - p)`` for the median
    off-beat phase ``p``: 1.0 is straight, 2.0 triplet swing. Without any
    off-beat onset the ratio is 1.0 (nothing contradicts straight time).

    Parameters
    ----------
    onset_beats : distinct onset positions in beats.

    Returns
    -------
    (swing_ratio, offbeat_ratio)
    """
    if onset_beats.size == 0:
        return 1.0, 0.0
    phase = onset_beats - np.floor(onset_beats)
    off = phase[(phase >= SWING_WINDOW[0]) & (phase <= SWING_WINDOW[1])]
    if off.size == 0:
        return 1.0, 0.0
    p = float(np.median(off))
    return p / (1.0 - p), off.size / onset_beats.size


def syncopation(grid: np.ndarray, bar_of_grid) -> float:
    """Mean Longuet-Higgins & Lee syncopation per onset on a sixteenth grid.

    An onset on a weak position followed by silence (no new onset) across a
    stronger position scores the difference of the metrical weights:
    downbeat 0, quarter -1, eighth -2, sixteenth -3.

    Parameters
    ----------
    grid : sorted distinct onset positions in sixteenths from the start.
    bar_of_grid : callable mapping sixteenth positions to bar indices
        (carries the time-signature map).

    Returns
    -------
    float : total syncopation divided by the number of onsets (0 when < 2 onsets).
    """
    if grid.size < 2:
        return 0.0
    a, b = grid[:-1], grid[1:]
    bar_a = bar_of_grid(a)
    on_downbeat = bar_a != bar_of_grid(a - 1)
    weight_a = np.where(on_downbeat, 0, np.where(a % 4 == 0, -1, np.where(a % 2 == 0, -2, -3)))

    def between(m: int) -> np.ndarray:
        # A multiple of m strictly inside (a, b).
        return ((b - 1) // m) * m > a

    downbeat_between = bar_of_grid(b - 1) > bar_a
    weight_rest = np.where(
        downbeat_between, 0,
        np.where(between(4), -1, np.where(between(2), -2, np.where(b - a > 1, -3, -99))),
    )
    score = np.clip(weight_rest - weight_a, 0, None)
    return float(score.sum()) / grid.size


def microtiming(onset_beats: np.ndarray) -> np.ndarray:
    """Signed distance in beats from each onset to the nearest grid point.

    The grid is the union of sixteenths and eighth-note triplets, so swung
    eighths count as on the grid (swing is measured separately).
    """
    if onset_beats.size == 0:
        return onset_beats
    d16 = onset_beats - np.round(onset_beats * 4) / 4
    d12 = onset_beats - np.round(onset_beats * 3) / 3
    return np.where(np.abs(d16) <= np.abs(d12), d16, d12)


def drum_voice_counts(drum_pitch: np.ndarray) -> np.ndarray:
    """Hits per voice, in the order of :data:`DRUM_VOICE_NAMES`."""
    voices = _VOICE_OF_KEY[np.clip(drum_pitch, 0, 127)]
    return np.bincount(voices, minlength=len(DRUM_VOICE_NAMES)).astype(np.float64)
