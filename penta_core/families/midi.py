"""What identifies a MIDI piece across re-saves, transpositions, tempo changes and re-arrangements.

Two views of a file, both blind to velocity, program, channel, tempo and key:

- a *normalised hash*: every non-drum note as (onset in 1/24 beats from the
  first onset, pitch above the lowest pitch), drums as (onset, key), hashed.
  Equal for re-saved, transposed, tempo-changed, velocity-changed and
  re-orchestrated copies that keep every note.
- *voices*: the top line (skyline) of each non-drum track and of all
  non-drum notes together, as the set of its n-grams of pitch intervals.
  Intervals ignore transposition, beats ignore tempo and time scaling, and a
  top line survives humanised or re-quantised timing, added or removed
  tracks, and a new accompaniment under the same melody.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Onsets closer than this (in beats) sound together: chord notes, humanised chords.
CLUSTER_BEATS = 1 / 8
# Intervals per shingle: long enough that a shared scale run or arpeggio is a small part of a voice.
NGRAM = 5
INTERVAL_LIMIT = 36
_BASE = 2 * INTERVAL_LIMIT + 1
_REPEATED_NOTE = sum(INTERVAL_LIMIT * _BASE**k for k in range(NGRAM))
# A voice with fewer distinct shingles (a short line, a repeated loop or a chord
# pattern) says too little about which piece it belongs to.
MIN_SHINGLES = 24


@dataclass
class MidiPrint:
    """The normalised hash of a file and the shingle set of each of its voices."""

    normalised: str
    voices: dict[str, np.ndarray]  # voice name → sorted distinct shingles (uint32)


def _notes(source: Path | bytes) -> tuple[list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], np.ndarray,
                                          np.ndarray, float]:
    """Per non-drum track (name, onset beats, pitches, onset ticks); all drum (onset beats, keys); ticks per beat.

    Of a path or the file's bytes.
    """
    import symusic  # imported where MIDI is parsed only

    score = symusic.Score.from_midi(source) if isinstance(source, bytes) else symusic.Score(str(source))
    tpq = float(score.ticks_per_quarter) or 480.0
    tracks, drum_on, drum_key = [], [], []
    for index, track in enumerate(score.tracks):
        notes = track.notes.numpy()
        if len(notes["time"]) == 0:
            continue
        ticks = notes["time"].astype(np.int64)
        onsets = notes["time"].astype(np.float64) / tpq
        if track.is_drum:
            drum_on.append(onsets)
            drum_key.append(notes["pitch"].astype(np.int64))
        else:
            tracks.append((f"track{index}", onsets, notes["pitch"].astype(np.int64), ticks))
    drums = (np.concatenate(drum_on), np.concatenate(drum_key)) if drum_on else (np.zeros(0), np.zeros(0, np.int64))
    return tracks, *drums, tpq


def _unique_rows(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``np.unique`` of the rows ``(first, second)`` (int64, sorted), as an ``(n, 2)`` array.

    Both columns are packed into one int64 when they fit (onsets from 0, values of 0-255, as
    every MIDI file gives): a one-dimensional unique is several times cheaper than ``axis=0``
    on the small arrays of one file, and sorts the rows in the same order.
    """
    if not len(first):
        return np.zeros((0, 2), np.int64)
    if first.min() >= 0 and first.max() < 2**54 and second.min() >= 0 and second.max() < 256:
        packed = first << 8 | second
        packed.sort()
        packed = packed[np.concatenate(([True], packed[1:] != packed[:-1]))]
        return np.stack([packed >> 8, packed & 255], axis=1)
    return np.unique(np.stack([first, second]).T, axis=0)


def normalised_hash(tracks: list[tuple[str, np.ndarray, np.ndarray]], drum_on: np.ndarray,
                    drum_key: np.ndarray) -> str:
    """16 hex digits of the notes as (onset, relative pitch), drums as (onset, key)."""
    onsets = np.concatenate([t[1] for t in tracks]) if tracks else np.zeros(0)
    pitches = np.concatenate([t[2] for t in tracks]) if tracks else np.zeros(0, np.int64)
    start = min([a.min() for a in (onsets, drum_on) if len(a)], default=0.0)
    tonal = _unique_rows(np.round((onsets - start) * 24).astype(np.int64),
                         (pitches - pitches.min(initial=127)).astype(np.int64))
    drums = _unique_rows(np.round((drum_on - start) * 24).astype(np.int64), drum_key.astype(np.int64))
    digest = hashlib.sha256(tonal.tobytes() + b"|" + drums.tobytes())
    return digest.hexdigest()[:16]


