"""Rule-based synthetic pieces that carry an emotion in their music.

Each piece is real multi-part MIDI: block chords that sound together, a
melody drawn from the mode and leaning on chord tones, a bass line, and drums
where the style calls for them. Drawing a piece's parameters (key, mode,
tempo, progression) is separate from rendering it, and both take a
``numpy.random.Generator``, so a piece is a pure function of its seed.

The label is never written into the MIDI: no key-signature or text events,
only notes, tempo and metre.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pretty_midi

from penta_core.features.key import PITCH_CLASS_NAMES
from penta_core.synth.profiles import MODES, PROFILES, EmotionProfile, mode_family
from penta_core.synth.roman import Chord, parse_progression

BEATS_PER_BAR = 4
_DRUM_PATTERNS: dict[str, list[tuple[int, float, float]]] = {
    # (drum note, beat offset within the bar, velocity factor)
    "pop": [(36, 0, 1.0), (36, 2, 0.9), (38, 1, 0.9), (38, 3, 0.9)] + [(42, b / 2, 0.6) for b in range(8)],
    "rock": [(36, 0, 1.0), (36, 1.5, 0.9), (36, 2, 1.0), (38, 1, 1.0), (38, 3, 1.0)]
    + [(42, b / 2, 0.75) for b in range(8)],
    "brush": [(38, 1, 0.45), (38, 3, 0.45)] + [(51, b, 0.5) for b in range(4)],
    "pulse": [(36, b, 0.7) for b in range(4)] + [(42, b + 0.5, 0.45) for b in range(4)],
}


@dataclass(frozen=True)
class PiecePlan:
    """The drawn parameters of one piece: its label (``emotion``) and the music that carries it.

    Example
    -------
    >>> plan = PiecePlan("sad", tonic=9, mode="aeolian", tempo_bpm=64.0, progression="i iv v i", bars=8)
    >>> plan.as_record()["key"], plan.as_record()["mode_family"]
    ('A', 'minor')
    """

    emotion: str
    tonic: int
    mode: str
    tempo_bpm: float
    progression: str
    bars: int

    def as_record(self) -> dict[str, Any]:
        """The manifest's ``generation`` record: key and tonic, mode and its family, tempo, progression, bars."""
        return {
            "key": PITCH_CLASS_NAMES[self.tonic],
            "key_tonic": self.tonic,
            "mode": self.mode,
            "mode_family": mode_family(self.mode),
            "tempo_bpm": self.tempo_bpm,
            "progression": self.progression,
            "bars": self.bars,
        }


