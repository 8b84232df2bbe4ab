"""Stage `augment`: augment.multiplier variants of every imported MIDI/audio sample, with provenance.

Reads index/imported.json and the raw files; writes tar shards in processed/augmented/ (kept
between runs: only variants of new or changed samples are made) and
index/augmented.json (parent, group and the transform values of each variant).
"""
from penta_core.augment.stage import run
from penta_core.core.stage_runner import main_for

if __name__ == "__main__":
    main_for(run)
