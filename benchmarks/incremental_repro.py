"""Small updates: ``dvc repro`` after adding 10 files to a 1,000-file build, a no-op repro, import with nothing new.

Builds a throwaway project on N generated clips (``_corpus.py``) with
``augment.multiplier`` 3 and every other parameter as in ``params.yaml``
(synthesis on, every core), then measures, in this order:

* a no-op ``dvc repro`` (nothing changed);
* the import stage's script re-run with no new source
  (``python stages/import_sources.py``), beside the floor of any check by
  content: reading and hashing every source once in this process
  (sha256), and a bare ``os.stat`` walk, the floor of a check by path, size
  and mtime;
* ``dvc repro`` after adding 10 new files (the next 10 items of the same
  corpus), as seconds and as a share of the full build, stage by stage;
* a no-op ``dvc repro`` again.

Targets of issue 10: the update <= 15 s and <= 15% of the full build; a
no-op <= 3 s; import with nothing new <= 1 s per 10,000 unchanged sources.

Usage::

    python benchmarks/incremental_repro.py [--files 200] [--add 10] [--multiplier 3] [--seed 0]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from _corpus import describe, write_corpus
from _project import Project, bench_params, fmt_stages

TARGET_UPDATE_S, TARGET_UPDATE_SHARE, TARGET_NOOP_S, TARGET_IMPORT_S_PER_10K = 15.0, 0.15, 3.0, 1.0


def hash_all(folder: Path) -> float:
    start = time.perf_counter()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            hashlib.sha256(path.read_bytes()).hexdigest()
    return time.perf_counter() - start


def stat_all(folder: Path) -> float:
    start = time.perf_counter()
    for root, _, files in os.walk(folder):
        for name in files:
            os.stat(os.path.join(root, name))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--add", type=int, default=10)
    parser.add_argument("--multiplier", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="build here and keep the project")
    args = parser.parse_args(argv)
    n = args.files
    with tempfile.TemporaryDirectory(prefix="penta-incremental-") as tmp:
        work = args.keep or Path(tmp)
        clips = write_corpus(work / "corpus", n, args.seed)
        project = Project.create(work / "project", clips, bench_params(multiplier=args.multiplier, synth=None))
        synth = project.params["synthesize"]["count"]
        print(f"corpus: {n} files ({describe(args.seed)}); augment.multiplier {args.multiplier}, "
              f"synthesize.count {synth}, n_jobs as in params.yaml; {os.cpu_count()} cores")

        full = project.repro()
        noop = project.repro()
        import_s = project.run_stage("import")
        sources = work / "project" / "sources"
        hash_s, stat_s = hash_all(sources), stat_all(sources)
        write_corpus(work / "corpus", n + args.add, args.seed, start=n)
        added = project.add_sources(clips)
        update = project.repro()
        noop_after = project.repro()
        files, objects = project.dataset_files(), project.dvc_objects()

    print(f"\nfull build of {n} files: {full.seconds:.1f} s, peak RSS {full.peak_rss_mb:.0f} MB (largest process), "
          f"{full.peak_tree_mb:.0f} MB (all processes)")
    print(fmt_stages(full))
    print(f"after adding {added} files: {update.seconds:.1f} s; stages that ran:")
    print(fmt_stages(update))
    print(f"dataset folder: {files} files; DVC cache: {objects} objects")

    share = update.seconds / full.seconds
    # 1 s per 10,000 sources: with fewer sources, 1 s at most (start-up does not shrink with them).
    import_target = TARGET_IMPORT_S_PER_10K * max(1.0, n / 10_000)
    rows = [
        (f"dvc repro after adding {added} files", f"{update.seconds:.1f} s = {100 * share:.0f}% of the full build",
         f"<= {TARGET_UPDATE_S:.0f} s and <= {100 * TARGET_UPDATE_SHARE:.0f}%",
         update.seconds <= TARGET_UPDATE_S and share <= TARGET_UPDATE_SHARE),
        ("  baseline: the full build", f"{full.seconds:.1f} s", "", None),
        ("no-op dvc repro, before the update", f"{noop.seconds:.2f} s", f"<= {TARGET_NOOP_S:.0f} s",
         noop.seconds <= TARGET_NOOP_S),
        ("no-op dvc repro, after the update", f"{noop_after.seconds:.2f} s", f"<= {TARGET_NOOP_S:.0f} s",
         noop_after.seconds <= TARGET_NOOP_S),
        (f"import stage script, nothing new ({n} sources)", f"{import_s:.2f} s", f"<= {import_target:.2f} s",
         import_s <= import_target),
        ("  baseline: sha256 of every source, 1 process", f"{hash_s:.3f} s", "", None),
        ("  baseline: os.stat of every source", f"{stat_s:.3f} s", "", None),
    ]
    print(f"\n{'':<48}{'today':<34}{'target':<22}")
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        print(f"{name:<48}{value:<34}{target:<22}{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
