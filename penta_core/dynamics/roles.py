"""Each note's role in the texture: melody, accompaniment, bass or drums, judged by the notes.

Drums are the percussion notes; the melody is what
:func:`~penta_core.melody.extraction.extract_melody` finds; a pitched track
(other than the melody's) whose median pitch is below E3 is the bass; the
rest accompanies.
"""
from __future__ import annotations

import numpy as np

from penta_core.melody.extraction import extract_melody
from penta_core.midi.notes import Notes

ROLES = ("melody", "accompaniment", "bass", "drums")
BASS_BELOW = 52  # E3: a part living below it carries the bass line


def note_roles(notes: Notes) -> np.ndarray:
    """The index into :data:`ROLES` of each note's role."""
    role = np.full(notes.size, ROLES.index("accompaniment"), dtype=np.int64)
    for t in np.unique(notes.track[~notes.drum]).tolist():
        mask = (notes.track == t) & ~notes.drum
        if np.median(notes.pitch[mask]) < BASS_BELOW:
            role[mask] = ROLES.index("bass")
    if (~notes.drum).any():
        melody = extract_melody(notes)
        role[melody.index] = ROLES.index("melody")
    role[notes.drum] = ROLES.index("drums")
    return role
