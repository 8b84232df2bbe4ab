"""Synthetic generation: real multi-part MIDI whose music carries the intended emotion."""
from __future__ import annotations

import io
from collections import defaultdict

import numpy as np
import pretty_midi
import pytest

from penta_core.core.io import read_json
from penta_core.engine.seeding import rng_for
from penta_core.store.access import sample_bytes
from penta_core.synth.generator import SyntheticGenerator, midi_bytes
from penta_core.synth.pieces import plan_ids, synthesize
from penta_core.synth.profiles import MODES, PROFILES, mode_family
from penta_core.synth.roman import parse_progression, parse_roman


def _piece(emotion: str, key: str = "k"):
    midi, plan = SyntheticGenerator().generate(emotion, rng_for(7, emotion, key))
    back = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(midi)))  # an independent read of what is written
    return back, plan


def _part(midi, name):
    return next(i for i in midi.instruments if i.name == name)


@pytest.mark.parametrize("symbol, root, quality, intervals", [
    ("bVII", 10, "major", (0, 4, 7)), ("bII", 1, "major", (0, 4, 7)), ("iv", 5, "minor", (0, 3, 7)),
    ("bVI", 8, "major", (0, 4, 7)), ("vii°", 11, "diminished", (0, 3, 6)), ("V7", 7, "major", (0, 4, 7, 10)),
    ("Imaj7", 0, "major", (0, 4, 7, 11)), ("#iv°", 6, "diminished", (0, 3, 6)), ("III+", 4, "augmented", (0, 4, 8)),
])
def test_borrowed_and_extended_numerals_parse(symbol, root, quality, intervals):
    chord = parse_roman(symbol)
    assert (chord.root, chord.quality, chord.intervals) == (root, quality, intervals)


def test_unknown_numeral_is_refused():
    with pytest.raises(ValueError, match="not a roman-numeral chord: 'VIII'"):
        parse_roman("VIII")


def test_every_emotion_has_its_own_progressions_and_rules():
    assert {"happy", "sad", "angry", "calm", "tender", "fearful", "neutral"} <= set(PROFILES)
    tables = {name: set(p.progressions) for name, p in PROFILES.items()}
    for name, table in tables.items():
        assert len(table) >= 3
        for progression in table:
            parse_progression(progression)
        others = set().union(*(t for n, t in tables.items() if n != name))
        assert table - others, f"{name} has no progression of its own"


@pytest.mark.parametrize("emotion", sorted(PROFILES))
def test_chords_sound_together(emotion):
    midi, _ = _piece(emotion)
    by_onset = defaultdict(list)
    for note in _part(midi, "chords").notes:
        by_onset[round(note.start, 3)].append(note)
    assert min(len(group) for group in by_onset.values()) >= 3
    for group in by_onset.values():
        assert len({round(n.end, 3) for n in group}) == 1  # struck and released as one chord


def _sounding_chord(chords, time):
    latest = max((c.start for c in chords if c.start <= time + 1e-6), default=None)
    return {c.pitch % 12 for c in chords if latest is not None and abs(c.start - latest) < 1e-6}


@pytest.mark.parametrize("emotion", sorted(PROFILES))
def test_melody_fits_the_mode_and_the_harmony(emotion):
    midi, plan = _piece(emotion)
    scale = {(plan.tonic + s) % 12 for s in MODES[plan.mode]}
    melody, chords = _part(midi, "melody").notes, _part(midi, "chords").notes
    # Outside the mode only where the chord itself is (a borrowed bII, a major V in minor).
    assert all(n.pitch % 12 in scale | _sounding_chord(chords, n.start) for n in melody)
    beat = 60.0 / plan.tempo_bpm
    on_beat = [n for n in melody if abs(n.start / beat - round(n.start / beat)) < 0.01]
    hits = sum(n.pitch % 12 in _sounding_chord(chords, n.start) for n in on_beat)
    assert hits / len(on_beat) >= 0.6


@pytest.mark.parametrize("emotion", sorted(PROFILES))
def test_pieces_have_bass_and_drums_where_the_style_calls_for_them(emotion):
    midi, _ = _piece(emotion)
    names = {i.name for i in midi.instruments}
    assert {"chords", "melody", "bass"} <= names
    assert ("drums" in names) == (PROFILES[emotion].drums is not None)
    bass, melody = _part(midi, "bass"), _part(midi, "melody")
    assert np.mean([n.pitch for n in bass.notes]) < np.mean([n.pitch for n in melody.notes])


def test_tempo_and_loudness_follow_arousal():
    stats = {}
    for emotion in ("happy", "angry", "sad", "calm"):
        tempos, velocities = [], []
        for k in range(8):
            midi, _ = _piece(emotion, str(k))
            tempos.append(midi.get_tempo_changes()[1][0])
            velocities.append(np.mean([n.velocity for i in midi.instruments if not i.is_drum for n in i.notes]))
        stats[emotion] = (np.mean(tempos), np.mean(velocities))
    for loud in ("happy", "angry"):
        for soft in ("sad", "calm"):
            assert stats[loud][0] > stats[soft][0] + 20
            assert stats[loud][1] > stats[soft][1] + 15