class SyntheticGenerator:
    """Generate emotion-driven multi-part MIDI pieces.

    Parameters
    ----------
    bars : length of each piece in 4/4 bars, before the closing tonic bar.
    profiles : emotion name → :class:`EmotionProfile`; defaults to the shipped table.

    Example
    -------
    >>> gen = SyntheticGenerator()
    >>> rng = np.random.default_rng(0)
    >>> plan = gen.randomize_parameters("happy", rng)
    >>> midi = gen.render(plan, rng)
    >>> len(midi.instruments) >= 3
    True
    """

    def __init__(self, bars: int = 8, profiles: dict[str, EmotionProfile] | None = None):
        if bars < 1:
            raise ValueError(f"bars must be >= 1, got {bars}")
        self.bars = bars
        self.profiles = profiles or PROFILES

    @property
    def emotions(self) -> list[str]:
        """The emotions this generator has rules for, in profile order."""
        return list(self.profiles)

    def randomize_parameters(self, emotion: str, rng: np.random.Generator) -> PiecePlan:
        """Draw a piece's key, mode, tempo and progression from the rules of ``emotion``.

        Parameters
        ----------
        emotion : one of :attr:`emotions`.
        rng : every random draw comes from it.

        Returns
        -------
        PiecePlan

        Raises
        ------
        ValueError : ``emotion`` has no rules.
        """
        if emotion not in self.profiles:
            raise ValueError(f"emotion must be one of {', '.join(self.profiles)}, got {emotion!r}")
        p = self.profiles[emotion]
        return PiecePlan(
            emotion=emotion,
            tonic=int(rng.integers(12)),
            mode=str(p.modes[rng.integers(len(p.modes))]),
            tempo_bpm=float(rng.integers(p.tempo_bpm[0], p.tempo_bpm[1] + 1)),
            progression=str(p.progressions[rng.integers(len(p.progressions))]),
            bars=self.bars,
        )

    def render(self, plan: PiecePlan, rng: np.random.Generator) -> pretty_midi.PrettyMIDI:
        """The notes of ``plan``: chords, melody, bass, and drums where the emotion's style has them.

        Parameters
        ----------
        plan : from :meth:`randomize_parameters`.
        rng : draws velocities and the melody.

        Returns
        -------
        pretty_midi.PrettyMIDI : serialise it with :func:`midi_bytes`.
        """
        p = self.profiles[plan.emotion]
        beat = 60.0 / plan.tempo_bpm
        midi = pretty_midi.PrettyMIDI(initial_tempo=plan.tempo_bpm, resolution=480)
        midi.time_signature_changes.append(pretty_midi.TimeSignature(BEATS_PER_BAR, 4, 0.0))
        chords_part = pretty_midi.Instrument(program=p.programs[0], name="chords")
        melody_part = pretty_midi.Instrument(program=p.programs[1], name="melody")
        bass_part = pretty_midi.Instrument(program=p.programs[2], name="bass")
        timeline = self._chord_timeline(plan, p)
        total_beats = plan.bars * BEATS_PER_BAR + BEATS_PER_BAR
        for start_beat, length, chord in timeline:
            root = (plan.tonic + chord.root) % 12
            self._chord(chords_part, p, rng, root, chord, start_beat, length, beat)
            self._bass(bass_part, p, rng, root, chord, start_beat, length, beat)
        self._melody(melody_part, p, plan, rng, timeline, beat)
        midi.instruments.extend([chords_part, melody_part, bass_part])
        if p.drums:
            midi.instruments.append(self._drums(p, rng, total_beats, beat))
        return midi

    def generate(self, emotion: str, rng: np.random.Generator) -> tuple[pretty_midi.PrettyMIDI, PiecePlan]:
        """:meth:`randomize_parameters` then :meth:`render` with the same ``rng``: one labelled piece.

        The same ``emotion`` and generator state give the same piece, byte for byte.

        Example
        -------
        >>> midi, plan = SyntheticGenerator().generate("angry", np.random.default_rng(3))
        >>> plan.emotion, midi_bytes(midi) == midi_bytes(SyntheticGenerator().generate("angry",
        ...     np.random.default_rng(3))[0])
        ('angry', True)
        """
        plan = self.randomize_parameters(emotion, rng)
        return self.render(plan, rng), plan

    # -- parts -----------------------------------------------------------------

    def _chord_timeline(self, plan: PiecePlan, p: EmotionProfile) -> list[tuple[float, float, Chord]]:
        chords = parse_progression(plan.progression)
        timeline = []
        beat_pos, i = 0, 0
        while beat_pos < plan.bars * BEATS_PER_BAR:
            length = min(p.beats_per_chord, plan.bars * BEATS_PER_BAR - beat_pos)
            timeline.append((float(beat_pos), float(length), chords[i % len(chords)]))
            beat_pos += length
            i += 1
        home = parse_progression("I" if mode_family(plan.mode) == "major" else "i")[0]
        timeline.append((float(beat_pos), float(BEATS_PER_BAR), home))  # closing tonic bar
        return timeline

    def _vel(self, p: EmotionProfile, rng: np.random.Generator, accent: float = 1.0) -> int:
        return int(np.clip(round(rng.integers(p.velocity[0], p.velocity[1] + 1) * accent), 1, 127))

    def _chord(self, part, p, rng, root, chord, start_beat, length, beat) -> None:
        base = 48 + root  # voiced around C3-B3, all notes struck together
        pitches = [base + iv for iv in chord.intervals]
        if p.feel == "driving":
            hits = [start_beat + k for k in range(int(length))]
            slot = 1.0
        elif p.feel == "swing" and length >= 2:
            hits = [start_beat + k for k in range(0, int(length), 2)]
            slot = 2.0
        else:
            hits, slot = [start_beat], length
        for hit in hits:
            velocity = self._vel(p, rng, 0.8)
            end = hit + slot * p.articulation
            for pitch in pitches:
                part.notes.append(pretty_midi.Note(velocity, pitch, hit * beat, end * beat))

    def _bass(self, part, p, rng, root, chord, start_beat, length, beat) -> None:
        low = 36 + root
        if p.feel == "driving":
            steps = [(start_beat + k / 2, 0.5, low) for k in range(int(length * 2))]
        elif p.feel == "sparse":
            steps = [(start_beat, length, low)]
        else:
            half = length / 2
            fifth = low + chord.intervals[2] - (12 if low + chord.intervals[2] > 52 else 0)
            steps = ([(start_beat, half, low), (start_beat + half, half, fifth)] if length >= 2
                     else [(start_beat, length, low)])
        for onset, dur, pitch in steps:
            end = (onset + dur * max(p.articulation, 0.5)) * beat
            part.notes.append(pretty_midi.Note(self._vel(p, rng, 0.9), int(pitch), onset * beat, end))

    def _melody(self, part, p, plan, rng, timeline, beat) -> None:
        lo, hi = p.melody_register
        scale_pcs = {(plan.tonic + step) % 12 for step in MODES[plan.mode]}
        register = np.arange(lo, hi + 1)
        in_scale = np.array([pc % 12 in scale_pcs for pc in register])
        previous = int(register[in_scale][len(register[in_scale]) // 2])
        slot = 1.0 / p.notes_per_beat
        rest_p = 0.3 if p.feel == "sparse" else 0.1
        for start_beat, length, chord in timeline:
            chord_pcs = {(plan.tonic + chord.root + iv) % 12 for iv in chord.intervals}
            is_chord = np.array([pc % 12 in chord_pcs for pc in register])
            n_slots = round(length / slot)
            for k in range(n_slots):
                onset = start_beat + k * slot
                strong = abs(onset - round(onset)) < 1e-9
                if not strong and rng.random() < rest_p:
                    continue
                weights = np.where(is_chord, 3.0 if strong else 1.5, np.where(in_scale, 1.0, 0.0))
                weights = weights * np.exp(-np.abs(register - previous) / 3.0)
                pitch = int(rng.choice(register, p=weights / weights.sum()))
                previous = pitch
                if p.feel == "swing" and p.notes_per_beat == 2 and k % 2 == 1:
                    onset = start_beat + (k - 1) * slot + 2.0 / 3.0  # swung off-beat eighth
                    dur = (1.0 / 3.0) * p.articulation
                else:
                    dur = slot * p.articulation * (2.0 / 3.0 if p.feel == "swing" and p.notes_per_beat == 2 else 1.0)
                if k == n_slots - 1 and start_beat == timeline[-1][0]:
                    # The tune comes home: its last note is the tonic, held to the end.
                    tonics = register[(register % 12) == plan.tonic]
                    pitch = int(tonics[np.argmin(np.abs(tonics - previous))])
                    dur = length - k * slot
                velocity = self._vel(p, rng, 1.05 if strong else 0.9)
                part.notes.append(pretty_midi.Note(velocity, pitch, onset * beat, (onset + dur) * beat))

    def _drums(self, p, rng, total_beats, beat) -> pretty_midi.Instrument:
        drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
        pattern = _DRUM_PATTERNS[p.drums]
        for bar in range(int(total_beats // BEATS_PER_BAR)):
            for note, offset, factor in pattern:
                onset = (bar * BEATS_PER_BAR + offset) * beat
                drums.notes.append(pretty_midi.Note(self._vel(p, rng, factor), note, onset, onset + 0.1 * beat))
        return drums


def midi_bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    """Serialise a PrettyMIDI object to bytes (deterministic for the same object)."""
    for inst in midi.instruments:
        inst.notes.sort(key=lambda n: (n.start, n.pitch, n.end))
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def render_audio(midi: pretty_midi.PrettyMIDI, sample_rate: int = 22050, renderer: str = "sine") -> np.ndarray:
    """Render a piece to mono float32 audio peaking at -1 dBFS (see :mod:`.rendering`)."""
    from penta_core.synth.rendering import render_fluidsynth, render_sine

    if renderer == "fluidsynth":
        return render_fluidsynth(midi_bytes(midi), sample_rate)
    if renderer != "sine":
        raise ValueError(f"renderer must be 'sine' or 'fluidsynth', got {renderer!r}")
    return render_sine(midi, sample_rate)
