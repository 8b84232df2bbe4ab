"""What ``dvc.lock`` costs DVC after every stage it runs: code closures vs per-module code deps.

DVC re-reads the whole lock with ruamel's round-trip loader and writes it back
each time a stage finishes. This script times that round trip (ruamel
``YAML()`` load + dump, fewest CPU seconds of ``--repeat``) on two locks of
the embedded example, both committed in this repository:

* this checkout's ``dvc.lock``: each stage's code is one dependency, its
  closure file ``stages/closures/<stage>.json``;
* the lock of ``--before`` (a git revision; default: the commit before the
  ``code`` stage was added), whose stages listed their modules and package
  folders in ``dvc.yaml``.

Usage::

    python benchmarks/dvc_lock_cost.py [--before REV] [--repeat 7]
"""
from __future__ import annotations

import argparse
import io
import subprocess
from pathlib import Path

from _timing import best_cpu
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]


def lock_before(rev: str | None) -> tuple[str, str]:
    """``(revision, dvc.lock text)`` of ``rev``, or of the parent of the commit that added ``stages/code.py``."""
    if rev is None:
        added = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--", "stages/code.py"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
        if not added:
            raise SystemExit("stages/code.py is not committed yet: name the revision to compare with --before REV")
        rev = added[-1][:9] + "^"
    shown = subprocess.run(["git", "show", f"{rev}:dvc.lock"], cwd=REPO, capture_output=True, text=True)
    if shown.returncode != 0:
        raise SystemExit(f"no dvc.lock at {rev}: {shown.stderr.strip()}")
    return rev, shown.stdout


def round_trip_s(text: str, repeat: int) -> float:
    def once() -> None:
        yaml = YAML()
        data = yaml.load(text)
        yaml.dump(data, io.StringIO())
    return best_cpu(once, repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="git revision whose dvc.lock lists modules (default: before the code stage)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    rev, before = lock_before(args.before)
    rows = [("closures (this checkout)", (REPO / "dvc.lock").read_text(encoding="utf-8")),
            (f"modules listed ({rev})", before)]
    print(f"dvc.lock of the example; ruamel round trip (load + dump), fewest CPU seconds of {args.repeat}")
    print(f"{'lock':32s} {'stages':>6s} {'lines':>6s} {'entries':>8s} {'CPU s':>7s}")
    figures = []
    for name, body in rows:
        stages = len(YAML(typ="safe").load(body)["stages"])
        seconds = round_trip_s(body, args.repeat)
        figures.append(seconds)
        print(f"{name:32s} {stages:6d} {len(body.splitlines()):6d} {body.count('- path:'):8d} {seconds:7.3f}")
    print(f"saved each time DVC finishes a stage: {figures[1] - figures[0]:.3f} s CPU "
          f"({figures[1] / figures[0]:.1f}x less)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
