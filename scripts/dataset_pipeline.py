"""The original project's command line, so its usage examples run verbatim.

``python scripts/dataset_pipeline.py --all --dataset emotion_dataset_v1 --import-dir /path/to/music``
is ``penta-dataset`` with the same flags (:func:`penta_core.cli.main`). Run
from a checkout that was never installed, it imports the checkout's
``penta_core``; an installed ``penta_core`` is used as it is.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    if importlib.util.find_spec("penta_core") is None:
        sys.path.insert(0, str(REPO))
    from penta_core.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
