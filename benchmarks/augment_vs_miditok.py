"""The augment stage per variant vs MidiTok 3.1's ``augment_dataset`` on the same clips (issue 10, second row).

On N generated clips (``_corpus.py``, 20-30 s each), multiplier 3, 2 workers:

* ours, the whole stage: ``dvc repro -s augment`` in a throwaway project
  whose import already ran (the stage's script, then DVC hashing and caching
  what it wrote), and the stage script alone (``python stages/augment.py``
  from clean outputs, outside DVC);
* ours, the five MIDI transforms alone, in this process: files parsed first
  (not timed), variants made (transpose, duration, velocity, dropout,
  jitter), then the same again with serialising each parent's variants
  (``MidiPiece.to_bytes_many``, as the stage's workers do), never writing;
* MidiTok 3.1 (symusic, C++): ``augment_dataset`` on the same folder, one
  pitch, one velocity and one duration offset per file (3 variants, each
  one offset, as it augments), 2 workers and 1, writing to a new folder;
  and ``augment_score`` alone in this process on parsed scores;
* the marginal cost of a variant: our stage script at multiplier 1 and
  MidiTok with the pitch offset alone, subtracted from the runs above, so
  start-up and reading and parsing each file cancel out.

Every row gives wall time and CPU time (this process and the children it
waited for: stage scripts, their workers, DVC, MidiTok's pool). On a machine
shared with other work the wall figures swing with the load; CPU time is
the cost of the code. The in-process figures are CPU time.

``--baseline DIR`` measures another checkout (``/work/main``, say) in the
same run: its pipeline in a second project, the stage runs of the two
alternating (``--rounds`` of them each, the fewest CPU seconds kept), and
its in-process figures in a subprocess importing its ``penta_core`` (a
checkout without ``MidiPiece.to_bytes_many`` serialises variant by variant).

MidiTok is a benchmark-only dependency: ``pip install -e '.[bench]'``.

Usage::

    python benchmarks/augment_vs_miditok.py [--files 1000] [--multiplier 3] [--workers 2] [--repeat 3]
                                            [--baseline /work/main] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _corpus import describe, write_corpus
from _project import REPO, Project, bench_params, child_env
from _timing import best_cpu

# One variant per offset, as MidiTok makes them without all_offset_combinations.
PITCH_OFFSETS, VELOCITY_OFFSETS, DURATION_OFFSETS = [2], [8], [0.125]


def _cpu() -> float:
    """CPU seconds of this process and of every child it has waited for (stage scripts, workers, DVC).

    On a machine shared with other work, wall time measures the contention as
    much as the code; CPU time is the cost itself. Both are printed.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def ours_in_process(paths: list[Path], multiplier: int, ranges: dict, seed: int,
                    repeat: int) -> tuple[float, float, float]:
    """Seconds per file to parse; per variant to transform; per variant to transform and serialise."""
    from penta_core.augment.midi import MIDIAugmenter
    from penta_core.midi.piece import MidiPiece

    augmenter = MIDIAugmenter.from_params(ranges)
    # Older checkouts (PYTHONPATH=<other checkout>, to compare) write variant by variant.
    write_all = getattr(MidiPiece, "to_bytes_many", None) or (lambda pieces: [p.to_bytes() for p in pieces])
    data = [p.read_bytes() for p in paths]
    pieces = [MidiPiece.from_bytes(d) for d in data]
    augmenter.augment(pieces[0], np.random.default_rng(seed))  # first-call costs (compilation, caches) not timed

    # A parent's variants through each transform at once, as the stage's workers make them (older checkouts:
    # one by one).
    many = getattr(augmenter, "augment_many", None) or (lambda piece, rngs: [augmenter.augment(piece, r) for r in rngs])

    def variants(serialise: bool) -> None:
        for i, piece in enumerate(pieces):
            made = [v for v, _ in many(piece, [np.random.default_rng([seed, i, k]) for k in range(multiplier)])]
            if serialise:  # a parent's variants in one pass, as the stage's workers write them
                write_all(made)

    n = len(pieces) * multiplier
    return (best_cpu(lambda: [MidiPiece.from_bytes(d) for d in data], repeat) / len(data),
            best_cpu(lambda: variants(False), repeat) / n, best_cpu(lambda: variants(True), repeat) / n)


