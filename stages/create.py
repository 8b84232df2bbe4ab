"""Stage `create`: the dataset folder structure and config.json (the params that build it)."""
from penta_core.core.stage_runner import main_for
from penta_core.create.stage import run

if __name__ == "__main__":
    main_for(run)
