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
# Metrical weight of a sixteenth by its position in the beat (position % 4): quarter -1, eighth -2, sixteenth -3.
_WEIGHT_BY_SIXTEENTH = np.array([-1, -3, -2, -3], dtype=np.int64)


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
    off = np.sort(phase[(phase >= SWING_WINDOW[0]) & (phase <= SWING_WINDOW[1])])
    n = off.size
    if n == 0:
        return 1.0, 0.0
    # np.median's value (the middle one, or the mean of the middle two), without its overhead.
    p = float(off[n // 2]) if n % 2 else float((off[n // 2 - 1] + off[n // 2]) / 2)
    return p / (1.0 - p), n / onset_beats.size


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
    bars, bars_before = bar_of_grid(grid), bar_of_grid(grid - 1)
    bar_a = bars[:-1]
    weight_a = _WEIGHT_BY_SIXTEENTH[a & 3]
    weight_a[bar_a != bars_before[:-1]] = 0  # a downbeat
    # A multiple of 4 (of 2) strictly inside (a, b): ((b - 1) // m) * m > a, with m a power of two.
    last = b - 1
    weight_rest = np.where(last > a, -3, -99) + ((last & -2) > a) + ((last & -4) > a)
    weight_rest[bars_before[1:] > bar_a] = 0  # a downbeat in between
    score = weight_rest - weight_a
    return float(score[score > 0].sum()) / grid.size


def microtiming(onset_beats: np.ndarray) -> np.ndarray:
    """Signed distance in beats from each onset to the nearest grid point.

    The grid is the union of sixteenths and eighth-note triplets, so swung
    eighths count as on the grid (swing is measured separately).
    """
    if onset_beats.size == 0:
        return onset_beats
    # np.rint is what np.round does for floats with no decimals (half to even), without its wrapper.
    d16 = onset_beats - np.rint(onset_beats * 4) / 4
    d12 = onset_beats - np.rint(onset_beats * 3) / 3
    return np.where(np.abs(d16) <= np.abs(d12), d16, d12)


def drum_voice_counts(drum_pitch: np.ndarray) -> np.ndarray:
    """Hits per voice, in the order of :data:`DRUM_VOICE_NAMES`."""
    voices = _VOICE_OF_KEY[np.minimum(np.maximum(drum_pitch, 0), 127)]  # np.clip, without its overhead
    return np.bincount(voices, minlength=len(DRUM_VOICE_NAMES)).astype(np.float64)
