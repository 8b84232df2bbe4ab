"""The tempo map: ticks ↔ seconds through a MIDI file's piecewise-constant tempo.

One implementation for every stage that converts musical time: the features
measure durations and densities in seconds with it, the augmenter turns
milliseconds of timing jitter into ticks with it. Built from the ``set_tempo``
events of every track (players honour a tempo change in any track), in
playing order: by tick, then track, then position in the track; when several
events share a tick the last one in that order wins.
"""
from __future__ import annotations

import struct

import numpy as np

DEFAULT_MSPQ = 500_000  # MIDI's implicit 120 BPM before any tempo event
MAX_MSPQ = 0xFFFFFF  # a set_tempo event holds 24 bits
_SMALL_MAP = 64  # up to this many tempo events the map is built in plain Python


def breakpoints(times: np.ndarray, values: np.ndarray, default: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A step function's breakpoints from events: sorted, last event wins at a tick, starts at tick 0.

    Parameters
    ----------
    times : tick of each event, in playing order (the sort is stable, so
        among events of one tick the last given wins).
    values : the value each event sets (one row per event).
    default : the value before the first event.

    Returns
    -------
    ticks : int64, strictly increasing, ``ticks[0] == 0``.
    values : the value holding from each of ``ticks`` on.

    Example
    -------
    >>> breakpoints(np.array([480, 0, 480]), np.array([1.0, 2.0, 3.0]), np.float64(9.0))
    (array([  0, 480]), array([2., 3.]))
    """
    if times.size == 0:
        return np.zeros(1, dtype=np.int64), default[None] if default.ndim else np.array([default])
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    last = np.concatenate((times[1:] != times[:-1], [True]))
    times, values = times[last], values[last]
    if times[0] > 0:
        times = np.concatenate(([0], times))
        values = np.concatenate((default[None] if default.ndim else [default], values))
    return np.maximum(times, 0).astype(np.int64), values


def breakpoints_small(times: list, values: list, default) -> tuple[list, list]:
    """:func:`breakpoints` on Python lists (for a few events it is several times cheaper).

    Gives the same breakpoints and values, in lists: ``times`` are ints,
    ``values`` whatever was given (``default`` when nothing was).
    """
    if not times:
        return [0], [default]
    order = sorted(range(len(times)), key=times.__getitem__)  # stable: the last event of a tick wins
    times, values = [times[i] for i in order], [values[i] for i in order]
    keep = [i for i in range(len(times)) if i + 1 == len(times) or times[i + 1] != times[i]]
    times, values = [times[i] for i in keep], [values[i] for i in keep]
    if times[0] > 0:
        times, values = [0, *times], [default, *values]
    return [max(t, 0) for t in times], values


class TempoMap:
    """Tick ↔ seconds conversion through a piecewise-constant tempo.

    Parameters
    ----------
    ticks : tick of each tempo event, in playing order (an array, or a list of ints).
    mspq : microseconds per quarter note of each event (likewise). A non-positive
        tempo has no meaning: it is read as 120 BPM and ``invalid`` is set.
    tpq : ticks per quarter note (> 0).

    Attributes
    ----------
    times : int64 breakpoints, ``times[0] == 0``.
    mspq : float64 tempo holding from each breakpoint on.
    invalid : some event held a non-positive tempo.

    Example
    -------
    >>> tempo = TempoMap(np.array([0, 480]), np.array([500_000, 1_000_000]), tpq=480)
    >>> tempo.seconds(960).item(), tempo.ticks(1.5).item(), tempo.bpm_at(600)
    (1.5, 960.0, 60.0)
    """

    def __init__(self, ticks: np.ndarray, mspq: np.ndarray, tpq: int):
        if tpq <= 0:
            raise ValueError(f"ticks per quarter note must be positive, got {tpq}")
        self.tpq = tpq
        if ticks.__class__ is list and mspq.__class__ is list and len(ticks) <= _SMALL_MAP:
            self._build_small(ticks, mspq, tpq)  # a few events given as lists: no array round trip
        elif (ticks := np.asarray(ticks)).size <= _SMALL_MAP:
            self._build_small(ticks.tolist(), np.asarray(mspq).tolist(), tpq)
        else:
            mspq = np.asarray(mspq).astype(np.float64)
            self.invalid = bool((mspq <= 0).any())
            mspq = np.where(mspq > 0, mspq, DEFAULT_MSPQ)
            self.times, self.mspq = breakpoints(ticks.astype(np.int64), mspq, np.float64(DEFAULT_MSPQ))
            self.sec_per_tick = self.mspq / 1e6 / tpq
            self.start_sec = np.concatenate(([0.0], np.cumsum(np.diff(self.times) * self.sec_per_tick[:-1])))
        # One segment (one tempo for the whole file) is the usual case: seconds are then a product.
        self._single = float(self.sec_per_tick[0]) if self.times.size == 1 else None

    def _build_small(self, ticks: list, mspq: list, tpq: int) -> None:
        """The same arrays as the numpy path, in plain Python: a handful of events costs less that way."""
        self.invalid = any(m <= 0 for m in mspq)
        values = [float(m) if m > 0 else float(DEFAULT_MSPQ) for m in mspq]
        times, values = breakpoints_small([int(t) for t in ticks], values, float(DEFAULT_MSPQ))
        per_tick = [m / 1e6 / tpq for m in values]
        start, now = [0.0], 0.0
        for k in range(1, len(times)):
            # cumsum's order of additions, so the result is the numpy path's to the bit
            step = (times[k] - times[k - 1]) * per_tick[k - 1]
            now = step if k == 1 else now + step
            start.append(now)
        self.times = np.array(times, dtype=np.int64)
        self.mspq = np.array(values, dtype=np.float64)
        self.sec_per_tick = np.array(per_tick, dtype=np.float64)
        self.start_sec = np.array(start, dtype=np.float64)

    def seconds(self, ticks: np.ndarray | float) -> np.ndarray:
        """Seconds from the start of the file at each tick position (ticks may be fractional)."""
        ticks = np.asarray(ticks, dtype=np.float64)
        if self._single is not None:
            # start_sec[0] + (ticks - times[0]) * sec_per_tick[0], whose first terms are 0.0 and 0
            return ticks * self._single + 0.0
        seg = np.maximum(np.searchsorted(self.times, ticks, side="right") - 1, 0)
        return self.start_sec[seg] + (ticks - self.times[seg]) * self.sec_per_tick[seg]

    def ticks(self, seconds: np.ndarray | float) -> np.ndarray:
        """Fractional tick at each time in seconds (the inverse of :meth:`seconds`)."""
        seconds = np.asarray(seconds, dtype=np.float64)
        if self._single is not None:
            # times[0] + (seconds - start_sec[0]) / sec_per_tick[0], whose other terms are 0 and 0.0
            return seconds / self._single + 0.0
        seg = np.clip(np.searchsorted(self.start_sec, seconds, side="right") - 1, 0, None)
        return self.times[seg] + (seconds - self.start_sec[seg]) / self.sec_per_tick[seg]

    def bpm(self) -> np.ndarray:
        """Beats (quarter notes) per minute from each breakpoint on."""
        return 6e7 / self.mspq

    def bpm_at(self, tick: float) -> float:
        """Beats per minute in force at ``tick``."""
        seg = max(int(np.searchsorted(self.times, tick, side="right")) - 1, 0) if self.times.size > 1 else 0
        return float(6e7 / self.mspq[seg])


def same_tick_conflict(ticks: np.ndarray, mspq: np.ndarray) -> bool:
    """Whether two events of one tick set different tempos (then their order decides the map)."""
    ticks, mspq = np.asarray(ticks), np.asarray(mspq)
    if ticks.size < 2:
        return False
    if ticks.size <= _SMALL_MAP:
        first: dict = {}
        return any(first.setdefault(t, m) != m for t, m in zip(ticks.tolist(), mspq.tolist(), strict=True))
    order = np.lexsort((mspq, ticks))
    t, v = ticks[order], mspq[order]
    return bool(((t[1:] == t[:-1]) & (v[1:] != v[:-1])).any())


def smf_tempo_events(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Ticks and tempos of the ``set_tempo`` events of Standard MIDI File bytes, in playing order.

    Walks the tracks without decoding anything but tempo events, for readers
    (such as symusic's) that do not keep the order of events sharing a tick.

    Raises
    ------
    ValueError : the bytes are not a well-formed Standard MIDI File.
    """
    try:
        if data[:4] != b"MThd":
            raise ValueError("no MThd header")
        size = struct.unpack(">I", data[4:8])[0]
        n_tracks = struct.unpack(">H", data[10:12])[0]
        pos, found = 8 + size, []
        for track in range(n_tracks):
            if data[pos:pos + 4] != b"MTrk":
                raise ValueError(f"track {track} has no MTrk header")
            end = pos + 8 + struct.unpack(">I", data[pos + 4:pos + 8])[0]
            pos, tick, running = pos + 8, 0, None
            while pos < end:
                delta, pos = _vlq(data, pos)
                tick += delta
                status = data[pos]
                if status < 0x80:
                    if running is None:
                        raise ValueError("running status without a status")
                    status = running
                else:
                    pos += 1
                if status == 0xFF:
                    kind = data[pos]
                    n, pos = _vlq(data, pos + 1)
                    if kind == 0x51 and n == 3:
                        found.append((tick, track, len(found), int.from_bytes(data[pos:pos + 3], "big")))
                    pos += n
                elif status in (0xF0, 0xF7):
                    n, pos = _vlq(data, pos)
                    pos, running = pos + n, None
                elif status < 0xF0:
                    pos += 1 if status & 0xF0 in (0xC0, 0xD0) else 2
                    running = status
                else:
                    raise ValueError(f"status byte {status:#x} in a track")
            pos = end
    except (IndexError, struct.error) as err:
        raise ValueError(f"MIDI does not parse: {err}") from None
    found.sort()
    return (np.array([f[0] for f in found], dtype=np.int64), np.array([f[3] for f in found], dtype=np.int64))


def _vlq(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos
    raise ValueError("variable-length number longer than 4 bytes")