def miditok_in_process(paths: list[Path], repeat: int) -> tuple[float, float]:
    """Seconds per file to parse with symusic; per variant of ``augment_score``."""
    from miditok.data_augmentation import augment_score
    from symusic import Score

    scores = [Score(p) for p in paths]
    offsets = ([(p, 0, 0) for p in PITCH_OFFSETS] + [(0, v, 0) for v in VELOCITY_OFFSETS]
               + [(0, 0, d) for d in DURATION_OFFSETS])

    def variants() -> None:
        for score in scores:
            for pitch, velocity, duration in offsets:
                augment_score(score, pitch_offset=pitch, velocity_offset=velocity, duration_offset=duration)

    variants()
    return (best_cpu(lambda: [Score(p) for p in paths], repeat) / len(paths),
            best_cpu(variants, repeat) / (len(scores) * len(offsets)))


def miditok_dataset(clips: Path, out: Path, workers: int, one_offset: bool = False) -> tuple[float, float, int]:
    """Wall and CPU seconds of ``augment_dataset`` (its worker processes included) and the files it wrote.

    ``one_offset``: the pitch offset alone (one variant per file), for the marginal cost of a variant.
    """
    from miditok.data_augmentation import augment_dataset

    shutil.rmtree(out, ignore_errors=True)
    start, cpu = time.perf_counter(), _cpu()
    augment_dataset(clips, pitch_offsets=PITCH_OFFSETS, velocity_offsets=[] if one_offset else VELOCITY_OFFSETS,
                    duration_offsets=[] if one_offset else DURATION_OFFSETS, out_path=out,
                    copy_original_in_new_location=False, save_data_aug_report=False,
                    parallel_workers_size=workers)
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    return seconds, cpu, sum(1 for p in out.rglob("*") if p.is_file())


