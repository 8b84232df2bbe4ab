"""Musical rules per emotion: what makes a synthetic piece sound happy, sad, ...

Valence/arousal follow the shipped vocabulary. Every emotion has its own
progressions; modes are written as church modes so modal colour (lydian,
mixolydian, phrygian, dorian) is explicit.
"""
from __future__ import annotations

from dataclasses import dataclass

# Semitone steps of each mode from its tonic.
MODES: dict[str, tuple[int, ...]] = {
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
}
MAJOR_FAMILY = frozenset({"ionian", "lydian", "mixolydian"})


def mode_family(mode: str) -> str:
    """``major`` or ``minor``: the family a key estimator should report."""
    return "major" if mode in MAJOR_FAMILY else "minor"


@dataclass(frozen=True)
class EmotionProfile:
    name: str
    valence: float
    arousal: float
    modes: tuple[str, ...]
    tempo_bpm: tuple[int, int]
    melody_register: tuple[int, int]  # lowest and highest MIDI pitch of the tune
    velocity: tuple[int, int]
    articulation: float  # sounding fraction of each note's slot (legato near 1)
    beats_per_chord: int  # harmonic rhythm
    notes_per_beat: int  # melodic density
    feel: str  # straight | swing | driving | sparse
    drums: str | None  # drum pattern name, or None
    progressions: tuple[str, ...]
    programs: tuple[int, int, int]  # General MIDI programs: chords, melody, bass


PROFILES: dict[str, EmotionProfile] = {
    p.name: p
    for p in (
        EmotionProfile("happy", 0.8, 0.6, ("ionian", "ionian", "mixolydian"), (118, 144), (67, 84), (84, 108),
                       0.8, 2, 2, "swing", "pop", ("I-V-vi-IV", "I-IV-V-I", "I-vi-IV-V", "I-bVII-IV-I"), (0, 73, 33)),
        EmotionProfile("angry", -0.7, 0.8, ("aeolian", "phrygian", "harmonic_minor"), (146, 178), (55, 74), (104, 127),
                       0.45, 1, 4, "driving", "rock", ("i-bII-i-bII", "i-bVI-bVII-i", "i-iv-bII-i", "i-bVII-bVI-V"), (30, 29, 34)),
        EmotionProfile("sad", -0.7, -0.5, ("aeolian", "aeolian", "dorian"), (56, 76), (57, 74), (36, 62),
                       0.95, 4, 1, "straight", None, ("i-v-bVI-iv", "i-iv-v-i", "i-bVI-iv-V", "i-iv-i-V"), (0, 42, 32)),
        EmotionProfile("calm", 0.5, -0.7, ("ionian", "lydian"), (58, 78), (64, 79), (34, 58),
                       1.0, 8, 1, "sparse", None, ("Imaj7-IVmaj7", "I-II-I-II", "I-iii-IV-I", "I-IV-I-V"), (89, 73, 32)),
        EmotionProfile("tender", 0.6, -0.3, ("ionian",), (72, 92), (64, 81), (48, 72),
                       0.9, 4, 2, "swing", "brush", ("Imaj7-vi7-ii7-V7", "I-vi-IV-V", "I-iii-vi-IV", "IV-V-iii-vi"), (0, 71, 32)),
        EmotionProfile("fearful", -0.8, 0.5, ("harmonic_minor", "phrygian"), (96, 132), (60, 84), (50, 92),
                       0.35, 2, 3, "straight", "pulse", ("i-bII-vii°-i", "i-#iv°-i-bII", "i-bVI-vii°7-i", "i-iv-bII-V"), (48, 41, 43)),
        EmotionProfile("neutral", 0.0, 0.0, ("ionian",), (96, 112), (62, 79), (64, 84),
                       0.75, 4, 2, "straight", "pulse", ("I-IV-V-I", "I-ii-V-I", "I-vi-ii-V", "I-IV-ii-V"), (0, 0, 33)),
    )
}
