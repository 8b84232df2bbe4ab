"""MIDI and audio augmentation with recorded, replayable parameters, under the original import path.

A facade: the transforms live in :mod:`penta_core.augment.midi` and
:mod:`penta_core.augment.audio`, the MIDI file model they edit in
:mod:`penta_core.midi.piece` and the range checks in
:mod:`penta_core.augment.ranges`. No pipeline stage imports this module.
The MIDI and audio ``TimeStretch`` classes are exported as
``MIDITimeStretch`` and ``AudioTimeStretch``.

Example
-------
>>> from pathlib import Path
>>> import numpy as np
>>> from penta_core.ml.datasets.augmentation import MIDIAugmenter
>>> data = Path("datasets/examples/happy/happy_01.mid").read_bytes()
>>> aug = MIDIAugmenter(transpose_semitones=(-2, 2), note_dropout=(0.0, 0.0))
>>> variant, record = aug.augment_bytes(data, np.random.default_rng([42, 7, 1]))
>>> variant[:4], sorted(record)
(b'MThd', ['note_dropout', 'time_stretch', 'timing_jitter_ms', 'transpose_semitones', 'velocity_scale'])
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
from penta_core.augment.ranges import check_range
from penta_core.midi.piece import MidiPiece

__all__ = [
    "AddNoise", "AudioAugmenter", "AudioTimeStretch", "AudioTransform", "Gain", "MIDIAugmenter",
    "MIDITimeStretch", "MIDITransform", "MidiPiece", "NoteDropout", "PitchShift", "TimingJitter",
    "Transpose", "VelocityScale", "check_range", "encode_audio", "load_audio",
]
