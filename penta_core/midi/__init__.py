"""The Standard MIDI File model shared by the transforms: a fast reader/writer over numpy note arrays."""
