"""Performances with known answers for the groove and dynamics tests: notes placed in ms off a known grid."""
from __future__ import annotations

import numpy as np
from helpers import make_score

from penta_core.midi.notes import Notes, read_notes
from penta_core.midi.tempo import TempoMap

TPQ = 960  # about half a millisecond a tick at 120 BPM


def performance(notes, *, tempos=((0, 120.0),), time_signatures=((0, 4, 4),), drums=True, program=0) -> Notes:
    """Notes of a file where each ``(grid beat, offset ms, pitch, velocity)`` sounds ``offset ms`` off its grid beat.

    The onset is placed through the tempo map, so offsets stay exact in ms across tempo changes
    (a note that would start before the file does starts at 0).
    """
    tempo = TempoMap(np.array([round(b * TPQ) for b, _ in tempos]),
                     np.array([6e7 / bpm for _, bpm in tempos]), TPQ)
    specs = []
    for beat, offset_ms, pitch, velocity in notes:
        seconds = float(tempo.seconds(beat * TPQ)) + offset_ms / 1000.0
        specs.append((max(float(tempo.ticks(seconds)), 0.0) / TPQ, 0.1, pitch, velocity))
    score = make_score([(program, drums, specs)], tpq=TPQ, tempos=tempos, time_signatures=time_signatures)
    return read_notes(score.dumps_midi())
