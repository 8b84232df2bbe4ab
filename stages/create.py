"""Stage `create`: the dataset folder structure and config.json (the params that build it)."""
from penta_core import steps
from penta_core.stage_runner import main_for

if __name__ == "__main__":
    main_for(steps.create)
