"""``penta-dataset --materialize ID|SPLIT|all DIR``: packed samples back as plain ``.mid``/``.wav`` files."""
from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("plain files")
    group.add_argument("--materialize", nargs=2, metavar=("WHAT", "DIR"),
                       help="write samples as plain files below DIR: a sample id, a split (train, val, test) "
                            "or all; packed samples keep their member names")


def wanted(args: argparse.Namespace) -> bool:
    return args.materialize is not None


def run(args: argparse.Namespace, params: dict[str, Any]) -> list[str]:
    from penta_core.core.errors import InputError
    from penta_core.core.layout import DatasetLayout
    from penta_core.manifest.load import load_manifest
    from penta_core.splits.lists import SPLITS, read_splits
    from penta_core.store.materialize import materialize

    what, dest = args.materialize
    layout = DatasetLayout.from_params(params)
    samples = {s["id"]: s for s in load_manifest(layout)["samples"]}
    if what == "all":
        chosen = sorted(samples)
    elif what in SPLITS:
        chosen = read_splits(layout)[what]
    elif what in samples:
        chosen = [what]
    else:
        raise InputError(f"--materialize: {what!r} is neither a sample id of {layout.root} nor a split "
                         f"({', '.join(SPLITS)}) nor all")
    files = materialize(layout, [samples[i] for i in chosen], dest)
    if len(files) == 1:
        return [f"wrote {files[0]}"]
    return [f"wrote {len(files)} files below {dest}"]
