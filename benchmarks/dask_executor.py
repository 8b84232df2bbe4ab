"""The Dask executor beside the local pool: the scale corpus built both ways on this machine, in one run.

For N generated MIDI clips (``_corpus.py``, the corpus of ``scale.py``), the
heavy steps (import, augment, features, families; ``augment.multiplier`` 1 by
default) run through ``penta-dataset`` once with ``engine.executor: local``
and once with ``dask`` (a ``LocalCluster`` of the same number of workers,
one thread each), each step its own process, as under ``dvc repro``. Printed
side by side: wall time per step and in all, the peak RSS of the step
process (``RUSAGE_SELF``: the stage process, with Dask's in-process scheduler,
without its workers), and whether the two dataset folders hold the same
bytes (sha256 of every file, ``.cache`` and the lock left out).

Then, apart from any stage: the per-task cost of each executor with a
function that does nothing (one item a task, so it is all overhead), the
start and stop of a LocalCluster, and a projection to 100,000 files: the
build of N plus the marginal time per file (each executor also builds the
first N/10 files) for every further file, and what the per-task overhead
alone would cost were every item a task of its own.

Usage::

    python benchmarks/dask_executor.py [--files 1000] [--workers 2] [--multiplier 1] [--tasks 2000]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _corpus import describe, write_corpus
from _project import REPO, child_env

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

STEPS = (("import", "--import-dir"), ("augment", "--augment"), ("features", "--extract-features"),
         ("families", "--families"))
PROJECTED = 100_000
# Runs one step of penta-dataset in this process; prints its wall seconds and peak RSS (RUSAGE_SELF).
_RUNNER = ("import json, resource, sys, time\n"
           "from penta_core.cli import main\n"
           "start = time.perf_counter()\n"
           "code = main(sys.argv[1:])\n"
           "print(json.dumps({'code': code, 'seconds': time.perf_counter() - start,\n"
           "                  'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n")


def tree_hashes(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(".cache/") and rel != ".penta.lock":
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def build(folder: Path, clips: Path, engine: dict, workers: int, multiplier: int) -> dict[str, dict]:
    """Each step in its own process, in ``folder``; ``step -> {seconds, rss_mb}``."""
    folder.mkdir(parents=True)
    params = {"dataset": {"name": "bench", "root": "datasets"}, "augment": {"multiplier": multiplier},
              "synthesize": {"count": 0}, "engine": engine,
              **{stage: {"n_jobs": workers} for stage in ("import", "augment", "features", "families")}}
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    results = {}
    for step, flag in STEPS:
        argv = [flag, str(clips)] if flag == "--import-dir" else [flag]
        done = subprocess.run([sys.executable, "-c", _RUNNER, *argv], cwd=folder, env=child_env(),
                              capture_output=True, text=True)
        last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if done.returncode != 0 or not last.startswith("{"):
            raise SystemExit(f"{step} failed ({engine['executor']}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        results[step] = json.loads(last)
        if results[step]["code"] != 0:
            raise SystemExit(f"{step} exited {results[step]['code']} ({engine['executor']}):\n{done.stderr[-3000:]}")
    return results


def task_overhead(tasks: int, workers: int) -> dict[str, float]:
    """Wall ms per task of a function that does nothing, one item a task, on each executor.

    The slope between ``tasks // 10`` and ``tasks`` tasks, so that starting the
    local workers (a fresh pool per call) or warming Dask's is not counted.
    """
    import dask_items

    from penta_core.engine.dask_map import connect, dask_map
    from penta_core.engine.parallel import supervised_map

    def timed(run, n: int) -> float:
        start = time.perf_counter()
        assert all(o.ok for _, o in run(n))
        return time.perf_counter() - start

    few = max(1, tasks // 10)
    out = {}
    local = lambda n: supervised_map(dask_items.nothing, range(n), n_jobs=workers, chunk_size=1)  # noqa: E731
    out["local"] = 1000 * (timed(local, tasks) - timed(local, few)) / (tasks - few)
    start = time.perf_counter()
    with connect("", workers) as client:
        out["cluster_start_s"] = time.perf_counter() - start
        on_dask = lambda n: dask_map(dask_items.nothing, range(n), client=client, chunk_size=1)  # noqa: E731
        out["dask"] = 1000 * (timed(on_dask, tasks) - timed(on_dask, few)) / (tasks - few)
        stop = time.perf_counter()
    out["cluster_stop_s"] = time.perf_counter() - stop
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--multiplier", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=2000, help="trivial tasks timed on each executor")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"corpus: {args.files} files of {describe(args.seed)}; augment.multiplier {args.multiplier}; "
          f"{args.workers} workers on each executor; {os.cpu_count()} cores")
    few = max(1, args.files // 10)
    with tempfile.TemporaryDirectory(prefix="penta-dask-bench-") as tmp:
        work = Path(tmp)
        clips = write_corpus(work / "corpus", args.files, args.seed)
        small = write_corpus(work / "small", few, args.seed)  # the first tenth of the same corpus
        runs, trees, small_runs = {}, {}, {}
        for name, engine in (("local", {"executor": "local"}),
                             ("dask", {"executor": "dask", "workers": args.workers})):
            small_runs[name] = build(work / f"{name}-small", small, engine, args.workers, args.multiplier)
            runs[name] = build(work / name, clips, engine, args.workers, args.multiplier)
            trees[name] = tree_hashes(work / name / "datasets" / "bench")
            print(f"{name}: {few} files built in {sum(r['seconds'] for r in small_runs[name].values()):.1f} s, "
                  f"{args.files} in {sum(r['seconds'] for r in runs[name].values()):.1f} s", flush=True)
    overhead = task_overhead(args.tasks, args.workers)

    print(f"\n{'step':<10}{'local s':>9}{'dask s':>9}{'local MB':>10}{'dask MB':>9}")
    for step, _ in STEPS:
        a, b = runs["local"][step], runs["dask"][step]
        print(f"{step:<10}{a['seconds']:9.1f}{b['seconds']:9.1f}{a['rss_mb']:10.0f}{b['rss_mb']:9.0f}")
    total = {name: sum(r["seconds"] for r in run.values()) for name, run in runs.items()}
    peak = {name: max(r["rss_mb"] for r in run.values()) for name, run in runs.items()}
    print(f"{'all':<10}{total['local']:9.1f}{total['dask']:9.1f}{peak['local']:10.0f}{peak['dask']:9.0f}")
    same = trees["local"] == trees["dask"]
    differ = sorted(k for k in trees["local"].keys() | trees["dask"].keys()
                    if trees["local"].get(k) != trees["dask"].get(k))
    verdict = "yes" if same else "NO: " + ", ".join(differ[:5])
    print(f"identical outputs (sha256 of {len(trees['local'])} files): {verdict}")
    print(f"\nper task, a function that does nothing, one item a task, {args.tasks} tasks on {args.workers} workers:")
    print(f"    local {overhead['local']:.2f} ms, dask {overhead['dask']:.2f} ms wall per task "
          f"({overhead['local'] * args.workers:.2f} and {overhead['dask'] * args.workers:.2f} ms of a worker slot)")
    print(f"LocalCluster of {args.workers} workers: started in {overhead['cluster_start_s']:.2f} s, "
          f"stopped in {overhead['cluster_stop_s']:.2f} s")
    print(f"\nprojection to {PROJECTED:,} files on {args.workers} workers: the build of {args.files} plus the "
          f"marginal time per file between {few} and {args.files} files for each further file")
    for name in ("local", "dask"):
        small_total = sum(r["seconds"] for r in small_runs[name].values())
        per_file = (total[name] - small_total) / (args.files - few)
        fixed = total[name] - per_file * args.files
        projected = total[name] + per_file * (PROJECTED - args.files)
        # Items: one a file for import, augment (a parent's variants together) and families; features
        # reads the originals and their variants.
        one_item = overhead[name] / 1000 * PROJECTED * (4 + args.multiplier)
        print(f"    {name}: {1000 * per_file:.1f} ms a file marginal, {fixed:.1f} s fixed (process and cluster "
              f"starts of {len(STEPS)} steps) -> {projected / 60:.1f} min; per-task overhead alone, were every "
              f"item a task of its own: {one_item / 60:.1f} min")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
