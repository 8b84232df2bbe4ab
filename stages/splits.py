"""Stage `splits`: leak-free, label-stratified, stable train/val/test lists of sample ids."""
from penta_core.core.stage_runner import main_for
from penta_core.splits.stage import run

if __name__ == "__main__":
    main_for(run)
