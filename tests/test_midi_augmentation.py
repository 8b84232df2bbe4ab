"""MIDI augmentation, checked against the parent with independent readers (pretty_midi, mido)."""
from __future__ import annotations

import io
import itertools
import warnings
from collections import defaultdict
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
from helpers import build_midi
from hypothesis import example, given, settings
from hypothesis import strategies as st

from penta_core.ml.datasets.augmentation import (
    DurationScale,
    MIDIAugmenter,
    MidiPiece,
    NoteDropout,
    TimingJitter,
    Transpose,
    VelocityScale,
)

MUSIC21_MIDI = sorted((Path(__import__("music21").__file__).parent / "midi" / "testPrimitive").glob("*.mid"))
IDENTITY = {"transpose_semitones": (0, 0), "duration_factor": (1, 1), "velocity_scale": (1, 1),
                "timing_jitter_ms": (0, 0), "note_dropout": (0, 0)}


# -- local fixtures -------------------------------------------------------------
def pm(data: bytes) -> pretty_midi.PrettyMIDI:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-standard files in music21's test set
        return pretty_midi.PrettyMIDI(io.BytesIO(data))


def notes_by_instrument(data: bytes):
    """``[(is_drum, [(start, end, pitch, velocity), ...] sorted)]`` as pretty_midi reads them."""
    return [(inst.is_drum, sorted((n.start, n.end, n.pitch, n.velocity) for n in inst.notes))
            for inst in pm(data).instruments]


def onsets_by_voice(data: bytes) -> dict[tuple[int, int], list[float]]:
    """Note-on times in seconds per (channel, pitch), from mido's own merged, tempo-aware playback."""
    voices: dict[tuple[int, int], list[float]] = defaultdict(list)
    now = 0.0
    for msg in mido.MidiFile(file=io.BytesIO(data)):
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            voices[(msg.channel, msg.note)].append(now)
    return voices


def augment(data: bytes, seed: int = 0, **ranges) -> tuple[bytes, dict]:
    return MIDIAugmenter(**{**IDENTITY, **ranges}).augment_bytes(data, np.random.default_rng(seed))


def scale_melody(n: int, step: int = 240, pitch0: int = 48, channel: int = 0, velocity: int = 80):
    return [(i * step, i * step + step - 20, pitch0 + i % 24, velocity, channel) for i in range(n)]


def long_piece() -> bytes:
    """About nine minutes with slow and fast tempo sections, a melody and a drum part."""
    tempos = [(0, 500_000), (240 * 500, 1_500_000), (240 * 900, 300_000), (240 * 1500, 750_000)]
    drums = [(i * 480, i * 480 + 60, 36 + i % 3, 100, 9) for i in range(1000)]
    return build_midi([scale_melody(2000), drums], tempos=tempos)


# -- transpose ------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_transpose_shifts_every_non_drum_pitch_by_the_recorded_amount(seed):
    melody = scale_melody(40, pitch0=55)
    drums = [(i * 480, i * 480 + 100, 38, 100, 9) for i in range(20)]
    parent = build_midi([melody, drums])
    variant, record = augment(parent, seed, transpose_semitones=(-5, 6))
    offset = record["transpose_semitones"]
    assert isinstance(offset, int) and -5 <= offset <= 6
    before, after = notes_by_instrument(parent), notes_by_instrument(variant)
    assert [d for d, _ in before] == [d for d, _ in after]
    for (is_drum, old), (_, new) in zip(before, after):
        shift = 0 if is_drum else offset
        assert [(s, e, p + shift, v) for s, e, p, v in old] == new


def test_transpose_offsets_cover_the_range():
    parent = build_midi([scale_melody(12, pitch0=60)])
    seen = {augment(parent, seed, transpose_semitones=(-3, 3))[1]["transpose_semitones"] for seed in range(60)}
    assert seen == set(range(-3, 4))


def test_transpose_chooses_another_offset_instead_of_leaving_the_midi_range():
    # Program 120 (sound effects) may use all 128 notes: only the MIDI range limits it.
    parent = build_midi([[(0, 100, 125, 90, 0), (100, 200, 60, 90, 0)]], programs=[120])
    for seed in range(20):
        variant, record = augment(parent, seed, transpose_semitones=(0, 12))
        assert 0 <= record["transpose_semitones"] <= 2
        assert max(p for _, notes in notes_by_instrument(variant) for _, _, p, _ in notes) <= 127


