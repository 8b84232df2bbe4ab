"""The export stage of this checkout beside another checkout's: CPU time and peak RSS of clean runs, alternating.

Runs ``python stages/export.py`` in ``--project`` (a built project: its
params, manifest, splits, features and shards in place) with ``PYTHONPATH``
at ``--baseline`` and at this checkout in turn, ``--rounds`` times each
(A B A B ...), each run clean: the dataset's ``export/`` folder and the
export's hash cache are deleted first. Per run it prints the CPU seconds
(user + sys, from ``wait4``, so any worker process the stage waited for
counts too), the wall time, the peak RSS and the load average; then each
side's best and median CPU and its lowest and highest peak, side by side.
On a shared machine wall time swings with the other work; the best CPU of
several alternating runs is the figure to compare.

After each side's first run the exports are compared: the sha256 of every
file under ``export/`` but ``export.json``, and ``export.json`` without its
``key`` fields (a key hashes the export modules' source, which differs by
design). The script says whether they match and exits 1 when they do not.

The project's ``export/`` is rewritten by every run: pass a copy.

Usage::

    python benchmarks/export_stage_ab.py --project DIR --baseline CODE_DIR [--rounds 3]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def export_folder(project: Path) -> Path:
    """The ``export/`` folder of the dataset the project's ``params.yaml`` names."""
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    return project / params["dataset"]["root"] / params["dataset"]["name"] / "export"


def clean(project: Path) -> None:
    """Delete the export and its hash cache, so the next run writes every file."""
    folder = export_folder(project)
    shutil.rmtree(folder, ignore_errors=True)
    for cached in (folder.parent / ".cache" / "hashes").glob("export.*"):
        cached.unlink()


def run_stage(project: Path, code: Path) -> dict[str, float]:
    """One clean run of the export stage with ``code`` first on the path: CPU s, wall s, peak MB."""
    clean(project)
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "stages/export.py"], cwd=project, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode:
        raise SystemExit(f"export stage failed with {code}:\n{error}")
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall, "peak_mb": usage.ru_maxrss / 1024,
            "load": os.getloadavg()[0]}


def export_digest(project: Path) -> dict[str, str]:
    """sha256 of every file of the export, ``export.json`` without its ``key`` fields."""
    folder = export_folder(project)
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name == "export.json":
            catalogue = json.loads(path.read_text(encoding="utf-8"))
            for per_split in catalogue.get("exports", {}).values():
                for entry in per_split.values():
                    entry.pop("key", None)
            data = json.dumps(catalogue, sort_keys=True).encode()
        else:
            data = path.read_bytes()
        out[name] = hashlib.sha256(data).hexdigest()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--project", type=Path, required=True, help="a built project (a copy: its export is rewritten)")
    parser.add_argument("--baseline", type=Path, required=True, help="the checkout to compare with (holds penta_core/)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side, alternating")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    sides = {"baseline": args.baseline.resolve(), "this": REPO}
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    digests: dict[str, dict[str, str]] = {}
    print(f"export stage in {project}; baseline {sides['baseline']}, this {REPO}")
    for round_ in range(args.rounds):
        for side, code in sides.items():
            figures = run_stage(project, code)
            runs[side].append(figures)
            print(f"round {round_ + 1} {side:8s} cpu {figures['cpu']:6.2f} s  wall {figures['wall']:6.2f} s  "
                  f"peak {figures['peak_mb']:6.1f} MB  load {figures['load']:.2f}", flush=True)
            if side not in digests:
                digests[side] = export_digest(project)
    same = digests["baseline"] == digests["this"]
    differ = sorted(n for n in digests["baseline"].keys() | digests["this"].keys()
                    if digests["baseline"].get(n) != digests["this"].get(n))
    print(f"\n{'':10s}{'best cpu':>10s}{'median cpu':>12s}{'peak MB':>16s}")
    for side in sides:
        cpu = [r["cpu"] for r in runs[side]]
        peak = [r["peak_mb"] for r in runs[side]]
        print(f"{side:10s}{min(cpu):10.2f}{statistics.median(cpu):12.2f}{min(peak):9.1f}-{max(peak):<6.1f}")
    ratio = min(r["cpu"] for r in runs["baseline"]) / min(r["cpu"] for r in runs["this"])
    print(f"best cpu baseline/this: {ratio:.2f}x; load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"exports: {len(digests['this'])} files, "
          + ("byte-identical (export.json without its keys)" if same else f"DIFFER: {', '.join(differ)}"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
