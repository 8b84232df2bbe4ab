"""Melody: which notes of a MIDI file carry the tune, judged by the notes (track names are not needed)."""
