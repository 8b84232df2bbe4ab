"""Families: near-duplicate MIDI and audio found by content and joined into one split group."""
