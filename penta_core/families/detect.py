"""Join near-duplicate samples into families: exact tiers first, then LSH candidates verified exactly.

MIDI: files with equal normalised hashes join at once (``midi-normalised``);
then every informative voice's MinHash band keys go into one LSH index, and
each candidate pair of files not yet in one family is verified by the exact
Jaccard similarity of their best-matching voices (``midi-melody``). Audio:
sub-fingerprints of loud frames go into an inverted index; pairs that share
values at a consistent offset are verified by the bit error rate at that
offset (``audio-fingerprint``). Joins are transitive (union-find); nothing
is ever removed.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from penta_core.families import audio as audio_fp
from penta_core.families.midi import similarity as midi_similarity
from penta_core.families.minhash import candidate_pair_array

# Sub-fingerprint values shared by more frames than this across the index are
# common sounds (silence, a steady tone), not evidence of one recording.
AUDIO_MAX_RUN = 32
# Frames whose values coincide at one offset before a pair is verified.
AUDIO_MIN_VOTES = 3


@dataclass(frozen=True)
class Link:
    """Why two samples are in one family."""

    a: str
    b: str
    reason: str
    similarity: float


@dataclass
class Families:
    """Family of each sample, the links that joined them, and how much work it took."""

    family: dict[str, str]
    joined_by: dict[str, Link]
    stats: Counter = field(default_factory=Counter)


class _UnionFind:
    def __init__(self, items: list[str]) -> None:
        self.parent = {x: x for x in items}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        keep, drop = sorted((ra, rb))
        self.parent[drop] = keep
        return True


def _audio_candidates(prints: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[tuple[str, str], list[int]]:
    """Pairs of recordings sharing sub-fingerprints at a consistent offset → their best offsets."""
    ids = sorted(prints)
    values, owners, frames = [], [], []
    for index, sid in enumerate(ids):
        fp, loud = prints[sid]
        where = np.flatnonzero(loud)
        values.append(fp[where])
        owners.append(np.full(len(where), index, np.int64))
        frames.append(where.astype(np.int64))
    if not values:
        return {}
    value, owner, frame = np.concatenate(values), np.concatenate(owners), np.concatenate(frames)
    order = np.lexsort((frame, owner, value))
    value, owner, frame = value[order], owner[order], frame[order]
    starts = np.flatnonzero(np.concatenate([[True], value[1:] != value[:-1]]))
    ends = np.append(starts[1:], len(value))
    votes: Counter = Counter()
    for s, e in zip(starts, ends):
        if e - s < 2 or e - s > AUDIO_MAX_RUN or owner[s] == owner[e - 1]:
            continue
        run = list(zip(owner[s:e].tolist(), frame[s:e].tolist()))
        for k, (oa, fa) in enumerate(run):
            for ob, fb in run[k + 1:]:
                if oa != ob:
                    votes[(oa, ob, fb - fa)] += 1
    best: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for (oa, ob, offset), n in votes.items():
        if n >= AUDIO_MIN_VOTES:
            best[(ids[oa], ids[ob])].append((-n, offset))
    return {pair: [o for _, o in sorted(offsets)[:3]] for pair, offsets in sorted(best.items())}


def detect_families(midi: dict[str, dict[str, Any]], audio: dict[str, tuple[np.ndarray, np.ndarray]],
                    load_voices: Callable[[str], dict[str, np.ndarray]], *,
                    midi_threshold: float, audio_threshold: float) -> Families:
    """Families of the given samples.

    Parameters
    ----------
    midi : sample id → ``{"normalised": hash, "bands": {voice: band keys}}`` (informative voices only).
    audio : sample id → (sub-fingerprints, loud-frame mask).
    load_voices : sample id → its voices' shingle sets, read when a candidate pair needs verifying.
    midi_threshold : best-voice Jaccard similarity at which two MIDI files join.
    audio_threshold : 1 - bit error rate at which two recordings join.

    Returns
    -------
    Families : ``family`` (sample id → smallest id of its family), ``joined_by``
        (sample id → a link of its family's spanning tree that touches it,
        for families of two or more) and ``stats`` (candidate and verified pair counts).
    """
    uf = _UnionFind(sorted([*midi, *audio]))
    spanning: list[Link] = []
    stats: Counter = Counter()

    def join(link: Link) -> None:
        if uf.union(link.a, link.b):
            spanning.append(link)

    by_hash: dict[str, list[str]] = defaultdict(list)
    for sid in sorted(midi):
        by_hash[midi[sid]["normalised"]].append(sid)
    for members in by_hash.values():
        for other in members[1:]:
            join(Link(members[0], other, "midi-normalised", 1.0))

    midi_ids = sorted(midi)
    keyed = ((i, np.asarray(keys, np.uint64)) for i, sid in enumerate(midi_ids)
             for keys in midi[sid]["bands"].values())
    pairs = candidate_pair_array(keyed)  # ascending (i, j), as sorted() of the set of pairs gave
    stats["midi_candidate_pairs"] = len(pairs)
    voices: dict[str, dict[str, np.ndarray]] = {}
    for i, j in (pair for at in range(0, len(pairs), 4096) for pair in pairs[at:at + 4096].tolist()):
        a, b = midi_ids[i], midi_ids[j]
        if uf.find(a) == uf.find(b):
            continue
        stats["midi_verified_pairs"] += 1
        for sid in (a, b):
            if sid not in voices:
                voices[sid] = load_voices(sid)
        score = midi_similarity(voices[a], voices[b])
        if score >= midi_threshold:
            join(Link(a, b, "midi-melody", round(score, 3)))

    audio_pairs = _audio_candidates(audio)
    stats["audio_candidate_pairs"] = len(audio_pairs)
    for (a, b), offsets in audio_pairs.items():
        if uf.find(a) == uf.find(b):
            continue
        stats["audio_verified_pairs"] += 1
        (fa, la), (fb, lb) = audio[a], audio[b]
        ber = min(audio_fp.bit_error_rate(fa, fb, o + d, la, lb) for o in offsets for d in (-1, 0, 1))
        if 1 - ber >= audio_threshold:
            join(Link(a, b, "audio-fingerprint", round(1 - ber, 3)))

    family = {sid: uf.find(sid) for sid in uf.parent}
    joined_by: dict[str, Link] = {}
    for link in spanning:
        for sid in (link.a, link.b):
            joined_by.setdefault(sid, link)
    stats["links"] = len(spanning)
    return Families(family, joined_by, stats)