def test_transpose_uses_the_nearest_legal_offset_when_none_in_the_range_is_legal():
    parent = build_midi([[(0, 100, 125, 90, 0), (100, 200, 60, 90, 0)]], programs=[120])
    variant, record = augment(parent, 0, transpose_semitones=(5, 12))
    assert record["transpose_semitones"] == 2
    assert sorted(p for _, notes in notes_by_instrument(variant) for _, _, p, _ in notes) == [62, 127]


def test_transpose_keeps_a_part_in_its_instruments_playable_range():
    # Electric bass (program 33) playing its lowest E: it may go up, never down.
    bass = [(i * 480, i * 480 + 400, pitch, 90, 0) for i, pitch in enumerate((28, 33, 40))]
    parent = build_midi([bass], programs=[33])
    seen = {augment(parent, seed, transpose_semitones=(-6, 6))[1]["transpose_semitones"] for seed in range(30)}
    assert min(seen) == 0 and max(seen) > 0


def test_a_part_already_outside_its_range_is_not_pushed_further():
    # A piano part (21-108) already reaching 125 can move down but not up.
    parent = build_midi([[(0, 100, 125, 90, 0), (100, 200, 60, 90, 0)]], programs=[0])
    seen = {augment(parent, seed, transpose_semitones=(-4, 4))[1]["transpose_semitones"] for seed in range(30)}
    assert max(seen) == 0 and min(seen) < 0


# -- duration factor ------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_duration_factor_scales_every_onset_and_duration_within_a_tick(seed):
    tempos = [(0, 600_000), (480 * 8, 400_000), (480 * 16, 900_000)]
    parent = build_midi([scale_melody(100, step=130)], tempos=tempos)
    variant, record = augment(parent, seed, duration_factor=(0.5, 2.0))
    factor = record["duration_factor"]
    assert 0.5 <= factor <= 2.0 and factor != 1.0
    tick_s = max(t for _, t in tempos) * factor / 1e6 / 480  # the longest tick of the variant
    (_, old), = notes_by_instrument(parent)
    (_, new), = notes_by_instrument(variant)
    assert len(old) == len(new)
    for (s0, e0, p0, _), (s1, e1, p1, _) in zip(old, new):
        assert p0 == p1
        assert abs(s1 - s0 * factor) <= tick_s
        assert abs((e1 - s1) - (e0 - s0) * factor) <= tick_s


def test_duration_factor_scales_the_tempo_events():
    tempos = [(0, 600_000), (480 * 8, 400_000)]
    parent = build_midi([scale_melody(40)], tempos=tempos)
    variant, _record = augment(parent, 1, duration_factor=(1.5, 1.5))
    times, bpm = pm(variant).get_tempo_changes()
    assert np.allclose(bpm, [60e6 / 600_000 / 1.5, 60e6 / 400_000 / 1.5], rtol=1e-5)
    assert np.allclose(times, [0.0, 8 * 0.6 * 1.5], atol=1e-6)


def test_duration_factor_adds_a_tempo_when_the_piece_relies_on_the_default():
    parent = build_midi([scale_melody(30)], tempos=())
    variant, record = augment(parent, 2, duration_factor=(0.8, 0.8))
    (_, old), = notes_by_instrument(parent)
    (_, new), = notes_by_instrument(variant)
    assert record["duration_factor"] == pytest.approx(0.8)
    assert new[-1][0] == pytest.approx(old[-1][0] * 0.8, abs=1e-6)


# -- velocity -------------------------------------------------------------------
@pytest.mark.parametrize("scale", [0.001, 0.7, 1.3, 4.0])
def test_velocity_is_scaled_rounded_and_clamped_to_1_127(scale):
    notes = [(i * 100, i * 100 + 90, 60, v, 0) for i, v in enumerate((1, 2, 40, 64, 100, 126, 127))]
    parent = build_midi([notes])
    variant, record = augment(parent, 0, velocity_scale=(scale, scale))
    assert record["velocity_scale"] == scale
    (_, new), = notes_by_instrument(variant)
    expected = [min(127, max(1, round(v * scale))) for *_, v, _ in notes]
    assert [v for *_, v in new] == expected


# -- timing jitter ---------------------------------------------------------------
def test_jitter_stays_within_its_bound_on_every_note_of_a_long_piece_without_drift():
    parent = long_piece()
    variant, record = augment(parent, 3, timing_jitter_ms=(20, 20))
    bound = record["timing_jitter_ms"] / 1000
    old, new = onsets_by_voice(parent), onsets_by_voice(variant)
    assert old.keys() == new.keys()
    deltas, times = [], []
    for voice in old:
        assert len(old[voice]) == len(new[voice])
        deltas += [b - a for a, b in zip(old[voice], new[voice])]
        times += old[voice]
    deltas, times = np.asarray(deltas), np.asarray(times)
    assert len(deltas) == 3000 and times.max() > 500
    assert np.abs(deltas).max() <= bound + 1e-9
    assert deltas.std() > bound / 4  # it did move the notes
    late = deltas[times > 0.9 * times.max()]  # the end of the piece is no further off than the start
    assert abs(late.mean()) < bound / 5 and np.abs(late).max() <= bound + 1e-9