def skyline(onsets: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """The highest pitch of each group of notes that sound together, in time order."""
    if len(onsets) == 0:
        return np.zeros(0, np.int64)
    # Sorting by onset alone is enough: notes with one onset fall in one group, whose maximum
    # does not depend on their order.
    order = np.argsort(onsets, kind="stable")
    on, pitch = onsets[order], pitches[order]
    starts = np.flatnonzero(np.concatenate([[True], on[1:] - on[:-1] > CLUSTER_BEATS]))
    return np.maximum.reduceat(pitch, starts)


def shingles(line: np.ndarray) -> np.ndarray:
    """Sorted distinct n-grams of pitch intervals of a line, as uint32 codes (repeated notes left out)."""
    if len(line) < NGRAM + 1:
        return np.zeros(0, np.uint32)
    steps = np.minimum(np.maximum(line[1:] - line[:-1], -INTERVAL_LIMIT), INTERVAL_LIMIT) + INTERVAL_LIMIT
    n = len(steps) - NGRAM + 1
    codes = steps[NGRAM - 1:].astype(np.int64)  # step i + k weighs _BASE**k: Horner from the last step
    for k in range(NGRAM - 2, -1, -1):
        codes = codes * _BASE + steps[k:k + n]
    codes = codes[codes != _REPEATED_NOTE]
    codes.sort()
    return codes[np.concatenate(([True], codes[1:] != codes[:-1]))[:len(codes)]].astype(np.uint32)


def voices_of(tracks: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], tpq: float) -> dict[str, np.ndarray]:
    """:func:`shingles` of the :func:`skyline` of each track and, with more than one track, of all together.

    ``tracks``: (name, onset beats, pitches, onset ticks) per non-drum track, as :func:`_notes`
    gives them. Every voice goes through one sort and one pass of array work instead of a
    dozen calls per voice (most of a fingerprint's cost on a clip of a few hundred notes); the
    shingles are the ones :func:`shingles` and :func:`skyline` give, voice by voice.
    """
    names = [t[0] for t in tracks]
    lines = [(t[3], t[2]) for t in tracks]
    if len(tracks) > 1:
        names.append("all")
        lines.append((np.concatenate([t[3] for t in tracks]), np.concatenate([t[2] for t in tracks])))
    if not lines:
        return {}
    sizes = [len(line[0]) for line in lines]
    tick, pitch = np.concatenate([line[0] for line in lines]), np.concatenate([line[1] for line in lines])
    low = int(tick.min())
    if pitch.min() < 0 or pitch.max() > 255 or int(tick.max()) - low >= 2**32 or len(lines) >= 2**22:
        # Outside what one integer key holds (no MIDI file gives this): voice by voice.
        return {t[0]: shingles(skyline(t[1], t[2])) for t in tracks} | (
            {"all": shingles(skyline(np.concatenate([t[1] for t in tracks]), np.concatenate([t[2] for t in tracks])))}
            if len(tracks) > 1 else {})
    # One sort of (voice, onset tick, pitch) keys: each voice's notes in onset order.
    key = np.repeat(np.arange(len(lines), dtype=np.int64) << 40, sizes) | (tick - low) << 8 | pitch
    key.sort()
    voice = key >> 40
    onsets = (((key >> 8) & 0xFFFFFFFF) + low).astype(np.float64) / tpq  # the onset beats skyline() sorts
    new = np.empty(key.size, bool)
    new[0] = True
    new[1:] = (voice[1:] != voice[:-1]) | (onsets[1:] - onsets[:-1] > CLUSTER_BEATS)
    starts = np.flatnonzero(new)
    line = np.maximum.reduceat(key & 255, starts)  # every voice's skyline, one after another
    line_voice = voice[starts]
    n = line.size - NGRAM  # windows of NGRAM steps
    if n <= 0:
        return {name: np.zeros(0, np.uint32) for name in names}
    steps = np.minimum(np.maximum(line[1:] - line[:-1], -INTERVAL_LIMIT), INTERVAL_LIMIT) + INTERVAL_LIMIT
    codes = steps[NGRAM - 1:]  # as shingles(): step i + k weighs _BASE**k, Horner from the last step
    for k in range(NGRAM - 2, -1, -1):
        codes = codes * _BASE + steps[k:k + n]
    # A window counts when its NGRAM + 1 notes are all of one voice, and not only repeated notes.
    keep = (line_voice[:n] == line_voice[NGRAM:]) & (codes != _REPEATED_NOTE)
    packed = line_voice[:n][keep] << 32 | codes[keep]  # codes < _BASE**NGRAM < 2**32
    packed.sort()
    distinct = np.empty(packed.size, bool)
    distinct[:1] = True
    np.not_equal(packed[1:], packed[:-1], out=distinct[1:])
    packed = packed[distinct]
    found = (packed & 0xFFFFFFFF).astype(np.uint32)
    bounds = np.searchsorted(packed >> 32, np.arange(len(lines) + 1)).tolist()
    return {name: found[bounds[v]:bounds[v + 1]] for v, name in enumerate(names)}


def midi_print(source: str | Path | bytes) -> MidiPrint:
    """Read a MIDI file (a path, or its bytes) and return its :class:`MidiPrint`.

    Example
    -------
    >>> p = midi_print("datasets/examples/happy/happy_01.mid")  # doctest: +SKIP
    >>> sorted(p.voices)  # doctest: +SKIP
    ['all', 'track1', 'track2']
    """
    tracks, drum_on, drum_key, tpq = _notes(source if isinstance(source, bytes) else Path(source))
    return MidiPrint(normalised_hash(tracks, drum_on, drum_key), voices_of(tracks, tpq))


def informative(voices: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The voices with enough distinct shingles to tell pieces apart."""
    return {name: v for name, v in voices.items() if len(v) >= MIN_SHINGLES}


def similarity(a: dict[str, np.ndarray], b: dict[str, np.ndarray], min_shared: int = MIN_SHINGLES) -> float:
    """Best Jaccard similarity between an informative voice of ``a`` and one of ``b``.

    Pairs sharing fewer than ``min_shared`` distinct shingles score 0: a
    common loop, progression or run is not enough to call two pieces one.
    """
    best = 0.0
    for va in informative(a).values():
        for vb in informative(b).values():
            shared = len(np.intersect1d(va, vb, assume_unique=True))
            if shared >= min_shared:
                best = max(best, shared / (len(va) + len(vb) - shared))
    return best
