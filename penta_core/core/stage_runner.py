"""Entry point shared by the scripts in ``stages/``: params, lock, one-line errors."""
from __future__ import annotations

import sys
from collections.abc import Callable

from penta_core.core.layout import DatasetLayout
from penta_core.core.locking import dataset_lock
from penta_core.core.params import load_params

# Errors a user can act on: printed as one line, exit status 1, no traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, RuntimeError, OSError)


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def run_stage(step: Callable, params_path: str = "params.yaml") -> int:
    """Load and validate params, lock the dataset, run ``step`` and print its lines."""
    try:
        params = load_params(params_path)
        layout = DatasetLayout.from_params(params)
        with dataset_lock(layout.root):
            for line in step(params, layout):
                print(line)
    except EXPECTED_ERRORS as err:
        return fail(str(err))
    return 0


def main_for(step: Callable) -> None:
    sys.exit(run_stage(step))
