"""Scale: full build, peak memory, files, DVC objects and no-op repro at growing corpus sizes.

For each size, a throwaway project on that many generated distinct clips
(``_corpus.py``), ``augment.multiplier`` 3, every other parameter as in
``params.yaml``: the full ``dvc repro`` (wall time, peak RSS of the largest
process and of all processes together), the files in the dataset folder,
the objects in DVC's cache, and a no-op ``dvc repro``; then the growth
between consecutive sizes beside the growth in files, the baseline of
linear scaling.

Targets of issue 10: files in the dataset folder <= imported + derived/500 +
200; DVC objects <= 1 per 500 derived samples (imported originals may stay
one file, so one object, each); peak memory flat in the number of files;
no-op <= 3 s at 10,000 sources.

Usage::

    python benchmarks/scale.py [--sizes 100 300] [--multiplier 3] [--seed 0]
    python benchmarks/scale.py --sizes 1000 10000 [--pack]
    python benchmarks/scale.py --sizes 1000 10000 --code /work/main --keep /tmp/scale-main

``--code DIR`` builds another checkout's pipeline (a baseline, run beside
this one's in the same hour); ``--keep DIR`` keeps each project in
``DIR/<size>`` so single stages can be measured again in it (e.g.
``/usr/bin/time -v python stages/manifest.py`` there, with ``PYTHONPATH``
naming the checkout to run).
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

from _corpus import describe, write_corpus
from _project import REPO, Project, bench_params, fmt_stages

TARGET_NOOP_S = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--multiplier", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pack", action="store_true", help="import.pack: true (originals in shards too)")
    parser.add_argument("--code", type=Path, default=None, help="build this checkout's pipeline instead")
    parser.add_argument("--keep", type=Path, default=None, help="keep each project in KEEP/<size>")
    args = parser.parse_args(argv)
    results = []
    print(f"corpus: {describe(args.seed)}; augment.multiplier {args.multiplier}, other params as in "
          f"params.yaml; {os.cpu_count()} cores; pipeline of {args.code or 'this checkout'}")
    for n in sorted(args.sizes):
        with contextlib.ExitStack() as stack:
            if args.keep is not None:
                work = args.keep / str(n)
                if work.exists():
                    raise SystemExit(f"{work} exists: --keep wants a folder it can create")
            else:
                work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"penta-scale-{n}-")))
            start = time.perf_counter()
            clips = write_corpus(work / "corpus", n, args.seed)
            corpus_s = time.perf_counter() - start
            overrides = bench_params(multiplier=args.multiplier, synth=None)
            if args.pack:
                overrides["import"] = {**overrides.get("import", {}), "pack": True}
            project = Project.create(work / "project", clips, overrides, code=args.code or REPO)
            synth = project.params["synthesize"]["count"]
            full = project.repro()
            noop = project.repro()
            files, objects = project.dataset_files(), project.dvc_objects()
            by_output = project.dvc_objects_by_output()
        derived = n * args.multiplier + synth
        results.append({"n": n, "derived": derived, "full": full, "noop": noop, "files": files,
                        "objects": objects, "by_output": by_output})
        print(f"\n{n} files (corpus written in {corpus_s:.1f} s; {derived} derived samples): full build "
              f"{full.seconds:.1f} s, no-op {noop.seconds:.2f} s")
        print(fmt_stages(full), flush=True)

    print(f"\n{'sources':>8}{'samples':>9}{'build s':>9}{'ms/src':>8}{'peak MB':>9}{'tree MB':>9}"
          f"{'files':>8}{'target':>8}{'objects':>9}{'derived/500':>12}{'no-op s':>9}")
    for r in results:
        n, derived, full = r["n"], r["derived"], r["full"]
        print(f"{n:8d}{n + derived:9d}{full.seconds:9.1f}{1000 * full.seconds / n:8.1f}{full.peak_rss_mb:9.0f}"
              f"{full.peak_tree_mb:9.0f}{r['files']:8d}{n + derived // 500 + 200:8d}{r['objects']:9d}"
              f"{derived / 500:12.1f}{r['noop'].seconds:9.2f}")
    print("(peak MB: the largest process; tree MB: all processes of the build together, sampled; "
          "target: imported + derived/500 + 200 files)")
    # Objects that hold samples grow with the corpus; the rest (metrics, indexes, the export's fixed
    # shard count) do not. The issue-10 limit is about the first kind.
    growing = ("raw/midi", "raw/audio", "processed/augmented", "raw/synthetic", "processed/features",
               "processed/fingerprints", "processed/targets")
    print(f"\nDVC objects per output ({', '.join(str(r['n']) for r in results)} sources):")
    for name in sorted(results[-1]["by_output"], key=lambda k: (k not in growing, k)):
        counts = "  ".join(f"{r['by_output'].get(name, 0):6d}" for r in results)
        print(f"    {name:<34}{counts}{'  (grows with samples)' if name in growing else ''}")
    for r in results:
        derived_objects = sum(v for k, v in r["by_output"].items()
                              if k in growing and k not in ("raw/midi", "raw/audio"))
        fixed = sum(v for k, v in r["by_output"].items() if k not in growing)
        print(f"    {r['n']} sources: {derived_objects} objects for {r['derived']} derived samples "
              f"(one per {r['derived'] / max(derived_objects, 1):.0f}; limit one per 500), {fixed} fixed")
    for small, big in itertools.pairwise(results):
        grow = big["n"] / small["n"]
        print(f"\n{small['n']} -> {big['n']} sources (x{grow:.1f}, the baseline of linear growth):")
        for name, a, b in (
            ("full build", small["full"].seconds, big["full"].seconds),
            ("peak RSS, largest process", small["full"].peak_rss_mb, big["full"].peak_rss_mb),
            ("peak RSS, all processes", small["full"].peak_tree_mb, big["full"].peak_tree_mb),
            ("files in the dataset folder", small["files"], big["files"]),
            ("DVC objects", small["objects"], big["objects"]),
            ("no-op dvc repro", small["noop"].seconds, big["noop"].seconds),
        ):
            print(f"    {name:<30} x{b / a:5.2f}")
    last = results[-1]
    print(f"\nno-op dvc repro at {last['n']} sources: {last['noop'].seconds:.2f} s, target <= {TARGET_NOOP_S:.0f} s "
          f"(at 10,000): {'met' if last['noop'].seconds <= TARGET_NOOP_S else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
