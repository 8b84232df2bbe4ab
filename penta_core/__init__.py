"""penta_core: prepare versioned music training datasets (MIDI and audio)."""

__version__ = "0.1.0"
