"""A corpus of N distinct, real-ish MIDI clips in emotion folders (a benchmark helper, not a benchmark).

Base clips are the POP909 songs and arrangements committed under
``tests/fixtures/pop909`` (MIT licence, copied beside every corpus as
``LICENSE-POP909``) cut into consecutive windows of 20-30 s, plus the
embedded example pieces of ``datasets/examples`` whole. Item ``i`` is base
clip ``i mod B`` (bases in a seeded order, so any prefix mixes sources and
labels) under its ``i div B``-th (transposition, tempo factor) pair: round 0
is the clip as cut, later rounds transpose by -5..+6 semitones (pitched
tracks only, never out of 0-127) and scale every tempo by 0.80-1.25, so
every file has its own bytes.

An item depends only on ``(i, seed)``: the corpus of N/2 files is the first
half of the corpus of N files, path for path and byte for byte, and
``write_corpus(folder, n + 10, start=n)`` adds ten new files to a corpus of n.
Files go to ``<folder>/clips/<label>/``; labels are the emotionrecognizer
labels of ``penta_core/annotate/vocabulary.yaml`` (``neutral`` left out): the
example pieces keep their own folder's label, a POP909 window gets one label
for all its variants.

Usage (from another benchmark)::

    from _corpus import write_corpus
    clips = write_corpus(folder, 1000, seed=0)   # -> folder / "clips"
"""
from __future__ import annotations

import hashlib
import itertools
import shutil
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import symusic
import yaml

REPO = Path(__file__).resolve().parents[1]
POP909 = REPO / "tests" / "fixtures" / "pop909"
EXAMPLES = REPO / "datasets" / "examples"
VOCABULARY = REPO / "penta_core" / "annotate" / "vocabulary.yaml"
TRANSPOSITIONS = tuple(range(-5, 7))
TEMPO_FACTORS = (1.0, 0.9, 1.1, 0.85, 1.15, 0.95, 1.05, 0.8, 1.2, 0.875, 1.25)
WINDOW_S = (20.0, 30.0)


@dataclass(frozen=True)
class Base:
    """One clip before transposition and tempo change."""

    name: str  # file stem of every variant, e.g. pop909_001_w03
    label: str
    source: Path
    start_tick: int
    end_tick: int  # 0: the whole file


def labels() -> list[str]:
    """The emotion labels the annotate stage recognises, in vocabulary order, ``neutral`` left out."""
    vocabulary = yaml.safe_load(VOCABULARY.read_text(encoding="utf-8"))
    return [name for name in vocabulary["emotionrecognizer"] if name != "neutral"]


