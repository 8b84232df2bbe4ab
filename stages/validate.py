"""Stage `validate`: balance, diversity, quality, structure and leakage → metrics/validation.json.

Prints the seed's report; fails only when validate.strict is true and a check fails.
"""
from penta_core import steps
from penta_core.stage_runner import main_for

if __name__ == "__main__":
    main_for(steps.validate_)
