"""``penta-dataset --diff [REV_A [REV_B]]``: compare two versions of the dataset sample by sample."""
from __future__ import annotations

import argparse
from typing import Any

from penta_core.core.io import dumps_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("versions")
    group.add_argument("--diff", nargs="*", metavar="REV",
                       help="compare two versions sample by sample: git revisions of the project, "
                            "HEAD and the workspace by default (one REV: REV against the workspace)")
    group.add_argument("--json", action="store_true", help="with --diff: print the whole comparison as JSON")


def wanted(args: argparse.Namespace) -> bool:
    return args.diff is not None


def run(args: argparse.Namespace, params: dict[str, Any]) -> list[str]:
    from penta_core.core.errors import ParamError
    from penta_core.versions.diff import diff_lines, diff_versions, load_version

    revs = list(args.diff)
    if len(revs) > 2:
        raise ParamError(f"--diff takes at most two revisions, got {len(revs)}: {' '.join(revs)}")
    old_rev = revs[0] if revs else "HEAD"
    new_rev = revs[1] if len(revs) == 2 else None
    dataset = f"{params['dataset']['root']}/{params['dataset']['name']}" if args.dataset else None
    result = diff_versions(load_version(".", old_rev, dataset), load_version(".", new_rev, dataset))
    if args.json:
        return [dumps_json(result).rstrip("\n")]
    return diff_lines(result)

