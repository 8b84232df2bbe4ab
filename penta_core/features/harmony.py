"""Chords per beat by template matching on a duration-weighted beat chroma.

Everything here works in beats (quarter notes, from MIDI ticks), so the
result does not depend on the tempo map: a chord is what sounds during a beat.
"""
from __future__ import annotations

import numpy as np

from penta_core.features.key import PITCH_CLASS_NAMES

# Intervals above the root; the order fixes the column order of the quality
# histogram and breaks ties (a plain triad beats a seventh chord it is part of
# only when the seventh is absent, because its cosine is then 1).
CHORD_QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "dom7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
}
QUALITY_NAMES = tuple(CHORD_QUALITIES)

# A beat is "no chord" when the pitched notes sound for less than this many
# beats in total (a lone short melody note carries no harmony), or when
# fewer than two pitch classes sound.
MIN_BEAT_ENERGY = 0.5


def _templates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, roots, qualities = [], [], []
    for q, intervals in enumerate(CHORD_QUALITIES.values()):
        for root in range(12):
            row = np.zeros(12)
            row[[(root + i) % 12 for i in intervals]] = 1.0
            rows.append(row / np.linalg.norm(row))
            roots.append(root)
            qualities.append(q)
    return np.array(rows), np.array(roots), np.array(qualities)


TEMPLATES, TEMPLATE_ROOTS, TEMPLATE_QUALITIES = _templates()
TEMPLATE_CODES = TEMPLATE_ROOTS * 16 + TEMPLATE_QUALITIES


def beat_chroma(start: np.ndarray, end: np.ndarray, pitch_class: np.ndarray, n_beats: int) -> np.ndarray:
    """How long each pitch class sounds within each beat.

    Uses the integral ``F(t) = sum_n clip(t - start_n, 0, end_n - start_n)``,
    evaluated at beat boundaries with sorted cumulative sums, so the cost is
    ``O((notes + beats) log notes)`` whatever the note lengths.

    Parameters
    ----------
    start, end : note onsets and offsets in beats (``end >= start``).
    pitch_class : 0-11 per note.
    n_beats : number of beats to return (beat ``k`` spans ``[k, k + 1)``).

    Returns
    -------
    ndarray of shape (n_beats, 12): sounding time in beats, per beat and pitch class.
    """
    edges = np.arange(n_beats + 1, dtype=np.float64)
    out = np.zeros((n_beats, 12))
    for pc in range(12):
        sel = pitch_class == pc
        if not sel.any():
            continue
        s = np.sort(start[sel])
        e = np.sort(end[sel])
        cs = np.concatenate(([0.0], np.cumsum(s)))
        ce = np.concatenate(([0.0], np.cumsum(e)))
        ks = np.searchsorted(s, edges, side="left")
        ke = np.searchsorted(e, edges, side="left")
        integral = edges * ks - cs[ks] - (edges * ke - ce[ke])
        out[:, pc] = np.diff(integral)
    # Cancellation in the cumulative sums leaves tiny negatives on silent beats.
    np.maximum(out, 0.0, out=out)
    return out


def beat_chroma_ticks(start: np.ndarray, end: np.ndarray, pitch_class: np.ndarray, n_beats: int,
                      tpq: int) -> np.ndarray:
    """:func:`beat_chroma` of notes given in integer ticks, for all twelve classes at once.

    The values are :func:`beat_chroma`'s for ``start / tpq`` and ``end / tpq``
    to the bit: the same sorted values are summed in the same order (the
    cumulative sums run along the rows of a zero-padded class-by-note matrix)
    and a beat edge ``k`` is compared in ticks (``tick < k * tpq`` exactly when
    ``tick / tpq < k``). About twenty array operations in all instead of
    twenty per pitch class. Memory is ``12 * n_beats`` floats several times over, so
    callers keep :func:`beat_chroma` for very long files.

    Parameters
    ----------
    start, end : note onsets and offsets in ticks (int, ``0 <= start <= end <= n_beats * tpq``).
    pitch_class : 0-11 per note.
    n_beats : number of beats to return.
    tpq : ticks per quarter note (a beat).

    Returns
    -------
    ndarray of shape (n_beats, 12), as :func:`beat_chroma`.
    """
    # Rows 0-11 hold the onsets of each pitch class, rows 12-23 the offsets.
    counts = np.bincount(pitch_class, minlength=12)
    counts = np.concatenate((counts, counts))
    first = np.concatenate(([0], counts.cumsum()))  # index of each row's first key
    width = int(counts.max()) + 1
    span = (n_beats + 1) * tpq + 1  # above every tick and every beat edge in ticks
    row_base = pitch_class * span
    keys = np.sort(np.concatenate((row_base + start, row_base + 12 * span + end)))  # by row, then tick
    row_start = np.arange(24, dtype=np.int64) * span
    # Row r of the padded matrix: 0, then the sorted values of the row, then zeros.
    padded = np.zeros(24 * width)
    padded[np.arange(keys.size) + (np.arange(24) * width - first[:24] + 1).repeat(counts)] = \
        (keys - row_start.repeat(counts)) / tpq
    sums = padded.reshape(24, width).cumsum(axis=1)  # row r: 0, s1, s1 + s2, ... as np.cumsum
    below = keys.searchsorted(row_start[:, None] + np.arange(n_beats + 1, dtype=np.int64) * tpq)
    below -= first[:24, None]  # per row: how many values lie before each beat edge
    at = np.arange(n_beats + 1, dtype=np.float64) * below
    at -= sums.ravel().take(below + (np.arange(24) * width)[:, None])  # edges * ks - cs[ks]
    integral = at[:12] - at[12:]
    out = np.ascontiguousarray((integral[:, 1:] - integral[:, :-1]).T)
    np.maximum(out, 0.0, out=out)
    return out


