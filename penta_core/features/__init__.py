"""Feature extraction: MIDI (pitch, harmony, key, groove) and audio features, and the training table."""
