"""MIDI and audio augmentation with recorded, replayable parameters.

The transforms live in :mod:`.midi_augmentation` and :mod:`.audio_augmentation`,
the MIDI file model in :mod:`.midi_piece` and the range checks in
:mod:`.param_ranges`; this module is the public entry point named in the
issue and the docs.

Example
-------
>>> import numpy as np
>>> from penta_core.ml.datasets.augmentation import MIDIAugmenter
>>> aug = MIDIAugmenter(transpose_semitones=(-2, 2), note_dropout=(0.0, 0.0))
>>> data, record = aug.augment_bytes(midi_bytes, np.random.default_rng([42, 7, 1]))  # doctest: +SKIP
"""
from __future__ import annotations

from penta_core.augment.audio import (
    AddNoise,
    AudioAugmenter,
    AudioTransform,
    Gain,
    PitchShift,
    encode_audio,
    load_audio,
)
from penta_core.augment.audio import TimeStretch as AudioTimeStretch
from penta_core.augment.midi import (
    MIDIAugmenter,
    MIDITransform,
    NoteDropout,
    TimingJitter,
    Transpose,
    VelocityScale,
)
from penta_core.augment.midi import TimeStretch as MIDITimeStretch
from penta_core.midi.piece import MidiPiece
from penta_core.augment.ranges import check_range

__all__ = [
    "AddNoise", "AudioAugmenter", "AudioTimeStretch", "AudioTransform", "Gain", "MIDIAugmenter",
    "MIDITimeStretch", "MIDITransform", "MidiPiece", "NoteDropout", "PitchShift", "TimingJitter",
    "Transpose", "VelocityScale", "check_range", "encode_audio", "load_audio",
]
