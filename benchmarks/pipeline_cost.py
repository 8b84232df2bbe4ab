"""Pipeline marginal cost per file vs a straightforward pretty_midi loop (issue 10, first row).

Builds throwaway projects with ``dvc repro``, on the first N/2 and all N
files of a generated corpus (``_corpus.py``: POP909 windows and the example
pieces, transposed and tempo-shifted, 20-30 s each), augmentation and
synthesis off, ``features.n_jobs: 1``, the other stages at their defaults.
Start-up and fixed costs cancel in ``(t_N - t_N/2) / (N/2)``: the cost the
pipeline adds per file, every stage and DVC's own work included.

The figure is CPU time, not wall time: two other benchmarks may share the
machine's two cores, and wall time then swings by a factor of two from one
build to the next while CPU time stays within a few per cent. Each stage's
command runs under a wrapper that records the CPU seconds of its script and
of every worker it waited for; the whole run's CPU (DVC's own work included)
comes from ``getrusage`` around ``dvc repro``. ``--repeat`` pairs of builds
are made and the median pair reported, with every pair printed so the
spread shows. A small warm-up build, not counted, comes first, and the
pairs alternate which size is built first: the first build of a run pays
one-time costs that once made the 1,000-file build look cheaper than the
500-file one (a marginal cost of -4.2 ms/file). A marginal cost at or below
zero, or pairs spread wider than their median, is reported as unreliable,
never as a target met. ``--baseline DIR`` builds the pipeline of another checkout
(``/work/main``, say) on the same corpus in the same run, alternating with
this one's, so both see the same load.

Under load even CPU time swings (a stage's CPU grows when another process
shares its core's caches), so after the builds each stage of
``--stages`` runs alone again ``--stage-repeat`` times on both projects of
a pair (its outputs, and the import's record, cleared first) and its
fewest CPU seconds count: ``(best on N - best on N/2) / (N/2)``, the
steadiest per-stage figure.

Baseline loop, same files, same run (before and after the builds, to bracket
the noise; its best CPU time): one process reading each file with
pretty_midi and computing pitch (mean, spread, range), velocity (mean,
spread), note density, key (Krumhansl-Schmuckler on the duration-weighted
pitch-class histogram) and tempo (duration-weighted mean of the tempo map).
Target: the pipeline's marginal CPU cost at most 1/5 of that loop's per file.

Creating a file costs CPU in the kernel, and on some file systems a lot: on
this machine's ext4 an empty file costs 15-70 µs of CPU in one folder and
350-1,000 µs in another (the folder's block group decides, not the code), and
every imported source makes two (its raw copy, and DVC's cache object of it).
So the script also prints, for each project, the median CPU of creating an
empty file in a folder of its raw copies: read the import's figure (and the
whole ``dvc repro``'s) against it.

Usage::

    python benchmarks/pipeline_cost.py [--files 200] [--seed 0] [--repeat 1] [--baseline DIR]
        [--stages import,annotate,features,families,targets] [--stage-repeat 3] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _corpus import describe, write_corpus
from _project import REPO, Project, Run, bench_params, run

TARGET_RATIO = 0.20
# Krumhansl-Kessler key profiles, C major and C minor.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PROFILES = np.array([np.roll(p, k) for p in (MAJOR, MINOR) for k in range(12)])


def straightforward_features(path: str) -> dict[str, float]:
    """What a person would write in an afternoon: pretty_midi, a few numpy reductions."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(path)
    notes = [n for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    pitch = np.array([n.pitch for n in notes], dtype=float)
    velocity = np.array([n.velocity for n in notes], dtype=float)
    end = pm.get_end_time()
    histogram = pm.get_pitch_class_histogram(use_duration=True)
    key = int(np.argmax([np.corrcoef(histogram, p)[0, 1] for p in PROFILES]))
    times, tempi = pm.get_tempo_changes()
    spans = np.diff(np.append(times, max(end, times[-1]))) if len(times) else np.array([1.0])
    tempo = float(np.average(tempi, weights=spans)) if spans.sum() > 0 else float(tempi[0])
    return {
        "pitch_mean": pitch.mean(), "pitch_std": pitch.std(), "pitch_range": np.ptp(pitch),
        "velocity_mean": velocity.mean(), "velocity_std": velocity.std(),
        "density": len(notes) / end if end > 0 else 0.0, "key": key, "tempo": tempo,
    }


def loop_cpu_per_file(paths: list[Path]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per file of the straightforward loop over ``paths``."""
    cpu, wall = time.process_time(), time.perf_counter()
    for path in paths:
        straightforward_features(str(path))
    return (time.process_time() - cpu) / len(paths), (time.perf_counter() - wall) / len(paths)


def build_pair(work: Path, tag: str, code: Path, clips: tuple[Path, Path], overrides: dict,
               big_first: bool = False) -> tuple[Run, Run]:
    """``(build on clips[0], build on clips[1])``; ``big_first`` builds the second first.

    Whichever build runs first in a process tree that has not built before pays
    some one-time costs (files read from disk the first time, DVC's caches of
    its own), so pairs alternate the order and a warm-up build precedes them.
    """
    order = [("half", clips[0]), ("full", clips[1])]
    runs = {size: Project.create(work / f"{size}_{tag}", folder, overrides, code=code, cpu=True).repro()
            for size, folder in (reversed(order) if big_first else order)}
    return runs["half"], runs["full"]


def verdict(ratio: float, values: list[float]) -> str:
    """``met`` / ``MISSED``, or why the figure cannot say: a marginal cost at or below zero, or
    pairs spread wider than their median, is noise, not a cost."""
    median = statistics.median(values)
    if median <= 0:
        return "UNRELIABLE (marginal cost <= 0: noise outweighed the added files; use more files or --repeat)"
    if len(values) > 1 and max(values) - min(values) > median:
        return "UNRELIABLE (the pairs spread wider than their median; run again on an idle machine)"
    return "met" if ratio <= TARGET_RATIO else "MISSED"


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def stages_alone(projects: dict[tuple[str, str], Project], stages: list[str], repeat: int, files: int
                 ) -> dict[str, dict[str, tuple[float, float]]]:
    """Marginal (CPU, wall) ms per file of each stage run alone: ``(fewest on full - fewest on half) / files``.

    ``projects``: (pipeline name, "half" or "full") -> project. Each round runs the stage once in
    every project, in turn, so a change of load hits all of them; outputs (and the import's
    record) are cleared before each run.
    """
    best: dict[tuple[str, str, str], float] = {}
    wall: dict[tuple[str, str, str], float] = {}
    for stage in stages:
        for r in range(repeat):
            for key in (list(projects) if r % 2 == 0 else list(reversed(projects))):
                project = projects[key]
                script = {v: k for k, v in project.stage_scripts().items()}[stage]
                project.clear_outputs(stage)
                if stage == "import":  # the record would let it skip every check
                    shutil.rmtree(project.dataset_dir / ".cache", ignore_errors=True)
                start, started = _children_cpu(), time.perf_counter()
                run([sys.executable, script], project.root, code=project.code)
                seconds, elapsed = _children_cpu() - start, time.perf_counter() - started
                best[(*key, stage)] = min(best.get((*key, stage), float("inf")), seconds)
                wall[(*key, stage)] = min(wall.get((*key, stage), float("inf")), elapsed)
    names = sorted({name for name, _ in projects}, key=[name for name, _ in projects].index)
    return {name: {stage: tuple(1000 * (t[(name, "full", stage)] - t[(name, "half", stage)]) / files
                               for t in (best, wall))
                   for stage in stages} for name in names}


def create_cpu_us(folder: Path, files: int = 200) -> float:
    """Median CPU microseconds of creating one empty file in ``folder`` (the files are deleted again)."""
    spent, made = [], []
    try:
        for i in range(files):
            path = folder / f".create-probe-{os.getpid()}-{i}"
            start = time.process_time_ns()
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            spent.append(time.process_time_ns() - start)
            made.append(path)
    finally:
        for path in made:
            path.unlink()
    return statistics.median(spent) / 1000


def raw_folder(project: Project) -> Path | None:
    """A folder of the import's raw copies (the first, by name), or None before any import."""
    folders = sorted(p.parent for p in (project.dataset_dir / "raw" / "midi").rglob("*.mid"))
    return folders[0] if folders else None


def marginal_ms(pairs: list[tuple[Run, Run]], files: int, of) -> list[float]:
    """``of(run)`` per pair as marginal milliseconds per file."""
    return [1000 * (of(big) - of(small)) / files for small, big in pairs]


def show(name: str, values: list[float]) -> str:
    spread = f"   (pairs: {', '.join(f'{v:.2f}' for v in values)})" if len(values) > 1 else ""
    return f"{statistics.median(values):9.2f}{spread}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="N; the second build gets N/2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="pairs of builds (median marginal cost reported)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkout whose pipeline is built too, alternating with this one's")
    parser.add_argument("--stages", default="import,annotate,features,families,targets",
                        help="stages run alone again after the builds (comma-separated; empty: none)")
    parser.add_argument("--stage-repeat", type=int, default=3, help="runs of each of those stages (fewest CPU counts)")
    parser.add_argument("--keep", type=Path, default=None, help="build here and keep the projects")
    parser.add_argument("--reuse", action="store_true",
                        help="no builds: measure the stages alone in the projects an earlier --keep run left there")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    n, half = args.files, args.files // 2
    overrides = bench_params(multiplier=0, synth=0, features=1)
    codes = {"this": REPO, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    with tempfile.TemporaryDirectory(prefix="penta-cost-") as tmp:
        work = args.keep or Path(tmp)
        clips = write_corpus(work / "corpus", n, args.seed)
        half_clips = write_corpus(work / "corpus_half", half, args.seed)
        paths = sorted(clips.rglob("*.mid"))
        print(f"corpus: {n} files ({describe(args.seed)}); builds of {half} and {n} files, "
              "augment.multiplier 0, synthesize.count 0, features.n_jobs 1")
        for name, code in codes.items():
            print(f"pipeline {name}: {code}")
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        straightforward_features(str(paths[0]))  # imports pretty_midi outside the timing
        loop_before = loop_cpu_per_file(paths)
        pairs: dict[str, list[tuple[Run, Run]]] = {name: [] for name in codes}
        if not args.reuse:  # not counted: the first build of a run pays one-time costs
            warm = write_corpus(work / "corpus_warm", 20, args.seed)
            for name, code in codes.items():
                Project.create(work / f"warm_{name}", warm, overrides, code=code, cpu=True).repro()
        for r in range(0 if args.reuse else args.repeat):
            for name, code in (codes.items() if r % 2 == 0 else reversed(codes.items())):
                pairs[name].append(build_pair(work, f"{name}_{r}", code, (half_clips, clips), overrides,
                                              big_first=r % 2 == 1))
        projects = {(name, size): Project(work / f"{size}_{name}_0", code)
                    for name, code in codes.items() for size in ("half", "full")}
        alone = stages_alone(projects, [s for s in args.stages.split(",") if s], args.stage_repeat, n - half)
        creates = {key: create_cpu_us(folder) for key, project in projects.items()
                   if (folder := raw_folder(project)) is not None}
        loop_after = loop_cpu_per_file(paths)
        load = os.getloadavg()

    loop_cpu = min(loop_before[0], loop_after[0])
    if pairs["this"]:
        show_builds(pairs, args.repeat, codes, half, n)
    if any(alone.values()):
        print(f"\neach stage alone, best of {args.stage_repeat} runs on each size, marginal ms/file, CPU (wall)")
        print(f"{'':<44}" + "".join(f"{name:>18}" for name in codes))
        for stage in alone["this"]:
            print(f"  {stage:<42}" + "".join(f"{alone[name][stage][0]:10.2f} ({alone[name][stage][1]:5.2f})"
                                             for name in codes))
        print(f"  {'sum':<42}" + "".join(f"{sum(v[0] for v in alone[name].values()):10.2f} "
                                         f"({sum(v[1] for v in alone[name].values()):5.2f})" for name in codes))
    if creates:
        print("CPU to create one empty file among the raw copies (median of 200; the import makes one per "
              "source, DVC's cache another): " + ", ".join(f"{name} {size} {us:.0f} µs"
                                                           for (name, size), us in creates.items()))
    print(f"{'straightforward pretty_midi loop, CPU':<44}{1000 * loop_cpu:9.2f}   (before "
          f"{1000 * loop_before[0]:.2f}, after {1000 * loop_after[0]:.2f}; wall {1000 * loop_before[1]:.2f}, "
          f"{1000 * loop_after[1]:.2f})")
    for name in codes:
        if pairs[name]:
            values = marginal_ms(pairs[name], n - half, lambda run: run.cpu)
            ratio = statistics.median(values) / 1000 / loop_cpu
            print(f"ratio {name} pipeline CPU (whole dvc repro) / loop CPU: {ratio:.2f}   "
                  f"target <= {TARGET_RATIO:.2f}: {verdict(ratio, values)}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in load)}")
    return 0


def show_builds(pairs: dict[str, list[tuple[Run, Run]]], repeat: int, codes: dict[str, Path], half: int, n: int
                ) -> None:
    files = n - half
    print(f"\nmarginal cost per file, ms (median of {repeat} pair(s) of builds of {half} and {n} files)")
    stages = [s for s in pairs["this"][0][1].stages if s in pairs["this"][0][0].stage_cpu]
    header = "".join(f"{name:>{9 if repeat == 1 else 40}}" for name in codes)
    print(f"{'':<44}{header}")
    for stage in stages:
        print(f"  {stage + ' (script CPU, workers included)':<42}" + "".join(
            show(stage, marginal_ms(pairs[name], files, lambda run, s=stage: run.stage_cpu.get(s, 0.0)))
            .ljust(40 if repeat > 1 else 9) for name in codes))
    rows = {"pipeline, CPU (whole dvc repro)": lambda run: run.cpu,
            "pipeline, wall (whole dvc repro)": lambda run: run.seconds}
    for label, of in rows.items():
        print(f"{label:<44}" + "".join(show(label, marginal_ms(pairs[name], files, of)).ljust(
            40 if repeat > 1 else 9) for name in codes))


if __name__ == "__main__":
    sys.exit(main())
