"""Stage `splits`: leak-free, label-stratified, stable train/val/test lists of sample ids."""
from penta_core import steps
from penta_core.stage_runner import main_for

if __name__ == "__main__":
    main_for(steps.splits_)
