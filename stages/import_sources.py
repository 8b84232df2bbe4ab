"""Stage `import`: copy valid MIDI/audio from dataset.source_dir, dedupe by content, quarantine the rest.

Writes raw/midi/, raw/audio/ (source folders kept), index/imported.json and quarantine.json.
"""
from penta_core.core.stage_runner import main_for
from penta_core.sources.stage import run

if __name__ == "__main__":
    main_for(run)
