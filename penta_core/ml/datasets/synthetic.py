"""Rule-based emotion-labelled MIDI pieces, under the import path of the original project.

A facade: the code lives in :mod:`penta_core.synth` (the generator in
:mod:`penta_core.synth.generator`, the rules per emotion in
:mod:`penta_core.synth.profiles`). No pipeline stage imports this module.

The synthesize stage draws piece ``syn_<emotion>_<k:05d>`` from
``rng_for(seed, sample_id)``, so ``SyntheticGenerator().generate(emotion,
rng_for(seed, sample_id))`` rebuilds that piece of a dataset.

Example
-------
>>> import numpy as np
>>> from penta_core.ml.datasets.synthetic import SyntheticGenerator, midi_bytes
>>> midi, plan = SyntheticGenerator().generate("sad", np.random.default_rng(7))
>>> plan.emotion, plan.as_record()["mode_family"]
('sad', 'minor')
>>> midi_bytes(midi)[:4]
b'MThd'
"""
from __future__ import annotations

from penta_core.engine.seeding import rng_for
from penta_core.synth.generator import PiecePlan, SyntheticGenerator, midi_bytes, render_audio
from penta_core.synth.profiles import PROFILES, EmotionProfile

__all__ = ["PROFILES", "EmotionProfile", "PiecePlan", "SyntheticGenerator", "midi_bytes", "render_audio", "rng_for"]