def test_jitter_is_converted_with_the_tempo_at_each_note():
    # At 20 bpm one tick is 6.25 ms, at 300 bpm 0.4 ms: a fixed tick count would break the bound.
    tempos = [(0, 3_000_000), (480 * 20, 200_000)]
    parent = build_midi([scale_melody(80, step=240)], tempos=tempos)
    variant, _record = augment(parent, 5, timing_jitter_ms=(10, 10))
    old, new = onsets_by_voice(parent), onsets_by_voice(variant)
    deltas = np.concatenate([np.subtract(new[v], old[v]) for v in old])
    assert np.abs(deltas).max() <= 0.010 + 1e-9
    assert np.abs(deltas).max() > 0.005


def test_jitter_never_makes_same_pitch_notes_overlap():
    # Repeated legato notes of one pitch: any move toward each other would overlap.
    repeated = [(i * 48, (i + 1) * 48, 60, 90, 0) for i in range(400)]
    parent = build_midi([repeated], tempos=((0, 500_000),), tpq=96)
    variant, _record = augment(parent, 7, timing_jitter_ms=(40, 40))
    (_, new), = notes_by_instrument(variant)
    assert len(new) == 400
    assert all(e > s for s, e, _, _ in new)
    assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(new))
    assert sum(abs(n[0] - i * 0.25) > 1e-6 for i, n in enumerate(new)) > 100


def test_jitter_treats_two_tracks_on_one_channel_as_one_voice():
    a = [(i * 96, (i + 1) * 96, 64, 90, 0) for i in range(0, 200, 2)]
    b = [(i * 96, (i + 1) * 96, 64, 90, 0) for i in range(1, 200, 2)]
    parent = build_midi([a, b], tpq=96)
    variant, _ = augment(parent, 4, timing_jitter_ms=(60, 60))
    spans = sorted((n.start, n.end) for inst in pm(variant).instruments for n in inst.notes)
    assert len(spans) == 200
    assert all(x[1] <= y[0] + 1e-9 for x, y in itertools.pairwise(spans))


@settings(max_examples=80, deadline=None)
@given(
    # Gaps of a few ticks (about 21 ms each) against bounds of up to ~5 ticks.
    gaps=st.lists(st.integers(0, 6), min_size=2, max_size=39),
    lengths=st.lists(st.integers(1, 12), min_size=40, max_size=40),
    bound=st.floats(0.5, 110),
    seed=st.integers(0, 2**32 - 1),
)
@example(gaps=[3] * 39, lengths=[2] * 40, bound=80.0, seed=0)
def test_jitter_properties_hold_for_any_same_pitch_sequence(gaps, lengths, bound, seed):
    starts = np.cumsum([0] + gaps)
    notes = [(int(s), int(s) + lengths[i], 62, 80, 0) for i, s in enumerate(starts)]
    piece = MidiPiece.from_bytes(build_midi([notes], tpq=24))
    before = piece.notes["start"].copy()  # notes stay in their original order
    TimingJitter(bound, bound)(piece, np.random.default_rng(seed))
    after, end = piece.notes["start"], piece.notes["end"]
    tempo = piece.tempo_map()
    moved = np.abs(tempo.seconds(after) - tempo.seconds(before))
    assert np.all(moved <= bound / 1000 + 1e-9)
    # Same-pitch notes keep their order and never meet; doubled notes stay together.
    assert np.array_equal(np.sign(np.diff(after)), np.sign(np.diff(before)))
    assert np.all(end > after)
    order = np.argsort(after, kind="stable")
    assert np.all(end[order][:-1][np.diff(after[order]) > 0] <= after[order][1:][np.diff(after[order]) > 0])


# -- dropout --------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.05, 0.3, 0.9])
def test_dropout_removes_the_recorded_fraction(p):
    parent = build_midi([scale_melody(1000)])
    variant, record = augment(parent, 11, note_dropout=(p, p))
    (_, new), = notes_by_instrument(variant)
    assert record["note_dropout"] == pytest.approx(p, abs=1e-3)
    assert 1000 - len(new) == round(record["note_dropout"] * 1000)