def test_no_key_signature_or_text_carries_the_label():
    midi, _ = _piece("sad")
    assert midi.key_signature_changes == [] and midi.lyrics == [] and midi.text_events == []


def test_same_seed_and_id_give_identical_bytes_and_other_ids_differ():
    gen = SyntheticGenerator()
    a = midi_bytes(gen.generate("happy", rng_for(1, "x"))[0])
    assert a == midi_bytes(gen.generate("happy", rng_for(1, "x"))[0])
    assert a != midi_bytes(gen.generate("happy", rng_for(1, "y"))[0])
    assert a != midi_bytes(gen.generate("happy", rng_for(2, "x"))[0])


def test_count_is_split_evenly_and_too_small_counts_are_refused():
    emotions = SyntheticGenerator().emotions
    ids = plan_ids(10, emotions)
    per = defaultdict(int)
    for _, emotion in ids:
        per[emotion] += 1
    assert sorted(per.values(), reverse=True) == [2, 2, 2, 1, 1, 1, 1]
    assert plan_ids(0, emotions) == []
    with pytest.raises(ValueError, match=r"synthesize\.count must be 0 or at least 7"):
        plan_ids(3, emotions)


def test_stage_records_generation_groups_and_grows_without_touching_existing(layout, params):
    params["synthesize"].update(count=7, n_jobs=1)
    synthesize(layout, params)
    first = read_json(layout.index("synthetic"))["samples"]
    before = {s["id"]: sample_bytes(layout, s) for s in first}
    assert all("path" not in s and s["shard"].startswith("raw/synthetic/midi-") for s in first)
    assert len({s["group"] for s in first}) == 7
    for s in first:
        assert s["origin"] == "synthetic" and s["label"] == s["id"].split("_")[1]
        assert mode_family(s["generation"]["mode"]) == s["generation"]["mode_family"]
        assert set(s["generation"]) >= {"key", "mode", "tempo_bpm", "progression"}
    params["synthesize"]["count"] = 14
    summary = synthesize(layout, params)
    assert (summary["generated"], summary["reused"]) == (7, 7)
    after = read_json(layout.index("synthetic"))["samples"]
    assert len(after) == 14
    assert all(sample_bytes(layout, s) == before[s["id"]] for s in after if s["id"] in before)


def test_count_zero_switches_synthesis_off(layout, params):
    params["synthesize"].update(count=7, n_jobs=1)
    synthesize(layout, params)
    params["synthesize"]["count"] = 0
    assert synthesize(layout, params)["planned"] == 0
    assert read_json(layout.index("synthetic"))["samples"] == []
    assert not list(layout.raw_synthetic.iterdir())


def test_a_shard_edited_by_hand_is_made_again(layout, params):
    params["synthesize"].update(count=7, n_jobs=1)
    synthesize(layout, params)
    index = layout.index("synthetic").read_bytes()
    (shard,) = layout.raw_synthetic.glob("*.tar")
    original = shard.read_bytes()
    shard.write_bytes(original[:600] + b"tampered" + original[608:])
    assert synthesize(layout, params)["generated"] == 7
    assert shard.read_bytes() == original and layout.index("synthetic").read_bytes() == index


def test_a_new_seed_regenerates_every_piece(layout, params):
    params["synthesize"].update(count=7, n_jobs=1)
    synthesize(layout, params)
    old = {s["id"]: s["sha256"] for s in read_json(layout.index("synthetic"))["samples"]}
    params["seed"] = 43
    assert synthesize(layout, params)["generated"] == 7
    new = {s["id"]: s["sha256"] for s in read_json(layout.index("synthetic"))["samples"]}
    assert old.keys() == new.keys() and all(old[k] != new[k] for k in old)


def test_present_emotions_follow_the_imported_labels(layout, params):
    from penta_core.core.io import write_json

    write_json(layout.index("labels_present"), {"labels": ["calm", "sad"]})
    params["synthesize"].update(count=4, n_jobs=1)
    assert synthesize(layout, params)["per_label"] == {"sad": 2, "calm": 2}
    params["synthesize"]["emotions"] = ["angry"]
    assert synthesize(layout, params)["per_label"] == {"angry": 4}
    params["synthesize"]["emotions"] = "all"
    params["synthesize"]["count"] = 7
    assert len(synthesize(layout, params)["per_label"]) == 7


def test_unknown_emotion_in_the_list_is_named(layout, params):
    params["synthesize"].update(count=4, emotions=["happy", "bored"])
    with pytest.raises(ValueError, match="no generator rules for bored"):
        synthesize(layout, params)
