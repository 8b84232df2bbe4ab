"""Harte chord labels, keys and roman numerals: reading, reducing, transposing, naming."""
from __future__ import annotations

import pytest

from penta_core.harmony.harte import NO_CHORD, QUALITIES, parse, quality_of, reduce, transpose, vocabulary
from penta_core.harmony.keys import Key, parse_key, roman_numeral


@pytest.mark.parametrize(("label", "root", "intervals", "bass"), [
    ("C:maj", 0, (0, 4, 7), 0),
    ("A:min7", 9, (0, 3, 7, 10), 0),
    ("F#:maj7/5", 6, (0, 4, 7, 11), 7),
    ("Bb:min/b3", 10, (0, 3, 7), 3),
    ("Db:sus4(b7)", 1, (0, 5, 7, 10), 0),
    ("C:(1,b3,5)", 0, (0, 3, 7), 0),
    ("C:maj(*5)", 0, (0, 4), 0),
    ("G", 7, (0, 4, 7), 0),
    ("Cb:dim7", 11, (0, 3, 6, 9), 0),
])
def test_parse_reads_root_tones_and_bass(label, root, intervals, bass):
    chord = parse(label)
    assert (chord.root, chord.intervals, chord.bass) == (root, intervals, bass)


@pytest.mark.parametrize("label", ["H:maj", "C:major", "C:maj(9", "C:", "C:maj/x", "C:maj(13b)"])
def test_parse_refuses_what_is_not_harte_naming_the_label(label):
    with pytest.raises(ValueError, match="chord label") as err:
        parse(label)
    assert repr(label) in str(err.value)


def test_no_chord_and_unknown_have_no_root():
    assert parse("N").root is None and parse("X").root is None and reduce("X") == NO_CHORD


@pytest.mark.parametrize(("label", "reduced"), [
    ("C:maj6", "C:maj"), ("C:min6", "C:min"), ("Db:9", "C#:7"), ("E:min9", "E:min7"), ("C:minmaj7", "C:min"),
    ("C:5", "C:maj"), ("G:sus4(b7)", "G:sus4"), ("B:hdim7/b7", "B:hdim7"), ("A#:aug", "Bb:aug"),
])
def test_reduce_maps_any_label_onto_the_recogniser_vocabulary(label, reduced):
    assert reduce(label) == reduced


def test_every_recogniser_quality_names_its_own_intervals():
    for quality, intervals in QUALITIES.items():
        assert quality_of(set(intervals)) == quality


def test_transpose_moves_the_root_and_keeps_quality_degrees_and_bass():
    assert transpose("A:min7/b7", 3) == "C:min7/b7"
    assert transpose("Bb:sus4(b7)", -12) == "Bb:sus4(b7)"
    assert transpose("N", 5) == "N"


def test_vocabulary_is_no_chord_then_twelve_roots_of_eleven_qualities():
    labels = vocabulary()
    assert labels[0] == "N" and len(labels) == 1 + 12 * 11 and len(set(labels)) == len(labels)
    assert all(reduce(label) == label for label in labels)


@pytest.mark.parametrize(("text", "key"), [
    ("Gb:maj", Key(6, "major")), ("Eb:min", Key(3, "minor")), ("A:minor", Key(9, "minor")), ("C", Key(0, "major")),
])
def test_parse_key_reads_pop909_jams_and_bare_tonics(text, key):
    assert parse_key(text) == key


def test_parse_key_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="not a key label"):
        parse_key("C:dorian")


@pytest.mark.parametrize(("chord", "key", "numeral"), [
    ("C:maj", "C:maj", "I"), ("D:min7", "C:maj", "ii7"), ("G:7", "C:maj", "V7"), ("B:hdim7", "C:maj", "viiø7"),
    ("B:dim7", "C:maj", "vii°7"), ("F:maj7", "C:maj", "IVmaj7"), ("Bb:maj", "C:maj", "bVII"),
    ("A:min", "A:min", "i"), ("C:maj", "A:min", "bIII"), ("E:7", "A:min", "V7"), ("Eb:aug", "C:maj", "bIII+"),
    ("G:sus4", "C:maj", "Vsus4"), ("N", "C:maj", "N"),
])
def test_roman_numerals_count_major_scale_degrees_whatever_the_mode(chord, key, numeral):
    assert roman_numeral(chord, parse_key(key)) == numeral
