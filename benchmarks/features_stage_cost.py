"""The features stage's CPU per sample on built projects, this checkout against another, in turns.

Runs ``python stages/features.py`` from scratch (its table and index removed
first) in copies of existing projects, each run in a subprocess that imports
the ``penta_core`` of the checkout under test (``PYTHONPATH``), and counts the
CPU seconds of the stage and of every worker it waited for
(``getrusage(RUSAGE_CHILDREN)`` around the run). The figures are CPU
milliseconds per sample: the whole run over its samples for each
``--project``, and for a ``--pair SMALL LARGE`` of projects built alike on
N/2 and N sources the marginal cost ``(cpu_large - cpu_small) / (n_large -
n_small)``, where start-up and other fixed costs cancel.

``--baseline DIR`` (another checkout: ``git -C /work/main archive main | tar
-x -C DIR``) runs on the same project copies, the two checkouts taking turns
run by run (A B B A ...) for ``--rounds`` rounds, and the fewest CPU seconds
of each count: on a shared machine the least disturbed run is the steadiest
figure. The load average is printed beside them. The projects given are
copied first and never changed.

Without ``--project`` or ``--pair`` (``make bench``) it builds the pair
itself: this checkout's pipeline up to the features stage (``dvc repro
features``) on the first ``--files``/2 and ``--files`` files of a generated
corpus (``_corpus.py``), augmentation and synthesis off, ``features.n_jobs`` 1.

Usage::

    python benchmarks/features_stage_cost.py --project /tmp/scale-main/1000/project \\
        --pair /tmp/fp/p500 /tmp/fp/p1000 [--baseline DIR] [--rounds 3]
    python benchmarks/features_stage_cost.py [--files 200] [--baseline DIR]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _corpus import write_corpus
from _project import Project, bench_params

HERE = Path(__file__).resolve().parent
SUMMARY = re.compile(r"features: (\d+) of (\d+) samples")


def run_stage(project: Path, code: Path) -> tuple[float, int]:
    """CPU seconds (stage and workers) of one clean features run in ``project`` with ``code``'s library; samples."""
    for dataset in (project / "datasets").iterdir():
        shutil.rmtree(dataset / "processed" / "features", ignore_errors=True)
        (dataset / "index" / "features.json").unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=str(code))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "stages/features.py"], cwd=project, env=env, capture_output=True,
                         text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = SUMMARY.search(out.stdout)
    if not found:
        raise RuntimeError(f"no summary line from the features stage in {project}:\n{out.stdout}{out.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, int(found.group(2))


def _copy(project: Path, into: Path) -> Path:
    target = into / f"{len(list(into.iterdir()))}-{project.name}"
    shutil.copytree(project, target, symlinks=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, action="append", default=[], help="a built project (repeatable)")
    parser.add_argument("--pair", type=Path, nargs=2, action="append", default=[], metavar=("SMALL", "LARGE"),
                        help="two projects built alike on N/2 and N sources: the marginal cost (repeatable)")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout, run in turns with this one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=200, help="corpus files of the pair built without projects")
    args = parser.parse_args(argv)
    if not args.project and not args.pair:
        with tempfile.TemporaryDirectory(prefix="penta-features-pair-") as tmp:
            work, overrides = Path(tmp), bench_params(multiplier=0, synth=0, features=1)
            pair = []
            for n in (args.files // 2, args.files):
                clips = write_corpus(work / f"corpus_{n}", n)
                project = Project.create(work / f"p{n}", clips, overrides)
                project.repro("features")
                pair.append(project.root)
            return main([*(argv or sys.argv[1:]), "--pair", *map(str, pair)])
    codes = {"this": HERE.parent}
    if args.baseline:
        codes["baseline"] = args.baseline.resolve()
    with tempfile.TemporaryDirectory(prefix="penta-features-cost-") as tmp:
        copies = {p: _copy(p.resolve(), Path(tmp)) for p in [*args.project, *(p for pair in args.pair for p in pair)]}
        best: dict[tuple[str, Path], float] = {}
        samples: dict[Path, int] = {}
        loads = []
        for r in range(args.rounds):
            for project, copy in copies.items():
                for name in (list(codes) if r % 2 == 0 else list(reversed(codes))):
                    cpu, samples[project] = run_stage(copy, codes[name])
                    best[name, project] = min(cpu, best.get((name, project), cpu))
                    loads.append(os.getloadavg()[0])
    print(f"features stage, CPU ms per sample (stage + workers), fewest of {args.rounds} runs each; "
          f"load average {min(loads):.2f}-{max(loads):.2f} during the runs, {os.getloadavg()[0]:.2f} now")
    print(f"{'':<44}" + "".join(f"{name:>10}" for name in codes) + ("    change" if args.baseline else ""))

    def line(label: str, values: dict[str, float]) -> None:
        change = f"{100 * (values['this'] / values['baseline'] - 1):+9.1f}%" if args.baseline else ""
        print(f"{label:<44}" + "".join(f"{values[n]:10.3f}" for n in codes) + change)

    for project in args.project:
        line(f"{project} ({samples[project]})", {n: 1000 * best[n, project] / samples[project] for n in codes})
    for small, large in args.pair:
        extra = samples[large] - samples[small]
        line(f"marginal {small.name}->{large.name} ({extra})",
             {n: 1000 * (best[n, large] - best[n, small]) / extra for n in codes})
    return 0


if __name__ == "__main__":
    sys.exit(main())
