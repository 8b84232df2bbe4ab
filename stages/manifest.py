"""Stage `manifest`: merge every stage's record under index/ into manifest.json."""
from penta_core.core.stage_runner import main_for
from penta_core.manifest.stage import run

if __name__ == "__main__":
    main_for(run)
