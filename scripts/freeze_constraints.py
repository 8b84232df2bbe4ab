"""Write ``constraints.txt``: the exact version of every package installed in the project's venv.

``make install`` installs under these constraints, so a clean clone gets the
libraries the committed ``dvc.lock`` was built with. Run it through
``make constraints`` (which installs the test and bench extras first) after
changing a dependency in ``pyproject.toml``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEADER = """\
# Exact versions of every package `make install` and `make bench` install (written by `make constraints`).
# A clean clone installs these, so it rebuilds the bytes the committed dvc.lock records: a fresh, unpinned
# install once rebuilt the example's augmented outputs with other bytes, though rebuilds in one environment
# are identical. pyproject.toml keeps the ranges the code supports; this file pins one tested point in them.
"""


def main() -> int:
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                            check=True, capture_output=True, text=True).stdout.splitlines()
    pins = sorted((line for line in frozen if "==" in line and not line.lower().startswith("penta")),
                  key=str.lower)
    target = REPO / "constraints.txt"
    tmp = target.with_suffix(".txt.tmp")
    tmp.write_text(HEADER + "\n".join(pins) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    print(f"constraints.txt: {len(pins)} pinned packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
