"""The one tempo map: tick ↔ seconds conversion shared by the features and the augmenter."""
from __future__ import annotations

import io

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from penta_core.features.midi import extract_midi_features
from penta_core.midi.piece import MidiPiece
from penta_core.midi.tempo import TempoMap, same_tick_conflict, smf_tempo_events


def smf(tracks: list[list[tuple[int, mido.Message | mido.MetaMessage]]], tpq: int = 480) -> bytes:
    """MIDI bytes from ``(absolute tick, message)`` lists, one per track."""
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    for events in tracks:
        track, now = mido.MidiTrack(), 0
        for tick, msg in events:
            track.append(msg.copy(time=tick - now))
            now = tick
        mid.tracks.append(track)
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def tempo(us: int) -> mido.MetaMessage:
    return mido.MetaMessage("set_tempo", tempo=us)


def note(tick: int, length: int = 960) -> list[tuple[int, mido.Message]]:
    return [(tick, mido.Message("note_on", note=60, velocity=80)),
            (tick + length, mido.Message("note_off", note=60, velocity=0))]


def test_seconds_follow_each_tempo_segment():
    # One beat at 120 BPM (0.5 s), then beats at 60 BPM (1 s each).
    tempo_map = TempoMap(np.array([0, 480]), np.array([500_000, 1_000_000]), tpq=480)
    assert tempo_map.seconds(np.array([0, 240, 480, 960, 1440])).tolist() == [0.0, 0.25, 0.5, 1.5, 2.5]


def test_no_tempo_event_means_120_bpm():
    tempo_map = TempoMap(np.zeros(0), np.zeros(0), tpq=96)
    assert tempo_map.seconds(96).item() == 0.5 and tempo_map.bpm_at(10_000) == 120.0


@settings(max_examples=60, deadline=None)
@given(
    changes=st.lists(st.tuples(st.integers(0, 20_000), st.integers(1, 0xFFFFFF)), max_size=12),
    tpq=st.integers(1, 0x7FFF),
    ticks=st.lists(st.floats(0, 40_000), min_size=1, max_size=20),
)
def test_ticks_inverts_seconds(changes, tpq, ticks):
    tempo_map = TempoMap(np.array([c[0] for c in changes], dtype=np.int64),
                         np.array([c[1] for c in changes], dtype=np.int64), tpq)
    ticks = np.array(ticks)
    assert np.allclose(tempo_map.ticks(tempo_map.seconds(ticks)), ticks, rtol=1e-9, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    changes=st.lists(st.tuples(st.integers(0, 20_000), st.integers(-5, 0xFFFFFF)), max_size=70),
    tpq=st.integers(1, 0x7FFF),
    seconds=st.lists(st.floats(-1, 400), min_size=1, max_size=20),
)
def test_a_map_from_lists_is_the_map_from_arrays(changes, tpq, seconds):
    ticks, mspq = [c[0] for c in changes], [c[1] for c in changes]
    from_lists = TempoMap(ticks, mspq, tpq)
    from_arrays = TempoMap(np.array(ticks, dtype=np.int64), np.array(mspq, dtype=np.int64), tpq)
    for name in ("times", "mspq", "sec_per_tick", "start_sec"):
        assert getattr(from_lists, name).tobytes() == getattr(from_arrays, name).tobytes(), name
    assert from_lists.invalid == from_arrays.invalid
    at = np.array(seconds)
    # One tempo takes a shortcut through ticks(); it must give the segment formula's values to the bit.
    expected = from_arrays.times[0] + (at - from_arrays.start_sec[0]) / from_arrays.sec_per_tick[0]
    if from_arrays.times.size == 1:
        assert from_lists.ticks(at).tobytes() == expected.tobytes()


def test_the_last_event_given_at_a_tick_wins():
    tempo_map = TempoMap(np.array([480, 0, 480]), np.array([300_000, 600_000, 750_000]), tpq=480)
    assert tempo_map.times.tolist() == [0, 480]
    assert (tempo_map.bpm_at(0), tempo_map.bpm_at(480)) == (100.0, 80.0)


def test_a_non_positive_tempo_is_read_as_120_bpm_and_flagged():
    tempo_map = TempoMap(np.array([0, 480]), np.array([0, 1_000_000]), tpq=480)
    assert tempo_map.invalid and tempo_map.bpm_at(0) == 120.0
    assert tempo_map.seconds(960).item() == 1.5
    assert not TempoMap(np.array([0]), np.array([1]), tpq=480).invalid


def test_ticks_per_quarter_must_be_positive():
    with pytest.raises(ValueError, match="ticks per quarter"):
        TempoMap(np.zeros(0), np.zeros(0), tpq=0)


def test_tempo_events_of_every_track_count():
    data = smf([note(0), [(480, tempo(1_000_000))]])
    assert MidiPiece.from_bytes(data).tempo_map().bpm_at(480) == 60.0
    assert extract_midi_features(data)["features"]["tempo_min_bpm"] == 60.0


def test_disagreeing_tempos_at_one_tick_resolve_to_the_files_last_in_features_and_augmentation():
    # Enough events that symusic's sort no longer keeps their file order; 150 BPM is the file's last.
    events = [(0, tempo(1_000_000 - i * 10_000)) for i in range(40)] + [(0, tempo(400_000))]
    data = smf([events + note(0)])
    assert MidiPiece.from_bytes(data).tempo_map().bpm_at(0) == 150.0
    assert extract_midi_features(data)["features"]["tempo_initial_bpm"] == 150.0


def test_a_later_track_wins_over_an_earlier_one_at_the_same_tick():
    data = smf([[(0, tempo(400_000))] + note(0), [(0, tempo(600_000))]])
    assert MidiPiece.from_bytes(data).tempo_map().bpm_at(0) == 100.0
    assert extract_midi_features(data)["features"]["tempo_initial_bpm"] == 100.0


def test_tempo_walker_reads_the_events_the_midi_reader_reads():
    data = smf([[(0, tempo(500_000)), (0, mido.MetaMessage("track_name", name="lead")),
                 (0, mido.Message("sysex", data=[1, 2, 3])), (0, mido.Message("program_change", program=5))]
                + note(0) + [(960, tempo(700_000))],
                [(480, tempo(650_000)), (960, tempo(800_000))]])
    ticks, mspq = smf_tempo_events(data)
    events = MidiPiece.from_bytes(data).tempo_events()
    assert ticks.tolist() == [e.tick for e in events] == [0, 480, 960, 960]
    assert mspq.tolist() == [e.msg.tempo for e in events] == [500_000, 650_000, 700_000, 800_000]


def test_tempo_walker_refuses_bytes_that_are_not_midi():
    with pytest.raises(ValueError, match="MThd"):
        smf_tempo_events(b"RIFF....WAVEfmt ")
    with pytest.raises(ValueError, match="does not parse"):
        smf_tempo_events(smf([note(0)])[:-6] + b"\xff\xff")


def test_only_different_tempos_at_one_tick_conflict():
    assert not same_tick_conflict(np.array([0, 0, 480]), np.array([500_000, 500_000, 400_000]))
    assert same_tick_conflict(np.array([0, 480, 0]), np.array([500_000, 400_000, 400_000]))
