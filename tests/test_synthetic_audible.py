"""The emotions are audible in the data: features of synthetic pieces recover what the rules intended."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from penta_core.engine.seeding import rng_for
from penta_core.features.midi import MIDI_COLUMNS, extract_midi_features
from penta_core.synth.generator import SyntheticGenerator, midi_bytes
from penta_core.synth.profiles import PROFILES, mode_family

PER_EMOTION = 12


@pytest.fixture(scope="module")
def corpus():
    gen = SyntheticGenerator()
    rows = []
    for emotion in gen.emotions:
        for k in range(PER_EMOTION):
            midi, plan = gen.generate(emotion, rng_for(2026, emotion, k))
            out = extract_midi_features(midi_bytes(midi))
            rows.append((emotion, plan, out["features"]))
    return rows


@pytest.mark.parametrize("emotion", sorted(PROFILES))
def test_key_estimator_recovers_the_intended_mode_for_most_pieces(corpus, emotion):
    pieces = [(plan, f) for e, plan, f in corpus if e == emotion]
    hits = sum(f["mode"] == mode_family(plan.mode) for plan, f in pieces)
    assert hits / len(pieces) >= 0.75, f"{emotion}: {hits}/{len(pieces)}"


def test_recovered_tonic_matches_the_plan_for_most_pieces(corpus):
    hits = sum(int(f["key_tonic"]) == plan.tonic for _, plan, f in corpus)
    assert hits / len(corpus) >= 0.8


def test_extracted_tempo_and_loudness_order_as_intended(corpus):
    def mean(emotion, column):
        return np.mean([f[column] for e, _, f in corpus if e == emotion])

    for loud in ("angry", "happy"):
        for soft in ("sad", "calm"):
            assert mean(loud, "tempo_bpm") > mean(soft, "tempo_bpm") + 20
            assert mean(loud, "velocity_mean") > mean(soft, "velocity_mean") + 15
    assert mean("angry", "note_density") > mean("calm", "note_density")


def test_a_simple_classifier_separates_the_emotions_well_above_chance(corpus):
    X = np.array([[f[c] for c in MIDI_COLUMNS] for _, _, f in corpus])
    y = np.array([e for e, _, _ in corpus])
    scores = cross_val_score(RandomForestClassifier(n_estimators=100, random_state=0), X, y,
                             cv=StratifiedKFold(4, shuffle=True, random_state=0))
    chance = 1 / len(PROFILES)
    assert scores.mean() >= 3 * chance, scores


def test_features_carry_no_label_or_label_derived_value(corpus):
    labelish = {"label", "emotion", "valence", "arousal", *PROFILES}
    for _, _, features in corpus[:3]:
        assert not any(part in labelish for name in features for part in name.split("_"))
