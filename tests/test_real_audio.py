"""Real audio: MIDI rendered by FluidSynth with a General MIDI SoundFont, through import and features.

Skips with a reason where FluidSynth or a SoundFont is missing; `.ci/run` installs both.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from helpers import REPO

from penta_core.core.io import read_json
from penta_core.engine.seeding import rng_for
from penta_core.features.audio import extract_audio_features
from penta_core.features.extract import extract_features
from penta_core.sources.importer import import_sources
from penta_core.store.access import sample_bytes
from penta_core.synth.generator import SyntheticGenerator, midi_bytes
from penta_core.synth.pieces import synthesize
from penta_core.synth.profiles import mode_family
from penta_core.synth.rendering import find_fluidsynth, render_fluidsynth

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_fluidsynth() is None,
                       reason="FluidSynth or a GM SoundFont is not installed "
                              "(apt-get install fluidsynth fluid-soundfont-gm)"),
]
RATE = 22050


def _wav(audio: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_rendering_is_deterministic_and_sounds():
    data = (REPO / "datasets/examples/happy/happy_01.mid").read_bytes()
    first, second = render_fluidsynth(data, RATE), render_fluidsynth(data, RATE)
    assert np.array_equal(first, second)
    assert first.size > RATE * 5 and np.abs(first).max() == pytest.approx(10 ** (-1 / 20), rel=1e-3)


def test_rendered_real_midi_imports_and_extracts(tmp_path, layout, params, music21_midi_files):
    src = tmp_path / "src"
    for label in ("happy", "sad"):
        for k in (1, 2):
            midi = (REPO / f"datasets/examples/{label}/{label}_0{k}.mid").read_bytes()
            (src / label).mkdir(parents=True, exist_ok=True)
            (src / label / f"{label}_{k}.wav").write_bytes(_wav(render_fluidsynth(midi, RATE)))
    for f in music21_midi_files[:3]:
        (src / "misc").mkdir(exist_ok=True)
        (src / "misc" / f"{f.stem}.flac").write_bytes(b"")
        sf.write(str(src / "misc" / f"{f.stem}.flac"), render_fluidsynth(f.read_bytes(), RATE), RATE)
    report = import_sources(src, layout, params)
    assert len(report.samples) == 7 and not report.quarantined
    params["features"]["n_jobs"] = 1
    result = extract_features(layout, params)
    assert result["ok"] == 7 and result["failed"] == 0
    status = read_json(layout.index("features"))["samples"]
    assert all(v["status"] == "ok" for v in status.values())


def test_audio_features_recover_key_and_tempo_of_rendered_pieces(tmp_path):
    gen = SyntheticGenerator()
    key_hits = tempo_hits = total = 0
    for emotion in ("happy", "sad", "angry", "tender"):
        for k in range(2):
            midi, plan = gen.generate(emotion, rng_for(11, emotion, k))
            path = tmp_path / f"{emotion}_{k}.wav"
            path.write_bytes(_wav(render_fluidsynth(midi_bytes(midi), RATE)))
            f = extract_audio_features(path, sample_rate=RATE)["features"]
            key_hits += int(f["key_tonic"]) == plan.tonic and f["mode"] == mode_family(plan.mode)
            ratio = f["tempo_bpm"] / plan.tempo_bpm
            tempo_hits += any(abs(ratio - r) <= 0.08 * r for r in (0.5, 1.0, 2.0))
            total += 1
    assert key_hits / total >= 0.6, (key_hits, total)
    assert tempo_hits / total >= 0.6, (tempo_hits, total)


def test_synthesize_renders_with_fluidsynth_beside_each_piece(layout, params):
    params["synthesize"].update(count=7, render_audio=True, renderer="fluidsynth", n_jobs=2, emotions="all")
    synthesize(layout, params)
    samples = read_json(layout.index("synthetic"))["samples"]
    audio = [s for s in samples if s["kind"] == "audio"]
    assert len(audio) == 7
    midi_groups = {s["group"] for s in samples if s["kind"] == "midi"}
    assert {s["group"] for s in audio} == midi_groups
    info = sf.info(io.BytesIO(sample_bytes(layout, audio[0])))
    assert info.samplerate == RATE and info.frames > RATE
