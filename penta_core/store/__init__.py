"""Packed storage: derived samples in content-named tar shards with a catalogue, instead of a file each."""