def test_dropout_removes_notes_at_random_not_in_a_block():
    parent = build_midi([scale_melody(1000)])
    variant, _ = augment(parent, 12, note_dropout=(0.5, 0.5))
    (_, old), = notes_by_instrument(parent)
    (_, new), = notes_by_instrument(variant)
    kept = np.isin([s for s, *_ in old], [s for s, *_ in new])
    assert 0.35 < kept[:500].mean() < 0.65 and 0.35 < kept[500:].mean() < 0.65


@pytest.mark.parametrize("n_notes", [1, 2, 5])
def test_dropout_never_removes_every_note(n_notes):
    parent = build_midi([scale_melody(n_notes)])
    for seed in range(10):
        variant, _ = augment(parent, seed, note_dropout=(0.9, 0.9))
        assert sum(len(n) for _, n in notes_by_instrument(variant)) >= 1


# -- validation, determinism, real files -------------------------------------------
@pytest.mark.parametrize("name", list(IDENTITY))
def test_a_range_with_min_above_max_is_refused_naming_the_parameter(name):
    with pytest.raises(ValueError, match=name):
        MIDIAugmenter(**{name: (0.5, 0.2)})


@pytest.mark.parametrize("make, name", [
    (lambda: DurationScale(0, 1), "duration_factor"),
    (lambda: VelocityScale(-1, 1), "velocity_scale"),
    (lambda: NoteDropout(0.2, 1.0), "note_dropout"),
    (lambda: TimingJitter(-5, 5), "timing_jitter_ms"),
    (lambda: Transpose(0.2, 0.8), "transpose_semitones"),
    (lambda: Transpose(float("nan"), 2), "transpose_semitones"),
])
def test_out_of_domain_ranges_are_refused_naming_the_parameter(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_randomize_parameters_is_separate_from_apply():
    piece = MidiPiece.from_bytes(build_midi([scale_melody(20)]))
    t = Transpose(-3, 3)
    t.randomize_parameters(piece, np.random.default_rng(1))
    drawn = dict(t.parameters)
    out = t.apply(piece.copy())
    assert t.parameters == drawn
    assert np.array_equal(out.notes["pitch"], piece.notes["pitch"] + drawn["transpose_semitones"])


def test_same_generator_gives_identical_bytes_and_others_differ():
    parent = long_piece()
    aug = MIDIAugmenter()
    a = aug.augment_bytes(parent, np.random.default_rng([42, 1, 1]))
    b = aug.augment_bytes(parent, np.random.default_rng([42, 1, 1]))
    c = aug.augment_bytes(parent, np.random.default_rng([42, 1, 2]))
    assert a == b
    assert a[0] != c[0]


FIXTURE_MIDI = sorted((Path(__file__).parent / "fixtures").rglob("*.mid"))


@pytest.mark.parametrize("ranges", [{}, {"transpose_semitones": (-12, 12), "duration_factor": (0.5, 2.0),
                                        "timing_jitter_ms": (0.0, 60.0), "note_dropout": (0.0, 0.4)}])
def test_variants_made_together_are_the_variants_made_one_by_one(ranges):
    # Many tempo changes, drums, several tracks on one channel: the fixtures and music21's test files.
    aug = MIDIAugmenter(**ranges)
    for index, path in enumerate([*FIXTURE_MIDI, *MUSIC21_MIDI]):
        parent = MidiPiece.from_bytes(path.read_bytes())
        seeds = [[7, index, k] for k in range(4)]
        together = aug.augment_many(parent, [np.random.default_rng(s) for s in seeds])
        alone = [aug.augment(parent, np.random.default_rng(s)) for s in seeds]
        assert [r for _, r in together] == [r for _, r in alone], path.name
        assert MidiPiece.to_bytes_many([v for v, _ in together]) == [v.to_bytes() for v, _ in alone], path.name


def test_parse_and_write_without_transforms_keeps_every_note():
    for path in MUSIC21_MIDI:
        data = path.read_bytes()
        assert notes_by_instrument(MidiPiece.from_bytes(data).to_bytes()) == notes_by_instrument(data), path.name


@pytest.mark.parametrize("path", MUSIC21_MIDI, ids=lambda p: p.name)
def test_transforms_on_music21_midi_files(path):
    parent = path.read_bytes()
    old_notes = notes_by_instrument(parent)

    variant, record = augment(parent, 1, transpose_semitones=(-5, 6))
    offset = record["transpose_semitones"]
    for (drum, old), (_, new) in zip(old_notes, notes_by_instrument(variant)):
        assert sorted(p + (0 if drum else offset) for _, _, p, _ in old) == sorted(p for _, _, p, _ in new)

    variant, record = augment(parent, 2, duration_factor=(0.7, 1.4))
    factor, tpq = record["duration_factor"], mido.MidiFile(file=io.BytesIO(parent)).ticks_per_beat
    max_tempo = max([m.tempo for t in mido.MidiFile(file=io.BytesIO(variant)).tracks for m in t
                     if m.type == "set_tempo"])
    old_on, new_on = onsets_by_voice(parent), onsets_by_voice(variant)
    for voice in old_on:
        assert np.allclose(np.multiply(old_on[voice], factor), new_on[voice], rtol=0, atol=max_tempo / 1e6 / tpq)

    variant, record = augment(parent, 3, timing_jitter_ms=(5, 25))
    new_on = onsets_by_voice(variant)
    for voice in old_on:
        assert np.abs(np.subtract(new_on[voice], old_on[voice])).max() <= record["timing_jitter_ms"] / 1000 + 1e-9
    for _, notes in notes_by_instrument(variant):
        by_pitch = defaultdict(list)
        for s, e, p, _ in notes:
            by_pitch[p].append((s, e))
        for spans in by_pitch.values():
            assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(spans) if b[0] > a[0])

    variant, record = augment(parent, 4, note_dropout=(0.2, 0.2))
    before = sum(len(n) for _, n in old_notes)
    after = sum(len(n) for _, n in notes_by_instrument(variant))
    assert after >= 1 and before - after == round(record["note_dropout"] * MidiPiece.from_bytes(parent).n_notes)

    full = MIDIAugmenter()
    assert full.augment_bytes(parent, np.random.default_rng(9)) == full.augment_bytes(parent, np.random.default_rng(9))


