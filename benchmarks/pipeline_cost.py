"""Pipeline marginal cost per file vs a straightforward pretty_midi loop (issue 10, first row).

Builds two throwaway projects with ``dvc repro``, on the first N/2 and all N
files of a generated corpus (``_corpus.py``: POP909 windows and the example
pieces, transposed and tempo-shifted, 20-30 s each), augmentation and
synthesis off, ``features.n_jobs: 1``, the other stages at their defaults.
Start-up and fixed costs cancel in ``(t_N - t_N/2) / (N/2)``: the cost the
pipeline adds per file, every stage and DVC's own work included.

Baseline, same files, same run (before and after the builds, to bracket the
noise): one process reading each file with pretty_midi and computing pitch
(mean, spread, range), velocity (mean, spread), note density, key
(Krumhansl-Schmuckler on the duration-weighted pitch-class histogram) and
tempo (duration-weighted mean of the tempo map). Target: the pipeline's
marginal cost at most 1/5 of that loop's cost per file.

Usage::

    python benchmarks/pipeline_cost.py [--files 200] [--seed 0] [--repeat 1] [--keep DIR]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _corpus import describe, write_corpus
from _project import Project, bench_params, fmt_stages

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


def loop_seconds_per_file(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        straightforward_features(str(path))
    return (time.perf_counter() - start) / len(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="N; the second build gets N/2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="pairs of builds (median marginal cost reported)")
    parser.add_argument("--keep", type=Path, default=None, help="build here and keep the projects")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    n, half = args.files, args.files // 2
    overrides = bench_params(multiplier=0, synth=0, features=1)
    with tempfile.TemporaryDirectory(prefix="penta-cost-") as tmp:
        work = args.keep or Path(tmp)
        clips = write_corpus(work / "corpus", n, args.seed)
        half_clips = write_corpus(work / "corpus_half", half, args.seed)
        paths = sorted(clips.rglob("*.mid"))
        print(f"corpus: {n} files ({describe(args.seed)}); builds of {half} and {n} files, "
              "augment.multiplier 0, synthesize.count 0, features.n_jobs 1")
        straightforward_features(str(paths[0]))  # imports pretty_midi outside the timing
        loop_before = loop_seconds_per_file(paths)
        marginals, pairs = [], []
        for r in range(args.repeat):
            small = Project.create(work / f"half_{r}", half_clips, overrides).repro()
            big = Project.create(work / f"full_{r}", clips, overrides).repro()
            marginals.append((big.seconds - small.seconds) / (n - half))
            pairs.append((small, big))
        loop_after = loop_seconds_per_file(paths)

    loop = (loop_before + loop_after) / 2
    marginal = statistics.median(marginals)
    small, big = pairs[len(pairs) // 2]
    print(f"\nbuild of {half:>6} files: {small.seconds:8.1f} s   peak RSS {small.peak_rss_mb:.0f} MB (largest process)")
    print(fmt_stages(small))
    print(f"build of {n:>6} files: {big.seconds:8.1f} s   peak RSS {big.peak_rss_mb:.0f} MB (largest process)")
    print(fmt_stages(big))
    print("\nmarginal cost per file, by stage (DVC's work on the stage's outputs included):")
    for stage in big.stages:
        if stage in small.stages:
            print(f"    {stage:<11} {1000 * (big.stages[stage] - small.stages[stage]) / (n - half):8.2f} ms")
    print(f"\n{'':<52}{'ms/file':>9}")
    print(f"{'pipeline, marginal (whole dvc repro)':<52}{1000 * marginal:9.2f}"
          + (f"   (pairs: {', '.join(f'{1000 * m:.2f}' for m in marginals)})" if len(marginals) > 1 else ""))
    print(f"{'straightforward pretty_midi loop, 1 process':<52}{1000 * loop:9.2f}"
          f"   (before {1000 * loop_before:.2f}, after {1000 * loop_after:.2f})")
    ratio = marginal / loop
    print(f"ratio pipeline / loop: {ratio:.2f}   target <= {TARGET_RATIO:.2f}: "
          f"{'met' if ratio <= TARGET_RATIO else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
