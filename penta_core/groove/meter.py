"""Bars and positions in the bar through a MIDI file's time-signature events.

Each time-signature event is taken to start a bar (as notation programs
write them); a file without one is in 4/4. Positions are counted in
quarter notes from the bar line, so 6/8 and 7/8 bars are 3 and 3.5 quarter
notes long.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Meter:
    """The metre map of one file.

    Attributes
    ----------
    starts : tick where each time signature takes effect (``starts[0] == 0``).
    bar_ticks : bar length in ticks from each start on.
    bars_before : bars completed before each start.
    signatures : ``(numerator, denominator)`` from each start on.
    """

    starts: np.ndarray
    bar_ticks: np.ndarray
    bars_before: np.ndarray
    signatures: tuple[tuple[int, int], ...]

    def locate(self, ticks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bar index, bar-line tick and bar length in ticks of each tick position."""
        ticks = np.asarray(ticks, dtype=np.float64)
        seg = np.maximum(np.searchsorted(self.starts, ticks, side="right") - 1, 0)
        k = np.floor((ticks - self.starts[seg]) / self.bar_ticks[seg])
        return ((self.bars_before[seg] + k).astype(np.int64), self.starts[seg] + k * self.bar_ticks[seg],
                self.bar_ticks[seg].astype(np.float64))

    def signature_of_bar(self, bar: int) -> tuple[int, int]:
        seg = max(int(np.searchsorted(self.bars_before, bar, side="right")) - 1, 0)
        return self.signatures[seg]


def meter_map(time_signatures: tuple[tuple[int, int, int], ...], tpq: int) -> Meter:
    """The :class:`Meter` of ``(tick, numerator, denominator)`` events (4/4 before the first, last of a tick wins).

    Example
    -------
    >>> m = meter_map(((0, 3, 4), (1440, 7, 8)), 480)
    >>> m.locate([1440, 3120])[0].tolist()
    [1, 3]
    """
    events: dict[int, tuple[int, int]] = {}
    for tick, num, den in sorted(time_signatures, key=lambda e: e[0]):
        if num > 0 and den > 0:
            events[max(int(tick), 0)] = (int(num), int(den))
    if 0 not in events:
        events[0] = (4, 4)
    starts = sorted(events)
    sigs = tuple(events[t] for t in starts)
    bar_ticks = np.array([n * 4 * tpq / d for n, d in sigs], dtype=np.float64)
    before = [0.0]
    for i in range(1, len(starts)):
        before.append(before[-1] + np.ceil((starts[i] - starts[i - 1]) / bar_ticks[i - 1] - 1e-9))
    return Meter(np.array(starts, dtype=np.float64), bar_ticks, np.array(before), sigs)
