"""Stage start-up: wall time of ``python stages/<stage>.py`` on an up-to-date small dataset.

Builds the embedded example (``datasets/examples``) once in a temporary folder
(augmentation x1, 14 synthetic pieces, one worker), then runs every stage
script again on the finished dataset, so each run does its whole job on
inputs that did not change, and reports the median of several runs beside

* the interpreter alone (``python -c pass``): the floor no stage can beat;
* importing every stage module in one process, which is what each stage paid
  when one module imported the whole library.

Usage::

    python benchmarks/stage_startup.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
STAGES = [  # (stage, script), in pipeline order
    ("create", "create"), ("import", "import_sources"), ("annotate", "annotate"), ("augment", "augment"),
    ("synthesize", "synthesize"), ("features", "features"), ("families", "families"), ("targets", "targets"),
    ("manifest", "manifest"),
    ("splits", "splits"),
    ("validate", "validate"), ("baseline", "baseline"), ("export", "export"),
]
TARGET_S = {"create": 0.5, "annotate": 0.5, "manifest": 0.5, "splits": 0.5}
ALL_STEPS = ("import penta_core.cli as c\n"
             "for name in c.STEP_MODULES: c.load_step(name)\n"
             "import sklearn.ensemble, librosa, symusic, scipy.signal\n")


def _timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stderr}")
    return elapsed


def _median(cmd: list[str], cwd: Path, repeat: int) -> float:
    return statistics.median(_timed(cmd, cwd) for _ in range(repeat))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per stage (median reported)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="penta-startup-") as tmp:
        work = Path(tmp)
        params = {
            "dataset": {"name": "bench", "root": str(work / "datasets"), "source_dir": str(REPO / "datasets/examples")},
            "import": {"n_jobs": 1}, "features": {"n_jobs": 1},
            "augment": {"multiplier": 1, "n_jobs": 1}, "synthesize": {"count": 14, "n_jobs": 1},
        }
        (work / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
        build = 0.0
        for _, script in STAGES:
            build += _timed([sys.executable, str(REPO / "stages" / f"{script}.py")], work)
        print(f"first build of the example, every stage once: {build:.2f} s")
        floor = _median([sys.executable, "-c", "pass"], work, args.repeat)
        everything = _median([sys.executable, "-c", ALL_STEPS], work, args.repeat)
        print(f"\n{'stage':<12} {'up-to-date run':>15} {'target':>8}")
        total = 0.0
        for stage, script in STAGES:
            seconds = _median([sys.executable, str(REPO / "stages" / f"{script}.py")], work, args.repeat)
            total += seconds
            target = f"< {TARGET_S[stage]:.1f} s" if stage in TARGET_S else ""
            verdict = ("ok" if seconds < TARGET_S[stage] else "MISSED") if stage in TARGET_S else ""
            print(f"{stage:<12} {seconds:>13.3f} s {target:>8} {verdict}")
        print(f"{'all stages':<12} {total:>13.3f} s")
        print("\nbaselines, same machine, same run:")
        print(f"  python -c pass (interpreter floor):          {floor:.3f} s")
        print(f"  importing every stage and library in one go: {everything:.3f} s "
              f"(x{len(STAGES)} stages = {len(STAGES) * everything:.1f} s of fixed cost per full repro)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
