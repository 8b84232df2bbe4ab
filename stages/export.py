"""Stage `export`: each split as Parquet and WebDataset shards (LMDB on request) and the dataset card → export/."""
from penta_core.core.stage_runner import main_for
from penta_core.export.stage import run

if __name__ == "__main__":
    main_for(run)
