"""Stage `manifest`: merge every stage's record under index/ into manifest.json."""
from penta_core import steps
from penta_core.stage_runner import main_for

if __name__ == "__main__":
    main_for(steps.manifest)
