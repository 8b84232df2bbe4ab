"""DVC stage ``augment``: variants of every imported sample, with provenance.

Reads ``index/imported.json`` and the ``seed`` and ``augment.*`` params;
writes ``processed/augmented/`` (persistent, incremental) and
``index/augmented.json``.
"""
from __future__ import annotations

import sys

from penta_core.augment import AugmentFailed, augment_dataset
from penta_core.layout import DatasetLayout
from penta_core.locking import DatasetBusy, dataset_lock
from penta_core.params import ParamError, load_params


def main() -> int:
    try:
        params = load_params("params.yaml")
    except ParamError as err:
        print(err, file=sys.stderr)
        return 2
    layout = DatasetLayout.from_params(params)
    try:
        with dataset_lock(layout.root):
            report = augment_dataset(layout, params)
    except (AugmentFailed, DatasetBusy, ValueError) as err:
        print(f"augment: {err}", file=sys.stderr)
        return 1
    summary = report["summary"]
    print(
        f"augment: {summary['variants']} variants of {summary['augmented_parents']}/{summary['parents']} "
        f"samples (x{summary['multiplier']}; midi {summary['per_kind']['midi']}, "
        f"audio {summary['per_kind']['audio']}); made {report['generated']}, kept {report['reused']}, "
        f"deleted {report['removed']} stale files"
    )
    for failure in report["failed"]:
        print(f"  failed {failure['parent']} ({failure['path']}): {failure['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
