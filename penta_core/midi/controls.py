"""Expression controllers of a MIDI file: CC7 volume, CC11 expression, CC64 sustain, CC1 modulation, per track.

Read through symusic, in ticks, in the track order of
:func:`~penta_core.midi.notes.read_notes` (so a note's ``track`` indexes
these too). Sustain (CC64) is down from a value of 64 on, as General MIDI
players take it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VOLUME, EXPRESSION, SUSTAIN, MODULATION = 7, 11, 64, 1
CONTROLLERS = (VOLUME, EXPRESSION, SUSTAIN, MODULATION)


@dataclass(frozen=True)
class Controls:
    """Controller events per track.

    Attributes
    ----------
    events : ``{controller: {track: (ticks, values)}}`` for the controllers of :data:`CONTROLLERS` a track uses.
    """

    events: dict[int, dict[int, tuple[np.ndarray, np.ndarray]]]

    def value_at(self, controller: int, track: np.ndarray, ticks: np.ndarray, default: int) -> np.ndarray:
        """The controller's value in force at each ``(track, tick)`` (``default`` before its first event)."""
        out = np.full(np.asarray(ticks).shape, float(default))
        for t, (times, values) in self.events.get(controller, {}).items():
            mask = track == t
            at = np.searchsorted(times, ticks[mask], side="right") - 1
            out[mask] = np.where(at >= 0, values[np.maximum(at, 0)], default)
        return out

    def sustain_up_after(self, track: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        """For each ``(track, tick)``: the tick where the sustain pedal is next up (``tick`` itself when it is up)."""
        out = np.asarray(ticks, dtype=np.float64).copy()
        for t, (times, values) in self.events.get(SUSTAIN, {}).items():
            down = values >= 64
            for i in np.flatnonzero(track == t):
                at = int(np.searchsorted(times, ticks[i], side="right")) - 1
                if at >= 0 and down[at]:
                    later = np.flatnonzero(~down[at + 1:])
                    out[i] = times[at + 1 + later[0]] if later.size else max(times[-1], ticks[i])
        return out


def read_controls(data: bytes) -> Controls:
    """The :data:`CONTROLLERS` events of Standard MIDI File bytes (``ValueError`` when they do not parse)."""
    import symusic

    try:
        score = symusic.Score.from_midi(data)
    except Exception as err:  # symusic raises plain RuntimeErrors for every kind of malformed file
        raise ValueError(f"MIDI does not parse: {' '.join(str(err).split())[:160]}") from None
    events: dict[int, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
    for index, track in enumerate(score.tracks):
        arrays = track.controls.numpy()
        if not len(arrays["time"]):
            continue
        order = np.argsort(arrays["time"], kind="stable")
        times, numbers, values = (arrays[k][order].astype(np.int64) for k in ("time", "number", "value"))
        for controller in CONTROLLERS:
            mask = numbers == controller
            if mask.any():
                events.setdefault(controller, {})[index] = (times[mask], values[mask])
    return Controls(events)
