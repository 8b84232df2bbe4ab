"""Stage `code`: stages/closures/<stage>.json, the code each stage runs.

One file per stage: its script and every penta_core module the script can import, each with its
sha256. The other stages depend on their file, so editing a module reruns exactly the stages
that import it (penta_core.engine.code_closure).
"""
import sys
from pathlib import Path

from penta_core.engine.code_closure import write_closures

if __name__ == "__main__":
    try:
        lines = write_closures(Path(__file__).resolve().parents[1])
    except ValueError as err:
        sys.exit(f"error: {err}")
    print(f"closures of {len(lines)} stages in stages/closures: " + "; ".join(lines))
