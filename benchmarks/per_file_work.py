"""The per-file work of the import, families and features workers, in one process, CPU time.

What each stage's worker does for one MIDI file, called directly on every
file of a generated corpus (``_corpus.py``), best CPU time of ``--repeat``
passes: the import's check (read, sha256, parse, duration), the families
fingerprint (read, sha256, normalised hash, voices, MinHash band keys) and
the feature extraction (read, sha256, every MIDI feature). No process
start-up, pool, DVC or disk writes: the figure that stays put under load,
where whole builds swing by a factor of two (``pipeline_cost.py``).

``--baseline DIR`` measures the same functions of another checkout's
``penta_core`` (``/work/main``, say) on the same files. Both checkouts then run
in subprocesses, taking turns for ``--rounds`` rounds (best of all their
passes): a change of load between the two measurements would otherwise pass
for a difference of code (the same code measured twice in a row differed by
15% at load 2-3).

Usage::

    python benchmarks/per_file_work.py [--files 1000] [--seed 0] [--repeat 5] [--baseline DIR] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _corpus import write_corpus
from _timing import best_cpu

HERE = Path(__file__).resolve().parent


def measure(folder: Path, repeat: int) -> dict[str, float]:
    """Best CPU milliseconds per file of each worker function over the ``.mid`` files below ``folder``."""
    import hashlib

    from penta_core.families.stage import fingerprint_file
    from penta_core.features.extract import _extract_one
    from penta_core.sources.checks import check_source

    paths = [str(p) for p in sorted(folder.rglob("*.mid"))]
    shas = [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths]
    work = {
        "import check": (check_source, [(p, "midi", -80.0) for p in paths]),
        "families fingerprint": (fingerprint_file, [("midi", (p,), s) for p, s in zip(paths, shas)]),
        "features extraction": (_extract_one, [("midi", s, 22050, 600.0, (p,)) for p, s in zip(paths, shas)]),
    }
    found = {}
    for name, (func, tasks) in work.items():
        func(tasks[0])  # imports and first-call work outside the timing
        found[name] = 1000 * best_cpu(lambda f=func, t=tasks: [f(x) for x in t], repeat) / len(tasks)
    return found


def _measure_in(code: Path, clips: Path, repeat: int) -> dict[str, float]:
    """:func:`measure` in a subprocess that imports ``code``'s ``penta_core``."""
    env = dict(os.environ, PYTHONPATH=str(code))
    out = subprocess.run([sys.executable, str(HERE / "per_file_work.py"), "--measure", str(clips),
                          "--repeat", str(repeat)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout, measured the same way")
    parser.add_argument("--rounds", type=int, default=3, help="turns each checkout takes, with --baseline")
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)  # the baseline's subprocess
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return 0
    with tempfile.TemporaryDirectory(prefix="penta-perfile-") as tmp:
        clips = write_corpus(Path(tmp) / "corpus", args.files, args.seed)
        if not args.baseline:
            results = {"this": measure(clips, args.repeat)}
        else:
            codes = {"this": HERE.parent, "baseline": args.baseline.resolve()}
            results = {}
            for r in range(args.rounds):
                for name in (codes if r % 2 == 0 else reversed(codes)):
                    found = _measure_in(codes[name], clips, args.repeat)
                    results[name] = {k: min(v, results.get(name, {}).get(k, v)) for k, v in found.items()}
    passes = args.repeat * (args.rounds if args.baseline else 1)
    print(f"{args.files} corpus files, best CPU of {passes} passes, ms per file; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'':<24}" + "".join(f"{name:>10}" for name in results))
    for row in results["this"]:
        print(f"{row:<24}" + "".join(f"{results[name][row]:10.3f}" for name in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
