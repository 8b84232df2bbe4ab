"""Stage `baseline`: a random forest on the train split's features, scored on val and test → metrics/baseline.json."""
from penta_core.baseline.stage import run
from penta_core.core.stage_runner import main_for

if __name__ == "__main__":
    main_for(run)
