"""Stage `import`: copy valid MIDI/audio from dataset.source_dir, dedupe by content, quarantine the rest.

Writes raw/midi/, raw/audio/ (source folders kept), index/imported.json and quarantine.json.
"""
from penta_core import steps
from penta_core.stage_runner import main_for

if __name__ == "__main__":
    main_for(steps.import_)
