"""Stage `validate`: balance, diversity, quality, structure and leakage → metrics/validation.json.

Prints the validation report; fails only when validate.strict is true and a check fails.
"""
from penta_core.core.stage_runner import main_for
from penta_core.validation.stage import run

if __name__ == "__main__":
    main_for(run)