def stage_runs(project: Project, multiplier: int) -> dict[str, float]:
    """Wall and CPU seconds of the augment stage in ``project``: through ``dvc repro``, alone, alone at ×1."""
    cpu = _cpu()
    stage = project.repro("-s", "augment")
    out = {"dvc_s": stage.stages["augment"], "dvc_script_s": stage.scripts.get("augment", 0.0),
           "dvc_cpu": _cpu() - cpu}
    project.clear_outputs("augment")
    cpu = _cpu()
    out["script_s"] = project.run_stage("augment")
    out["script_cpu"] = _cpu() - cpu
    # The same with one variant per file: the difference is the cost of the other variants alone
    # (start-up, reading and parsing each parent cancel out).
    project.set_params({"augment": {"multiplier": 1}})
    project.clear_outputs("augment")
    cpu = _cpu()
    out["script1_s"] = project.run_stage("augment")
    out["script1_cpu"] = _cpu() - cpu
    project.set_params({"augment": {"multiplier": multiplier}})
    project.clear_outputs("augment")
    return out


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per figure, the run with the fewest CPU seconds (the least disturbed by other work) and its wall."""
    best: dict[str, float] = {}
    for prefix in ("dvc", "script", "script1"):
        run_ = min(runs, key=lambda r: r[f"{prefix}_cpu"])
        best.update({k: v for k, v in run_.items() if k.startswith(f"{prefix}_")})
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--multiplier", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="in-process timings: best of this many runs")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkout (e.g. /work/main): its stage and transforms measured in the same run")
    parser.add_argument("--rounds", type=int, default=1,
                        help="stage runs per checkout, alternating with the baseline's; the fewest CPU seconds count")
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)  # the baseline's subprocess
    args = parser.parse_args(argv)
    m, w = args.multiplier, args.workers
    if args.measure:  # in-process figures of the checkout on PYTHONPATH, for the baseline
        spec = json.loads(args.measure.read_text(encoding="utf-8"))
        print(json.dumps(ours_in_process([Path(p) for p in spec["paths"]], m, spec["ranges"], args.seed,
                                         args.repeat)))
        return 0
    os.environ.setdefault("TQDM_DISABLE", "1")  # MidiTok's progress bars would only add noise
    try:
        import miditok  # noqa: F401
    except ImportError as exc:
        sys.exit(f"MidiTok is missing ({exc}); install the benchmark extra: pip install -e '.[bench]'")
    warnings.filterwarnings("ignore")
    codes = {"ours": REPO, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    with tempfile.TemporaryDirectory(prefix="penta-augment-") as tmp:
        work = Path(tmp)
        clips = write_corpus(work / "corpus", args.files, args.seed)
        paths = sorted(clips.rglob("*.mid"))
        notes = np.mean([_notes(p) for p in paths[:100]])
        print(f"{len(paths)} clips ({describe(args.seed)}), ~{notes:.0f} notes each; "
              f"multiplier {m}, {w} workers; {os.cpu_count()} cores; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for tag, code in codes.items():
            print(f"{tag}: {code}")

        projects = {tag: Project.create(work / f"project_{tag}", clips, bench_params(multiplier=m, synth=0, n_jobs=w),
                                        code=code) for tag, code in codes.items()}
        for project in projects.values():
            project.repro("import")
        runs: dict[str, list[dict[str, float]]] = {tag: [] for tag in codes}
        for r in range(args.rounds):
            for tag in (list(codes) if r % 2 == 0 else list(codes)[::-1]):  # alternate who goes first
                runs[tag].append(stage_runs(projects[tag], m))
        stages = {tag: _best(found) for tag, found in runs.items()}

        ranges = projects["ours"].params["augment"]["midi"]
        in_process = {"ours": ours_in_process(paths, m, ranges, args.seed, args.repeat)}
        if args.baseline:
            spec = work / "in_process.json"
            spec.write_text(json.dumps({"paths": [str(p) for p in paths], "ranges": ranges}), encoding="utf-8")
            out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", str(spec),
                                  "--multiplier", str(m), "--seed", str(args.seed), "--repeat", str(args.repeat)],
                                 env=child_env(codes["baseline"]), capture_output=True, text=True, check=True)
            in_process["baseline"] = tuple(json.loads(out.stdout.strip().splitlines()[-1]))
        tok_dataset_s, tok_dataset_cpu, tok_variants = miditok_dataset(clips, work / "miditok", w)
        tok_serial_s, tok_serial_cpu, tok_serial_variants = miditok_dataset(clips, work / "miditok1", 1)
        tok1_s, tok1_cpu, tok1_variants = miditok_dataset(clips, work / "miditok_one", w, one_offset=True)
        tok_parse, tok_variant = miditok_in_process(paths, args.repeat)
        load = os.getloadavg()

    variants = len(paths) * m
    rows = []
    for tag, st in stages.items():
        rows += [
            (f"{tag}: augment stage through dvc repro, {w} workers", st["dvc_s"], st["dvc_cpu"], variants),
            ("      of which the stage script's process", st["dvc_script_s"], None, variants),
            ("      of which DVC (hashing, caching, lock)", st["dvc_s"] - st["dvc_script_s"], None, variants),
            (f"{tag}: python stages/augment.py alone, {w} workers", st["script_s"], st["script_cpu"], variants),
        ]
    rows += [
        (f"MidiTok augment_dataset, {w} workers", tok_dataset_s, tok_dataset_cpu, tok_variants),
        ("MidiTok augment_dataset, 1 process", tok_serial_s, tok_serial_cpu, tok_serial_variants),
    ]
    runs_text = f"; stage rows: fewest CPU of {args.rounds} runs each" if args.rounds > 1 else ""
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in load)}{runs_text}")
    print(f"{'':<52}{'wall s':>8}{'variants':>10}{'ms/variant':>12}{'CPU s':>8}{'CPU ms/variant':>16}")
    for name, seconds, cpu_s, count in rows:
        cpu_text = f"{cpu_s:8.2f}{1000 * cpu_s / count:16.3f}" if cpu_s is not None else ""
        print(f"{name:<52}{seconds:8.2f}{count:10d}{1000 * seconds / count:12.3f}{cpu_text}")
    print(f"\nin one process, no writing, CPU time, best of {args.repeat} runs (ms):")
    for tag, (parse, transform, serialise) in in_process.items():
        print(f"    {tag + ':':<10}parse {1000 * parse:.3f}/file; five transforms {1000 * transform:.3f}/variant; "
              f"with serialising {1000 * serialise:.3f}/variant")
    print(f"    MidiTok:  symusic parse {1000 * tok_parse:.3f}/file; augment_score {1000 * tok_variant:.3f}/variant")
    extra, tok_extra = variants - len(paths), tok_variants - tok1_variants
    if extra > 0 and tok_extra > 0:
        print(f"\nmarginal cost of a variant (multiplier {m} minus multiplier 1, {w} workers; start-up, reading "
              "and parsing cancel out):")
        for tag, st in stages.items():
            print(f"    {tag + ' (stage script):':<33}{1000 * (st['script_s'] - st['script1_s']) / extra:.3f} ms wall, "
                  f"{1000 * (st['script_cpu'] - st['script1_cpu']) / extra:.3f} ms CPU")
        tok_wall, tok_cpu = (tok_dataset_s - tok1_s) / tok_extra, (tok_dataset_cpu - tok1_cpu) / tok_extra
        print(f"    MidiTok augment_dataset (3 - 1 offsets): {1000 * tok_wall:.3f} ms wall, "
              f"{1000 * tok_cpu:.3f} ms CPU")
    theirs, theirs_cpu = tok_dataset_s / tok_variants, tok_dataset_cpu / tok_variants
    for tag, st in stages.items():
        ours, ours_cpu = st["dvc_s"] / variants, st["dvc_cpu"] / variants
        print(f"\nratio {tag} (whole stage) / MidiTok augment_dataset, {w} workers: {ours / theirs:.1f}x wall, "
              f"{ours_cpu / theirs_cpu:.1f}x CPU   target <= 1.0x: {'met' if ours_cpu <= theirs_cpu else 'MISSED'}")
    for tag, (_, transform, _) in in_process.items():
        print(f"ratio {tag} (five transforms) / MidiTok augment_score, in process: {transform / tok_variant:.1f}x")
    if args.rounds > 1:
        print(f"\nstage script alone, CPU ms/variant over {args.rounds} runs each (median, range):")
        for tag, found in runs.items():
            cpu = [1000 * r["script_cpu"] / variants for r in found]
            print(f"    {tag + ':':<10}{statistics.median(cpu):.3f} ({min(cpu):.3f}-{max(cpu):.3f})")
        if args.baseline:
            # Round by round, the two ran next to each other: the difference cancels most of the load's swing.
            diff = [1000 * (a["script_cpu"] - b["script_cpu"]) / variants
                    for a, b in zip(runs["ours"], runs["baseline"], strict=True)]
            print(f"    ours - baseline, run by run: median {statistics.median(diff):+.3f} "
                  f"({min(diff):+.3f} to {max(diff):+.3f}); ours lower in {sum(d < 0 for d in diff)} of {len(diff)}")
    if args.baseline:
        ours, base = stages["ours"], stages["baseline"]
        print(f"\nours / baseline, CPU: stage through DVC {ours['dvc_cpu'] / base['dvc_cpu']:.2f}x, "
              f"script alone {ours['script_cpu'] / base['script_cpu']:.2f}x; in process: transforms "
              f"{in_process['ours'][1] / in_process['baseline'][1]:.2f}x, with serialising "
              f"{in_process['ours'][2] / in_process['baseline'][2]:.2f}x, parse "
              f"{in_process['ours'][0] / in_process['baseline'][0]:.2f}x")
    return 0


def _notes(path: Path) -> int:
    from symusic import Score

    return Score(path).note_num()


if __name__ == "__main__":
    sys.exit(main())