def _windows(score: symusic.Score, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Consecutive tick windows of 20-30 s (at the first tempo), the last one dropped if under 20 s."""
    tpq = score.ticks_per_quarter
    qpm = score.tempos[0].qpm if len(score.tempos) else 120.0
    end = score.end()
    windows, start = [], 0
    while True:
        seconds = rng.uniform(*WINDOW_S)
        stop = start + round(seconds * qpm / 60.0) * tpq
        if stop > end:
            return windows
        windows.append((start, stop))
        start = stop


@cache
def bases(seed: int) -> tuple[Base, ...]:
    """Every base clip, in the seeded order items use them."""
    names = labels()
    found: list[Base] = []
    for path in sorted(POP909.glob("*/*.mid")) + sorted(POP909.glob("*/versions/*.mid")):
        score = symusic.Score(path)
        rng = np.random.default_rng([seed, zlib.crc32(path.stem.encode())])
        for w, (start, stop) in enumerate(_windows(score, rng)):
            name = f"pop909_{path.stem}_w{w:02d}"
            label = names[zlib.crc32(f"{path.stem[:3]}_w{w:02d}".encode()) % len(names)]
            found.append(Base(name, label, path, start, stop))
    found += [Base(f"example_{path.stem}", path.parent.name, path, 0, 0) for path in sorted(EXAMPLES.glob("*/*.mid"))]
    if not found:
        raise SystemExit(f"no base clips found under {POP909} or {EXAMPLES}")
    order = np.random.default_rng([seed, 909]).permutation(len(found))
    return tuple(found[k] for k in order)


@cache
def _score(path: Path) -> symusic.Score:
    return symusic.Score(path)


@cache
def _clip(base: Base) -> symusic.Score:
    score = _score(base.source)
    if base.end_tick:
        score = score.clip(base.start_tick, base.end_tick, clip_end=True).shift_time(-base.start_tick)
    return score


def _pitch_range(score: symusic.Score) -> tuple[int, int]:
    pitches = [t.notes.numpy()["pitch"] for t in score.tracks if not t.is_drum and len(t.notes)]
    if not pitches:
        return 60, 60
    joined = np.concatenate(pitches)
    return int(joined.min()), int(joined.max())


@cache
def _combos(base: Base, seed: int) -> tuple[tuple[int, float], ...]:
    """(semitones, tempo factor) pairs for this clip: the clip as cut first, the rest in seeded order."""
    low, high = _pitch_range(_clip(base))
    legal = [(t, f) for t, f in itertools.product(TRANSPOSITIONS, TEMPO_FACTORS)
             if low + t >= 0 and high + t <= 127 and (t, f) != (0, 1.0)]
    order = np.random.default_rng([seed, zlib.crc32(base.name.encode())]).permutation(len(legal))
    return ((0, 1.0), *(legal[k] for k in order))


def render(base: Base, semitones: int, factor: float) -> bytes:
    """The bytes of one variant of ``base``."""
    score = _clip(base).copy()
    for track in score.tracks:
        if not track.is_drum:
            track.shift_pitch(semitones, inplace=True)
    if factor != 1.0:
        if not len(score.tempos):
            score.tempos.append(symusic.Tempo(0, 120.0))
        for tempo in score.tempos:  # symusic hands out references: this edits the copy
            tempo.qpm = tempo.qpm * factor
    return score.dumps_midi()


def item(i: int, seed: int = 0) -> tuple[str, bytes]:
    """Relative path and bytes of item ``i``."""
    every = bases(seed)
    base = every[i % len(every)]
    combos = _combos(base, seed)
    round_ = i // len(every)
    if round_ >= len(combos):
        raise ValueError(f"item {i}: clip {base.name} has only {len(combos)} distinct variants; "
                         f"at most about {len(every) * len(combos)} items")
    semitones, factor = combos[round_]
    name = f"{base.name}_t{semitones:+d}_x{factor:.3f}" if round_ else base.name
    return f"{base.label}/{name}.mid", render(base, semitones, factor)


def write_corpus(folder: str | Path, n: int, seed: int = 0, start: int = 0) -> Path:
    """Write items ``start``..``n-1`` under ``folder / "clips"``; return that folder.

    Raises ``SystemExit`` when two items would share their bytes (the corpus
    must be ``n`` distinct sources).
    """
    folder = Path(folder)
    clips = folder / "clips"
    seen: dict[str, str] = {}
    for i in range(start, n):
        rel, data = item(i, seed)
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            raise SystemExit(f"corpus items {seen[digest]} and {rel} have the same bytes")
        seen[digest] = rel
        path = clips / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if (POP909 / "LICENSE").exists():
        shutil.copyfile(POP909 / "LICENSE", folder / "LICENSE-POP909")
    return clips


def describe(seed: int = 0) -> str:
    every = bases(seed)
    pop = sum(b.name.startswith("pop909") for b in every)
    return (f"{len(every)} base clips ({pop} POP909 windows of 20-30 s, {len(every) - pop} example pieces), "
            f"up to {len(TRANSPOSITIONS) * len(TEMPO_FACTORS)} transposition x tempo variants each")


if __name__ == "__main__":
    import argparse
    import tempfile
    import time

    parser = argparse.ArgumentParser(description="write a corpus and report its size")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="folder to write (default: a temporary one)")
    args = parser.parse_args()
    print(describe(args.seed))
    with tempfile.TemporaryDirectory(prefix="penta-corpus-") as tmp:
        t0 = time.perf_counter()
        clips = write_corpus(args.out or tmp, args.files, args.seed)
        files = list(clips.rglob("*.mid"))
        print(f"{len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB in "
              f"{time.perf_counter() - t0:.1f} s")
