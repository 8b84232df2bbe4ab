"""Stage `targets`: labels and examples of dataset.target_model for every sample it reads.

Reads the imported, augmented and synthetic indexes, the samples they name and the
annotation files beside the sources; writes tar shards in processed/targets/ (kept
between runs: only new or changed samples are analysed) and index/targets.json.
"""
from penta_core.core.stage_runner import main_for
from penta_core.targets.stage import run

if __name__ == "__main__":
    main_for(run)
