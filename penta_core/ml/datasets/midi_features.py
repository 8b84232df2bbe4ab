"""MIDI feature extraction, under the import path of the original project.

A facade: the code lives in :mod:`penta_core.features` (the extractor in
:mod:`penta_core.features.extractor`, the features themselves in
:mod:`penta_core.features.midi`). No pipeline stage imports this module.

Example
-------
>>> from penta_core.ml.datasets.midi_features import MIDIFeatureExtractor
>>> extractor = MIDIFeatureExtractor()
>>> row = extractor.vector("datasets/examples/happy/happy_01.mid")
>>> len(row) == len(extractor.columns)
True
"""
from __future__ import annotations

from penta_core.features.extractor import MIDIFeatureExtractor
from penta_core.features.midi import MIDI_COLUMNS, extract_midi_features

__all__ = ["MIDI_COLUMNS", "MIDIFeatureExtractor", "extract_midi_features"]
