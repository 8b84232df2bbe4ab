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

To measure another checkout with this script, run it from that checkout
with its ``PYTHONPATH`` (a checkout without ``MidiPiece.to_bytes_many``
serialises variant by variant).

MidiTok is a benchmark-only dependency: ``pip install -e '.[bench]'``.

Usage::

    python benchmarks/augment_vs_miditok.py [--files 1000] [--multiplier 3] [--workers 2] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _corpus import describe, write_corpus
from _project import Project, bench_params
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

    def variants(serialise: bool) -> None:
        for i, piece in enumerate(pieces):
            made = [augmenter.augment(piece, np.random.default_rng([seed, i, k]))[0] for k in range(multiplier)]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--multiplier", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="in-process timings: best of this many runs")
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")  # MidiTok's progress bars would only add noise
    try:
        import miditok  # noqa: F401
    except ImportError as exc:
        sys.exit(f"MidiTok is missing ({exc}); install the benchmark extra: pip install -e '.[bench]'")
    warnings.filterwarnings("ignore")
    m, w = args.multiplier, args.workers
    with tempfile.TemporaryDirectory(prefix="penta-augment-") as tmp:
        work = Path(tmp)
        clips = write_corpus(work / "corpus", args.files, args.seed)
        paths = sorted(clips.rglob("*.mid"))
        notes = np.mean([_notes(p) for p in paths[:100]])
        print(f"{len(paths)} clips ({describe(args.seed)}), ~{notes:.0f} notes each; "
              f"multiplier {m}, {w} workers; {os.cpu_count()} cores")

        project = Project.create(work / "project", clips, bench_params(multiplier=m, synth=0, n_jobs=w))
        project.repro("import")
        variants = len(paths) * m
        cpu = _cpu()
        stage = project.repro("-s", "augment")
        stage_cpu = _cpu() - cpu
        stage_s, script_in_dvc_s = stage.stages["augment"], stage.scripts.get("augment", 0.0)
        project.clear_outputs("augment")
        cpu = _cpu()
        script_s = project.run_stage("augment")
        script_cpu = _cpu() - cpu
        # The same with one variant per file: the difference is the cost of the other variants alone
        # (start-up, reading and parsing each parent cancel out).
        project.set_params({"augment": {"multiplier": 1}})
        project.clear_outputs("augment")
        cpu = _cpu()
        script1_s = project.run_stage("augment")
        script1_cpu = _cpu() - cpu

        ranges = project.params["augment"]["midi"]
        parse, transform, serialise = ours_in_process(paths, m, ranges, args.seed, args.repeat)
        tok_dataset_s, tok_dataset_cpu, tok_variants = miditok_dataset(clips, work / "miditok", w)
        tok_serial_s, tok_serial_cpu, tok_serial_variants = miditok_dataset(clips, work / "miditok1", 1)
        tok1_s, tok1_cpu, tok1_variants = miditok_dataset(clips, work / "miditok_one", w, one_offset=True)
        tok_parse, tok_variant = miditok_in_process(paths, args.repeat)

    rows = [
        (f"ours: augment stage through dvc repro, {w} workers", stage_s, stage_cpu, variants),
        ("      of which the stage script's process", script_in_dvc_s, None, variants),
        ("      of which DVC (hashing, caching, lock)", stage_s - script_in_dvc_s, None, variants),
        (f"ours: python stages/augment.py alone, {w} workers", script_s, script_cpu, variants),
        (f"MidiTok augment_dataset, {w} workers", tok_dataset_s, tok_dataset_cpu, tok_variants),
        ("MidiTok augment_dataset, 1 process", tok_serial_s, tok_serial_cpu, tok_serial_variants),
    ]
    print(f"\n{'':<52}{'wall s':>8}{'variants':>10}{'ms/variant':>12}{'CPU s':>8}{'CPU ms/variant':>16}")
    for name, seconds, cpu_s, count in rows:
        cpu_text = f"{cpu_s:8.2f}{1000 * cpu_s / count:16.3f}" if cpu_s is not None else ""
        print(f"{name:<52}{seconds:8.2f}{count:10d}{1000 * seconds / count:12.3f}{cpu_text}")
    print(f"\nin one process, no writing, CPU time, best of {args.repeat} runs (ms):")
    print(f"    ours:    parse {1000 * parse:.3f}/file; five transforms {1000 * transform:.3f}/variant; "
          f"with serialising {1000 * serialise:.3f}/variant")
    print(f"    MidiTok: symusic parse {1000 * tok_parse:.3f}/file; augment_score {1000 * tok_variant:.3f}/variant")
    extra, tok_extra = variants - len(paths), tok_variants - tok1_variants
    if extra > 0 and tok_extra > 0:
        print(f"\nmarginal cost of a variant (multiplier {m} minus multiplier 1, {w} workers; start-up, reading "
              "and parsing cancel out):")
        print(f"    ours (stage script):            {1000 * (script_s - script1_s) / extra:.3f} ms wall, "
              f"{1000 * (script_cpu - script1_cpu) / extra:.3f} ms CPU")
        tok_wall, tok_cpu = (tok_dataset_s - tok1_s) / tok_extra, (tok_dataset_cpu - tok1_cpu) / tok_extra
        print(f"    MidiTok augment_dataset (3 - 1 offsets): {1000 * tok_wall:.3f} ms wall, "
              f"{1000 * tok_cpu:.3f} ms CPU")
    ours, theirs = stage_s / variants, tok_dataset_s / tok_variants
    print(f"\nratio ours (whole stage) / MidiTok augment_dataset, {w} workers: {ours / theirs:.1f}x wall, "
          f"{(stage_cpu / variants) / (tok_dataset_cpu / tok_variants):.1f}x CPU   "
          f"target <= 1.0x: {'met' if ours <= theirs else 'MISSED'}")
    print(f"ratio ours (five transforms) / MidiTok augment_score, in process: {transform / tok_variant:.1f}x")
    return 0


def _notes(path: Path) -> int:
    from symusic import Score

    return Score(path).note_num()


if __name__ == "__main__":
    sys.exit(main())
