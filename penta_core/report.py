"""Print a built version's validation report and baseline scores: ``python -m penta_core.report``.

``dvc repro`` skips stages whose inputs did not change, and with them their
printed report; this reads the recorded metrics back instead.
"""
from __future__ import annotations

import sys

from penta_core.baseline.model import summary_line
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import load_params
from penta_core.core.stage_runner import EXPECTED_ERRORS, fail
from penta_core.validation.checks import report_lines


def main(argv: list[str] | None = None) -> int:
    try:
        layout = DatasetLayout.from_params(load_params((argv or ["params.yaml"])[0]))
        metrics = read_json(layout.metrics_dir / "validation.json")
        details = read_json(layout.metrics_dir / "validation_details.json")
        baseline = read_json(layout.metrics_dir / "baseline.json")
    except EXPECTED_ERRORS as err:
        return fail(f"no report yet ({err}); run `dvc repro` first")
    print(f"dataset {layout.root}")
    print("\n".join(report_lines(metrics, details)))
    print(summary_line(baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
