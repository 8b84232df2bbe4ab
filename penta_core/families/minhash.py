"""MinHash signatures and locality-sensitive hashing: candidate pairs without comparing all pairs.

A set's signature is its minimum under each of ``BANDS * ROWS`` random hash
functions (multiply-shift on 64-bit words); two sets agree on one minimum
with probability equal to their Jaccard similarity. Signatures are cut into
``BANDS`` bands of ``ROWS`` minima, each band hashed to one key: sets that
share any band key are candidates. With 32 bands of 4 rows, a pair of
similarity 0.5 becomes a candidate with probability 0.87, 0.7 with 0.9997,
0.2 with 0.05, so the work grows with the number of similar pairs, not with
the square of the number of sets.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

BANDS = 32
ROWS = 4
# Band keys shared by more sets than this come from material common to many
# pieces; only consecutive members of such a bucket become candidates.
MAX_BUCKET = 64
# Pair codes made at most this many at a time before merging them into the distinct ones: a pair
# found in several bands (up to BANDS times) is held once, so memory follows the distinct pairs.
PAIR_CHUNK = 1 << 18
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
_rng = np.random.default_rng(20240917)
_A = _rng.integers(1, 2**63, size=BANDS * ROWS, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63, size=BANDS * ROWS, dtype=np.uint64)
_BAND_MIX = _rng.integers(1, 2**63, size=ROWS, dtype=np.uint64) | np.uint64(1)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads small integer codes over 64 bits."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def band_keys(items: np.ndarray) -> np.ndarray:
    """The ``BANDS`` LSH keys (uint64) of a non-empty set of integer codes.

    Example
    -------
    >>> a = band_keys(np.arange(100)); b = band_keys(np.arange(100))
    >>> bool((a == b).all()), a.shape
    (True, (32,))
    """
    return band_keys_of([items])[0]


def band_keys_of(sets: list[np.ndarray]) -> list[np.ndarray]:
    """:func:`band_keys` of each of several non-empty sets, with one pass of array work over all of them.

    A file's voices hold a few hundred codes each; hashing them together instead of one
    call per voice saves most of numpy's per-call cost, and gives the same keys.
    """
    if not sets:
        return []
    if any(len(s) == 0 for s in sets):
        raise ValueError("band_keys_of: every set must hold at least one code")
    x = _mix(np.concatenate([np.asarray(s) for s in sets]))
    offsets = np.cumsum([0] + [len(s) for s in sets[:-1]])
    with np.errstate(over="ignore"):
        hashed = (x[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(32)
        signatures = np.minimum.reduceat(hashed, offsets, axis=0)
        keys = (signatures.reshape(len(sets), BANDS, ROWS) * _BAND_MIX).sum(axis=2, dtype=np.uint64)
    return list(keys)


def candidate_pair_array(keys: Iterable[tuple[int, np.ndarray]]) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, of items that share a band key: an ``(n, 2)`` int64 array, rows ascending.

    Sixteen bytes a pair, against about 120 for a set of tuples. Buckets are
    found one band at a time (a bucket never spans two bands), and the pairs are
    gathered :data:`PAIR_CHUNK` at a time and merged into the distinct ones as
    they come: memory follows one band's keys and the distinct pairs, not every
    band's keys and every band's copy of a pair at once.

    Parameters
    ----------
    keys : ``(item, band keys)`` per indexed set; an item may have several sets (voices).
    """
    items, values = [], []
    for item, k in keys:
        items.append(item)
        values.append(np.asarray(k, np.uint64))
    if not items:
        return np.zeros((0, 2), np.int64)
    # One array of every set's keys, built at once: a few thousand sets are a few thousand calls less.
    sizes = np.array([len(v) for v in values], np.int64)
    set_owner = np.array(items, np.int64)
    set_start = np.cumsum(sizes) - sizes
    value = np.concatenate(values)
    del values
    width = np.int64(set_owner.max()) + 1
    merged = _PairMerge()
    for band in range(int(sizes.max(initial=0))):
        has = sizes > band  # a set's key of this band sits at its start + band
        _band_pairs(set_owner[has], value[set_start[has] + band], width, merged)
    codes = merged.codes()
    return np.stack([codes // width, codes % width], axis=1)


class _PairMerge:
    """Distinct pair codes, merged as chunks of them come."""

    def __init__(self) -> None:
        self.merged, self.pending, self.held = np.zeros(0, np.int64), [], 0

    def add(self, codes: np.ndarray) -> None:
        self.pending.append(_distinct(codes))
        self.held += len(self.pending[-1])
        if self.held > max(len(self.merged), PAIR_CHUNK):  # merged when what waits outgrows what is merged
            self.merged, self.pending, self.held = self.codes(), [], 0

    def codes(self) -> np.ndarray:
        return _distinct(np.concatenate([self.merged, *self.pending]))


def _distinct(codes: np.ndarray) -> np.ndarray:
    """``np.unique(codes)`` by a sort: numpy's hash-based unique took 5x as long on these int64 codes."""
    codes = np.sort(codes, kind="stable")
    return codes[np.concatenate(([True], codes[1:] != codes[:-1]))] if len(codes) else codes


def _band_pairs(owner: np.ndarray, value: np.ndarray, width: np.int64, merged: _PairMerge) -> None:
    """Add to ``merged`` the pairs of owners sharing a key of one band (``a * width + b``, ``a < b``)."""
    order = np.lexsort((owner, value))
    owner, value = owner[order], value[order]
    same_bucket = value[1:] == value[:-1]
    # An item's second voice in a bucket adds nothing: keep each (bucket, owner) once.
    keep = np.concatenate([[True], ~same_bucket | (owner[1:] != owner[:-1])])
    owner = owner[keep]
    starts = np.flatnonzero(np.concatenate([[True], ~same_bucket[keep[1:]]]))
    sizes = np.diff(np.append(starts, len(owner)))
    for size in np.unique(sizes[sizes > 1]).tolist():
        per_bucket = size - 1 if size > MAX_BUCKET else size * (size - 1) // 2
        firsts = starts[sizes == size]
        step = max(1, PAIR_CHUNK // per_bucket)
        for at in range(0, len(firsts), step):
            first = firsts[at:at + step]
            if size > MAX_BUCKET:  # consecutive members only
                rows = first[:, None] + np.arange(size - 1)
                a, b = owner[rows], owner[rows + 1]
            else:
                i, j = np.triu_indices(size, 1)
                a, b = owner[first[:, None] + i], owner[first[:, None] + j]
            merged.add((a * width + b).ravel())
