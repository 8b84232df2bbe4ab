"""Stage `features`: MIDI and audio features of every indexed sample.

Reads index/imported.json (and index/augmented.json, index/synthetic.json when
present) and the files or shard members they name. Writes the training table as
Parquet parts in processed/features/ (kept between runs: only new or changed
samples are extracted, only changed parts rewritten) and index/features.json
(status per sample, columns).
A sample that fails is recorded with its reason; only a real error (no index,
bad params, unwritable folder) makes the stage exit non-zero.
"""
from penta_core.core.stage_runner import main_for
from penta_core.features.stage import run

if __name__ == "__main__":
    main_for(run)
