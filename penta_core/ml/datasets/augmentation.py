"""MIDI and audio augmentation with recorded, replayable parameters, under the original import path.

A facade: the transforms live in :mod:`penta_core.augment.midi` and
:mod:`penta_core.augment.audio`, the MIDI file model they edit in
:mod:`penta_core.midi.piece` and each transform's accepted range in
:mod:`penta_core.augment.registry`. No pipeline stage imports this module.
The MIDI ``DurationScale`` and the audio ``TimeStretch`` are also exported
under their original names, ``MIDITimeStretch`` and ``AudioTimeStretch``.

Example
-------
>>> from pathlib import Path
>>> import numpy as np
>>> from penta_core.ml.datasets.augmentation import MIDIAugmenter
>>> data = Path("datasets/examples/happy/happy_01.mid").read_bytes()
>>> aug = MIDIAugmenter(transpose_semitones=(-2, 2), note_dropout=(0.0, 0.0))
>>> variant, record = aug.augment_bytes(data, np.random.default_rng([42, 7, 1]))
>>> variant[:4], sorted(record)
(b'MThd', ['duration_factor', 'note_dropout', 'timing_jitter_ms', 'transpose_semitones', 'velocity_scale'])
"""
from __future__ import annotations

from penta_core.augment.audio import (
    AddNoise,
    AudioAugmenter,
    AudioTransform,
    Gain,
    PitchShift,
    TimeStretch,
    encode_audio,
    load_audio,
)
from penta_core.augment.midi import (
    DurationScale,
    MIDIAugmenter,
    MIDITransform,
    NoteDropout,
    TimingJitter,
    Transpose,
    VelocityScale,
)
from penta_core.augment.registry import Bounds, check_range
from penta_core.midi.piece import MidiPiece

MIDITimeStretch = DurationScale
AudioTimeStretch = TimeStretch

__all__ = [
    "AddNoise", "AudioAugmenter", "AudioTimeStretch", "AudioTransform", "Bounds", "DurationScale", "Gain",
    "MIDIAugmenter", "MIDITimeStretch", "MIDITransform", "MidiPiece", "NoteDropout", "PitchShift", "TimeStretch",
    "TimingJitter", "Transpose", "VelocityScale", "check_range", "encode_audio", "load_audio",
]
