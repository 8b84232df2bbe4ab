"""Print a built version's validation report and baseline scores: ``python -m penta_core.report``.

``dvc repro`` skips stages whose inputs did not change, and with them their
printed report; this reads the recorded metrics back instead.
"""
from __future__ import annotations

import sys

from penta_core.baseline.model import summary_line
from penta_core.core.errors import MissingInput
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout
from penta_core.core.params import load_params
from penta_core.core.stage_runner import guarded
from penta_core.validation.checks import report_lines

REPORT_FILES = ("validation.json", "validation_details.json", "baseline.json")


def main(argv: list[str] | None = None) -> int:
    """Print the report of the dataset ``params.yaml`` (or ``argv[0]``) names; return the exit status."""
    def body() -> int:
        layout = DatasetLayout.from_params(load_params((argv or ["params.yaml"])[0]))
        for name in REPORT_FILES:
            if not (layout.metrics_dir / name).is_file():
                raise MissingInput(f"no report yet ({layout.metrics_dir / name} does not exist); "
                                   "run `dvc repro` first")
        metrics, details, baseline = (read_json(layout.metrics_dir / name) for name in REPORT_FILES)
        print(f"dataset {layout.root}")
        print("\n".join(report_lines(metrics, details)))
        if "task" in baseline:  # a target model's own baseline (next chord, next pitch)
            from penta_core.targets.model import baseline_line

            print(baseline_line(baseline))
        else:
            print(summary_line(baseline))
        return 0
    return guarded(body)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
