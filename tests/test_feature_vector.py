"""The finished feature vector: every value rounded to 10 significant digits, finite, in column order."""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import MAJOR_TRIADS, drum_groove, make_score, progression
from hypothesis import given, settings
from hypothesis import strategies as st

from penta_core.features.midi import MIDI_COLUMNS, extract_midi_features, midi_feature_vector
from penta_core.features.vector import finish_features, finished_vector

EDGES = [0.0, -0.0, 1.0, -3.0, 0.5, 1 / 3, 2 / 3, 9_999_999_999.0, 1e10, 1e10 + 1, 12_345_678_901.0, -1e10,
         123_456.789_012_345, 1e-300, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 2.0 ** 53, 99_999_999_995.0,
         9.999_999_999_5, 0.999_999_999_95]


def as_bits(values) -> list[int]:
    return np.asarray(values, dtype=np.float64).view(np.int64).tolist()


def rounded_by_format(values) -> list[float]:
    return [float(f"{v:.10g}") for v in values]


def test_each_value_is_its_ten_digit_format_to_the_bit():
    columns = tuple(f"c{i}" for i in range(len(EDGES)))
    vector, flags = finished_vector(dict(zip(columns, EDGES)), columns, [])
    assert as_bits(vector) == as_bits(rounded_by_format(EDGES))
    assert flags == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**12, 10**12)),
                min_size=1, max_size=40))
def test_any_finite_values_round_as_their_ten_digit_format(values):
    columns = tuple(f"c{i}" for i in range(len(values)))
    vector, _ = finished_vector(dict(zip(columns, values)), columns, [])
    assert as_bits(vector) == as_bits(rounded_by_format(float(v) for v in values))


def test_missing_columns_are_zero_and_non_finite_ones_are_replaced_and_flagged():
    vector, flags = finished_vector({"a": math.nan, "b": math.inf, "c": 1.5}, ("a", "b", "c", "d"), ["z", "z"])
    assert vector.tolist() == [0.0, 0.0, 1.5, 0.0]
    assert flags == ["non_finite_replaced", "z"]


@pytest.mark.parametrize("columns", [(), ("a",)])
def test_none_or_one_column_is_a_vector_too(columns):
    vector, _ = finished_vector({"a": 2.5}, columns, [])
    assert vector.tolist() == [2.5][:len(columns)]


def test_the_record_holds_the_vector_values():
    out = finish_features({"a": 1 / 7, "mode": "minor"}, ("a", "b"), [], {"key": "A minor"})
    assert out == {"features": {"a": 0.1428571429, "b": 0.0, "mode": "minor"}, "flags": [],
                   "details": {"key": "A minor"}}


def test_the_midi_vector_is_the_record_in_column_order(tmp_path):
    path = tmp_path / "song.mid"
    chords = progression([MAJOR_TRIADS[c] for c in "CFGC"])
    make_score([(0, False, chords), (1, True, drum_groove(8))]).dump_midi(str(path))
    record = extract_midi_features(path)
    vector, mode, flags, details = midi_feature_vector(path)
    assert as_bits(vector) == as_bits([record["features"][c] for c in MIDI_COLUMNS])
    assert (mode, flags, details) == (record["features"]["mode"], record["flags"], record["details"])
