"""Stage `features`: MIDI and audio features of every indexed sample.

Reads index/imported.json (and index/augmented.json, index/synthetic.json when
present) and the files they name. Writes processed/features/<id>.json (kept
between runs: only new or changed samples are extracted), processed/features.npz
(the training table) and index/features.json (status per sample, columns).
A sample that fails is recorded with its reason; only a real error (no index,
bad params, unwritable folder) makes the stage exit non-zero.
"""
import sys

from penta_core.features import extract_features, summary_lines
from penta_core.layout import DatasetLayout
from penta_core.locking import dataset_lock
from penta_core.params import load_params
from penta_core.stage_runner import EXPECTED_ERRORS, fail


def main() -> int:
    try:
        params = load_params("params.yaml")
        layout = DatasetLayout.from_params(params)
        with dataset_lock(layout.root):
            report = extract_features(layout, params)
    except EXPECTED_ERRORS as err:
        return fail(str(err))
    for line in summary_lines(report):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