def _same_piece(a: MidiPiece, b: MidiPiece) -> bool:
    return (a.ticks_per_beat == b.ticks_per_beat and a.file_type == b.file_type
            and all(np.array_equal(a.notes[k], b.notes[k]) for k in a.notes)
            and [[(e.tick, e.seq, e.msg) for e in t] for t in a.events]
            == [[(e.tick, e.seq, e.msg) for e in t] for t in b.events])


def test_the_fast_reader_reads_what_mido_reads(monkeypatch):
    from penta_core.midi import piece as module

    extra = mido.MidiFile(ticks_per_beat=96)  # SysEx, text, a running-status stream, pitch bends
    extra.tracks.append(mido.MidiTrack([
        mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01]), mido.MetaMessage("text", text="héllo"),
        *[mido.Message("note_on", note=60 + i % 5, velocity=(80 if i % 2 == 0 else 0), time=12) for i in range(40)],
        *[mido.Message("pitchwheel", pitch=i * 100, time=3) for i in range(20)],
    ]))
    buffer = io.BytesIO()
    extra.save(file=buffer)
    files = [p.read_bytes() for p in MUSIC21_MIDI] + [buffer.getvalue()]
    fast = [MidiPiece.from_bytes(data) for data in files]

    def refuse(data):
        raise module.Unusual("forced")

    monkeypatch.setattr(module, "read_smf", refuse)
    for data, piece in zip(files, fast):
        assert _same_piece(piece, MidiPiece.from_bytes(data))


@pytest.mark.parametrize("data, reason", [
    (b"RIFF....", "does not parse"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\xe7\x28MTrk\x00\x00\x00\x04\x00\xff\x2f\x00", "SMPTE"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x09\x00\x90\x3c\x40\x60\x80\x3c", "parse"),
])
def test_unreadable_midi_is_refused_with_a_reason(data, reason):
    with pytest.raises(ValueError, match=reason):
        MidiPiece.from_bytes(data)


def test_a_delta_time_beyond_the_midi_maximum_fails_instead_of_writing_an_unreadable_file():
    import mido as _mido

    from penta_core.midi.piece import MAX_VLQ, MidiPiece

    mid = _mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(_mido.MidiTrack([_mido.Message("note_on", note=60, velocity=80, time=0),
                                       _mido.Message("note_off", note=60, time=480)]))
    buffer = io.BytesIO()
    mid.save(file=buffer)
    piece = MidiPiece.from_bytes(buffer.getvalue())
    assert MidiPiece.from_bytes(piece.to_bytes()).notes["end"].tolist() == [480]
    piece.notes["end"][0] = MAX_VLQ + 1  # as a jittered note past a huge legal delta would land
    with pytest.raises(ValueError, match="exceeds the MIDI maximum"):
        piece.to_bytes()
