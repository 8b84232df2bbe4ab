"""Entry point shared by the scripts in ``stages/``: params, input checks, lock, one-line errors."""
from __future__ import annotations

import sys
from collections.abc import Callable

from penta_core.core.errors import PentaError
from penta_core.core.layout import DatasetLayout
from penta_core.core.locking import dataset_lock
from penta_core.core.no_pandas import keep_pandas_out
from penta_core.core.params import load_params
from penta_core.core.steps import STEP_MODULES, check_inputs, step_of

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
INTERRUPTED = "interrupted; no file was left half-written: run the same command again to finish"
STAGE_NAMES = {step: f"the {step} stage" for step in STEP_MODULES}


def fail(message: str) -> int:
    """Print ``error: <message>`` on one line to stderr; return the exit status 1."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def guarded(body: Callable[[], int]) -> int:
    """Run ``body`` and return its exit status, turning what a user can act on into one line.

    A :class:`PentaError` prints ``error: ...`` and gives 1; Ctrl-C prints one
    line and gives 130. Anything else is a bug and propagates with its traceback.
    """
    try:
        return body()
    except PentaError as err:
        return fail(str(err))
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED


def run_stage(step: Callable, params_path: str = "params.yaml") -> int:
    """Load and validate params, check the stage's inputs, lock the dataset, run ``step`` and print its lines.

    ``step`` is the ``run`` of a stage module (:data:`~penta_core.core.steps.STEP_MODULES`);
    its inputs are checked before the dataset folder is created or locked.
    Returns the exit status (see :func:`guarded`).
    """
    def body() -> int:
        params = load_params(params_path)
        layout = DatasetLayout.from_params(params)
        name = step_of(step.__module__)
        if name is not None:
            check_inputs([name], layout, params, STAGE_NAMES, "dataset.name")
        with dataset_lock(layout.root):
            for line in step(params, layout):
                print(line)
        return 0
    return guarded(body)


def main_for(step: Callable) -> None:
    """``sys.exit`` with the status of :func:`run_stage`: the body of every script in ``stages/``.

    The script's process never loads pandas (:mod:`penta_core.core.no_pandas`).
    """
    keep_pandas_out()
    sys.exit(run_stage(step))