def label(root: int, quality: int) -> str:
    """Chord label such as ``"A:min"`` or ``"G:dom7"``."""
    return f"{PITCH_CLASS_NAMES[root]}:{QUALITY_NAMES[quality]}"


def match_chords(chroma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best chord template per beat.

    Parameters
    ----------
    chroma : (n_beats, 12) array from :func:`beat_chroma`.

    Returns
    -------
    root, quality, score : int arrays (``-1`` where the beat has no chord) and
        the cosine similarity of the chosen template (0 where no chord).
    """
    n = len(chroma)
    beats, code, best_score = voiced_chords(chroma)
    root, quality, score = np.full(n, -1), np.full(n, -1), np.zeros(n)
    root[beats], quality[beats], score[beats] = code >> 4, code & 15, best_score
    return root, quality, score


def voiced_chords(chroma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`match_chords` for the beats that hold a chord: their indices, codes and scores.

    Returns
    -------
    beats : indices of the voiced beats.
    code : ``root * 16 + quality`` of each one's best template.
    score : its cosine similarity.
    """
    energy = np.add.reduce(chroma, axis=1)
    n_classes = np.add.reduce(chroma > 1e-9, axis=1, dtype=np.intp)  # np.count_nonzero(..., axis=1)
    norms = np.sqrt(np.add.reduce(chroma * chroma, axis=1))  # np.linalg.norm(chroma, axis=1)
    beats = ((energy >= MIN_BEAT_ENERGY) & (n_classes >= 2)).nonzero()[0]  # np.flatnonzero
    safe = np.where(norms > 0, norms, 1.0)
    scores = ((chroma / safe[:, None]) @ TEMPLATES.T)[beats]
    return beats, TEMPLATE_CODES[scores.argmax(axis=1)], np.maximum.reduce(scores, axis=1)


# label(root, quality) at index root * 16 + quality
_LABELS = [label(c // 16, c % 16) if c % 16 < len(QUALITY_NAMES) else "" for c in range(12 * 16)]


def chord_changes(root: np.ndarray, quality: np.ndarray) -> list[list]:
    """Run-length chord sequence ``[[beat, label], ...]``; beats without a chord are skipped."""
    beats = np.flatnonzero(quality >= 0)
    return changes(beats, root[beats] * 16 + quality[beats])


def change_starts(code: np.ndarray) -> np.ndarray:
    """Positions in ``code`` where a run of equal chords begins."""
    if code.size == 0:
        return code
    starts = np.empty(code.size, dtype=bool)
    starts[0] = True
    np.not_equal(code[1:], code[:-1], out=starts[1:])
    return starts.nonzero()[0]  # np.flatnonzero, without its wrapper


def changes(beats: np.ndarray, code: np.ndarray, starts: np.ndarray | None = None) -> list[list]:
    """:func:`chord_changes` from :func:`voiced_chords`' beats and codes (and their :func:`change_starts`)."""
    starts = change_starts(code) if starts is None else starts
    return [[beat, _LABELS[c]] for beat, c in zip(beats[starts].tolist(), code[starts].tolist(), strict=True)]
