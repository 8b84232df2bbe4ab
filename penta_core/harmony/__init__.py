"""Harmony: Harte chord labels, the symbolic chord recogniser, keys and roman numerals, chord annotation files."""
