"""MidiPiece parse and serialise: the fast reader and writer against the mido path, on the same files.

Files: the generated benchmark corpus (``_corpus.py``: POP909 windows of 20-30 s
and the example pieces, as the augment benchmark uses) and the whole POP909
songs of ``tests/fixtures``. For each, in this process, best of ``--repeat``
runs, per file:

* parse: ``MidiPiece.from_bytes`` (fast reader, :mod:`penta_core.midi.smf_read`)
  vs the same call with mido reading the file (the path taken for anything
  unusual, and before the fast reader existed);
* serialise: ``MidiPiece.to_bytes`` (whole-file array encoder,
  :mod:`penta_core.midi.smf_write`) vs the event-by-event encoder through
  mido messages, and ``MidiPiece.to_bytes_many`` on three edited copies at
  once (what the augment stage does with a parent's variants), per file;
* symusic's parse and dump on the same files, for scale (C++).

Every serialised file is checked to be byte-identical between the paths.

Usage::

    python benchmarks/smf_speed.py [--files 300] [--repeat 5]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from _corpus import write_corpus
from _timing import best_cpu

from penta_core.midi import piece as piece_module
from penta_core.midi.piece import MidiPiece
from penta_core.midi.smf_read import Unusual
from penta_core.midi.smf_write import encode_file_events

REPO = Path(__file__).resolve().parents[1]


def _through_mido(data: bytes) -> MidiPiece:
    fast = piece_module.read_smf

    def refuse(_data: bytes):
        raise Unusual("benchmark: the mido path")

    piece_module.read_smf = refuse
    try:
        return MidiPiece.from_bytes(data)
    finally:
        piece_module.read_smf = fast


def _edited(piece: MidiPiece, k: int) -> MidiPiece:
    copy = piece.copy()
    copy.notes["pitch"] = np.clip(copy.notes["pitch"] + k, 0, 127)
    copy.notes["start"] = copy.notes["start"] + k
    copy.notes["end"] = copy.notes["end"] + k
    return copy


def measure(name: str, paths: list[Path], repeat: int) -> None:
    data = [p.read_bytes() for p in paths]
    pieces = [MidiPiece.from_bytes(d) for d in data]
    slow_pieces = [_through_mido(d) for d in data]
    variants = [[_edited(p, k) for k in (1, 2, 3)] for p in pieces]
    for p, s in zip(pieces, slow_pieces, strict=True):  # the figures compare equal outputs
        reference = encode_file_events(s.file_type, s.ticks_per_beat, s.copy().events, s.notes)
        if p.to_bytes() != reference:
            sys.exit(f"{name}: the fast writer and the mido path disagree")
    if [MidiPiece.to_bytes_many(v) for v in variants] != [[x.to_bytes() for x in v] for v in variants]:
        sys.exit(f"{name}: to_bytes_many and to_bytes disagree")
    n = len(data)
    notes = np.mean([p.n_notes for p in pieces])
    rows = [
        ("parse: fast reader (MidiPiece.from_bytes)",
         best_cpu(lambda: [MidiPiece.from_bytes(d) for d in data], repeat)),
        ("parse: through mido", best_cpu(lambda: [_through_mido(d) for d in data], repeat)),
        ("serialise: array writer (to_bytes)", best_cpu(lambda: [p.to_bytes() for p in pieces], repeat)),
        ("serialise: 3 variants at once (to_bytes_many), per file",
         best_cpu(lambda: [MidiPiece.to_bytes_many(v) for v in variants], repeat) / 3),
        ("serialise: event by event through mido",
         best_cpu(lambda: [encode_file_events(p.file_type, p.ticks_per_beat, p.events, p.notes) for p in slow_pieces],
               repeat)),
    ]
    try:
        from symusic import Score

        scores = [Score.from_midi(d) for d in data]
        rows += [("symusic (C++): parse", best_cpu(lambda: [Score.from_midi(d) for d in data], repeat)),
                 ("symusic (C++): dump", best_cpu(lambda: [s.dumps_midi() for s in scores], repeat))]
    except ImportError:
        pass
    print(f"\n{name}: {n} files, ~{notes:.0f} notes each (CPU ms per file, best of {repeat})")
    for label, seconds in rows:
        print(f"  {label:<58}{1000 * seconds / n:8.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300, help="generated corpus clips")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="penta-smf-") as tmp:
        clips = write_corpus(Path(tmp) / "corpus", args.files, args.seed)
        measure("benchmark corpus clips", sorted(clips.rglob("*.mid")), args.repeat)
    measure("POP909 songs (tests/fixtures)", sorted((REPO / "tests" / "fixtures" / "pop909").rglob("*.mid")),
            args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
