"""The names of annotation files that sit beside the music they annotate.

Declarations only: the import reads them to leave such files to the
targets stage instead of quarantining them as unsupported, without loading
any harmony code (:mod:`penta_core.harmony.annotations` reads the files).
"""
from __future__ import annotations

# A chord (or chord and key) file named after its MIDI file: song.lab, song.jams.
SIDECAR_SUFFIXES = (".lab", ".jams")
# POP909's per-song files (chords and beats of the MIDI file, key and beats of the recording).
POP909_CHORDS = "chord_midi.txt"
POP909_KEYS = "key_audio.txt"
# The Groove MIDI Dataset's table of takes (style, bpm, metre, split per MIDI file), read by the groove target.
GROOVE_INFO = "info.csv"
SIDECAR_NAMES = (POP909_CHORDS, POP909_KEYS, "beat_midi.txt", "beat_audio.txt", GROOVE_INFO)


def is_sidecar(path: str) -> bool:
    """Whether ``path`` (a name or a ``/``-separated path) names an annotation file.

    Example
    -------
    >>> is_sidecar("pop909/001/chord_midi.txt"), is_sidecar("happy/a.LAB"), is_sidecar("notes.txt")
    (True, True, False)
    """
    name = path.rstrip("/").rpartition("/")[2]
    dot = name.rfind(".")
    return name in SIDECAR_NAMES or (dot > 0 and not name.startswith(".") and name[dot:].lower() in SIDECAR_SUFFIXES)
