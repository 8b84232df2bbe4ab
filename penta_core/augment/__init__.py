"""Augmentation: MIDI and audio transforms with recorded parameters, and the augment stage."""
