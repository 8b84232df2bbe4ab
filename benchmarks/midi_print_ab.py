"""The families fingerprint's `midi_print` of this checkout beside another checkout's, in one process.

Per-file work changes of 10% are below the noise of two processes measured
one after the other on a shared machine (``per_file_work.py`` read the same
code 15% apart). Here ``--baseline DIR``'s ``penta_core/families/midi.py``
(a module that imports nothing of the package) is loaded beside this
checkout's, both run over every file of a generated corpus (``_corpus.py``)
in alternating passes, and each one's best CPU pass is printed; the two
fingerprints of every file are checked equal first. Without ``--baseline``
(as ``make bench`` runs it), this checkout's alone.

Usage::

    python benchmarks/midi_print_ab.py [--baseline DIR] [--files 1000] [--seed 0] [--passes 12]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _corpus import write_corpus

from penta_core.families import midi as this_midi


def load_module(path: Path, name: str):
    """The module in the file ``path``, registered as ``name`` (dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def same_print(a, b) -> bool:
    return a.normalised == b.normalised and list(a.voices) == list(b.voices) and all(
        a.voices[k].dtype == b.voices[k].dtype and np.array_equal(a.voices[k], b.voices[k]) for k in a.voices)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout (e.g. /work/main)")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--passes", type=int, default=12, help="passes each, alternating (best counts)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="penta-print-") as tmp:
        clips = write_corpus(Path(tmp) / "corpus", args.files, args.seed)
        datas = [p.read_bytes() for p in sorted(clips.rglob("*.mid"))]
    funcs = {"this": this_midi.midi_print}
    unequal = None
    if args.baseline:
        base = load_module(args.baseline.resolve() / "penta_core" / "families" / "midi.py", "baseline_families_midi")
        funcs["baseline"] = base.midi_print
        unequal = sum(not same_print(this_midi.midi_print(d), base.midi_print(d)) for d in datas)
    best = dict.fromkeys(funcs, float("inf"))
    for r in range(args.passes):
        for name in (list(funcs) if r % 2 == 0 else list(reversed(funcs))):
            start = time.process_time()
            for data in datas:
                funcs[name](data)
            best[name] = min(best[name], time.process_time() - start)
    print(f"midi_print on {len(datas)} corpus clips, best CPU of {args.passes} alternating passes each; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, seconds in best.items():
        print(f"  {name:<10}{1e6 * seconds / len(datas):8.1f} µs a file")
    if unequal is not None:
        print(f"  fingerprints that differ: {unequal} of {len(datas)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
