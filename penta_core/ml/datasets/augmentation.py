"""MIDI and audio augmentation with recorded, replayable parameters.

The transforms live in :mod:`.midi_augmentation` and :mod:`.audio_augmentation`;
this module is the public entry point named in the issue and the docs.

Example
-------
>>> import numpy as np
>>> from penta_core.ml.datasets.augmentation import MIDIAugmenter
>>> aug = MIDIAugmenter(transpose_semitones=(-2, 2), note_dropout=(0.0, 0.0))
>>> data, record = aug.augment_bytes(midi_bytes, np.random.default_rng([42, 7, 1]))  # doctest: +SKIP
"""
from __future__ import annotations

from .audio_augmentation import (
    AddNoise,
    AudioAugmenter,
    AudioTransform,
    Gain,
    PitchShift,
    encode_audio,
    load_audio,
)
from .audio_augmentation import TimeStretch as AudioTimeStretch
from .midi_augmentation import (
    MIDIAugmenter,
    MIDITransform,
    MidiPiece,
    NoteDropout,
    TimingJitter,
    Transpose,
    VelocityScale,
    check_range,
)
from .midi_augmentation import TimeStretch as MIDITimeStretch

__all__ = [
    "AddNoise", "AudioAugmenter", "AudioTimeStretch", "AudioTransform", "Gain", "MIDIAugmenter",
    "MIDITimeStretch", "MIDITransform", "MidiPiece", "NoteDropout", "PitchShift", "TimingJitter",
    "Transpose", "VelocityScale", "check_range", "encode_audio", "load_audio",
]
